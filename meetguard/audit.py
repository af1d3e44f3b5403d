"""The tamper-evident audit log: append-only, hash-chained JSON lines.

Each record gets ``seq`` (from 1), ``ts`` (UTC), ``prev_hash`` (64 zeros for
the first) and ``hash`` = SHA-256 hex of the UTF-8 JSON of the record without
``hash`` (sorted keys, separators ``,``/``:``, non-ASCII kept), or HMAC-SHA256
under a key (``AuditLog(path, key)``, from ``audit.key_env``); the chain and its
verification (exact bytes, key, head) live in :mod:`meetguard._audit_chain`. Writers take an
exclusive ``flock`` on the file while they read the last record and append,
so several processes and threads may share one log. A last line without its
newline (a torn tail, e.g. after a crash) is truncated by the next writer;
:func:`verify` reports it as "torn tail after seq N".

Only an allowlist of top-level keys is accepted, so no content can slip in.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from ._audit_chain import GENESIS_HASH, MAC, VerifyResult, dumps, record_hash, seal, verify
from ._errors import AuditError

if TYPE_CHECKING:
    from ._result import Delivery, GuardResult

__all__ = [
    "ALLOWED_KEYS",
    "GENESIS_HASH",
    "AuditLog",
    "AuditSink",
    "MemoryAuditSink",
    "VerifyResult",
    "decision_record",
    "output_failure_record",
    "record_hash",
    "verify",
]

ALLOWED_KEYS: frozenset[str] = frozenset({
    "policy_id", "policy_sha256", "purpose", "recipient", "meeting_id", "decision", "reasons",
    "excluded_participants", "entity_counts", "retention_days", "input_sha256",
    "output_sha256", "delivered", "at", "error",
    # consent withdrawal (docs/consent.md): whose content a release holds, what it released,
    # and the withdrawal / erasure events
    "participants", "artefacts", "event", "erasure",
    # consent time (#19): every decision stores its `at`, whether it was a replay, the attendees claimed
    "attendees", "at_replayed",   # "event" also: a platform event (the Zoom webhook)
    "reidentify",                 # a re-identification call: caller, count restored (#15)
    "languages",                  # the documents' languages (#18)
    "live",                       # a live session's summary: ids and counts (#30, docs/live.md)
    "replica",                    # the sidecar replica that wrote it (state: postgres, #27)
    "silenced", "silenced_seconds",   # refusing speakers silenced in mixed audio (#28): ids, times
    "video",                      # the video stage's frames and hidden boxes, geometry only (#29)
})
DECISIONS = frozenset({"release", "partial", "deny", "error"})
_TAIL_CHUNK = 64 * 1024


def _dumps(obj: Mapping[str, Any]) -> str:
    return dumps(obj)


def decision_record(result: GuardResult, input_sha256: list[str], delivery: Delivery | None,
                    *, participants: Sequence[str] = (), kinds: Mapping[str, str] | None = None,
                    verified: Mapping[str, bool] | None = None,
                    attendees: Sequence[str] = ()) -> dict[str, Any]:
    """The audit record of one decision: ids, counts and hashes, never content.

    ``participants`` are the policy ids whose content was released; ``kinds`` and
    ``verified`` describe each output (its artefact kind, and for released audio
    whether it was re-transcribed clean), which an erasure request names."""
    return {
        "policy_id": result.policy_id,
        "policy_sha256": result.policy_sha256,
        "purpose": result.purpose,
        "recipient": result.recipient,
        "meeting_id": result.meeting_id,
        "decision": result.decision,
        "at": result.at,
        "at_replayed": result.at_replayed,
        "attendees": list(attendees),
        "reasons": list(result.reasons),
        "excluded_participants": list(result.excluded_participants),
        "entity_counts": dict(sorted(result.entity_counts.items())),
        "retention_days": result.retention_days,
        "input_sha256": list(input_sha256),
        "output_sha256": {name: hashlib.sha256(data).hexdigest()
                          for name, data in sorted(result.outputs.items())},
        "delivered": None if delivery is None else {"delivered": delivery.delivered,
                                                    "status": delivery.status},
        "participants": list(participants) if result.decision != "error" else [],
        "artefacts": _artefacts(result.outputs, kinds or {}, verified or {}),
        **({"languages": list(result.languages)} if result.languages else {}),
        **({"silenced": [dict(s) for s in result.silenced], "silenced_seconds": result.silenced_seconds}
           if result.silenced is not None else {}),
    }


def _artefacts(outputs: Mapping[str, bytes], kinds: Mapping[str, str],
               verified: Mapping[str, bool]) -> list[dict[str, Any]]:
    """Kind and sha256 of each released output (what an erasure request names)."""
    out: list[dict[str, Any]] = []
    for name, data in sorted(outputs.items()):
        item: dict[str, Any] = {"kind": kinds.get(name, "chat"),
                                "sha256": hashlib.sha256(data).hexdigest()}
        if name in verified:
            item["verified"] = verified[name]
        out.append(item)
    return out


def output_failure_record(result: GuardResult, failure: str) -> dict[str, Any]:
    """The record written after a decision whose outputs could not be written out."""
    return {
        "policy_id": result.policy_id, "policy_sha256": result.policy_sha256,
        "purpose": result.purpose, "recipient": result.recipient, "meeting_id": result.meeting_id,
        "decision": "error", "at": result.at, "output_sha256": {},
        "reasons": [f"output_failed: {failure}; outputs of {result.audit_id} were not written"],
    }


def _check_record(record: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(record, Mapping):
        raise AuditError("audit record must be a mapping")
    for key in record:
        if not isinstance(key, str) or key not in ALLOWED_KEYS:
            shown = key[:40] if isinstance(key, str) else type(key).__name__
            raise AuditError(f"audit record key not allowed: {shown!r}")
    decision = record.get("decision")
    if decision is not None and decision not in DECISIONS:
        raise AuditError("audit record has an invalid decision")
    out = dict(record)
    try:
        _dumps(out)
    except (TypeError, ValueError):
        raise AuditError("audit record is not JSON-serialisable") from None
    return out


def _seal(record: Mapping[str, Any], seq: int, prev_hash: str, key: bytes | None = None) -> dict[str, Any]:
    return seal(record, seq, prev_hash, key)


@runtime_checkable
class AuditSink(Protocol):
    """Where a Guard writes its audit records (:class:`AuditLog`, or
    :class:`MemoryAuditSink` in tests)."""

    def append(self, record: Mapping[str, Any]) -> dict[str, Any]: ...

    def preflight(self) -> None:
        """Raise AuditError when a record could not be written now (checked
        before anything irreversible, such as forwarding, happens)."""
        ...

    def close(self) -> None: ...


class MemoryAuditSink:
    """An in-memory chain for tests: same records and checks as :class:`AuditLog`."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self.closed = False

    def append(self, record: Mapping[str, Any]) -> dict[str, Any]:
        checked = _check_record(record)
        with self._lock:
            if self.closed:
                raise AuditError("audit sink is closed")
            prev = self.records[-1]["hash"] if self.records else GENESIS_HASH
            full = _seal(checked, len(self.records) + 1, prev)
            self.records.append(full)
            return dict(full)

    def preflight(self) -> None:
        if self.closed:
            raise AuditError("audit sink is closed")

    def close(self) -> None:
        self.closed = True


