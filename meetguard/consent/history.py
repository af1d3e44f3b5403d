"""The one place that orders consent events and says which is in force (issue #25).

A consent history is ordered by when meetguard *learnt* each event, never by the
time a client claims for it. ``meetguard consent withdraw`` and
``POST /v1/withdrawals`` append their event at the end of the participant's list
with ``recorded`` (the server's clock when it was recorded) beside ``at`` (the
time claimed, kept for the audit). So:

* the list order is the order learnt: an event written by meetguard comes after
  every event already in the file;
* an event takes effect from ``recorded`` when it has one (never in the past),
  else from ``at`` (an event written by hand, which has no other time);
* at an evaluation time ``T``, the event in force is the **last learnt** event that
  has taken effect by ``T``. A withdrawal therefore wins over every grant recorded
  before it, whatever either claims; a later grant needs a new event after it.

Events written by hand between two recorded ones (or with none recorded) are
ordered among themselves by ``at`` (stable; at the same instant a ``refused`` or
``withdrawn`` comes after a ``granted``, so the more cautious one wins), as a
hand-written history always was.

Pure functions of the events: the state store of #27 can call them as they are.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:     # a type only: importing the policy package here would be a cycle at run time
    from datetime import datetime

    from ..policy.model import ConsentEvent

__all__ = ["effective_from", "in_force", "learnt_order"]


def effective_from(event: ConsentEvent) -> datetime:
    """When ``event`` takes effect: when it was recorded, else (hand-written) its ``at``."""
    return event.recorded if event.recorded is not None else event.at


def _hand_key(event: ConsentEvent) -> tuple[datetime, int]:
    return event.at, 0 if event.status == "granted" else 1


def learnt_order(events: Iterable[ConsentEvent]) -> tuple[ConsentEvent, ...]:
    """``events`` in file order, each run of hand-written (unrecorded) events sorted by
    ``at``; a recorded event keeps its place."""
    out: list[ConsentEvent] = []
    run: list[ConsentEvent] = []
    for event in events:
        if event.recorded is None:
            run.append(event)
            continue
        out += sorted(run, key=_hand_key)
        run = []
        out.append(event)
    out += sorted(run, key=_hand_key)
    return tuple(out)


def in_force(events: Sequence[ConsentEvent], at: datetime) -> ConsentEvent | None:
    """The event that decides consent at ``at`` (``events`` in :func:`learnt_order`):
    the last one learnt that has taken effect by then; None when none has."""
    for event in reversed(events):
        if effective_from(event) <= at:
            return event
    return None
