"""The state interface and the consent overlay (pure: no I/O)."""

from __future__ import annotations

import dataclasses
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Literal, Protocol

from ..policy.model import ConsentEvent, Policy

__all__ = ["BACKENDS", "ConsentEvents", "ConsentSource", "StateBackend", "StateConfig",
           "ZoomClaim", "default_replica", "with_events"]

BACKENDS = ("files", "postgres")

# participant id -> purpose -> events in recording order
ConsentEvents = Mapping[str, Mapping[str, tuple[ConsentEvent, ...]]]


def default_replica() -> str:
    """This replica's name: the host name (a pod's name under Kubernetes)."""
    return socket.gethostname() or "replica"


@dataclass(frozen=True)
class StateConfig:
    """The sidecar's ``state:`` section."""

    backend: str = "files"                      # files | postgres
    dsn_env: str = "MEETGUARD_STATE_DSN"        # the variable holding the postgres DSN
    dsn: str = field(default="", repr=False)    # its value (a password may be in it: never logged)
    replica: str = field(default_factory=default_replica)   # names this replica's audit chain
    timeout_s: float = 5.0                      # connect / statement timeout
    job_lease_s: float = 30.0                   # a claimed job's lease: renewed every third of it;
                                                # past it, another replica takes the job over


ZoomClaim = Literal["claimed", "running", "done"]


class ConsentSource(Protocol):
    """What the guard reads before each decision: consent events recorded at run time."""

    async def consent_events(self, policy_id: str) -> ConsentEvents:
        """Events recorded for ``policy_id`` (raises StateUnavailable: nothing may be released)."""
        ...


class StateBackend(ConsentSource, Protocol):
    """One interface, two backends (files.py, postgres.py)."""

    name: str
    shared: bool            # True: several replicas share this state

    async def start(self) -> None:
        """Connect and apply the versioned migrations (idempotent; files: nothing)."""
        ...

    async def ping(self) -> None:
        """Raise StateUnavailable when the state cannot be reached."""
        ...

    async def record_consent(self, policy_id: str, participant: str, purpose: str, status: str,
                             at: datetime) -> int:
        """Record one consent event (in one transaction); its recording sequence number."""
        ...

    async def claim_event(self, key: str) -> bool:
        """Claim an idempotency key (a Zoom event id): True for the first claimer only."""
        ...

    async def release_event(self, key: str) -> None:
        """Give a claim back (the event was not accepted: a redelivery may claim it)."""
        ...

    async def anchor_audit(self, replica: str, count: int, head: str) -> None:
        """Record this replica's audit chain head (its record count and last hash)."""
        ...

    async def audit_heads(self) -> dict[str, tuple[int, str]]:
        """Every replica's anchored audit chain head."""
        ...

    async def aclose(self) -> None: ...


def with_events(policy: Policy, events: ConsentEvents, learnt_by: datetime | None = None) -> Policy:
    """``policy`` with the run-time events appended after each participant's baseline
    from the policy file, in recording order: the order learnt (consent/history.py), so
    a withdrawal recorded through any replica wins over every grant learnt before it.

    ``learnt_by``: when this replica read the events (its clock). An event's ``recorded``
    time (the database's clock) is taken as at most that: an event already read is
    known, so a small clock skew between the database and a replica can never hold
    a withdrawal back from the replica's next decision. Ids the policy no longer has
    are ignored (a participant removed from the file has nothing to decide)."""
    if not events:
        return policy
    people = []
    for p in policy.participants:
        extra = events.get(p.id)
        if not extra:
            people.append(p)
            continue
        merged = dict(p.consent)
        for purpose, evs in extra.items():
            learnt = tuple(e if learnt_by is None or e.recorded is None or e.recorded <= learnt_by
                           else dataclasses.replace(e, recorded=learnt_by) for e in evs)
            merged[purpose] = tuple(merged.get(purpose, ())) + learnt
        people.append(dataclasses.replace(p, consent=MappingProxyType(merged)))
    return dataclasses.replace(policy, participants=tuple(people))
