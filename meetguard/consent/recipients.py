"""The data subject's answer (Art. 15(1)(c), Art. 19): where their content went.

Built from the audit chain alone: each release holding the participant's
content, and the latest state of every erasure request that names it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .releases import Release, releases_holding

__all__ = ["RecipientRow", "erasure_states", "format_rows", "recipient_rows"]


@dataclass(frozen=True)
class RecipientRow:
    recipient: str
    purpose: str
    meeting_id: str | None
    released_at: str               # the release record's time
    delivery: str                  # delivered (sidecar) | released (CLI, /v1/guard)
    audit_id: str
    erasure: tuple[tuple[str, str], ...]   # (request id, state), oldest first

    def to_json(self) -> dict[str, Any]:
        return {"recipient": self.recipient, "purpose": self.purpose,
                "meeting_id": self.meeting_id, "released_at": self.released_at,
                "delivery": self.delivery, "audit_id": self.audit_id,
                "erasure_requests": [{"request_id": r, "state": s} for r, s in self.erasure]}


def erasure_states(records: Iterable[Mapping[str, Any]]
                   ) -> tuple[dict[str, str], dict[str, list[str]]]:
    """(request id -> latest state, release audit id -> request ids) from the chain."""
    state: dict[str, str] = {}
    named: dict[str, list[str]] = {}
    for rec in records:
        er = rec.get("erasure")
        if not isinstance(er, Mapping) or "request_id" not in er:
            continue
        rid = str(er["request_id"])
        state[rid] = str(er.get("state", ""))
        for art in er.get("artefacts") or []:
            if isinstance(art, Mapping):
                ids = named.setdefault(str(art.get("audit_id")), [])
                if rid not in ids:
                    ids.append(rid)
    return state, named


def recipient_rows(records: list[dict[str, Any]], participant: str) -> list[RecipientRow]:
    states, named = erasure_states(records)
    rows = []
    for rel in releases_holding(records, participant):
        rows.append(_row(rel, [(rid, states.get(rid, "")) for rid in named.get(rel.audit_id, [])]))
    return rows


def _row(rel: Release, erasure: list[tuple[str, str]]) -> RecipientRow:
    return RecipientRow(rel.recipient or "(no recipient)", rel.purpose, rel.meeting_id, rel.ts,
                        rel.delivery, rel.audit_id, tuple(erasure))


_STATE_WORDS = {"pending": "erasure pending", "acknowledged": "erasure acknowledged",
                "failed": "erasure FAILED: notify by hand", "manual": "notify by hand"}


def format_rows(participant: str, rows: list[RecipientRow]) -> str:
    if not rows:
        return f"{participant}: no release holding their content is recorded"
    lines = [f"{participant}: content released {len(rows)} time(s)"]
    for r in rows:
        erasure = "; ".join(f"{rid} {_STATE_WORDS.get(s, s)}" for rid, s in r.erasure) or "-"
        lines.append(f"{r.released_at}  {r.recipient}  purpose={r.purpose}  "
                     f"meeting={r.meeting_id or '-'}  {r.delivery}  audit={r.audit_id[:16]}  "
                     f"erasure: {erasure}")
    return "\n".join(lines)
