"""The live routes the sidecar mounts (docs/live.md):

- ``GET /v1/live/{meeting_id}?purpose=P``: the guarded events of a meeting for one
  purpose, as Server-Sent Events, or as a WebSocket when the request upgrades;
  ``Last-Event-ID`` (or ``?last_id=``) resumes after a reconnect;
- ``GET /v1/live/ingest``: a WebSocket where a bot or another platform feeds a meeting
  (the schema in docs/live.md);
- ``meeting.rtms_started`` / ``meeting.rtms_stopped`` on ``/v1/hooks/zoom`` (after the
  webhook's own signature checks).

Both routes need a bearer token that holds the ``live`` scope.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import WSMsgType, web

from ..sidecar.errors import error_response
from ..sidecar.keys import CONFIG, DECISION, METRICS, TOKEN, service, session
from ..sidecar.zoom_hook import RTMS_HOOK
from .config import LiveConfig
from .hub import Subscription
from .meeting import LiveMeeting, is_private_chat
from .sessions import Forward, LiveHub, RtmsEventError

__all__ = ["LIVE", "SCOPE", "mount"]



@dataclass
class _Holder:
    """Set once the sidecar has started (the app is frozen by then)."""

    hub: LiveHub | None = None


LIVE = web.AppKey("live_hub", _Holder)
SCOPE = "live"
IDLE_S = 15.0
INGEST_MAX_FRAME = 1 << 20
_ITEM_KINDS = ("transcript", "chat")


def _scope_refusal(request: web.Request) -> web.Response | None:
    """403 unless the token holds the ``live`` scope (the auth middleware checks it too,
    sidecar/scopes.py; this route does not rely on the table alone)."""
    if SCOPE in request.app[CONFIG].scopes_of(request.get(TOKEN, "")):
        return None
    return error_response(403, "forbidden", "this token does not hold the live scope")


def _hub(request: web.Request) -> LiveHub:
    holder = request.app.get(LIVE)
    if holder is None or holder.hub is None:
        raise web.HTTPServiceUnavailable()
    return holder.hub


def _last_id(request: web.Request) -> int | None:
    raw = request.headers.get("Last-Event-ID") or request.query.get("last_id")
    return int(raw) if raw is not None and raw.isdigit() and len(raw) < 18 else None


async def subscribe(request: web.Request) -> web.StreamResponse:
    refused = _scope_refusal(request)
    if refused is not None:
        return refused
    hub = _hub(request)
    spec = hub.config.purpose(request.query.get("purpose"))
    if spec is None:
        return error_response(400, "bad_request", "purpose: give one of the live purposes configured")
    meeting_id = request.match_info["meeting_id"]
    if not meeting_id or len(meeting_id) > 128:
        return error_response(400, "bad_request", "meeting_id: 1 to 128 characters")
    sub = hub.meeting(meeting_id).channels[spec.purpose].subscribe(_last_id(request))
    if request.headers.get("Upgrade", "").lower() == "websocket":
        return await _websocket(request, sub)
    return await _sse(request, sub)


async def _events(sub: Subscription) -> AsyncIterator[dict[str, Any] | None]:
    """Events (None: idle for IDLE_S) until the end or a cut-off."""
    try:
        while True:
            try:
                event = await asyncio.wait_for(sub.queue.get(), IDLE_S)
            except TimeoutError:
                yield None
                continue
            if event is None:
                return
            yield event
            if event.get("type") == "end":
                return
    finally:
        sub.channel.unsubscribe(sub)


async def _sse(request: web.Request, sub: Subscription) -> web.StreamResponse:
    resp = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache",
                                       "X-Accel-Buffering": "no"})
    await resp.prepare(request)
    async for event in _events(sub):
        if event is None:
            await resp.write(b": keep-alive\n\n")
            continue
        data = json.dumps(event, ensure_ascii=False)
        await resp.write(f"id: {event['id']}\nevent: {event['type']}\ndata: {data}\n\n".encode())
    await resp.write_eof()
    return resp


async def _websocket(request: web.Request, sub: Subscription) -> web.StreamResponse:
    ws = web.WebSocketResponse(heartbeat=30.0)
    await ws.prepare(request)
    async for event in _events(sub):
        if ws.closed:
            break
        if event is not None:
            await ws.send_json(event)
    await ws.close()
    return ws


# -- ingest ----------------------------------------------------------------------------------

class _IngestError(ValueError):
    pass


def _text(msg: Mapping[str, Any], key: str, limit: int, required: bool = True) -> str:
    value = msg.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or len(value) > limit or (required and not value):
        raise _IngestError(f"{key}: expected a string of at most {limit} characters")
    return value


async def ingest(request: web.Request) -> web.StreamResponse:
    refused = _scope_refusal(request)
    if refused is not None:
        return refused
    hub = _hub(request)
    ws = web.WebSocketResponse(heartbeat=30.0, max_msg_size=INGEST_MAX_FRAME)
    await ws.prepare(request)
    state: dict[str, Any] = {}
    async for frame in ws:
        if frame.type != WSMsgType.TEXT:
            await ws.send_json({"type": "error", "message": "frames are JSON text"})
            continue
        try:
            msg = json.loads(frame.data)
            if not isinstance(msg, dict):
                raise _IngestError("a message is a JSON object")
            answer = await _ingest_one(hub, state, msg)
        except (_IngestError, ValueError) as exc:
            answer = {"type": "error", "message": str(exc) if isinstance(exc, _IngestError) else "not JSON"}
        await ws.send_json(answer)
        if answer.get("type") == "ended":
            break
    await ws.close()
    return ws


async def _ingest_one(hub: LiveHub, state: dict[str, Any], msg: Mapping[str, Any]) -> dict[str, Any]:
    kind = msg.get("type")
    if kind == "start":
        began = hub.meeting(_text(msg, "meeting_id", 128), "ingest:" + _text(msg, "source", 64, False))
        state["meeting"] = began
        began.sessions += 1
        return {"type": "started", "meeting_id": began.meeting_id, "last_seq": began.ingest_seq}
    meeting: LiveMeeting | None = state.get("meeting")
    if meeting is None:
        raise _IngestError("send start first")
    if kind in ("join", "leave"):
        uid, name = _text(msg, "user_id", 128), _text(msg, "name", 256, False)
        if kind == "join":
            await meeting.join(uid, name, _text(msg, "email", 256, False) or None)
        else:
            await meeting.leave(uid, name)
        return {"type": "ok"}
    if kind == "end":
        await meeting.finish("ended")
        return {"type": "ended"}
    if kind not in _ITEM_KINDS:
        raise _IngestError("type: expected start, join, leave, transcript, chat or end")
    seq = msg.get("seq")
    if isinstance(seq, bool) or not isinstance(seq, int) or seq < 1:
        raise _IngestError("seq: expected a positive integer, increasing")
    if seq <= meeting.ingest_seq:
        return {"type": "ack", "seq": seq, "duplicate": True}
    meeting.ingest_seq = seq
    private = kind == "chat" and is_private_chat({k: v for k, v in msg.items() if k in ("to", "private")})
    await meeting.text(kind, _text(msg, "user_id", 128), _text(msg, "name", 256, False),
                       _text(msg, "text", 20000), private=private,
                       email=_text(msg, "email", 256, False) or None, ts=msg.get("ts") if isinstance(msg.get("ts"), int) else None)
    return {"type": "ack", "seq": seq}


# -- the webhook's RTMS events ---------------------------------------------------------------

async def rtms_hook(request: web.Request, event: Mapping[str, Any]) -> web.StreamResponse:
    holder = request.app.get(LIVE)
    hub = holder.hub if holder is not None else None
    count = request.app[METRICS].hook_events
    if hub is None or hub.config.rtms is None:
        count.labels("zoom", "ignored").inc()
        return web.Response(status=204)
    try:
        if event.get("event") == "meeting.rtms_started":
            outcome = hub.rtms_started(event)
        else:
            outcome = hub.rtms_stopped(event)
    except RtmsEventError as exc:
        count.labels("zoom", "rtms_refused").inc()
        return error_response(400, "bad_request", f"rtms event: {exc}")
    count.labels("zoom", f"rtms_{outcome}").inc()
    request[DECISION] = f"rtms_{outcome}"
    return web.Response(status=204)


def mount(app: web.Application, config: LiveConfig) -> None:
    """Add the live routes and the hub's lifetime (after the sidecar's own)."""
    app.router.add_get("/v1/live/ingest", ingest)
    app.router.add_get("/v1/live/{meeting_id:.+}", subscribe)     # Zoom uuids may hold a "/"
    app[RTMS_HOOK] = rtms_hook
    holder = app[LIVE] = _Holder()

    async def ctx(app: web.Application) -> AsyncIterator[None]:
        sidecar = app[CONFIG]
        forwards = {name: Forward(u.url, dict(u.headers), u.timeout_s) for name, u in sidecar.upstreams.items()}
        hub = LiveHub(config, service(app).guard, session(app), forwards)  # type: ignore[arg-type]
        holder.hub = hub
        warming = asyncio.ensure_future(hub.warm())
        yield
        warming.cancel()
        holder.hub = None
        await hub.aclose()

    app.cleanup_ctx.append(ctx)
