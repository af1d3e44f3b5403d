"""Policy file loading, validation and reloading (policy-v1.md "Validation")."""

from __future__ import annotations

import hashlib
import os
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from meetguard import PolicyError
from meetguard.policy import (
    ENTITY_TYPES,
    PolicyWatcher,
    load_policy,
    parse_policy,
    summarize,
)

POLICIES = Path(__file__).parent / "conf" / "policies"
BROKEN = sorted(POLICIES.glob("bad_*.yaml"))
GOOD = sorted(POLICIES.glob("good_*.yaml"))


def test_there_are_enough_fixtures() -> None:
    assert len(BROKEN) >= 20 and len(GOOD) >= 4


@pytest.mark.parametrize("path", BROKEN, ids=lambda p: p.stem)
def test_broken_policy_names_file_key_and_reason(path: Path) -> None:
    first = path.read_text().splitlines()[0]
    assert first.startswith("# expect:")
    key, reason = (s.strip() for s in first[len("# expect:"):].split("|", 1))
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    err = info.value
    msg = str(err)
    assert "\n" not in msg
    assert msg.startswith(str(path) + ": ")
    assert err.key == key
    if key:
        assert f": {key}: " in msg
    assert reason in msg
    assert err.exit_code == 2


@pytest.mark.parametrize("path", GOOD, ids=lambda p: p.stem)
def test_good_policies_load(path: Path) -> None:
    pol = load_policy(path)
    assert pol.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert pol.path == str(path)
    assert pol.version == 1
    for name, purpose in pol.purposes.items():
        assert purpose.name == name
        assert purpose.recipients


def test_dev_policy_contents() -> None:
    pol = load_policy(POLICIES / "good_dev.yaml")
    assert pol.policy_id == "northwind-dev-1" and pol.account_id == "northwind"
    assert dict(pol.ai_features) == {"summarization": True, "training": True}
    s, t = pol.purposes["summarization"], pol.purposes["training"]
    assert s.consent == "opt_out" and s.missing_consent == "exclude"
    assert s.recipients == ("summarizer", "llm-summarizer")
    assert "DATE_TIME" not in s.redact.entities and "PERSON" in s.redact.entities
    assert s.redact.operator == "pseudonymize" and s.redact.speakers == "pseudonymize"
    assert s.retention_days == 30 and s.private_messages == "exclude" and s.audio == "bleep"
    assert t.redact.entities == ENTITY_TYPES  # "all"
    assert t.retention_days is None and t.audio == "drop"
    assert [p.id for p in pol.participants] == ["p-alice", "p-bob", "p-carla", "p-deepak"]
    bob = pol.participant("p-bob")
    assert bob is not None
    assert [e.status for e in bob.consent["training"]] == ["granted", "withdrawn"]
    assert pol.participant("p-deepak") is not None
    assert pol.unknown_speakers == "non_consenting"
    assert pol.audit_path == "./meetguard-audit.jsonl"


def test_events_sorted_by_time() -> None:
    pol = load_policy(POLICIES / "good_spec_example.yaml")
    alice = pol.participants[0]
    events = alice.consent["training"]
    assert [e.status for e in events] == ["granted", "withdrawn"]
    assert events[0].expires == datetime(2027, 11, 1, tzinfo=UTC)
    assert dict(pol.ai_features) == {"summarization": True, "training": False}


def test_json_policy_with_string_timestamps() -> None:
    pol = load_policy(POLICIES / "good_json.yaml")
    ev = pol.participants[0].consent["summarization"][0]
    assert ev.at.utcoffset() is not None and ev.at.hour == 9
    assert pol.purposes["summarization"].redact.operator == "hash"
    assert pol.purposes["summarization"].redact.speakers == "keep"
    assert pol.purposes["summarization"].private_messages == "include"
    assert pol.unknown_speakers == "consenting"
    assert pol.audit_path is None


def test_extra_entities_from_plugins() -> None:
    data = (POLICIES / "good_minimal.yaml").read_bytes().replace(
        b"entities: all", b"entities: [PERSON, BADGE_ID]")
    with pytest.raises(PolicyError, match=r"entities\[1\]: unknown entity 'BADGE_ID'"):
        parse_policy(data, "p.yaml")
    pol = parse_policy(data, "p.yaml", extra_entities=["BADGE_ID"])
    assert pol.purposes["summarization"].redact.entities == {"PERSON", "BADGE_ID"}
    allp = parse_policy((POLICIES / "good_minimal.yaml").read_bytes(), "p.yaml", ["BADGE_ID"])
    assert allp.purposes["summarization"].redact.entities == ENTITY_TYPES | {"BADGE_ID"}


