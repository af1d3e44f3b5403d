"""The audit log's chain: sealing records and verifying a file, with an optional key and head.

Each record is one line: the canonical JSON (sorted keys, ``,``/``:``, non-ASCII
kept) of the record with ``seq`` (from 1), ``ts``, ``prev_hash`` (64 zeros for the
first) and ``hash``. ``hash`` is

- SHA-256 of the canonical JSON of the record without ``hash``: anyone can
  recompute it, so it shows accidents and edits that were not rehashed; or
- with a key (``audit.key_env`` names the variable holding it), HMAC-SHA256
  under that key, and the record carries ``"mac": "hmac-sha256"``: without the
  key nobody can rehash an edited record.

:func:`verify` checks the exact bytes of every line (a reformatted line fails
even if it parses to the same record), the sequence, every ``prev_hash`` link and
every ``hash``. Given a key, every record must be keyed. Given a head
(``SEQ:HASH``, printed earlier by :func:`head` and kept elsewhere), the record
at that seq must exist and carry that hash: truncating the log, or rewriting
and rehashing any record at or before the head, no longer verifies.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ._errors import AuditError, UsageError

__all__ = ["GENESIS_HASH", "MAC", "VerifyResult", "dumps", "head", "key_from_env", "parse_head",
           "record_hash", "seal", "verify"]

GENESIS_HASH = "0" * 64
MAC = "hmac-sha256"
_HEAD = re.compile(r"^([1-9][0-9]{0,17}):([0-9a-f]{64})$")


def dumps(obj: Mapping[str, Any]) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def record_hash(record: Mapping[str, Any], key: bytes | None = None) -> str:
    """The ``hash`` of ``record`` (its other fields): SHA-256, or HMAC-SHA256 under ``key``."""
    body = dumps({k: v for k, v in record.items() if k != "hash"}).encode("utf-8")
    if key is not None:
        return hmac.new(key, body, hashlib.sha256).hexdigest()
    return hashlib.sha256(body).hexdigest()


def key_from_env(name: str | None, env: Mapping[str, str] = os.environ) -> bytes | None:
    """The audit key from the variable ``name`` (``audit.key_env``); None when not configured.
    A configured variable that is unset or empty fails closed."""
    if not name:
        return None
    value = env.get(name, "")
    if not value:
        raise AuditError(f"audit.key_env: the variable {name} is not set; refusing to write an unkeyed audit log")
    return value.encode("utf-8")


def seal(record: Mapping[str, Any], seq: int, prev_hash: str, key: bytes | None = None) -> dict[str, Any]:
    full = dict(record)
    full["seq"] = seq
    full["ts"] = datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
    full["prev_hash"] = prev_hash
    if key is not None:
        full["mac"] = MAC
    full["hash"] = record_hash(full, key)
    return full


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    count: int                          # records verified good before any problem
    first_bad_seq: int | None           # seq (position) of the first bad record
    torn_after: int | None              # seq after which a torn tail begins
    message: str
    head: tuple[int, str] | None = None  # (seq, hash) of the last good record
    macs_unchecked: bool = False        # keyed records seen without the key: HMACs not checked


def parse_head(text: str) -> tuple[int, str]:
    m = _HEAD.match(text.strip())
    if m is None:
        raise UsageError("--head: expected SEQ:HASH (the output of `meetguard audit head`)")
    return int(m.group(1)), m.group(2)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise AuditError(f"{path}: cannot read the audit log: {exc.strerror or type(exc).__name__}") from None


def verify(path: str | os.PathLike[str], *, key: bytes | None = None,
           head: tuple[int, str] | None = None) -> VerifyResult:
    """Check an audit log file: exact bytes, sequence, links, hashes; with ``key``, that
    every record is keyed; with ``head``, that the log still holds that record unchanged."""
    lines = _read(Path(path)).split(b"\n")
    tail = lines.pop()  # b"" when the file ends with a newline
    prev, count, last, unchecked = GENESIS_HASH, 0, None, False
    for i, raw in enumerate(lines, start=1):
        problem = _check_line(raw, i, prev, key)
        if problem is not None:
            return VerifyResult(False, count, i, None, f"chain broken at seq {i}: {problem}", last)
        rec = json.loads(raw.decode("utf-8"))
        prev, unchecked = rec["hash"], unchecked or (key is None and rec.get("mac") == MAC)
        count, last = i, (i, prev)
        if head is not None and i == head[0] and not hmac.compare_digest(prev, head[1]):
            return VerifyResult(False, i - 1, i, None,
                                f"chain broken at seq {i}: does not match the head (rewritten at or before it)",
                                last)
    if head is not None and count < head[0]:
        return VerifyResult(False, count, count + 1, None,
                            f"truncated: the head seq {head[0]} is missing (the log ends at seq {count})", last)
    if tail:
        return VerifyResult(False, count, None, count, f"torn tail after seq {count}", last)
    anchored = f", anchored at seq {head[0]}" if head is not None else ""
    if unchecked:
        return VerifyResult(True, count, None, None,
                            f"cannot check the HMACs: the log is keyed (HMAC-SHA256) and no key was given "
                            f"(--key-env NAME); only the structure and links of {count} records were checked"
                            f"{anchored}", last, macs_unchecked=True)
    what = "keyed (HMAC-SHA256)" if key is not None else "not checked against a key"
    return VerifyResult(True, count, None, None, f"ok: {count} records, {what}{anchored}", last)


def head(path: str | os.PathLike[str], *, key: bytes | None = None) -> tuple[int, str]:
    """``(seq, hash)`` of the last record of a log that verifies; raises AuditError otherwise,
    and UsageError for a keyed log without its key (a head nobody checked is no anchor)."""
    result = verify(path, key=key)
    if not result.ok:
        raise AuditError(f"{path}: {result.message}")
    if result.macs_unchecked:
        raise UsageError(f"{path}: refusing to print an unchecked head: the log is keyed (HMAC-SHA256) "
                         f"and no key was given (--key-env NAME)")
    return result.head if result.head is not None else (0, GENESIS_HASH)


def _check_line(raw: bytes, seq: int, prev: str, key: bytes | None) -> str | None:
    try:
        rec = json.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError):
        return "not a JSON record"
    if not isinstance(rec, dict):
        return "not a JSON record"
    try:
        exact = dumps(rec).encode("utf-8") == raw
    except (TypeError, ValueError):
        return "not a JSON record"
    if not exact:
        return "the line is not the record's canonical bytes (edited or reformatted)"
    if rec.get("seq") != seq or isinstance(rec.get("seq"), bool):
        return "sequence number out of order"
    if rec.get("prev_hash") != prev:
        return "prev_hash does not match the previous record"
    keyed = rec.get("mac") == MAC
    if key is not None and not keyed:
        return "the record is not keyed"
    if keyed and key is None:
        return None if isinstance(rec.get("hash"), str) else "hash missing"
    if not hmac.compare_digest(str(rec.get("hash")), record_hash(rec, key if keyed else None)):
        return "hash does not match the record"
    return None
