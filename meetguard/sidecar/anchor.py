"""Anchoring this replica's audit chain head in the shared state (state: postgres).

Each replica keeps its own hash chain (every record names the replica). Every
``ANCHOR_INTERVAL_S`` and at shutdown, the head of the chain (last seq and hash) is
written to ``mg_audit_heads`` when it moved; ``meetguard audit verify --state-dsn-env``
then checks every replica's chain against its anchored head, so a chain cut short or
rewritten at or before it is caught even by someone who can write the replica's disk.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from aiohttp import web

from .._errors import MeetguardError
from ..audit import AuditLog
from ..state import StateBackend
from ..state.postgres import PostgresState
from . import keys

__all__ = ["ANCHOR_INTERVAL_S", "anchor_ctx", "anchor_once"]

log = logging.getLogger("meetguard.sidecar")
ANCHOR_INTERVAL_S = 1.0


def _new_releases(path: Path, after: int) -> list[dict[str, Any]]:
    """The release records of ``path`` after seq ``after`` (what a withdrawal through any
    replica must find: consent/releases.py)."""
    from ..consent.releases import read_records

    return [r for r in read_records(path) if int(r.get("seq", 0)) > after
            and r.get("decision") in ("release", "partial") and "event" not in r and "hash" in r]


async def anchor_once(state: StateBackend, replica: str, path: Path,
                      last: tuple[int, str] | None) -> tuple[int, str] | None:
    """Anchor the head of ``path`` if it moved since ``last`` (and copy the releases since
    then to the shared state); the head now anchored."""
    loop = asyncio.get_running_loop()
    head = await loop.run_in_executor(None, AuditLog(path).last_head)
    if head == last or head[0] == 0:
        return last
    if isinstance(state, PostgresState):
        found = await loop.run_in_executor(None, _new_releases, path, last[0] if last else 0)
        if found:
            await state.record_releases(replica, found)
    await state.anchor_audit(replica, head[0], head[1])
    return head


async def _loop(state: StateBackend, replica: str, path: Path) -> None:
    last: tuple[int, str] | None = None
    failing = False
    while True:
        try:
            last = await anchor_once(state, replica, path, last)
            failing = False
        except MeetguardError as exc:       # retried next time; logged once per outage
            if not failing:
                log.error("audit head not anchored", extra={"error_type": type(exc).__name__})
            failing = True
        await asyncio.sleep(ANCHOR_INTERVAL_S)


async def anchor_ctx(app: web.Application) -> AsyncIterator[None]:
    config = app[keys.CONFIG]
    runtime = app[keys.RUNTIME]
    state, service = runtime.state, runtime.service
    replica = config.audit_replica
    if state is None or not state.shared or service is None or replica is None:
        yield
        return
    path = Path(service.guard.audit_path or config.audit or "meetguard-audit.jsonl")
    task = asyncio.get_running_loop().create_task(_loop(state, replica, path))
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        try:                                 # the last records of this run, anchored too
            await anchor_once(state, replica, path, None)
        except MeetguardError as exc:
            log.error("audit head not anchored", extra={"error_type": type(exc).__name__})
