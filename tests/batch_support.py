"""Synthetic meeting archives for the batch tests: small Zoom chats and WebVTT transcripts."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from meetguard.audit import verify

POLICY = """\
version: 1
policy_id: batch-test-1
account: {id: acme, ai_features: {summarization: true}}
purposes:
  summarization:
    consent: opt_out
    missing_consent: exclude
    recipients: [summarizer]
    redact: {entities: [PERSON, EMAIL_ADDRESS, PHONE_NUMBER], operator: pseudonymize, speakers: pseudonymize}
    audio: bleep
participants:
  - id: p-alice
    names: ["Alice Martin", "Alice"]
  - id: p-bob
    names: ["Bob Li", "Bob"]
  - id: p-carla
    names: ["Carla Nunes"]
    consent:
      summarization: {status: refused, at: 2026-11-02T09:00:00Z}
unknown_speakers: non_consenting
"""

# The same policy with a purpose `archiving` that the account has off: denied, no model loaded.
POLICY_ARCHIVING_OFF = (
    POLICY.replace("ai_features: {summarization: true}",
                   "ai_features: {summarization: true, archiving: false}")
    .replace("participants:", "  archiving:\n    consent: opt_in\n    missing_consent: deny\n"
             "    recipients: [summarizer]\n    redact: {entities: all, operator: redact}\n"
             "    audio: drop\nparticipants:", 1))

# Values that must never be released, and text that must be.
PII = ("Alice Martin", "Bob Li", "Carla Nunes", "alice.martin@acme.example", "bob.li@acme.example")
CARLA_TEXT = "I should not be here"


def write_meeting(folder: Path, i: int, meta: bool = True) -> None:
    folder.mkdir(parents=True)
    (folder / "chat.txt").write_text(
        f"10:0{i % 10}:11 From Alice Martin to Everyone:\n\tMorning all, notes {i} are ready.\n"
        f"10:0{i % 10}:30 From Bob Li to Everyone:\n\tthanks, I sent them to alice.martin@acme.example\n"
        f"10:0{i % 10}:50 From Carla Nunes to Everyone:\n\t{CARLA_TEXT} {i}\n")
    if i % 2:
        (folder / "transcript.vtt").write_text(
            f"WEBVTT\n\n1\n00:00:01.000 --> 00:00:04.000\nAlice Martin: Welcome to meeting {i}.\n\n"
            f"2\n00:00:04.500 --> 00:00:08.000\nBob Li: Thanks. Write to bob.li@acme.example.\n")
    if meta:
        (folder / "meeting.yaml").write_text(
            f"meeting_id: mtg-{i:03d}\nattendees: [p-alice, p-bob]\nat: 2026-11-28T12:00:00Z\n")


def make_archive(root: Path, n: int) -> tuple[Path, Path]:
    """(archive folder with meetings m00..m<n-1>, policy file)."""
    policy = root / "policy.yaml"
    policy.write_text(POLICY)
    archive = root / "archive"
    for i in range(n):
        write_meeting(archive / f"m{i:02d}", i)
    return archive, policy


def audit_records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def decided_per_meeting(path: Path) -> Counter[str]:
    return Counter(r["meeting_id"] for r in audit_records(path)
                   if r["decision"] in ("release", "partial", "deny"))


def assert_chain_ok(path: Path) -> None:
    result = verify(path)
    assert result.ok, result.message


def released_text(folder: Path) -> str:
    return "\n".join(p.read_text() for p in sorted(folder.rglob("*"))
                     if p.is_file() and p.name != "decision.json")


def summary(out: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((out / "batch-summary.json").read_text())
    return data


def batch_argv(archive: Path, policy: Path, out: Path, audit: Path, *extra: str) -> list[str]:
    # --replay: write_meeting's meeting.yaml carries `at:`, refused without it (#25 finding 4)
    return ["batch", str(archive), "--policy", str(policy), "--purpose", "summarization",
            "--out", str(out), "--audit", str(audit), "--replay", *extra]


def guarded_meetings(out: Path, audit: Path, n: int) -> Iterator[tuple[Path, dict[str, Any]]]:
    """Check the n meetings of a guarded archive (each partial, its audit record in the chain,
    its own text released, Carla and the PII not) and hand each folder and decision on."""
    ids = {r["hash"] for r in audit_records(audit)}
    for i in range(n):
        folder = out / f"m{i:02d}"
        decision: dict[str, Any] = json.loads((folder / "decision.json").read_text())
        assert decision["decision"] == "partial" and decision["audit_id"] in ids
        text = released_text(folder)
        assert f"notes {i} are ready" in text
        assert CARLA_TEXT not in text and not any(v in text for v in PII)
        yield folder, decision
