"""``POST /v1/hooks/zoom``: Zoom's webhook, authenticated by Zoom's signature alone.

Nothing is read before the timestamp header is checked, and nothing takes a place
in the guard queue before the signature is: an unsigned sender costs at most one
body of :data:`MAX_HOOK_BODY` bytes for ``limits.body_timeout_s`` and never blocks
a signed event. Verification runs on the raw body bytes, before anything is parsed:

- ``x-zm-request-timestamp`` must be a plain decimal integer (ASCII digits only)
  of Unix seconds within ``replay_window_s`` of now (Zoom retries for ~85 min);
- ``x-zm-signature`` must equal ``v0=`` + hex HMAC-SHA256(secret,
  ``v0:{timestamp}:{raw body}``) for the current secret or a rotated-out one
  (tried in order, each compared in constant time, all of them every time).

A request that fails gets 401 with a JSON error and is not looked at further.
Then: ``endpoint.url_validation`` is answered (200, the plain token and its HMAC
with the secret that verified the request); ``recording.completed`` and
``recording.transcript_completed`` are accepted as jobs (zoom_job.py) and
answered 204 at once, a redelivery too (no-op); any other event is 204, ignored.
Only a verified recording event takes a queue place (503 + Retry-After when the
queue is full), while its job is persisted.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from aiohttp import web

from .._errors import Overloaded
from . import keys
from .errors import error_response
from .zoom_event import RECORDING_EVENTS, EventShapeError

__all__ = ["HOOK_PATH", "MAX_HOOK_BODY", "RTMS_EVENTS", "RTMS_HOOK", "fresh_timestamp", "sign",
           "verify_signature", "zoom_hook"]

log = logging.getLogger("meetguard.sidecar")
HOOK_PATH = "/v1/hooks/zoom"
MAX_HOOK_BODY = 1 << 20            # Zoom's events are a few KB
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")
# Realtime Media Streams: verified here like every event, then handed to the live package
# (meetguard/live, mounted by the app when a live section is configured).
RTMS_EVENTS = frozenset({"meeting.rtms_started", "meeting.rtms_stopped"})
RtmsHook = Callable[[web.Request, Mapping[str, Any]], Awaitable[web.StreamResponse]]
RTMS_HOOK = web.AppKey[RtmsHook]("zoom_rtms_hook")


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    """``v0=`` + hex HMAC-SHA256(secret, ``v0:{timestamp}:{body}``)."""
    message = b"v0:" + timestamp.encode("ascii") + b":" + body
    return "v0=" + hmac.new(secret, message, hashlib.sha256).hexdigest()


def fresh_timestamp(headers: Mapping[str, str], window_s: int, now: float) -> str | None:
    """``x-zm-request-timestamp`` if it is a plain decimal inside the window, else None."""
    timestamp = headers.get("x-zm-request-timestamp", "")
    if not _TIMESTAMP.fullmatch(timestamp) or abs(now - int(timestamp)) > window_s:
        return None
    return timestamp


def verify_signature(headers: Mapping[str, str], body: bytes, secrets: Sequence[bytes],
                     window_s: int, now: float) -> bytes | None:
    """The secret that signed this request, or None (bad, missing or stale).
    ``headers`` must be case-insensitive (aiohttp's are)."""
    timestamp = fresh_timestamp(headers, window_s, now)
    presented = headers.get("x-zm-signature", "")
    if timestamp is None:
        return None
    candidate = presented.encode("ascii") if _SIGNATURE.fullmatch(presented) else b"v0=" + b"0" * 64
    found: bytes | None = None
    for secret in secrets:             # no early exit: the same work whichever secret matches
        ok = hmac.compare_digest(candidate, sign(secret, timestamp, body).encode("ascii"))
        if ok and found is None and _SIGNATURE.fullmatch(presented):
            found = secret
    return found


async def _read_body(request: web.Request, timeout_s: float) -> bytes | None:
    """The raw body (None: more than MAX_HOOK_BODY)."""
    if request.content_length is not None and request.content_length > MAX_HOOK_BODY:
        return None
    chunks: list[bytes] = []
    total = 0
    try:
        async with asyncio.timeout(timeout_s):
            while True:
                chunk = await request.content.readany()
                if not chunk:
                    break
                total += len(chunk)
                if total > MAX_HOOK_BODY:
                    return None
                chunks.append(chunk)
    except TimeoutError:
        raise web.HTTPRequestTimeout() from None
    return b"".join(chunks)


def _json_object(body: bytes) -> dict[str, Any] | None:
    try:
        event = json.loads(body.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return None
    return event if isinstance(event, dict) else None


async def zoom_hook(request: web.Request) -> web.StreamResponse:
    app = request.app
    config = app[keys.CONFIG]
    zoom = config.zoom
    count = app[keys.METRICS].hook_events
    if zoom is None:
        raise web.HTTPNotFound()
    # No queue place and no byte of the body before the timestamp is fresh; the body read
    # is bounded (MAX_HOOK_BODY, limits.body_timeout_s) and takes no queue place either.
    if fresh_timestamp(request.headers, zoom.replay_window_s, time.time()) is None:
        return _unauthorized(count)
    body = await _read_body(request, config.limits.body_timeout_s)
    if body is None:
        count.labels("zoom", "too_large").inc()
        return error_response(413, "too_large", "webhook body too large")
    secret = verify_signature(request.headers, body, zoom.secrets, zoom.replay_window_s, time.time())
    if secret is None:
        return _unauthorized(count)
    event = _json_object(body)
    name = event.get("event") if event is not None else None
    if event is None or not isinstance(name, str):
        count.labels("zoom", "malformed").inc()
        return error_response(400, "bad_request", "webhook body is not a Zoom event")
    if name == "endpoint.url_validation":
        return _url_validation(event, secret, count)
    rtms = app.get(RTMS_HOOK)
    if name in RTMS_EVENTS and rtms is not None:
        return await rtms(request, event)
    if name not in RECORDING_EVENTS or not zoom.purposes:      # (no purposes: RTMS only)
        count.labels("zoom", "ignored").inc()
        return web.Response(status=204)
    gate = app[keys.GATE]
    try:
        gate.reserve()  # verified: a queue place while the job is persisted (503 when full)
    except Overloaded:
        count.labels("zoom", "busy").inc()
        raise
    try:
        outcome = await keys.zoom_jobs(app).accept(event)
    except EventShapeError as exc:
        count.labels("zoom", "malformed").inc()
        return error_response(400, "bad_request", f"recording event: {exc}")
    finally:
        gate.cancel()
    count.labels("zoom", outcome).inc()
    request[keys.DECISION] = outcome
    return web.Response(status=204)


def _unauthorized(count: Any) -> web.StreamResponse:
    count.labels("zoom", "rejected").inc()
    return error_response(401, "unauthorized", "missing, invalid or stale Zoom signature")


def _url_validation(event: Mapping[str, Any], secret: bytes, count: Any) -> web.StreamResponse:
    payload = event.get("payload")
    plain = payload.get("plainToken") if isinstance(payload, Mapping) else None
    if not isinstance(plain, str) or not plain or len(plain) > 256:
        count.labels("zoom", "malformed").inc()
        return error_response(400, "bad_request", "endpoint.url_validation: plainToken required")
    encrypted = hmac.new(secret, plain.encode("utf-8"), hashlib.sha256).hexdigest()
    count.labels("zoom", "url_validation").inc()
    return web.json_response({"plainToken": plain, "encryptedToken": encrypted})
