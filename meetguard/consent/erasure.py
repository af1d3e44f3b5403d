"""Erasure requests (GDPR Art. 17(1)(b), Art. 19): build, sign, persist, send, retry.

An :class:`ErasureRequest` goes as JSON to a recipient's ``erasure_url``,
signed ``X-Meetguard-Signature: v1=<hex HMAC-SHA256(key, ts + "." + body)>``
with the Unix time ``ts`` in ``X-Meetguard-Timestamp``. Each request's state
lives in its own file under the store folder (0600, replaced atomically), so a
restart resumes where the last run stopped. Every attempt and every outcome is
an audit record. A 2xx answer acknowledges; 408, 425, 429, 5xx and no answer
are retried with exponential backoff; any other status, or too many attempts,
fails the request, which must then be followed up by hand.
"""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import hmac
import json
import os
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import aiohttp

from .._errors import AuditError
from .._files import atomic_write
from ..audit import AuditSink

__all__ = [
    "BASIS",
    "Backoff",
    "ErasureDispatcher",
    "ErasureEndpoint",
    "ErasureRequest",
    "ErasureState",
    "ErasureStore",
    "sign",
    "signature_valid",
]

BASIS = "gdpr-art17-1b"
RETRYABLE = frozenset({408, 425, 429})
State = Literal["pending", "acknowledged", "failed", "manual"]


def sign(key: bytes, timestamp: str, body: bytes) -> str:
    """The ``X-Meetguard-Signature`` value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(key, timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def signature_valid(key: bytes, timestamp: str, body: bytes, header: str,
                    now: float | None = None, tolerance_s: int = 300) -> bool:
    """For recipients: the signature matches and the timestamp is recent."""
    try:
        age = abs((time.time() if now is None else now) - int(timestamp))
    except ValueError:
        return False
    return age <= tolerance_s and hmac.compare_digest(sign(key, timestamp, body), header)


@dataclass(frozen=True)
class ErasureEndpoint:
    """Where one recipient takes erasure requests (``url`` None: notify by hand)."""

    recipient: str
    url: str | None
    key: bytes | None = field(default=None, repr=False)
    timeout_s: float = 30.0


@dataclass(frozen=True)
class ErasureRequest:
    request_id: str
    recipient: str
    participant_id: str
    purpose: str
    artefacts: tuple[Mapping[str, Any], ...]   # {audit_id, meeting_id, sha256, kind}
    submitted_at: str
    due_at: str

    def body(self) -> bytes:
        """The JSON sent (docs/consent.md "ErasureRequest")."""
        doc = {"type": "meetguard.erasure_request", "version": 1,
               "request_id": self.request_id, "recipient": self.recipient,
               "participant_id": self.participant_id, "purpose": self.purpose,
               "basis": BASIS, "artefacts": [dict(a) for a in self.artefacts],
               "submitted_at": self.submitted_at, "due_at": self.due_at}
        return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode("utf-8")


@dataclass(frozen=True)
class ErasureState:
    request: ErasureRequest
    state: State
    attempts: int = 0
    next_attempt_at: float = 0.0               # Unix time
    last_status: int | None = None
    last_detail: str = ""

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["request"]["artefacts"] = [dict(a) for a in self.request.artefacts]
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ErasureState:
        req = dict(data["request"])
        req["artefacts"] = tuple(dict(a) for a in req["artefacts"])
        return cls(**{**data, "request": ErasureRequest(**req)})


@dataclass(frozen=True)
class Backoff:
    first_s: float = 30.0
    factor: float = 4.0
    max_s: float = 6 * 3600.0
    max_attempts: int = 10

    def delay(self, attempts: int) -> float:
        return float(min(self.max_s, self.first_s * self.factor ** max(0, attempts - 1)))


class ErasureStore:
    """One JSON file per request under ``root`` (0700 folder, 0600 files)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def _path(self, request_id: str) -> Path:
        if not request_id.replace("-", "").isalnum():
            raise AuditError("invalid erasure request id")
        return self.root / f"{request_id}.json"

    def save(self, state: ErasureState) -> None:
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        data = json.dumps(state.to_json(), sort_keys=True).encode("utf-8")
        atomic_write(self._path(state.request.request_id), data)

    def all(self) -> list[ErasureState]:
        if not self.root.is_dir():
            return []
        states = []
        for p in sorted(self.root.glob("*.json")):
            states.append(ErasureState.from_json(json.loads(p.read_text(encoding="utf-8"))))
        return sorted(states, key=lambda s: (s.request.submitted_at, s.request.request_id))

    def claim(self, state: ErasureState) -> bool:
        """Whether this sender may send the request (as read: ``state``) now. A shared store
        claims it for one replica, only while it is still as read; here :meth:`sending`
        already made this process the only sender."""
        return True

    @contextmanager
    def sending(self) -> Iterator[bool]:
        """Whether this process may send now: one sender per store at a time."""
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            yield True
        finally:
            os.close(fd)


