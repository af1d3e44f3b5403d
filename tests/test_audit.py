"""The hash-chained audit log (policy-v1.md "Audit record")."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import stat
import threading
from pathlib import Path
from typing import Any

import pytest

from meetguard import AuditError
from meetguard._audit_chain import dumps as canonical
from meetguard.audit import (
    GENESIS_HASH,
    AuditLog,
    AuditSink,
    MemoryAuditSink,
    record_hash,
    verify,
)


def rec(i: int = 0, **kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "policy_id": "pol", "policy_sha256": "ab" * 32, "purpose": "summarization",
        "recipient": "summarizer", "meeting_id": f"m-{i}", "decision": "partial",
        "reasons": ["p-carla does not consent — excluded"], "excluded_participants": ["p-carla"],
        "entity_counts": {"PERSON": 3}, "retention_days": 30, "input_sha256": ["00" * 32],
        "output_sha256": "11" * 32, "delivered": None,
    }
    base.update(kw)
    return base


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]


def test_chain_fields_and_hash(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "dir" / "audit.jsonl"
    log = AuditLog(path)
    out = [log.append(rec(i)) for i in range(3)]
    assert [r["seq"] for r in out] == [1, 2, 3]
    assert out[0]["prev_hash"] == GENESIS_HASH
    assert out[1]["prev_hash"] == out[0]["hash"] and out[2]["prev_hash"] == out[1]["hash"]
    stored = lines(path)
    assert stored == out
    for r in stored:
        body = {k: v for k, v in r.items() if k != "hash"}
        canon = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert r["hash"] == hashlib.sha256(canon.encode("utf-8")).hexdigest()
        assert r["ts"].endswith("Z")
    raw = path.read_bytes()
    assert raw.endswith(b"\n") and "—".encode() in raw  # non-ASCII kept, not escaped
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    res = verify(path)
    assert res.ok and res.count == 3 and res.first_bad_seq is None and res.torn_after is None


def test_append_continues_an_existing_log(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    AuditLog(path).append(rec(1))
    r2 = AuditLog(path).append(rec(2))
    assert r2["seq"] == 2
    assert verify(path).count == 2


@pytest.mark.parametrize("target, field, value", [
    (1, "decision", "release"),
    (2, "excluded_participants", []),
    (3, "seq", 7),
    (2, "prev_hash", "f" * 64),
])
def test_tampering_is_found_at_the_first_bad_seq(tmp_path: Path, target: int, field: str,
                                                 value: Any) -> None:
    path = tmp_path / "a.jsonl"
    log = AuditLog(path)
    for i in range(5):
        log.append(rec(i))
    recs = lines(path)
    recs[target - 1][field] = value
    path.write_text("".join(canonical(r) + "\n" for r in recs), encoding="utf-8")
    res = verify(path)
    assert not res.ok and res.first_bad_seq == target and res.count == target - 1
    assert f"seq {target}" in res.message


def test_rehashed_tamper_breaks_the_next_link(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    log = AuditLog(path)
    for i in range(4):
        log.append(rec(i))
    recs = lines(path)
    recs[1]["decision"] = "release"
    recs[1]["hash"] = record_hash(recs[1])
    path.write_text("".join(canonical(r) + "\n" for r in recs), encoding="utf-8")
    res = verify(path)
    assert not res.ok and res.first_bad_seq == 3


def test_deleted_middle_record_and_garbage_line(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    log = AuditLog(path)
    for i in range(4):
        log.append(rec(i))
    raw = path.read_text().splitlines(keepends=True)
    path.write_text(raw[0] + raw[2] + raw[3])
    assert verify(path).first_bad_seq == 2
    path.write_text(raw[0] + "not json\n" + "".join(raw[1:]))
    assert verify(path).first_bad_seq == 2


def test_torn_tail_reported_then_repaired(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    log = AuditLog(path)
    for i in range(3):
        log.append(rec(i))
    complete = path.read_bytes()
    with open(path, "ab") as fh:
        fh.write(b'{"seq":4,"decision":"rel')
    res = verify(path)
    assert not res.ok and res.torn_after == 3 and res.first_bad_seq is None
    assert res.message == "torn tail after seq 3"
    r4 = log.append(rec(4))
    assert r4["seq"] == 4
    data = path.read_bytes()
    assert data.startswith(complete) and b'"rel' + b"\n" not in data
    res = verify(path)
    assert res.ok and res.count == 4


def test_torn_tail_without_any_complete_record(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_bytes(b'{"seq":1,')
    assert verify(path).torn_after == 0
    assert AuditLog(path).append(rec())["seq"] == 1
    assert verify(path).ok


def test_refuses_to_extend_an_unreadable_last_record(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_text("garbage\n")
    with pytest.raises(AuditError, match="unreadable"):
        AuditLog(path).append(rec())


@pytest.mark.parametrize("bad", [
    {"transcript": "Alice said hi"},
    {"seq": 5},
    {"hash": "x"},
    {"decision": "maybe"},
    {"reasons": {1, 2}},
    {"entity_counts": {"PERSON": float("nan")}},
])
def test_rejects_unknown_keys_and_bad_values(tmp_path: Path, bad: dict[str, Any]) -> None:
    path = tmp_path / "a.jsonl"
    for sink in (AuditLog(path), MemoryAuditSink()):
        with pytest.raises(AuditError):
            sink.append({**rec(), **bad})
    assert not path.exists() or path.read_bytes() == b""


def test_unknown_key_message_is_one_line_without_values(tmp_path: Path) -> None:
    with pytest.raises(AuditError) as info:
        AuditLog(tmp_path / "a.jsonl").append({"decision": "deny", "secret_555": "Alice"})
    assert "Alice" not in str(info.value) and "\n" not in str(info.value)


def test_oserror_becomes_audit_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(AuditError) as info:
        AuditLog(blocker / "audit.jsonl").append(rec())
    assert str(blocker) in str(info.value)
    with pytest.raises(AuditError):
        verify(tmp_path / "missing.jsonl")


def test_memory_sink_matches_the_file_chain() -> None:
    sink = MemoryAuditSink()
    assert isinstance(sink, AuditSink) and isinstance(AuditLog("x"), AuditSink)
    a = sink.append(rec(1))
    b = sink.append(rec(2))
    assert (a["seq"], b["seq"]) == (1, 2) and b["prev_hash"] == a["hash"]
    assert a["hash"] == record_hash(a)
    sink.close()
    with pytest.raises(AuditError):
        sink.append(rec(3))


def test_threads_share_one_log(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    log = AuditLog(path)
    threads = [threading.Thread(target=lambda: [log.append(rec()) for _ in range(25)])
               for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    res = verify(path)
    assert res.ok and res.count == 100


def _writer(path: str, n: int, tag: int) -> None:
    log = AuditLog(path)
    for i in range(n):
        log.append(rec(meeting_id=f"w{tag}-{i}"))


def test_concurrent_processes(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    ctx = multiprocessing.get_context("fork" if hasattr(os, "fork") else "spawn")
    procs = [ctx.Process(target=_writer, args=(str(path), 50, k)) for k in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    res = verify(path)
    assert res.ok and res.count == 200
    recs = lines(path)
    assert [r["seq"] for r in recs] == list(range(1, 201))
    assert len({r["meeting_id"] for r in recs}) == 200
