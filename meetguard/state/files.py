"""``state: {backend: files}``: today's behaviour, one replica's own disk.

Consent events are written into the policy file itself (consent/policy_file.py), so
there is nothing to layer over it; Zoom idempotency is the job folder's marker
(sidecar/zoom_job.py); the audit chain head is the chain file's last line.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

from ..policy.model import ConsentEvent
from .base import ConsentEvents, StateConfig

__all__ = ["FilesState"]


class FilesState:
    name = "files"
    shared = False

    def __init__(self, config: StateConfig | None = None, policy_path: Path | None = None,
                 extra_entities: frozenset[str] = frozenset()) -> None:
        self.config = config or StateConfig()
        self.policy_path = policy_path
        self.extra_entities = extra_entities

    async def start(self) -> None:
        return None

    async def ping(self) -> None:
        return None

    async def consent_events(self, policy_id: str) -> ConsentEvents:
        return {}          # already in the policy file, which the guard reads

    async def record_consent(self, policy_id: str, participant: str, purpose: str, status: str,
                             at: datetime) -> int:
        """A withdrawal, appended to the policy file (the only event recorded at run time
        with this backend); returns the purpose's event count after it."""
        from ..consent.policy_file import append_withdrawal

        if status != "withdrawn" or self.policy_path is None:
            raise ValueError("the files backend records withdrawals in its policy file only")
        path = self.policy_path
        edit = await asyncio.get_running_loop().run_in_executor(
            None, append_withdrawal, path, participant, purpose, at, self.extra_entities)
        person = edit.policy.participant(participant)
        events: tuple[ConsentEvent, ...] = person.consent.get(purpose, ()) if person else ()
        return len(events)

    async def claim_event(self, key: str) -> bool:
        return True        # the job folder is the marker (sidecar/zoom_job.py)

    async def release_event(self, key: str) -> None:
        return None

    async def anchor_audit(self, replica: str, count: int, head: str) -> None:
        return None        # one replica: its chain file is the whole truth

    async def audit_heads(self) -> dict[str, tuple[int, str]]:
        return {}

    async def aclose(self) -> None:
        return None
