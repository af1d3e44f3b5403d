"""A stand-in Zoom RTMS server (aiohttp) that speaks the protocol of Zoom's RTMS event
reference and replays a scripted meeting.

``/signaling`` checks the signed SIGNALING_HAND_SHAKE_REQ (HMAC-SHA256 over
``client_id,meeting_uuid,rtms_stream_id``; a bad one is answered status 3 and closed),
answers with this server's ``/media`` URL, waits for CLIENT_READY_ACK; ``/media``
checks DATA_HAND_SHAKE_REQ the same way. Then the script runs, one step at a time:

- ``("join", uid, name)`` / ``("leave", uid, name)``: EVENT_UPDATE on signaling;
- ``("transcript", uid, name, text)`` / ``("chat", uid, name, text, extra)``: media data
  (``extra``: more content fields, e.g. ``{"to_user_id": ...}`` for private chat);
- ``("audio", uid, name, b64)``: MEDIA_DATA_AUDIO;
- ``("keepalive",)``: KEEP_ALIVE_REQ on both sockets (answers are recorded);
- ``("await", fn)``: awaits ``fn()`` (the test's own step, e.g. a withdrawal once the
  items before it were delivered);
- ``("drop", replay)``: both sockets cut without a close frame; once the client is back,
  the last ``replay`` media messages are sent again (as a server resending its buffer);
- ``("end",)``: STREAM_STATE_UPDATE TERMINATED.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

Step = tuple[Any, ...]


@dataclass
class RtmsServerState:
    client_id: str
    secret: bytes
    meeting_uuid: str
    stream_id: str
    script: list[Step]
    base: str = ""                      # ws://host:port, set once serving
    handshakes: list[dict[str, Any]] = field(default_factory=list)
    refused: int = 0
    ready_acks: int = 0
    subscriptions: int = 0
    keepalive_answers: int = 0
    close_requests: int = 0
    sent: list[dict[str, Any]] = field(default_factory=list)
    pos: int = 0
    signaling: web.WebSocketResponse | None = None
    media: web.WebSocketResponse | None = None
    requests: list[web.Request] = field(default_factory=list)     # the live sockets' requests
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    finished: asyncio.Event = field(default_factory=asyncio.Event)
    driver: asyncio.Task[None] | None = None
    replay: int = 0

    def signed(self, msg: dict[str, Any]) -> bool:
        expected = hmac.new(self.secret, f"{self.client_id},{self.meeting_uuid},{self.stream_id}".encode(),
                            hashlib.sha256).hexdigest()
        return (msg.get("meeting_uuid") == self.meeting_uuid and msg.get("rtms_stream_id") == self.stream_id
                and hmac.compare_digest(str(msg.get("signature", "")), expected))


async def _read(ws: web.WebSocketResponse) -> dict[str, Any] | None:
    msg = await ws.receive()
    if msg.type != WSMsgType.TEXT:
        return None
    data = json.loads(msg.data)
    return data if isinstance(data, dict) else None


def _media_msg(step: Step) -> dict[str, Any]:
    kind, uid, name, data = step[:4]
    content = {"user_id": uid, "user_name": name, "data": data, "timestamp": 1764497000000 + 1000 * len(data)}
    if kind == "chat" and len(step) > 4:
        content.update(step[4])
    msg_type = {"transcript": 17, "chat": 18, "audio": 14}[kind]
    return {"msg_type": msg_type, "content": content}


async def _drive(st: RtmsServerState) -> None:
    """Run the script from ``st.pos`` while both sockets are up."""
    while st.pos < len(st.script):
        step = st.script[st.pos]
        kind = step[0]
        sig, media = st.signaling, st.media
        assert sig is not None and media is not None
        if kind in ("join", "leave"):
            await sig.send_json({"msg_type": 6, "event": {"event_type": 3 if kind == "join" else 4,
                                                          "participants": [{"user_id": step[1],
                                                                            "user_name": step[2]}]}})
        elif kind in ("transcript", "chat", "audio"):
            msg = _media_msg(step)
            st.sent.append(msg)
            await media.send_json(msg)
        elif kind == "keepalive":
            for ws in (sig, media):
                await ws.send_json({"msg_type": 12, "timestamp": 1764497000000 + st.pos})
        elif kind == "await":
            fn: Callable[[], Awaitable[None]] = step[1]
            await fn()
        elif kind == "drop":
            st.pos += 1
            st.replay = int(step[1])
            st.ready.clear()
            for request in st.requests:
                if request.transport is not None:
                    request.transport.abort()
            st.requests.clear()
            return
        elif kind == "end":
            await sig.send_json({"msg_type": 8, "state": 4, "reason": 6, "timestamp": 1764497099000})
        st.pos += 1
        await asyncio.sleep(0)
    st.finished.set()


async def _start_driver(st: RtmsServerState) -> None:
    await st.ready.wait()
    media = st.media
    assert media is not None
    if st.replay:
        for msg in st.sent[-st.replay:]:
            await media.send_json(msg)
        st.replay = 0
    await _drive(st)


def build_rtms(st: RtmsServerState) -> web.Application:
    async def signaling(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        hello = await _read(ws)
        st.handshakes.append(dict(hello or {}))
        if hello is None or hello.get("msg_type") != 1 or not st.signed(hello):
            st.refused += 1
            await ws.send_json({"msg_type": 2, "protocol_version": 1, "status_code": 3, "reason": "bad signature"})
            await ws.close()
            return ws
        media_url = f"{st.base}/media"
        await ws.send_json({"msg_type": 2, "protocol_version": 1, "status_code": 0, "media_server": {
            "server_urls": {"audio": media_url, "transcript": media_url, "chat": media_url, "all": media_url}}})
        st.signaling = ws
        st.requests.append(request)
        while True:
            msg = await _read(ws)
            if msg is None:
                break
            kind = msg.get("msg_type")
            if kind == 5:
                st.subscriptions += 1
            elif kind == 7:
                st.ready_acks += 1
                st.ready.set()
                st.driver = asyncio.ensure_future(_start_driver(st))
            elif kind == 13:
                st.keepalive_answers += 1
            elif kind == 21:
                st.close_requests += 1
                await ws.send_json({"msg_type": 22, "status_code": 0})
                await ws.close()
                break
        return ws

    async def media(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        hello = await _read(ws)
        if hello is None or hello.get("msg_type") != 3 or not st.signed(hello):
            st.refused += 1
            await ws.send_json({"msg_type": 4, "protocol_version": 1, "status_code": 3})
            await ws.close()
            return ws
        st.media = ws
        st.requests.append(request)
        await ws.send_json({"msg_type": 4, "protocol_version": 1, "status_code": 0,
                            "media_type": hello.get("media_type")})
        while True:
            msg = await _read(ws)
            if msg is None:
                break
            if msg.get("msg_type") == 13:
                st.keepalive_answers += 1
        return ws

    app = web.Application()
    app.router.add_get("/signaling", signaling)
    app.router.add_get("/media", media)
    return app