class AuditLog:
    """An append-only, hash-chained JSONL file, safe for concurrent writers."""

    def __init__(self, path: str | os.PathLike[str], key: bytes | None = None,
                 replica: str | None = None) -> None:
        """``key``: chain with HMAC-SHA256 under it (``audit.key_env``); see _audit_chain.
        ``replica``: named in every record (replicas sharing state: each keeps its own chain)."""
        self.path = Path(path)
        self._key = key
        self.replica = replica
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"AuditLog({str(self.path)!r})"

    def _fail(self, what: str, exc: OSError) -> AuditError:
        return AuditError(f"{self.path}: cannot {what} the audit log: "
                          f"{exc.strerror or type(exc).__name__}")

    def append(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """Append one record; returns it with seq, ts, prev_hash and hash."""
        checked = _check_record(record)
        if self.replica is not None:
            checked["replica"] = self.replica
        with self._lock:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC,
                             0o600)
            except OSError as exc:
                raise self._fail("open", exc) from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                seq, prev, keyed = self._last(fd)
                if keyed and self._key is None:
                    raise AuditError(f"{self.path}: the audit log is keyed (HMAC-SHA256) but no key is "
                                     f"configured (audit.key_env); refusing to append an unkeyed record")
                full = _seal(checked, seq + 1, prev, self._key)
                data = (_dumps(full) + "\n").encode("utf-8")
                view = memoryview(data)
                while view:
                    n = os.write(fd, view)
                    view = view[n:]
                os.fsync(fd)
                return full
            except OSError as exc:
                raise self._fail("write", exc) from None
            finally:
                os.close(fd)  # releases the flock

    def preflight(self, room: int = 1 << 20) -> None:
        """Raise :class:`AuditError` unless a record could be appended now: the log opens
        for appending and its file system has ``room`` bytes free. Called before content
        is forwarded, which cannot be taken back if the audit write then fails."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                st = os.fstatvfs(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            raise self._fail("open", exc) from None
        if st.f_bavail * st.f_frsize < room:
            raise AuditError(f"{self.path}: cannot write the audit log: "
                             f"{os.strerror(errno.ENOSPC)}")

    def _last(self, fd: int) -> tuple[int, str, bool]:
        """(seq, hash, keyed) of the last complete record; truncates a torn tail first."""
        size = os.fstat(fd).st_size
        complete_end = _after_last_newline(fd, size)
        if complete_end < size:
            os.ftruncate(fd, complete_end)
        if complete_end == 0:
            return 0, GENESIS_HASH, False
        line_start = _after_last_newline(fd, complete_end - 1)
        line = os.pread(fd, complete_end - 1 - line_start, line_start)
        try:
            last = json.loads(line.decode("utf-8"))
            seq = last["seq"]
            h = last["hash"]
            if not isinstance(seq, int) or isinstance(seq, bool) or not isinstance(h, str):
                raise TypeError
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            raise AuditError(f"{self.path}: the last audit record is unreadable; "
                             f"refusing to extend a broken chain") from None
        return seq, h, last.get("mac") == MAC

    def last_head(self) -> tuple[int, str]:
        """``(seq, hash)`` of the last complete record, read only (0 and the genesis hash
        for an empty or missing log); what the shared state anchors."""
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            return 0, GENESIS_HASH
        except OSError as exc:
            raise self._fail("read", exc) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_SH)
            end = _after_last_newline(fd, os.fstat(fd).st_size)
            if end == 0:
                return 0, GENESIS_HASH
            start = _after_last_newline(fd, end - 1)
            last = json.loads(os.pread(fd, end - 1 - start, start).decode("utf-8"))
            return int(last["seq"]), str(last["hash"])
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            raise AuditError(f"{self.path}: the last audit record is unreadable") from None
        finally:
            os.close(fd)

    def close(self) -> None:
        """Nothing is held open between appends."""


def _after_last_newline(fd: int, end: int) -> int:
    """Offset just after the last newline in bytes [0, end) of the file, or 0."""
    pos = end
    while pos > 0:
        start = max(0, pos - _TAIL_CHUNK)
        chunk = os.pread(fd, pos - start, start)
        nl = chunk.rfind(b"\n")
        if nl >= 0:
            return start + nl + 1
        pos = start
    return 0
