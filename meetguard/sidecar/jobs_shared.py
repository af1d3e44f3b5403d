"""Async jobs (``Prefer: respond-async``) seen by every replica: ``GET /v1/jobs/{id}`` on any.

With ``state: {backend: postgres}`` and a vault key, each async job has a row in
``mg_async_jobs``: its id, the replica running it, its status (queued, running, done)
and, once done, its result **sealed** (AES-GCM under a key derived with HKDF-SHA256
from the vault's master key, the job id as associated data): the database never holds
a clear result. The owner's token is an HMAC under another derived key, so a leaked row
does not let anyone confirm a guessed token, and any replica checks it the same way.

The job runs on the replica that took it (its uploads are on that replica's disk); the
result is fetched, and taken away, once, through whichever replica is asked
(``DELETE ... RETURNING``: two replicas never both hand it out). Rows are swept
``jobs_ttl_s`` after the result was written. A job whose replica dies is finished when
that replica starts again (its inputs are on its volume); meanwhile the others answer
its last status. Without a vault key, jobs stay with their replica (as with the files
backend).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from typing import Any

from .._errors import StateUnavailable
from .._seal import Unsealable, derive_key, seal, unseal
from ..state.postgres import PostgresState

__all__ = ["SharedJobs"]


class SharedJobs:
    def __init__(self, state: PostgresState, master_key: bytes) -> None:
        self.state = state
        self.replica = state.config.replica
        self._seal_key = derive_key(master_key, b"meetguard async jobs v1: results")
        self._token_key = derive_key(master_key, b"meetguard async jobs v1: tokens")

    def digest(self, token: str) -> str:
        return hmac.new(self._token_key, token.encode("utf-8", "surrogateescape"), hashlib.sha256).hexdigest()

    async def publish(self, job_id: str, token: str) -> None:
        """The job exists (queued, run here): before its 202 answer."""
        async with self.state.connection() as conn:
            await conn.execute("INSERT INTO mg_async_jobs (id, owner, token_hmac, status) "
                               "VALUES ($1, $2, $3, 'queued') ON CONFLICT (id) DO UPDATE SET "
                               "status = 'queued', owner = EXCLUDED.owner", job_id, self.replica,
                               self.digest(token))

    async def status(self, job_id: str, status: str) -> None:
        async with self.state.connection() as conn:
            await conn.execute("UPDATE mg_async_jobs SET status = $2, updated_at = now() WHERE id = $1 "
                               "AND status <> 'done'", job_id, status)

    async def finish(self, job_id: str, status: int, body: Mapping[str, Any],
                     files: Mapping[str, Any]) -> None:
        """The result, sealed: the job is done for every replica."""
        plain = json.dumps({"status": status, "body": body,
                            "parts": {n: base64.b64encode(bytes(d)).decode("ascii") for n, d in files.items()}},
                           separators=(",", ":")).encode("utf-8")
        sealed = seal(self._seal_key, plain, job_id.encode("ascii"))
        async with self.state.connection() as conn:
            await conn.execute("UPDATE mg_async_jobs SET status = 'done', result = $2, done_at = now(), "
                               "updated_at = now() WHERE id = $1", job_id, sealed)

    async def fetch(self, job_id: str, token: str, consume: bool
                    ) -> tuple[int, dict[str, Any], dict[str, bytes]] | None:
        """Status or result as :meth:`JobManager.fetch_parts` answers; None: no such job for
        this token, or one this replica runs and has not finished (its own files answer)."""
        async with self.state.connection() as conn:
            row = await conn.fetchrow("SELECT owner, token_hmac, status, extract(epoch FROM updated_at) AS at "
                                      "FROM mg_async_jobs WHERE id = $1", job_id)
            if row is None or not hmac.compare_digest(str(row["token_hmac"]), self.digest(token)):
                return None
            if row["status"] != "done":
                if row["owner"] == self.replica:
                    return None
                return 200, {"id": job_id, "status": str(row["status"]),
                             "progress": {"stage": str(row["status"]), "replica": str(row["owner"]),
                                          "since_s": round(max(0.0, time.time() - float(row["at"])), 1)}}, {}
            query = ("DELETE FROM mg_async_jobs WHERE id = $1 AND status = 'done' RETURNING result" if consume
                     else "SELECT result FROM mg_async_jobs WHERE id = $1")
            sealed = await conn.fetchval(query, job_id)
        if sealed is None:                  # taken by another request meanwhile
            return None
        try:
            plain = json.loads(unseal(self._seal_key, bytes(sealed), job_id.encode("ascii")))
        except (Unsealable, ValueError):   # a wrong key or a damaged row: refuse, say which
            raise StateUnavailable("state: an async job's result does not open: is the vault key "
                                   "(vault.key_env) the same on every replica?") from None
        body = dict(plain["body"])
        body.setdefault("job", {"id": job_id, "status": "done"})
        parts = {n: base64.b64decode(v) for n, v in plain["parts"].items()}
        return int(plain["status"]), body, parts

    async def sweep(self, ttl_s: float) -> int:
        async with self.state.connection() as conn:
            rows = await conn.fetch("DELETE FROM mg_async_jobs WHERE (status = 'done' AND done_at < now() - "
                                    "make_interval(secs => $1)) OR updated_at < now() - make_interval(secs => $2) "
                                    "RETURNING id", float(ttl_s), float(ttl_s) * 4)
        return len(rows)
