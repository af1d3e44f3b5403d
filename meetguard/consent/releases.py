"""What the audit chain says was released, to whom, holding whose content.

A release record (decision ``release`` or ``partial``) names the participants
whose content it released (``participants``, policy ids) and each artefact's
kind and sha256. A record written by the CLI or by ``/v1/guard`` (no
``delivered`` field) counts as released to its recipient; one written by
``/v1/release`` is delivered only when the upstream took it
(``delivered.delivered`` true) and otherwise never reached the recipient.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from .._errors import AuditError

__all__ = ["Artefact", "Release", "read_records", "releases", "releases_holding"]

DeliveryState = Literal["delivered", "released", "not delivered"]


@dataclass(frozen=True)
class Artefact:
    kind: str                      # chat | transcript | audio
    sha256: str


@dataclass(frozen=True)
class Release:
    audit_id: str                  # the record's hash
    seq: int
    ts: str
    purpose: str
    recipient: str | None
    meeting_id: str | None
    decision: str
    participants: tuple[str, ...]
    artefacts: tuple[Artefact, ...]
    delivery: DeliveryState

    @property
    def reached_recipient(self) -> bool:
        return self.delivery != "not delivered"


def read_records(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Every complete record of an audit log (a torn tail is left out); [] when absent."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise AuditError(f"{p}: cannot read the audit log: "
                         f"{exc.strerror or type(exc).__name__}") from None
    lines = data.split(b"\n")
    lines.pop()                    # b"" after the last newline, or a torn tail
    out: list[dict[str, Any]] = []
    for raw in lines:
        try:
            rec = json.loads(raw.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            raise AuditError(f"{p}: an audit record is unreadable (run `meetguard audit verify`)"
                             ) from None
        if isinstance(rec, dict):
            out.append(rec)
    return out


def _delivery(rec: Mapping[str, Any]) -> DeliveryState:
    delivered = rec.get("delivered")
    if isinstance(delivered, Mapping):
        return "delivered" if delivered.get("delivered") is True else "not delivered"
    return "released"


def _artefacts(rec: Mapping[str, Any]) -> tuple[Artefact, ...]:
    items = rec.get("artefacts")
    if not isinstance(items, list):
        return ()
    return tuple(Artefact(str(a.get("kind", "")), str(a.get("sha256", "")))
                 for a in items if isinstance(a, Mapping))


def releases(records: Iterable[Mapping[str, Any]]) -> list[Release]:
    """Every release (or partial release) in chain order."""
    out: list[Release] = []
    for rec in records:
        if rec.get("decision") not in ("release", "partial") or "event" in rec:
            continue
        people = rec.get("participants")
        out.append(Release(
            audit_id=str(rec.get("hash", "")),
            seq=int(rec.get("seq", 0)),
            ts=str(rec.get("ts", "")),
            purpose=str(rec.get("purpose", "")),
            recipient=rec.get("recipient") if isinstance(rec.get("recipient"), str) else None,
            meeting_id=rec.get("meeting_id") if isinstance(rec.get("meeting_id"), str) else None,
            decision=str(rec["decision"]),
            participants=tuple(str(p) for p in people) if isinstance(people, list) else (),
            artefacts=_artefacts(rec),
            delivery=_delivery(rec),
        ))
    return out


def releases_holding(records: Iterable[Mapping[str, Any]], participant: str,
                     purpose: str | None = None) -> list[Release]:
    """Releases that reached their recipient holding ``participant``'s content."""
    return [r for r in releases(records)
            if participant in r.participants and r.reached_recipient
            and (purpose is None or r.purpose == purpose)]
