"""The pipeline on injected fakes: no models, every stage visible in its effects.

Both flows (a meeting through ``Guard.process``, texts through ``Guard.redact_texts``)
share one rules builder: the names of everyone not consenting are removed even when
the purpose keeps speakers' names (security issue #19, item 4).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest

from meetguard import ChatMessage, Document, Guard, GuardOptions, Meeting, Speaker
from meetguard.audit import AuditLog
from meetguard.testing import FakeDetector, MemoryAuditSink

AT = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)

POLICY = """\
version: 1
policy_id: keep-names-1
account:
  id: acme
  ai_features: {summarization: true}
purposes:
  summarization:
    consent: opt_out
    missing_consent: exclude
    recipients: [summarizer]
    redact: {entities: [EMAIL_ADDRESS], operator: pseudonymize, speakers: keep}
    audio: bleep
    retention_days: 7
participants:
  - id: p-alice
    names: ["Alice Martin"]
  - id: p-carla
    names: ["Carla Nunes"]
    consent:
      summarization: {status: refused, at: 2026-11-02T09:00:00Z}
unknown_speakers: non_consenting
"""


@pytest.fixture
def policy(tmp_path: Path) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY)
    return path


def fake_guard(policy: Path) -> tuple[Guard, FakeDetector, MemoryAuditSink]:
    detector = FakeDetector({"alice@acme.example": "EMAIL_ADDRESS"})
    audit = MemoryAuditSink()
    return Guard(policy, GuardOptions(), detector=detector, audit=audit), detector, audit


def test_pass_through_removes_the_names_of_people_who_refuse_under_speakers_keep(policy: Path) -> None:
    guard, detector, audit = fake_guard(policy)
    texts = ["Alice Martin met Carla Nunes; mail alice@acme.example", "Carla Nunes again"]
    result, out = asyncio.run(guard.redact_texts(texts, "summarization", "summarizer", ["p-alice"], AT))
    assert result.decision == "release"
    assert "Carla Nunes" not in " ".join(out)           # p-carla refuses: her name goes
    assert out[0].startswith("Alice Martin met [PERSON_")   # speakers: keep keeps the consenting
    assert "alice@acme.example" not in out[0]
    assert out[0].split(" met ")[1].split(";")[0] == out[1].split(" again")[0]  # one pseudonym
    assert [u.text for u in detector.units] == texts
    (record,) = audit.records
    assert record["decision"] == "release" and record["entity_counts"] == {"EMAIL_ADDRESS": 1,
                                                                         "PERSON": 2}
    assert sorted(record["output_sha256"]) == ["message-0", "message-1"]


def test_meeting_flow_removes_the_same_names(policy: Path) -> None:
    guard, _detector, audit = fake_guard(policy)
    alice = Speaker(label="Alice Martin")
    items = (ChatMessage(index=0, time="10:00", sender=alice, text="Carla Nunes sends regards"),)
    meeting = Meeting(documents=(Document(name="chat.json", format="meetguard-json", kind="chat",
                                          items=items),), attendees=("p-alice",))
    result = guard.process_sync(meeting, "summarization", "summarizer", AT)
    assert result.decision == "release"
    text = result.text("chat.json")
    assert "Carla Nunes" not in text and "Alice Martin" in text
    assert [r["decision"] for r in audit.records] == ["release"]


def test_a_refusing_attendee_denies_the_pass_through_and_is_audited(policy: Path) -> None:
    guard, detector, audit = fake_guard(policy)
    result, out = asyncio.run(guard.redact_texts(["hi"], "summarization", "summarizer",
                                                 ["p-alice", "p-carla"], AT))
    assert result.decision == "deny" and out == []
    assert detector.units == []                          # nothing was scanned
    assert audit.records[0]["excluded_participants"] == ["p-carla"]


def test_from_policy_builds_the_default_audit_log(policy: Path, tmp_path: Path) -> None:
    guard = Guard.from_policy(policy, GuardOptions(audit_path=tmp_path / "a.jsonl"))
    assert isinstance(guard.audit, AuditLog) and guard.audit_path == tmp_path / "a.jsonl"