def audit_event(event: str, state: ErasureState, **extra: Any) -> dict[str, Any]:
    """The audit record of one step of a request (no content, no URL, no key)."""
    req = state.request
    return {"event": event, "purpose": req.purpose, "recipient": req.recipient,
            "participants": [req.participant_id],
            "erasure": {"request_id": req.request_id, "state": state.state,
                        "attempts": state.attempts, **extra}}


class ErasureDispatcher:
    """Sends due requests; the sidecar runs it in a loop, the CLI once."""

    def __init__(self, store: ErasureStore, endpoints: Mapping[str, ErasureEndpoint],
                 audit: AuditSink, *, backoff: Backoff | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.endpoints = endpoints
        self.audit = audit
        self.backoff = backoff or Backoff()
        self.clock = clock

    def due(self) -> list[ErasureState]:
        now = self.clock()
        return [s for s in self.store.all()
                if s.state == "pending" and s.next_attempt_at <= now]

    def next_due_in(self) -> float | None:
        pending = [s.next_attempt_at for s in self.store.all() if s.state == "pending"]
        return max(0.0, min(pending) - self.clock()) if pending else None

    async def run_due(self, session: aiohttp.ClientSession) -> list[ErasureState]:
        """Attempt every due request once (each one this sender could claim); the states
        after the attempts. The store is read in a worker thread (it may be a database)."""
        loop = asyncio.get_running_loop()
        with self.store.sending() as mine:
            if not mine:
                return []
            out = []
            for s in await loop.run_in_executor(None, self.due):
                if await loop.run_in_executor(None, self.store.claim, s):
                    out.append(await self.attempt(s, session))
            return out

    async def attempt(self, state: ErasureState, session: aiohttp.ClientSession) -> ErasureState:
        loop = asyncio.get_running_loop()
        endpoint = self.endpoints.get(state.request.recipient)
        attempt = state.attempts + 1
        if endpoint is None or endpoint.url is None or endpoint.key is None:
            done = replace(state, state="manual", last_detail="no erasure_url and key configured")
            await loop.run_in_executor(None, self._record, "erasure_outcome", done, {})
            return done
        sending = replace(state, attempts=attempt)
        await loop.run_in_executor(None, self._record, "erasure_sent", sending, {})
        status, detail = await _post(session, endpoint, state.request)
        done = self._outcome(sending, status, detail)
        await loop.run_in_executor(None, self._record, "erasure_outcome", done,
                                   {"status": status, "detail": detail})
        return done

    def _outcome(self, state: ErasureState, status: int | None, detail: str) -> ErasureState:
        if status is not None and 200 <= status < 300:
            return replace(state, state="acknowledged", last_status=status, last_detail=detail)
        retry = status is None or status in RETRYABLE or status >= 500
        if retry and state.attempts < self.backoff.max_attempts:
            return replace(state, state="pending", last_status=status, last_detail=detail,
                           next_attempt_at=self.clock() + self.backoff.delay(state.attempts))
        return replace(state, state="failed", last_status=status, last_detail=detail)

    def _record(self, event: str, state: ErasureState, extra: Mapping[str, Any]) -> None:
        # state first: a crash between the two resends (the recipient dedupes by request_id)
        self.store.save(state)
        self.audit.append(audit_event(event, state, **extra))


async def _post(session: aiohttp.ClientSession, endpoint: ErasureEndpoint,
                request: ErasureRequest) -> tuple[int | None, str]:
    assert endpoint.url is not None and endpoint.key is not None
    body = request.body()
    ts = str(int(time.time()))
    headers = {"Content-Type": "application/json", "X-Meetguard-Timestamp": ts,
               "X-Meetguard-Signature": sign(endpoint.key, ts, body),
               "Idempotency-Key": request.request_id}
    try:
        timeout = aiohttp.ClientTimeout(total=endpoint.timeout_s)
        async with session.post(endpoint.url, data=body, headers=headers, timeout=timeout,
                                allow_redirects=False) as resp:
            await resp.read()
            return resp.status, f"HTTP {resp.status}"
    except TimeoutError:
        return None, "timeout"
    except aiohttp.ClientError as exc:
        return None, type(exc).__name__
