"""Where the sidecar's run-time state lives: the one place that knows (docs/deploy.md "Replicas").

``state: {backend: files}`` (the default) keeps today's behaviour: consent events are
written into the policy file, everything else sits in the replica's own folders.
``state: {backend: postgres, dsn_env: MEETGUARD_STATE_DSN}`` shares it between
replicas in one PostgreSQL database: consent events recorded at run time (layered
over the policy file's baseline), Zoom idempotency, Zoom jobs (claimed with a lease,
taken over when their replica dies: sidecar/zoom_shared.py) and the files delivered
per meeting, the vault's sealed entries, and the chain heads of each replica's audit log.
"""

from __future__ import annotations

from .base import (
    ConsentEvents,
    ConsentSource,
    StateBackend,
    StateConfig,
    ZoomClaim,
    with_events,
)
from .files import FilesState

__all__ = ["ConsentEvents", "ConsentSource", "FilesState", "StateBackend", "StateConfig",
           "ZoomClaim", "open_state", "with_events"]


def open_state(config: StateConfig) -> StateBackend:
    """The backend the config names (not started: ``await state.start()``)."""
    if config.backend == "postgres":
        from .postgres import PostgresState

        return PostgresState(config)
    return FilesState(config)