@pytest.mark.parametrize("data, needle", [
    (b"", "empty"),
    (b"\xff\xfe\x00garbage", "UTF-8"),
    (b"version: 1\n  bad: indent\n: x", "invalid YAML at line"),
    (b"!!python/object:os.system {}", "invalid YAML"),
    (b"{1: 2}", "keys must be strings"),
    (b"version: true\npolicy_id: x\naccount: {id: a, ai_features: {}}\npurposes: {}",
     "version: unsupported version"),
])
def test_malformed_bytes_are_one_line_errors(data: bytes, needle: str) -> None:
    with pytest.raises(PolicyError) as info:
        parse_policy(data, "conf/p.yaml")
    assert needle in str(info.value)
    assert str(info.value).startswith("conf/p.yaml: ")
    assert "\n" not in str(info.value)


def test_missing_file_is_policy_error(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="cannot read the policy file"):
        load_policy(tmp_path / "nope.yaml")


def test_summary_lists_ids_and_consent_not_names() -> None:
    pol = load_policy(POLICIES / "good_dev.yaml")
    before = summarize(pol, datetime(2026, 11, 10, tzinfo=UTC))
    after = summarize(pol, datetime(2026, 11, 28, tzinfo=UTC))
    for text in (before, after):
        assert "p-carla" in text and "Carla" not in text and "Alice Martin" not in text
        assert "summarization: enabled" in text
    bob_before = next(line for line in before.splitlines() if line.startswith("  p-bob"))
    bob_after = next(line for line in after.splitlines() if line.startswith("  p-bob"))
    assert "training=yes" in bob_before and "training=no (consent withdrawn)" in bob_after
    spec = summarize(load_policy(POLICIES / "good_spec_example.yaml"),
                     datetime(2026, 11, 28, tzinfo=UTC))
    assert "training: DISABLED by the account" in spec


# ------------------------------------------------------------------ watcher


def _bump(path: Path, text: str) -> None:
    st = path.stat()
    path.write_text(text)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))


def test_watcher_reloads_and_keeps_last_valid(tmp_path: Path) -> None:
    p = tmp_path / "policy.yaml"
    good = (POLICIES / "good_minimal.yaml").read_text()
    p.write_text(good)
    w = PolicyWatcher(p)
    first = w.current
    assert w.maybe_reload() is False and w.rejected is None

    _bump(p, good.replace("policy_id: minimal", "policy_id: minimal-2"))
    assert w.maybe_reload() is True
    assert w.current.policy_id == "minimal-2" and w.current.sha256 != first.sha256

    _bump(p, good.replace("operator: redact", "operator: foo"))
    assert w.maybe_reload() is False
    assert w.current.policy_id == "minimal-2"
    assert w.rejected is not None and "purposes.summarization.redact.operator" in w.rejected

    p.unlink()
    assert w.maybe_reload() is False and w.current.policy_id == "minimal-2"
    assert w.rejected is not None and "cannot read" in w.rejected

    _bump_new = good.replace("policy_id: minimal", "policy_id: minimal-3")
    p.write_text(_bump_new)
    assert w.maybe_reload() is True
    assert w.current.policy_id == "minimal-3" and w.rejected is None


def test_watcher_first_load_must_be_valid(tmp_path: Path) -> None:
    p = tmp_path / "policy.yaml"
    p.write_text("version: 1\n")
    with pytest.raises(PolicyError):
        PolicyWatcher(p)


def test_watcher_is_thread_safe(tmp_path: Path) -> None:
    p = tmp_path / "policy.yaml"
    good = (POLICIES / "good_minimal.yaml").read_text()
    p.write_text(good)
    w = PolicyWatcher(p)
    errors: list[BaseException] = []
    stop = threading.Event()

    def reader() -> None:
        try:
            while not stop.is_set():
                w.maybe_reload()
                assert w.current.policy_id.startswith("minimal")
        except (AssertionError, PolicyError, OSError) as exc:  # pragma: no cover
            errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for t in threads:
        t.start()
    for i in range(20):
        _bump(p, good.replace("policy_id: minimal", f"policy_id: minimal-{i}"))
    stop.set()
    for t in threads:
        t.join()
    assert not errors
    w.maybe_reload()
    assert w.current.policy_id == "minimal-19"


def test_detection_regions_are_checked_and_kept() -> None:
    base = (b"version: 1\npolicy_id: r\naccount: {id: a, ai_features: {s: true}}\n"
            b"purposes:\n  s: {consent: opt_out, missing_consent: exclude, recipients: [x],"
            b" redact: {entities: all, operator: redact}, audio: bleep}\n")
    assert parse_policy(base, "p.yaml").detection_regions == ()
    assert parse_policy(base + b"detection: {regions: [gb, DE]}\n", "p.yaml").detection_regions == ("GB", "DE")
    with pytest.raises(PolicyError, match=r"detection\.regions\[0\]"):
        parse_policy(base + b"detection: {regions: [XX]}\n", "p.yaml")
    with pytest.raises(PolicyError, match="detection"):
        parse_policy(base + b"detection: {zones: [GB]}\n", "p.yaml")
