"""Append a ``withdrawn`` consent event to the policy file, safely.

The file is changed only when the edited policy validates: the original is
copied to ``<file>.bak`` first, the new text is written to a temporary file in
the same folder, synced, and renamed over the original (atomic on POSIX). Any
error leaves the policy file as it was. A file with no write bit is refused
(``chmod a-w`` protects a policy even from root). A YAML policy is edited in
place (policy_yaml.py): its diff is the new event, comments and formatting stay;
a JSON policy stays JSON.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from .._errors import PolicyError, UsageError
from .._files import atomic_write
from .._time import require_aware
from ..policy import Policy, parse_policy

__all__ = ["PolicyEdit", "append_withdrawal", "policy_lock"]


@dataclass(frozen=True)
class PolicyEdit:
    policy: Policy                 # the policy as written (re-validated)
    backup: Path                   # the previous file


def _iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


@contextmanager
def policy_lock(path: Path) -> Iterator[None]:
    """Serialise edits of one policy file (the folder is locked: the file itself is
    replaced by each edit)."""
    fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def _edited(raw: Any, participant: str, purpose: str, at: datetime, recorded: datetime) -> Any:
    for entry in raw.get("participants") or []:
        if isinstance(entry, dict) and entry.get("id") == participant:
            consent = entry.get("consent") or {}
            entry["consent"] = consent
            events = consent.get(purpose)
            history = [] if events is None else [events] if isinstance(events, dict) else list(events)
            # appended last, with when it was recorded: it wins over every earlier event
            history.append({"status": "withdrawn", "at": _iso(at), "recorded": _iso(recorded)})
            consent[purpose] = history
            return raw
    raise UsageError(f"unknown participant id {participant[:60]!r}")


def _serialise(raw: Any, was_json: bool) -> bytes:
    if was_json:
        text = json.dumps(raw, indent=2, ensure_ascii=False,
                          default=lambda v: _iso(v) if isinstance(v, datetime) else str(v))
        return (text + "\n").encode("utf-8")
    return yaml.safe_dump(raw, sort_keys=False, allow_unicode=True, width=100).encode("utf-8")


def _new_text(data: bytes, participant: str, purpose: str, at: datetime,
              recorded: datetime) -> bytes:
    """The policy with the event appended: a JSON policy re-written as JSON, a YAML one
    edited in place so that its diff is the event alone (policy_yaml.py)."""
    if data.lstrip()[:1] == b"{":
        return _serialise(_edited(yaml.safe_load(data), participant, purpose, at, recorded), True)
    from .policy_yaml import append_event

    event = {"status": "withdrawn", "at": _iso(at), "recorded": _iso(recorded.replace(microsecond=0))}
    return append_event(data.decode("utf-8"), participant, purpose, event).encode("utf-8")


def append_withdrawal(path: str | os.PathLike[str], participant: str, purpose: str, at: datetime,
                      extra_entities: Iterable[str] = (), *,
                      recorded: datetime | None = None) -> PolicyEdit:
    """Record that ``participant`` withdrew consent to ``purpose`` at ``at`` (the time
    claimed); the event takes effect from ``recorded`` (default: now), see history.py.

    Raises UsageError (unknown participant or purpose, naive ``at``) or PolicyError
    (invalid or unwritable file); in every error case the file is unchanged."""
    p = Path(path)
    require_aware(at, "--at")
    recorded = recorded or datetime.now(UTC)
    require_aware(recorded, "recorded")
    with policy_lock(p.absolute()):
        try:
            data = p.read_bytes()
            mode = os.stat(p).st_mode & 0o7777
        except OSError as exc:
            raise PolicyError(str(p), "", f"cannot read the policy file: "
                              f"{exc.strerror or 'I/O error'}") from None
        current = parse_policy(data, str(p), extra_entities)
        if purpose not in current.purposes:
            raise UsageError(f"{p}: purpose {purpose[:60]!r} is not in the policy")
        if current.participant(participant) is None:
            raise UsageError(f"{p}: unknown participant id {participant[:60]!r}")
        if not mode & 0o222:
            raise PolicyError(str(p), "", "the policy file is read-only; nothing was changed")
        new = _new_text(data, participant, purpose, at, recorded)
        edited = parse_policy(new, str(p), extra_entities)
        backup = p.with_name(p.name + ".bak")
        try:
            atomic_write(backup, data, mode=mode)
            atomic_write(p, new, mode=mode)
        except OSError as exc:
            raise PolicyError(str(p), "", f"cannot write the policy file: "
                              f"{exc.strerror or 'I/O error'}; nothing was changed") from None
    return PolicyEdit(edited, backup)
