"""``state: {backend: postgres, dsn_env: MEETGUARD_STATE_DSN}``: state shared by replicas.

asyncpg, one small pool per replica. Concurrency is the database's: the recording
order of consent events is a sequence, a Zoom event is claimed by a unique key
(``INSERT ... ON CONFLICT DO NOTHING``), a job is taken over with ``FOR UPDATE SKIP
LOCKED`` and fenced by its generation, migrations run under an advisory lock.
Any failure to reach the database is :class:`StateUnavailable` (HTTP 503): the
request is refused and nothing is released. Messages never hold the DSN.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any, TypeVar

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from .._errors import StateUnavailable
from ..policy.model import ConsentEvent
from .base import ConsentEvents, StateConfig
from .migrations import LOCK_ID, MIGRATIONS

__all__ = ["PostgresState", "call_from_thread"]

_T = TypeVar("_T")

POOL_MAX = 4


def call_from_thread(state: PostgresState, loop: asyncio.AbstractEventLoop,
                     coro: Coroutine[Any, Any, _T], what: str) -> _T:
    """Run ``coro`` on the sidecar's event loop ``loop`` from a worker thread and wait for it
    (the synchronous stores, vault and erasures, are used from the guard's threads)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        coro.close()
        raise RuntimeError(f"{what} is used from worker threads, not the event loop")
    return asyncio.run_coroutine_threadsafe(coro, loop).result(state.config.timeout_s * 3)


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

    def connection(self) -> Any:
        """A pooled connection (``async with``); any failure to reach the database is
        StateUnavailable (for the sidecar's own tables: sidecar/jobs_shared.py)."""
        return self._conn()

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

    # -- jobs: claimed in the database, held by a lease (sidecar/zoom_shared.py) --------
    async def job_create(self, key: str, kind: str, record: dict[str, Any], sealed: dict[str, Any] | None,
                         lease_s: float) -> int | None:
        """Claim the event key and create its job, owned by this replica, in one transaction:
        its generation (1), or None when another replica claimed the key first."""
        import json

        async with self._conn() as conn, conn.transaction():
            got = await conn.fetchval(
                "INSERT INTO mg_zoom_events (key, replica) VALUES ($1, $2) "
                "ON CONFLICT (key) DO NOTHING RETURNING key", key, self.config.replica)
            if got is None:
                return None
            await conn.execute(
                "INSERT INTO mg_jobs (key, kind, record, sealed, phase, owner, lease_until) "
                "VALUES ($1, $2, $3::jsonb, $4::jsonb, $5, $6, now() + make_interval(secs => $7))",
                key, kind, json.dumps(record), None if sealed is None else json.dumps(sealed),
                str(record.get("phase", "accepted")), self.config.replica, float(lease_s))
        return 1

    async def job_save(self, key: str, generation: int, record: dict[str, Any], keep_sealed: bool) -> bool:
        """Write the job's record if this replica still holds it (its generation): False when
        another replica took it over. ``keep_sealed`` False drops the sealed token."""
        import json

        phase = str(record.get("phase", ""))
        async with self._conn() as conn:
            got = await conn.fetchval(
                "UPDATE mg_jobs SET record = $3::jsonb, phase = $4, "
                "sealed = CASE WHEN $5 THEN sealed END, "
                "done_at = CASE WHEN $4 = 'done' THEN now() END "
                "WHERE key = $1 AND generation = $2 RETURNING key",
                key, generation, json.dumps(record), phase, keep_sealed)
        return got is not None

    async def job_renew(self, held: dict[str, int], lease_s: float) -> set[str]:
        """Extend the lease of the jobs this replica holds (key -> generation); the keys
        it still holds (the others were taken over)."""
        if not held:
            return set()
        keys = list(held)
        async with self._conn() as conn:
            rows = await conn.fetch(
                "UPDATE mg_jobs j SET lease_until = now() + make_interval(secs => $3) "
                "FROM unnest($1::text[], $2::bigint[]) AS u(key, gen) "
                "WHERE j.key = u.key AND j.generation = u.gen AND j.phase <> 'done' RETURNING j.key",
                keys, [held[k] for k in keys], float(lease_s))
        return {str(r["key"]) for r in rows}

    async def job_take(self, lease_s: float, mine: bool = False) -> list[tuple[str, int, dict[str, Any], dict[str, Any] | None]]:
        """Take unfinished jobs: one whose lease ran out (its replica died or lost the
        database), skipping rows another replica is claiming now (``FOR UPDATE SKIP
        LOCKED``); or, ``mine``, every unfinished job this replica owned before a
        restart. Each taken job's generation is bumped (fencing its previous owner)."""
        import json

        where = ("owner = $1" if mine else "lease_until < now()")
        limit = "" if mine else " LIMIT 1"
        async with self._conn() as conn:
            rows = await conn.fetch(
                "UPDATE mg_jobs SET owner = $1, generation = generation + 1, "
                "lease_until = now() + make_interval(secs => $2) "
                f"WHERE key IN (SELECT key FROM mg_jobs WHERE phase <> 'done' AND {where} "
                f"ORDER BY created_at{limit} FOR UPDATE SKIP LOCKED) "
                "RETURNING key, generation, record::text AS record, sealed::text AS sealed",
                self.config.replica, float(lease_s))
        return [(str(r["key"]), int(r["generation"]), json.loads(r["record"]),
                 None if r["sealed"] is None else json.loads(r["sealed"])) for r in rows]

    async def job_drop(self, key: str) -> None:
        """Forget a job and its claim (a resent event may then run)."""
        async with self._conn() as conn, conn.transaction():
            await conn.execute("DELETE FROM mg_jobs WHERE key = $1", key)
            await conn.execute("DELETE FROM mg_zoom_events WHERE key = $1", key)
            await conn.execute("DELETE FROM mg_job_deliveries WHERE key = $1", key)

    async def delivery_claim(self, key: str, generation: int, label: str) -> str:
        """Claim the one delivery of job ``key`` to ``label``, fenced by the job's lease, in
        one transaction: the job's row is locked (``FOR UPDATE``: a takeover waits, or has
        bumped the generation already) and the delivery's unique key inserted. ``claimed``:
        deliver now; ``lost``: another replica holds the job; ``delivered`` / ``sending``:
        a replica delivered it, or claimed it and never said how it went (not sent again)."""
        async with self._conn() as conn, conn.transaction():
            current = await conn.fetchval("SELECT generation FROM mg_jobs WHERE key = $1 FOR UPDATE", key)
            if current is None or int(current) != generation:
                return "lost"
            got = await conn.fetchval(
                "INSERT INTO mg_job_deliveries (key, label, generation, replica) VALUES ($1, $2, $3, $4) "
                "ON CONFLICT (key, label) DO NOTHING RETURNING key", key, label, generation,
                self.config.replica)
            if got is not None:
                return "claimed"
            state = await conn.fetchval("SELECT state FROM mg_job_deliveries WHERE key = $1 AND label = $2",
                                        key, label)
        return str(state)

    async def delivery_settle(self, key: str, generation: int, label: str, delivered: bool | None) -> None:
        """The claimed delivery's outcome: kept as ``delivered`` (True), given back (False:
        the upstream answered no, so a later attempt, by whichever replica holds the job, may
        deliver), or left ``sending`` (None: no answer, it may have arrived: never resent)."""
        if delivered is None:
            return
        async with self._conn() as conn:
            if delivered:
                await conn.execute("UPDATE mg_job_deliveries SET state = 'delivered' WHERE key = $1 "
                                   "AND label = $2 AND generation = $3", key, label, generation)
            else:
                await conn.execute("DELETE FROM mg_job_deliveries WHERE key = $1 AND label = $2 "
                                   "AND generation = $3 AND state = 'sending'", key, label, generation)

    async def job_sweep(self, ttl_s: float) -> int:
        """Forget jobs done, and files delivered, more than ``ttl_s`` ago."""
        async with self._conn() as conn, conn.transaction():
            jobs = await conn.fetch("DELETE FROM mg_jobs WHERE phase = 'done' AND "
                                    "done_at < now() - make_interval(secs => $1) RETURNING key", float(ttl_s))
            await conn.execute("DELETE FROM mg_job_deliveries WHERE key = ANY($1::text[])",
                               [str(r["key"]) for r in jobs])
            await conn.execute("DELETE FROM mg_delivered WHERE at < now() - make_interval(secs => $1)",
                               float(ttl_s))
        return len(jobs)

    # -- files delivered per meeting (sidecar/zoom_delivered.py) ----------------------
    async def delivered_get(self, meeting: str) -> dict[str, set[str]]:
        async with self._conn() as conn:
            rows = await conn.fetch("SELECT file_id, label FROM mg_delivered WHERE meeting = $1", meeting)
        out: dict[str, set[str]] = {}
        for r in rows:
            out.setdefault(str(r["file_id"]), set()).add(str(r["label"]))
        return out

    async def delivered_add(self, meeting: str, file_ids: list[str], label: str) -> None:
        async with self._conn() as conn:
            await conn.executemany(
                "INSERT INTO mg_delivered (meeting, file_id, label) VALUES ($1, $2, $3) "
                "ON CONFLICT DO NOTHING", [(meeting, f, label) for f in file_ids if f])

    # -- erasure requests and their retries (state/erasures.py) ------------------------
    async def erasure_save(self, request_id: str, state: str, submitted_at: str, next_at: float,
                           record: dict[str, Any]) -> None:
        """Write a request's state; a sending claim ends with the attempt's outcome."""
        import json

        async with self._conn() as conn:
            await conn.execute(
                "INSERT INTO mg_erasures (request_id, state, submitted_at, next_attempt_at, record) "
                "VALUES ($1, $2, $3, $4, $5::jsonb) ON CONFLICT (request_id) DO UPDATE SET "
                "state = EXCLUDED.state, next_attempt_at = EXCLUDED.next_attempt_at, "
                "record = EXCLUDED.record, updated_at = now(), "
                # the sender's claim holds while it posts (the attempt saved, still due), and
                # ends with the outcome (a later attempt time, or a final state)
                "sender = CASE WHEN EXCLUDED.state = 'pending' AND EXCLUDED.next_attempt_at = "
                "mg_erasures.next_attempt_at THEN mg_erasures.sender END, "
                "sending_until = CASE WHEN EXCLUDED.state = 'pending' AND EXCLUDED.next_attempt_at = "
                "mg_erasures.next_attempt_at THEN mg_erasures.sending_until END",
                request_id, state, submitted_at, float(next_at), json.dumps(record))

    async def erasure_all(self) -> list[dict[str, Any]]:
        import json

        async with self._conn() as conn:
            rows = await conn.fetch("SELECT record::text AS record FROM mg_erasures "
                                    "ORDER BY submitted_at, request_id")
        return [json.loads(r["record"]) for r in rows]

    async def erasure_claim(self, request_id: str, attempts: int, hold_s: float) -> bool:
        """Claim a pending request for sending now, if it still has the ``attempts`` the
        sender read (else another replica sent it meanwhile): True for one replica only,
        until it saves its next state or ``hold_s`` runs out (it died mid-send)."""
        async with self._conn() as conn:
            got = await conn.fetchval(
                "UPDATE mg_erasures SET sender = $2, sending_until = now() + make_interval(secs => $3) "
                "WHERE request_id = $1 AND state = 'pending' AND (record->>'attempts')::int = $4 "
                "AND (sending_until IS NULL OR sending_until < now()) RETURNING request_id",
                request_id, self.config.replica, float(hold_s), attempts)
        return got is not None

    # -- audit chain heads ------------------------------------------------------------
    async def anchor_audit(self, replica: str, count: int, head: str) -> None:
        async with self._conn() as conn:
            await conn.execute(
                "INSERT INTO mg_audit_heads (replica, records, head) VALUES ($1, $2, $3) "
                "ON CONFLICT (replica) DO UPDATE SET records = EXCLUDED.records, head = EXCLUDED.head, "
                "updated_at = now() WHERE mg_audit_heads.records <= EXCLUDED.records",
                replica, count, head)

    # -- pass-through pseudonym books (sealed by state/books.py) -----------------------
    @asynccontextmanager
    async def book_held(self, book: str) -> AsyncIterator[tuple[bytes | None, Any]]:
        """The sealed book ``book`` (None: new), locked (``FOR UPDATE``) until the block ends,
        and ``save(sealed, holders)`` to write it in the same transaction: one request
        numbers a meeting's names at a time, on whichever replica."""
        async with self._conn() as conn:
            try:
                async with conn.transaction():
                    await conn.execute("INSERT INTO mg_books (book) VALUES ($1) ON CONFLICT DO NOTHING", book)
                    sealed = await conn.fetchval("SELECT sealed FROM mg_books WHERE book = $1 FOR UPDATE", book)

                    async def save(data: bytes, holders: list[str]) -> None:
                        await conn.execute("UPDATE mg_books SET sealed = $2, holders = $3, updated_at = now() "
                                           "WHERE book = $1", book, data, holders)

                    yield (None if sealed is None else bytes(sealed)), save
            except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError) as exc:
                raise _unavailable(exc) from None

    async def books_forget(self, holder: str) -> int:
        """Delete every book holding ``holder`` (a participant's HMAC); how many."""
        async with self._conn() as conn:
            rows = await conn.fetch("DELETE FROM mg_books WHERE $1 = ANY(holders) RETURNING book", holder)
        return len(rows)

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
