"""Erasure requests and their retries in the shared state (state: postgres).

The same :class:`meetguard.consent.erasure.ErasureStore` interface, whose request
states are rows of ``mg_erasures`` instead of files in ``erasures_dir``: a withdrawal
through any replica records its requests there, and every replica's sender sees
every request. Before a due request is sent it is claimed (``erasure_claim``: one
replica, only while the row still has the attempts it read, so a sender that read it
before another's attempt never sends it again; until it saves its next state or the
claim's hold runs out because it died mid-send), so a request is posted by one replica per attempt, with its retries and
backoff carried on by whichever replica is up. The rows hold what the files held:
ids, hashes, the recipient, the participant id, attempts; never content, a URL or a key.

The store is synchronous (withdrawals and the sender call it in worker threads);
each call is sent to the sidecar's event loop, which owns the connection pool.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from ..consent.erasure import ErasureState, ErasureStore
from .postgres import PostgresState, call_from_thread

__all__ = ["CLAIM_HOLD_S", "SharedErasureStore"]

_T = TypeVar("_T")
CLAIM_HOLD_S = 300.0      # longer than any request's timeout: a claim outlives only a dead sender


class SharedErasureStore(ErasureStore):
    def __init__(self, root: str | Path, *, state: PostgresState, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(root)
        self.state = state
        self.loop = loop

    def _call(self, coro: Coroutine[Any, Any, _T]) -> _T:
        return call_from_thread(self.state, self.loop, coro, "the shared erasure store")

    def save(self, state: ErasureState) -> None:
        self._path(state.request.request_id)          # the same id check as the files
        data = json.loads(json.dumps(state.to_json(), sort_keys=True))
        self._call(self.state.erasure_save(state.request.request_id, state.state,
                                           state.request.submitted_at, state.next_attempt_at, data))

    def all(self) -> list[ErasureState]:
        rows = self._call(self.state.erasure_all())
        states = [ErasureState.from_json(r) for r in rows]
        return sorted(states, key=lambda s: (s.request.submitted_at, s.request.request_id))

    def claim(self, state: ErasureState) -> bool:
        return self._call(self.state.erasure_claim(state.request.request_id, state.attempts, CLAIM_HOLD_S))

    @contextmanager
    def sending(self) -> Iterator[bool]:
        yield True             # every replica sends; each request is claimed first (claim)
