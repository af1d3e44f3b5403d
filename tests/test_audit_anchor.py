"""An anchored, keyed audit (issue #19, finding 6) and what each record must store (finding 2).

Without a key or a head, an attacker who can write the file can drop the last
records or rewrite and rehash from any point; these tests show what the key
and the head catch, and that verify reads the exact bytes of each line.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from meetguard import AuditError, Guard, GuardOptions, Meeting, UsageError
from meetguard._audit_chain import dumps, head, record_hash, verify
from meetguard.audit import AuditLog
from meetguard.cli import main
from meetguard.testing import FakeDetector

from .policies import llm_policy

KEY = b"k" * 32


def rec(i: int) -> dict[str, Any]:
    return {"policy_id": "p", "purpose": "summarization", "decision": "release", "reasons": [f"r{i}"]}


def records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def rewrite_from(path: Path, seq: int, change: dict[str, Any]) -> None:
    """What an attacker without the key can do: edit record ``seq``, rehash it and every later
    record with plain SHA-256 so that every link holds again."""
    recs = records(path)
    prev = recs[seq - 2]["hash"] if seq > 1 else "0" * 64
    for r in recs[seq - 1:]:
        if r["seq"] == seq:
            r.update(change)
        r.pop("mac", None)
        r["prev_hash"] = prev
        r["hash"] = prev = record_hash(r)
    path.write_text("".join(dumps(r) + "\n" for r in recs), encoding="utf-8")


def write(path: Path, n: int, key: bytes | None = None) -> None:
    log = AuditLog(path, key=key)
    for i in range(n):
        log.append(rec(i))


def test_rewriting_and_rehashing_passes_without_key_or_head(tmp_path: Path) -> None:
    """The documented limit: a plain chain alone cannot show a rehashed rewrite."""
    path = tmp_path / "a.jsonl"
    write(path, 5)
    rewrite_from(path, 2, {"decision": "deny"})
    assert verify(path).ok


def test_a_key_catches_a_rehashed_rewrite(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    write(path, 5, KEY)
    assert all(r["mac"] == "hmac-sha256" for r in records(path))
    assert verify(path, key=KEY).ok
    rewrite_from(path, 3, {"decision": "deny"})
    res = verify(path, key=KEY)
    assert not res.ok and res.first_bad_seq == 3
    wrong = verify(tmp_path / "a.jsonl", key=b"x" * 32)
    assert not wrong.ok


def test_a_keyed_record_with_a_wrong_mac_is_found(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    write(path, 3, KEY)
    recs = records(path)
    recs[1]["decision"] = "deny"
    recs[1]["hash"] = record_hash(recs[1], b"guess")
    recs[2]["prev_hash"] = recs[1]["hash"]
    path.write_text("".join(dumps(r) + "\n" for r in recs), encoding="utf-8")
    assert verify(path, key=KEY).first_bad_seq == 2


def test_a_head_catches_truncation_and_rewriting_behind_it(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    write(path, 6)
    anchor = head(path)
    assert anchor == (6, records(path)[-1]["hash"])
    write(path, 2)                                    # appended after the head: fine
    assert verify(path, head=anchor).ok
    data = path.read_bytes()
    kept = b"".join(line + b"\n" for line in data.split(b"\n")[:4])
    path.write_bytes(kept)                            # the last 4 records dropped
    res = verify(path, head=anchor)
    assert not res.ok and "truncated" in res.message
    assert verify(path).ok                            # what verify said before: ok
    path.write_bytes(data)
    rewrite_from(path, 2, {"decision": "deny"})
    assert verify(path).ok
    res = verify(path, head=anchor)
    assert not res.ok and res.first_bad_seq == 6 and "head" in res.message


def test_verify_checks_the_exact_bytes_of_each_line(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    write(path, 3)
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[1] = json.dumps(json.loads(lines[1]))       # same record, other spacing
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    res = verify(path)
    assert not res.ok and res.first_bad_seq == 2 and "canonical" in res.message


def test_an_unkeyed_writer_cannot_extend_a_keyed_log(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    write(path, 2, KEY)
    with pytest.raises(AuditError, match="keyed"):
        AuditLog(path).append(rec(9))
    assert len(records(path)) == 2


def test_cli_audit_head_and_verify(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "a.jsonl"
    write(path, 4, KEY)
    monkeypatch.setenv("MG_AUDIT_KEY", KEY.decode())
    assert main(["audit", "head", str(path), "--key-env", "MG_AUDIT_KEY"]) == 0
    anchor = capsys.readouterr().out.strip()
    assert anchor == f"4:{records(path)[-1]['hash']}"
    assert main(["audit", "verify", str(path), "--key-env", "MG_AUDIT_KEY", "--head", anchor]) == 0
    path.write_bytes(b"".join(line + b"\n" for line in path.read_bytes().split(b"\n")[:2]))
    assert main(["audit", "verify", str(path), "--head", anchor]) == 4
    assert "truncated" in capsys.readouterr().out
    assert main(["audit", "verify", str(path), "--head", "nonsense"]) == 2


# -- the guard: keyed chain from audit.key_env, `at` and attendees in every record ---------------

POLICY = llm_policy("CREDIT_CARD", carla=(
    "    consent:\n"
    '      summarization: [{status: withdrawn, at: "2026-11-15T00:00:00Z"}]\n'),
    tail="audit: {path: audit.jsonl, key_env: MG_TEST_AUDIT_KEY}\n")


def make_guard(tmp_path: Path) -> Guard:
    (tmp_path / "policy.yaml").write_text(POLICY, encoding="utf-8")
    detector = FakeDetector({"4111111111111111": "CREDIT_CARD"})
    return Guard(tmp_path / "policy.yaml", GuardOptions(audit_path=tmp_path / "audit.jsonl"), detector=detector)


def test_audit_key_env_keys_the_chain_and_each_record_stores_at_and_attendees(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MG_TEST_AUDIT_KEY", "secret-audit-key")
    guard = make_guard(tmp_path)
    then = datetime(2026, 11, 10, tzinfo=UTC)
    result, _ = asyncio.run(guard.redact_texts(["card 4111111111111111"], "summarization", "llm",
                                               ["p-carla"], then))
    assert result.at_replayed and result.decision_json()["at_replayed"] is True
    asyncio.run(guard.redact_texts(["hi"], "summarization", "llm", ["p-carla"]))
    first, second = records(tmp_path / "audit.jsonl")
    assert first["at"] == "2026-11-10T00:00:00Z" and first["at_replayed"] is True
    assert first["attendees"] == ["p-carla"] and second["attendees"] == ["p-carla"]
    assert second["at_replayed"] is False and second["at"] > "2026-11-15"
    assert second["excluded_participants"] == ["p-carla"]     # withdrawn by now
    assert verify(tmp_path / "audit.jsonl", key=b"secret-audit-key").ok
    # finding 7: no unkeyed digest of a message, so a card number cannot be confirmed by guessing
    assert hashlib.sha256(b"card 4111111111111111").hexdigest() not in json.dumps(first)
    assert all(h.startswith("hmac-sha256:") for h in first["input_sha256"])


def test_a_configured_key_variable_that_is_unset_fails_closed(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MG_TEST_AUDIT_KEY", raising=False)
    with pytest.raises(AuditError, match="MG_TEST_AUDIT_KEY"):
        make_guard(tmp_path)


def test_cli_at_says_it_was_replayed(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from meetguard.testing import guard_factory

    monkeypatch.setenv("MG_TEST_AUDIT_KEY", "secret-audit-key")
    (tmp_path / "policy.yaml").write_text(POLICY, encoding="utf-8")
    chat = tmp_path / "chat.txt"
    chat.write_text("10:00:01 From Bob to Everyone:\n\thello\n", encoding="utf-8")
    code = main(["guard", "--policy", str(tmp_path / "policy.yaml"), "--purpose", "summarization",
                 "--recipient", "llm", "--chat", str(chat), "--out", str(tmp_path / "out"),
                 "--at", "2026-11-10T00:00:00Z", "--audit", str(tmp_path / "audit.jsonl")],
                guard_factory=guard_factory())
    assert code in (0, 3)                       # released or denied: either way it says so
    assert "consent replayed at 2026-11-10T00:00:00Z" in capsys.readouterr().err
    assert records(tmp_path / "audit.jsonl")[-1]["at_replayed"] is True


def test_meeting_flow_records_attendees(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MG_TEST_AUDIT_KEY", "secret-audit-key")
    guard = make_guard(tmp_path)
    chat = tmp_path / "chat.txt"
    chat.write_text("10:00:01 From Bob to Everyone:\n\thello\n", encoding="utf-8")
    meeting = Meeting.from_files(chat=[chat], attendees=["p-carla"])
    asyncio.run(guard.process(meeting, "summarization", "llm"))
    last = records(tmp_path / "audit.jsonl")[-1]
    assert last["attendees"] == ["p-carla"] and last["at_replayed"] is False and last["at"]


def test_cli_head_of_a_keyed_log_without_its_key_is_refused(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    """Without the key, `audit head` printed a head of a keyed log that nothing had checked,
    so a forged last record could be anchored as if it were genuine."""
    path = tmp_path / "a.jsonl"
    write(path, 3, KEY)
    assert main(["audit", "head", str(path)]) == 2
    out = capsys.readouterr()
    assert out.out == "" and len(out.err.strip().splitlines()) == 1
    assert "keyed" in out.err and "--key-env" in out.err
    with pytest.raises(UsageError, match="unchecked head"):
        head(path)
    assert head(path, key=KEY) == (3, records(path)[-1]["hash"])
    write(tmp_path / "plain.jsonl", 2)             # an unkeyed log has a head without a key
    assert main(["audit", "head", str(tmp_path / "plain.jsonl")]) == 0
    assert capsys.readouterr().out.strip() == f"2:{records(tmp_path / 'plain.jsonl')[-1]['hash']}"


def test_cli_verify_of_a_keyed_log_without_its_key_says_it_cannot_check_the_hmacs(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Without the key, a keyed log answered "ok" (exit 0), so a forged hash passed."""
    path = tmp_path / "a.jsonl"
    write(path, 3, KEY)
    lines = path.read_bytes().split(b"\n")
    forged = json.loads(lines[2])
    forged["hash"] = "0" * 64                     # a MAC nobody without the key can check
    lines[2] = dumps(forged).encode("utf-8")
    path.write_bytes(b"\n".join(lines))
    assert main(["audit", "verify", str(path)]) == 2
    out = capsys.readouterr()
    assert out.out == "" and len(out.err.strip().splitlines()) == 1
    assert "cannot check the HMACs" in out.err and "--key-env" in out.err
    write(tmp_path / "plain.jsonl", 2)             # an unkeyed log still verifies without a key
    assert main(["audit", "verify", str(tmp_path / "plain.jsonl")]) == 0
    lines[1] = lines[1].replace(b'"seq":2', b'"seq":7')   # a broken chain is still exit 4
    path.write_bytes(b"\n".join(lines))
    assert main(["audit", "verify", str(path)]) == 4
