"""A live session's report: its audit record (``event: live_session``, docs/live.md) read
as a release, so ``render`` shows it like one: the verdict ``live``, the purpose and
recipient, who was included and who was excluded (by policy id), counts released and
dropped by reason, the withdrawals applied during the meeting, and the chain's check.
No content: a live session keeps none."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .._errors import InputError, MeetguardError
from ..audit import verify
from ..consent.releases import read_records
from ._input import ReportInput

__all__ = ["from_live"]


def _session(records: list[dict[str, Any]], meeting_id: str, audit: Path) -> dict[str, Any]:
    found = [r for r in records if r.get("event") == "live_session"
             and (r.get("meeting_id") == meeting_id or r.get("hash") == meeting_id)]
    if not found:
        raise InputError(str(audit), "no live session of that meeting (or audit id) in the audit log")
    return found[-1]


def _purpose(live: Mapping[str, Any], purpose: str | None, audit: Path) -> Mapping[str, Any]:
    entries = [p for p in live.get("purposes") or [] if isinstance(p, Mapping)]
    chosen = [p for p in entries if purpose is None or p.get("purpose") == purpose]
    if len(chosen) != 1:
        raise InputError(str(audit), "the session fed several purposes: name one with --purpose"
                         if purpose is None else "the session did not feed that purpose")
    return chosen[0]


def _reasons(live: Mapping[str, Any], entry: Mapping[str, Any]) -> list[str]:
    reasons = [(f"live session from {live.get('source')}: {live.get('started')} to {live.get('stopped')}, "
                f"ended: {live.get('end_reason')}, connections: {live.get('sessions')}")]
    reasons += [f"released {n} {kind} item(s)" for kind, n in sorted((entry.get("released") or {}).items())]
    reasons += [f"dropped {n} item(s): {why}" for why, n in sorted((entry.get("dropped") or {}).items())]
    reasons += [f"{pid} withdrew consent during the meeting; applied from the next item"
                for pid in entry.get("withdrawals_applied") or []]
    if live.get("unknown_speakers"):
        reasons.append(f"{live.get('unknown_speakers')} speaker(s) matched no participant")
    return reasons


def from_live(audit_path: str | os.PathLike[str], meeting_id: str, purpose: str | None,
              policy: Any = None, notes: tuple[str, ...] = (), key: bytes | None = None) -> ReportInput:
    """What a report needs, from the audit record of a live session (the last one of
    ``meeting_id``, or the record whose hash is ``meeting_id``). Raises InputError."""
    audit = Path(audit_path)
    if not audit.is_file():
        raise InputError(str(audit), "audit log not found")
    try:
        chain, records = verify(audit, key=key), read_records(audit)
    except MeetguardError as exc:
        raise InputError(str(audit), exc.message) from None
    record = _session(records, meeting_id, audit)
    raw = record.get("live")
    live: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
    entry = _purpose(live, purpose, audit)
    included = [str(p) for p in entry.get("released_participants") or []]
    excluded = sorted({str(p) for p in live.get("participants") or []} - set(included)
                      | {str(p) for p in entry.get("withdrawals_applied") or []})
    decision = {"decision": "live", "purpose": entry.get("purpose"), "recipient": entry.get("recipient"),
                "at": record.get("at"), "meeting_id": record.get("meeting_id"),
                "policy_id": record.get("policy_id"), "policy_sha256": record.get("policy_sha256"),
                "audit_id": record.get("hash"), "reasons": _reasons(live, entry),
                "excluded_participants": excluded, "entity_counts": dict(entry.get("entity_counts") or {}),
                "outputs": []}
    shown = {**record, "participants": included, "output_sha256": {}}
    return ReportInput(decision, {}, shown, chain, "", policy, notes)
