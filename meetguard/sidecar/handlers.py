"""Route handlers: parse the request, call the service, answer. Errors are mapped by
the error middleware (app.py) through :func:`errors.error_outcome`."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import secrets
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from .._errors import InputTooLarge, MeetguardError, UpstreamError, UsageError
from . import keys
from .errors import error_response
from .forms import GuardRequest, body_deadline, check_id, check_pid, read_body, read_guard_form
from .guarded import guard_texts
from .metrics import CONTENT_TYPE
from .openai_proxy import parse_body, plan_request
from .roundtrip import meeting_book, refusal, restore_completion, wants_restore
from .scopes import has_scope
from .sse import SSERestorer, StreamCheckError

__all__ = ["routes"]

log = logging.getLogger("meetguard.sidecar")
routes = web.RouteTableDef()


def _wants_async(request: web.Request) -> bool:
    prefer = request.headers.get("Prefer", "")
    return any(p.strip().lower() == "respond-async" for p in prefer.split(","))


async def _read_form(request: web.Request, into: Path) -> GuardRequest:
    """The guard form, read within the body time limit: a client that sends slowly or
    stalls cannot hold its place in the queue (or a connection) for long."""
    config = request.app[keys.CONFIG]
    async with body_deadline(config.limits.body_timeout_s):
        req = await read_guard_form(request, into, config.max_body_bytes)
    # the asking token's family: a re-identifiable meeting's map is stored for it alone
    return dataclasses.replace(req, owner=config.family_of(request[keys.TOKEN]))


def _check_at(request: web.Request, kind: str, req: GuardRequest) -> None:
    """Consent is evaluated now. A client ``at`` replays an earlier decision: only for
    tokens configured ``replay_at: true``, and never for a route that forwards."""
    if req.at is None:
        return
    if kind == "release":
        raise UsageError("at: a replayed time is never forwarded; /v1/release decides at the time of the request")
    if not has_scope(request, "replay_at"):
        raise UsageError("at: refused; consent is evaluated at the time of the request "
                         "(this token may not replay a time)")


async def _guard_route(request: web.Request, kind: str) -> web.StreamResponse:
    app = request.app
    service = keys.service(app)
    gate = app[keys.GATE]
    gate.reserve()            # refuse at once when full, before any byte of the body is read
    if _wants_async(request):
        return await _submit_job(request, kind)
    tmp = Path(tempfile.mkdtemp(prefix="meetguard-"))   # mkdtemp: 0700
    try:
        try:
            req = await _read_form(request, tmp)
            _check_at(request, kind, req)
            if kind == "release":
                service.check_release_recipient(req)
            if req.video and await _long_video(request, tmp / req.video):
                return await _move_to_job(request, kind, req, tmp)
        except BaseException:
            gate.cancel()
            raise
        async with gate.run():
            outcome = await service.run(kind, req, tmp)
    finally:
        await asyncio.get_running_loop().run_in_executor(None, shutil.rmtree, tmp, True)
    request[keys.DECISION] = str(outcome.body.get("decision", outcome.body.get("error", "")))
    if outcome.files:
        return await _multipart(request, outcome.status, outcome.body, outcome.files)
    return web.json_response(outcome.body, status=outcome.status)


async def _submit_job(request: web.Request, kind: str) -> web.StreamResponse:
    """An async job; its queue place is already reserved."""
    jobs = keys.jobs(request.app)
    gate = request.app[keys.GATE]
    try:
        job_id, inputs = jobs.new_inputs_dir()
    except BaseException:
        gate.cancel()
        raise
    try:
        req = await _read_form(request, inputs)
        _check_at(request, kind, req)
        if kind == "release":
            keys.service(request.app).check_release_recipient(req)
        await jobs.publish(job_id, request[keys.TOKEN])      # replicas: known to every one
        jobs.submit(job_id, kind, req, request[keys.TOKEN], reserved=True)
    except BaseException:
        gate.cancel()
        jobs.discard(job_id)
        raise
    location = f"/v1/jobs/{job_id}"
    return web.json_response({"id": job_id, "status": "queued", "location": location},
                             status=202, headers={"Location": location})


async def _long_video(request: web.Request, path: Path) -> bool:
    """A video within the limits (else 413/422 now) and longer than ``limits.async_video_s``."""
    service = keys.service(request.app)
    if service.audio_limits is None:        # a test loader: nothing is probed
        return False
    seconds = await asyncio.get_running_loop().run_in_executor(None, service.check_video, path)
    return seconds > request.app[keys.CONFIG].limits.async_video_s


async def _move_to_job(request: web.Request, kind: str, req: GuardRequest, tmp: Path) -> web.StreamResponse:
    """A long video sent without ``Prefer: respond-async`` runs as an async job all the same
    (a request would otherwise hold its connection for as long as the video plays): its
    uploads move to the job, its queue place with them; the answer is 202 + Location."""
    jobs = keys.jobs(request.app)
    job_id, inputs = jobs.new_inputs_dir()
    try:
        for item in list(tmp.iterdir()):
            await asyncio.get_running_loop().run_in_executor(None, shutil.move, item, inputs / item.name)
        await jobs.publish(job_id, request[keys.TOKEN])
        jobs.submit(job_id, kind, req, request[keys.TOKEN], reserved=True)
    except BaseException:
        jobs.discard(job_id)
        raise
    location = f"/v1/jobs/{job_id}"
    return web.json_response({"id": job_id, "status": "queued", "location": location,
                              "reason": "a long video runs as an async job"},
                             status=202, headers={"Location": location})


@routes.post("/v1/guard")
async def guard(request: web.Request) -> web.StreamResponse:
    return await _guard_route(request, "guard")


@routes.post("/v1/release")
async def release(request: web.Request) -> web.StreamResponse:
    return await _guard_route(request, "release")


@routes.get("/v1/jobs/{id}")          # HEAD too (aiohttp adds it)
async def job(request: web.Request) -> web.StreamResponse:
    # HEAD answers like GET without a body and never takes the result away.
    found = await keys.jobs(request.app).fetch_any(request.match_info["id"], request[keys.TOKEN],
                                                   consume=request.method == "GET")
    if found is None:
        return error_response(404, "not_found", "no such job")
    status, body, parts = found
    if parts and request.method == "GET":
        return await _multipart(request, status, body, parts)
    return web.json_response(body, status=status)


async def _multipart(request: web.Request, status: int, body: dict[str, Any],
                     parts: Mapping[str, Any]) -> web.StreamResponse:
    """multipart/mixed: the JSON answer, then one audio/wav (video/mp4) part per released file, written
    in 1 MiB slices (each awaits the transport), so nothing is copied or encoded whole."""
    boundary = secrets.token_hex(16)
    resp = web.StreamResponse(status=status, headers={
        "Content-Type": f"multipart/mixed; boundary={boundary}",
        "X-Request-Id": request[keys.REQUEST_ID]})
    await resp.prepare(request)
    await resp.write(f"--{boundary}\r\nContent-Type: application/json\r\n\r\n".encode()
                     + json.dumps(body).encode("utf-8") + b"\r\n")
    for name in sorted(parts):
        view = memoryview(parts[name])
        kind = "video/mp4" if name.endswith(".mp4") else "audio/wav"
        await resp.write(f"--{boundary}\r\nContent-Type: {kind}\r\nContent-Disposition: attachment; "
                         f'filename="{name}"\r\nContent-Length: {len(view)}\r\n\r\n'.encode())
        for off in range(0, len(view), 1 << 20):
            await resp.write(view[off:off + (1 << 20)])
        await resp.write(b"\r\n")
    await resp.write(f"--{boundary}--\r\n".encode())
    await resp.write_eof()
    return resp


def _chat_headers(request: web.Request) -> tuple[str, str | None, list[str], str | None]:
    """(purpose, recipient, attendees, meeting id) from the X-Meetguard-* headers, validated."""
    h = request.headers
    purpose = check_id("X-Meetguard-Purpose", h.get("X-Meetguard-Purpose", "").strip())
    if purpose is None:
        raise UsageError("X-Meetguard-Purpose: required")
    recipient = check_id("X-Meetguard-Recipient", h.get("X-Meetguard-Recipient", "").strip())
    meeting_id = check_id("X-Meetguard-Meeting", h.get("X-Meetguard-Meeting", "").strip())
    attendees = [check_pid("X-Meetguard-Attendees", a.strip())
                 for a in h.get("X-Meetguard-Attendees", "").split(",") if a.strip()]
    if "X-Meetguard-At" in h:
        raise UsageError("X-Meetguard-At: a replayed time is never forwarded")
    return purpose, recipient, attendees, meeting_id


@routes.post("/v1/chat/completions")
async def chat_completions(request: web.Request) -> web.StreamResponse:
    app = request.app
    service = keys.service(app)
    purpose, recipient, attendees, meeting_id = _chat_headers(request)
    refused = refusal(request)          # a restore asked by a token not entitled to it: 403
    if refused is not None:
        return refused
    if request.content_length is not None and request.content_length > app[keys.CONFIG].max_body_bytes:
        raise InputTooLarge("request", "body too large")
    recipient = recipient or service.default_chat_recipient(purpose)
    upstream = service.chat_upstream(recipient)
    gate = app[keys.GATE]
    gate.reserve()            # a queue place before any byte of the body is read
    try:
        plan = plan_request(parse_body(await read_body(request, app[keys.CONFIG].limits.body_timeout_s)))
    except BaseException:
        gate.cancel()
        raise
    # one book per meeting: tokens stable across requests (and replicas: state/books.py)
    async with meeting_book(request, meeting_id, gate) as book:
        guarded = await guard_texts(request, gate, plan.texts, purpose, recipient, attendees, meeting_id, book)
    if guarded.refused is not None:
        return guarded.refused
    headers = guarded.headers
    forward = plan.build(guarded.redacted)
    from ..reidentify import Restorer

    restorer = Restorer(book.tokens) if wants_restore(request) else None
    if forward.get("stream") is True:
        return await _stream(request, upstream, forward, headers, restorer)
    answer = await upstream.post_json(upstream.chat_url(), forward)
    if answer.status is None:
        raise UpstreamError(f"upstream {recipient!r}: {answer.detail}")
    body = answer.body
    if restorer is not None and answer.status == 200:
        body = restore_completion(body, restorer)
    return web.Response(body=body, status=answer.status,
                        headers={"Content-Type": answer.content_type or "application/json", **headers})


async def _stream(request: web.Request, upstream: Any, body: dict[str, Any],
                  headers: dict[str, str], restorer: Any = None, url: str | None = None) -> web.StreamResponse:
    """Relay the upstream's SSE stream as it comes (from ``url``, default its chat URL; the
    Responses route streams through here too). The request was redacted before it was
    sent, so nothing in the stream can come from a value the guard removed. With a
    ``restorer`` (an entitled re-identification) names are restored with hold-back (sse.py)."""
    cfg = upstream.config
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=cfg.timeout_s, sock_read=cfg.timeout_s)
    session: aiohttp.ClientSession = keys.session(request.app)
    try:
        up = await session.post(url or upstream.chat_url(), data=json.dumps(body).encode("utf-8"),
                                headers={"Content-Type": "application/json", **cfg.headers},
                                timeout=timeout, allow_redirects=False)
    except (TimeoutError, aiohttp.ClientError) as exc:
        raise UpstreamError(f"upstream {cfg.name!r}: unreachable ({type(exc).__name__})") from None
    async with up:
        out = web.StreamResponse(status=up.status, headers={
            "Content-Type": up.headers.get("Content-Type", "text/event-stream"),
            "Cache-Control": "no-cache", **headers})
        await out.prepare(request)
        sse = SSERestorer(restorer) if restorer is not None and up.status == 200 else None
        try:
            async for chunk in up.content.iter_any():
                await out.write(sse.feed(chunk) if sse else chunk)
            if sse:
                await out.write(sse.finish())
        except (TimeoutError, aiohttp.ClientError, StreamCheckError, UnicodeError, ValueError,
                RecursionError) as exc:
            # Headers are sent: all we can do is end the stream early (held text is dropped) with
            # an `event: error`, never a second HTTP answer inside this one (#25).
            log.warning("upstream stream broke", extra={"error_type": type(exc).__name__})
            await out.write(SSERestorer.error("the stream could not be checked; it was ended"))
            return out
        await out.write_eof()
        return out


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.StreamResponse:
    return web.json_response({"ok": True})


def _readiness(request: web.Request) -> tuple[bool, str, str | None]:
    """(ready, a fixed public reason, the details: for the log and /v1/status only)."""
    state = request.app[keys.READINESS]
    if state.error is not None:
        return False, "warm-up failed", state.error
    if not state.warm:
        return False, "loading models", None
    guard = keys.service(request.app).guard
    loaded, rejected = guard.policy_status()
    if rejected is not None and rejected != state.logged_rejection:
        state.logged_rejection = rejected
        log.warning("policy reload rejected", extra={"detail": rejected})
    if not loaded:
        return False, "no valid policy loaded", rejected
    return True, "ready", rejected


async def _state_readiness(request: web.Request) -> tuple[bool, str, str | None]:
    """As _readiness, and not ready while the shared state database cannot be reached.
    The database is asked first: while it is away nothing can be decided, warm or not, and
    that is the reason an operator must act on (models still loading fix themselves)."""
    shared = request.app[keys.RUNTIME].state
    if shared is not None and shared.shared:
        try:
            await shared.ping()
        except MeetguardError as exc:
            return False, "state database unavailable", exc.message
    return _readiness(request)


@routes.get("/readyz")
async def readyz(request: web.Request) -> web.StreamResponse:
    """Unauthenticated: only whether the sidecar is ready and whether a policy reload was
    rejected. What was rejected (a path, a participant id...) is for /v1/status."""
    ready, reason, detail = await _state_readiness(request)
    rejected = detail is not None and reason in ("ready", "no valid policy loaded")
    body: dict[str, object] = {"ready": ready, "rejected_reload": rejected}
    if not ready:
        body["reason"] = reason
    return web.json_response(body, status=200 if ready else 503)


@routes.get("/v1/status")
async def status(request: web.Request) -> web.StreamResponse:
    """Authenticated: readiness with its details, queue and jobs."""
    ready, reason, detail = await _state_readiness(request)
    gate = request.app[keys.GATE]
    return web.json_response({"ready": ready, "reason": reason, "detail": detail,
                              "queue": {"running": gate.running, "waiting": gate.waiting,
                                        "capacity": gate.capacity}})


@routes.get("/metrics")
async def metrics(request: web.Request) -> web.StreamResponse:
    data = request.app[keys.METRICS].render()
    return web.Response(body=data, headers={"Content-Type": CONTENT_TYPE})
