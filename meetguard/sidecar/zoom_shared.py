"""Zoom jobs in the shared state (``state: {backend: postgres}``): claimed in the database,
held by a lease, taken over when their replica dies.

A recording event is claimed and its job created in one transaction (``mg_zoom_events``
and ``mg_jobs``, unique keys): exactly one replica runs it. The job's record (the plan:
ids, types, sizes, URLs, policy ids; the phase; each purpose's result as it lands) is
written to its row at every step, the download token only sealed (zoom_seal.py) and
dropped once the job is done. The running replica renews its lease every third of
``state.job_lease_s``; a replica that dies (or loses the database) stops renewing,
and once the lease has run out another replica takes the job
(``UPDATE ... WHERE key IN (SELECT ... FOR UPDATE SKIP LOCKED)``, so two never take
the same one), fetches its files again and goes on from the last step recorded: a
purpose whose result is saved is not guarded or delivered again, and files already
delivered for the meeting are in ``mg_delivered``.

Each claim bumps the job's ``generation``, and every write of the record matches on
it: a replica that lost its job (a lease run out while it was only slow) finds no row
at its next step, before any delivery or audit record, and stops (:class:`LeaseLost`)
instead of finishing the job a second time.

A delivery itself is fenced too (:class:`JobDeliveryFence`): right before the released
content is forwarded, the replica claims ``(job, purpose and recipient)`` in
``mg_job_deliveries`` in the same transaction that checks its generation on the job's
locked row. A replica whose lease ran out while it was guarding finds the generation
bumped and does not forward; the replica that took the job over finds the delivery
claimed (delivered, or sent with no answer) and does not forward it again. The
delivery is given back only when the upstream answered no.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from ..state.postgres import PostgresState

__all__ = ["JobDeliveryFence", "LeaseLost", "SharedZoomJobs", "meeting_key"]


class LeaseLost(Exception):
    """Another replica took this job over: stop without finishing it (nothing audited)."""


def meeting_key(meeting_uuid: str) -> str:
    """How a meeting is named in the shared state: the sha256 of its uuid."""
    return hashlib.sha256(meeting_uuid.encode("utf-8")).hexdigest()


@dataclass
class SharedZoomJobs:
    state: PostgresState
    lease_s: float
    held: dict[str, int] = field(default_factory=dict)   # key -> generation: the jobs run here

    async def create(self, key: str, record: dict[str, Any], sealed: dict[str, Any] | None) -> bool:
        """Claim the event and create its job (False: another replica has it)."""
        generation = await self.state.job_create(key, "zoom", record, sealed, self.lease_s)
        if generation is None:
            return False
        self.held[key] = generation
        return True

    async def save(self, record: dict[str, Any], keep_sealed: bool = True) -> None:
        """Write the job's record to its row; LeaseLost when another replica holds it now."""
        key = str(record["key"])
        generation = self.held.get(key)
        if generation is None or not await self.state.job_save(key, generation, record, keep_sealed):
            self.held.pop(key, None)
            raise LeaseLost(key)

    async def check(self, key: str) -> None:
        """Renew this job's lease now (before a delivery); LeaseLost when it was taken over."""
        generation = self.held.get(key)
        if generation is None or key not in await self.state.job_renew({key: generation}, self.lease_s):
            self.held.pop(key, None)
            raise LeaseLost(key)

    async def renew(self) -> set[str]:
        """Renew every lease held here; the keys lost to another replica since."""
        held = dict(self.held)
        kept = await self.state.job_renew(held, self.lease_s)
        lost = {k for k in held if k not in kept and self.held.get(k) == held[k]}
        for k in lost:
            del self.held[k]
        return lost

    async def take(self, mine: bool = False) -> list[tuple[str, dict[str, Any], dict[str, Any] | None]]:
        """Jobs to run here now: one whose lease ran out, or (``mine``, at start) those this
        replica owned before a restart."""
        taken = await self.state.job_take(self.lease_s, mine)
        for key, generation, _record, _sealed in taken:
            self.held[key] = generation
        return [(key, record, sealed) for key, _g, record, sealed in taken]

    def let_go(self, key: str) -> None:
        """Stop renewing ``key`` (finished, or left for a later try by any replica)."""
        self.held.pop(key, None)

    async def drop(self, key: str) -> None:
        """Forget the job and its claim (a resent event may run)."""
        self.held.pop(key, None)
        await self.state.job_drop(key)

    def fence(self, key: str, label: str) -> JobDeliveryFence:
        """The fence of job ``key``'s delivery to ``label`` (service.DELIVERY_FENCE)."""
        return JobDeliveryFence(self, key, label)

    async def delivered(self, meeting_uuid: str) -> dict[str, set[str]]:
        return await self.state.delivered_get(meeting_key(meeting_uuid))

    async def mark_delivered(self, meeting_uuid: str, file_ids: list[str], label: str) -> None:
        await self.state.delivered_add(meeting_key(meeting_uuid), file_ids, label)


@dataclass
class JobDeliveryFence:
    """One Zoom job's delivery to one purpose and recipient, claimed under the job's lease."""

    jobs: SharedZoomJobs
    key: str
    label: str
    generation: int | None = None          # the generation that claimed it
    refused: str | None = None             # lost | delivered | sending: why it was not claimed

    async def claim(self) -> str | None:
        generation = self.jobs.held.get(self.key)
        if generation is None:
            self.refused = "lost"
            return "not delivered: this replica lost the job to another"
        got = await self.jobs.state.delivery_claim(self.key, generation, self.label)
        self.refused = None if got == "claimed" else got
        if got == "claimed":
            self.generation = generation
            return None
        if got == "lost":
            self.jobs.held.pop(self.key, None)
            return "not delivered: this replica lost the job to another"
        if got == "delivered":
            return "not delivered again: a replica that held this job before delivered it"
        return "not delivered again: a replica that held this job before sent it with no answer"

    async def settle(self, delivered: bool | None) -> None:
        if self.generation is not None:
            await self.jobs.state.delivery_settle(self.key, self.generation, self.label, delivered)
