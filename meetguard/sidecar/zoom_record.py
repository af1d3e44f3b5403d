"""The one audit record of a Zoom recording event (zoom_job.py writes it).

``audit_entry`` builds it from the job's plan and per-purpose results: the meeting
uuid, the files by type (listed, fetched, not fetched), each purpose's decision and
delivery, the event's decision over the purposes and the job's outcome label for
the metrics. Ids and counts only: never a token, a name, an email, the topic or a
URL. ``logged`` tells whether the log holds a job's record already (a restart
between writing it and marking the job done).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .._errors import MeetguardError
from ..audit import AuditSink
from .zoom_config import ZoomPurpose
from .zoom_event import ZoomPlan

__all__ = ["audit_entry", "logged", "overall", "purpose_label"]


def purpose_label(zp: ZoomPurpose) -> str:
    """A purpose and recipient as one key: the JSON ``[purpose, recipient]``."""
    return json.dumps([zp.purpose, zp.recipient])


def logged(audit: AuditSink, key: str) -> bool:
    """Whether the audit log already holds the event record of job ``key`` (False when the
    sink is not a file that can be read back)."""
    path = getattr(audit, "path", None)
    if not isinstance(path, Path):
        return False
    try:
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                if key in line:
                    rec = json.loads(line)
                    event = rec.get("event") if isinstance(rec, dict) else None
                    if isinstance(event, dict) and event.get("job") == key:
                        return True
    except (OSError, ValueError):
        return False
    return False


def overall(decisions: list[str]) -> str:
    """The event's decision; purposes with nothing new (``duplicate``) do not count, and an
    event that brought nothing new is ``deny`` (it released nothing)."""
    if decisions and all(d == "duplicate" for d in decisions):
        return "deny"
    decisions = [d for d in decisions if d != "duplicate"]
    if not decisions or "error" in decisions:
        return "error"
    if all(d == "deny" for d in decisions):
        return "deny"
    if all(d == "release" for d in decisions):
        return "release"
    return "partial"


def audit_entry(plan: ZoomPlan, purposes: tuple[ZoomPurpose, ...],
                 results: Mapping[str, dict[str, Any]],
                 failure: MeetguardError | None, fetched: list[str]) -> tuple[dict[str, Any], str]:
    """The event's audit record and the job's outcome label (metrics)."""
    rows = []
    for zp in purposes:
        r = results.get(purpose_label(zp))
        if r is not None:
            rows.append({"purpose": zp.purpose, "recipient": zp.recipient, **r})
    reasons = [f"{row['purpose']} -> {row['recipient']}: {row['decision']}"
               + (", delivered" if row["delivered"] else "")
               + (f" ({row['reason']})" if row.get("reason") else "") for row in rows]
    if failure is not None:
        reasons.append(f"{failure.code}: {failure.message}")
        decision = "error"
    else:
        decision = overall([row["decision"] for row in rows])
    delivered = sum(1 for row in rows if row["delivered"])
    released = sum(1 for row in rows if row["decision"] in ("release", "partial"))
    if failure is not None or decision == "error" or delivered < released:
        outcome = "failed"
    elif rows and all(row["decision"] == "duplicate" for row in rows):
        outcome = "duplicate"         # every file was already delivered for this meeting
    else:
        outcome = "delivered" if delivered else "denied"
    entry = {
        "decision": decision,
        "meeting_id": plan.meeting_uuid,
        "reasons": reasons,
        "delivered": {"delivered": delivered > 0 and delivered == released, "count": delivered},
        "event": {"source": "zoom", "type": plan.event, "event_ts": plan.event_ts,
                  "files": plan.counts(), "fetched": plan.counts(fetched), "not_fetched": dict(plan.not_fetched),
                  "unknown_speaker_tracks": plan.unknown_tracks, "purposes": rows},
    }
    return entry, outcome
