"""``state: {backend: postgres, dsn_env: MEETGUARD_STATE_DSN}``: state shared by replicas.

asyncpg, one small pool per replica. Concurrency is the database's: the recording
order of consent events is a sequence, a Zoom event is claimed by a unique key
(``INSERT ... ON CONFLICT DO NOTHING``), migrations run under an advisory lock.
Any failure to reach the database is :class:`StateUnavailable` (HTTP 503): the
request is refused and nothing is released. Messages never hold the DSN.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from .._errors import StateUnavailable
from ..policy.model import ConsentEvent
from .base import ConsentEvents, StateConfig
from .migrations import LOCK_ID, MIGRATIONS

__all__ = ["PostgresState"]

POOL_MAX = 4


def _unavailable(exc: BaseException) -> StateUnavailable:
    return StateUnavailable(f"state: the postgres database cannot be reached ({type(exc).__name__}); "
                            "nothing was released; check the database and the DSN in state.dsn_env")


class PostgresState:
    name = "postgres"
    shared = True

    def __init__(self, config: StateConfig) -> None:
        self.config = config
        self._pool: asyncpg.Pool | None = None
        self._migrated = False
        self._lock = asyncio.Lock()

    # -- connection -----------------------------------------------------------------
    async def _ensure(self) -> asyncpg.Pool:
        """The pool, migrated (retried on each call until it works: a replica started
        while the database was away recovers when it is back)."""
        if self._pool is not None and self._migrated:
            return self._pool
        async with self._lock:
            if self._pool is None:
                self._pool = await asyncpg.create_pool(
                    self.config.dsn, min_size=0, max_size=POOL_MAX,
                    timeout=self.config.timeout_s, command_timeout=self.config.timeout_s)
            if not self._migrated:
                async with self._pool.acquire() as conn:
                    await migrate(conn)
                self._migrated = True
        return self._pool

    @asynccontextmanager
    async def _conn(self) -> AsyncIterator[PoolConnectionProxy[asyncpg.Record]]:
        try:
            pool = await self._ensure()
            async with pool.acquire(timeout=self.config.timeout_s) as conn:
                yield conn
        except StateUnavailable:
            raise
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError) as exc:
            raise _unavailable(exc) from None

    async def start(self) -> None:
        await self.ping()

    async def ping(self) -> None:
        async with self._conn() as conn:
            await conn.fetchval("SELECT 1")

    async def aclose(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            try:
                await asyncio.wait_for(pool.close(), self.config.timeout_s)
            except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                pool.terminate()

    # -- consent events ---------------------------------------------------------------
    async def consent_events(self, policy_id: str) -> ConsentEvents:
        async with self._conn() as conn:
            rows = await conn.fetch(
                "SELECT participant_id, purpose, status, at, expires, recorded_at FROM mg_consent_events "
                "WHERE policy_id = $1 ORDER BY seq", policy_id)
        out: dict[str, dict[str, tuple[ConsentEvent, ...]]] = {}
        for r in rows:
            per = out.setdefault(r["participant_id"], {})
            per[r["purpose"]] = per.get(r["purpose"], ()) + (
                ConsentEvent(r["status"], r["at"], r["expires"], r["recorded_at"]),)
        return out

    async def record_consent(self, policy_id: str, participant: str, purpose: str, status: str,
                             at: datetime) -> int:
        async with self._conn() as conn, conn.transaction():
            seq: int = await conn.fetchval(
                "INSERT INTO mg_consent_events (policy_id, participant_id, purpose, status, at, replica) "
                "VALUES ($1, $2, $3, $4, $5, $6) RETURNING seq",
                policy_id, participant, purpose, status, at, self.config.replica)
        return seq

    # -- idempotency ------------------------------------------------------------------
    async def claim_event(self, key: str) -> bool:
        async with self._conn() as conn:
            got = await conn.fetchval(
                "INSERT INTO mg_zoom_events (key, replica) VALUES ($1, $2) "
                "ON CONFLICT (key) DO NOTHING RETURNING key", key, self.config.replica)
        return got is not None

    async def release_event(self, key: str) -> None:
        async with self._conn() as conn:
            await conn.execute("DELETE FROM mg_zoom_events WHERE key = $1 AND replica = $2",
                               key, self.config.replica)

    # -- the re-identification vault: sealed blobs only (state/vault.py) ---------------
    async def vault_get(self, name: str) -> bytes | None:
        async with self._conn() as conn:
            data = await conn.fetchval("SELECT data FROM mg_vault WHERE name = $1", name)
        return None if data is None else bytes(data)

    async def vault_put(self, name: str, data: bytes) -> None:
        async with self._conn() as conn:
            await conn.execute("INSERT INTO mg_vault (name, data) VALUES ($1, $2) ON CONFLICT (name) "
                               "DO UPDATE SET data = EXCLUDED.data, updated_at = now()", name, data)

    async def vault_delete(self, name: str) -> None:
        async with self._conn() as conn:
            await conn.execute("DELETE FROM mg_vault WHERE name = $1", name)

    async def vault_names(self, suffix: str) -> list[str]:
        async with self._conn() as conn:
            rows = await conn.fetch("SELECT name FROM mg_vault WHERE name LIKE $1 ORDER BY name",
                                    "%" + suffix)
        return [str(r["name"]) for r in rows]

    # -- releases of every replica (what a withdrawal asks to erase) -------------------
    async def record_releases(self, replica: str, records: list[dict[str, Any]]) -> None:
        import json

        async with self._conn() as conn, conn.transaction():
            await conn.executemany(
                "INSERT INTO mg_releases (audit_id, replica, record) VALUES ($1, $2, $3::jsonb) "
                "ON CONFLICT (audit_id) DO NOTHING",
                [(str(r["hash"]), replica, json.dumps(r)) for r in records])

    async def releases(self) -> list[dict[str, Any]]:
        import json

        async with self._conn() as conn:
            rows = await conn.fetch("SELECT record::text AS record FROM mg_releases ORDER BY audit_id")
        return [json.loads(r["record"]) for r in rows]

    # -- audit chain heads ------------------------------------------------------------
    async def anchor_audit(self, replica: str, count: int, head: str) -> None:
        async with self._conn() as conn:
            await conn.execute(
                "INSERT INTO mg_audit_heads (replica, records, head) VALUES ($1, $2, $3) "
                "ON CONFLICT (replica) DO UPDATE SET records = EXCLUDED.records, head = EXCLUDED.head, "
                "updated_at = now() WHERE mg_audit_heads.records <= EXCLUDED.records",
                replica, count, head)

    async def audit_heads(self) -> dict[str, tuple[int, str]]:
        async with self._conn() as conn:
            rows = await conn.fetch("SELECT replica, records, head FROM mg_audit_heads")
        return {r["replica"]: (int(r["records"]), str(r["head"])) for r in rows}


async def migrate(conn: Any) -> list[int]:
    """Apply the missing migrations (under the advisory lock); the versions applied now."""
    applied: list[int] = []
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", LOCK_ID)
        await conn.execute("CREATE TABLE IF NOT EXISTS mg_schema_migrations ("
                           "version int PRIMARY KEY, name text NOT NULL, "
                           "applied_at timestamptz NOT NULL DEFAULT now())")
        done = {int(v) for v in await conn.fetch("SELECT version FROM mg_schema_migrations")
                for v in v.values()}
        for version, name, sql in MIGRATIONS:
            if version in done:
                continue
            await conn.execute(sql)
            await conn.execute("INSERT INTO mg_schema_migrations (version, name) VALUES ($1, $2)",
                               version, name)
            applied.append(version)
    return applied
