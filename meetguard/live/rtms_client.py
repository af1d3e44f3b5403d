"""The RTMS client on aiohttp's WebSocket client: one :class:`RtmsSession` per stream.

Connect to the signaling server the ``meeting.rtms_started`` event names (its host
must be in ``zoom.rtms.server_hosts``; plain ``ws://`` only on loopback), send the
signed handshake, connect to each media server its answer names (same host check),
send the media handshakes, then EVENT_SUBSCRIPTION and CLIENT_READY_ACK. While
streaming: every KEEP_ALIVE_REQ on either socket is answered on that socket,
participant join/leave and stream/session state updates are handed to the sink,
media items go to the sink in arrival order. A refusal (non-zero ``status_code``)
ends the session; a dropped socket reconnects both with exponential back-off
(0.5 s doubling to 8 s, up to ``RECONNECT_WINDOW_S`` without a working connection,
as long as the server keeps a stream open for a reconnecting client). Items are
de-duplicated by (kind, user, timestamp, content digest), so what a server sends
again after a reconnect is not published twice. ``stop()`` closes cleanly with
STREAM_CLOSE_REQ.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import ipaddress
import json
import logging
import random
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any, Protocol
from urllib.parse import urlsplit

import aiohttp

from . import rtms_protocol as proto
from .config import RtmsConfig

__all__ = ["RtmsRefused", "RtmsSession", "RtmsSink", "allowed_url"]

log = logging.getLogger("meetguard.live")
HANDSHAKE_TIMEOUT_S = 10.0
RECONNECT_WINDOW_S = 60.0
BACKOFF = (0.5, 8.0)
SEEN_MAX = 8192
MAX_FRAME = 4 << 20
DRAIN_IDLE_S, DRAIN_MAX_S = 0.3, 3.0     # after the stream ends: media still on its way


class RtmsRefused(Exception):
    """The server refused us, or pointed us somewhere we may not go: no retry."""


class _Dropped(Exception):
    """A socket closed while streaming: reconnect."""


class RtmsSink(Protocol):
    async def media(self, item: proto.Media) -> None: ...

    async def participants(self, joined: bool, people: list[Mapping[str, Any]]) -> None: ...

    def state(self, what: str) -> None: ...


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def allowed_url(url: str, hosts: tuple[str, ...]) -> bool:
    """``wss://`` to an allowed host (``ws://`` only to loopback)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return False
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("wss", "ws") or not host or "@" in parts.netloc:
        return False
    if parts.scheme == "ws" and not _loopback(host):
        return False
    return host in hosts or (port is not None and f"{host}:{port}" in hosts)


class RtmsSession:
    def __init__(self, config: RtmsConfig, http: aiohttp.ClientSession, meeting_uuid: str,
                 stream_id: str, server_url: str, sink: RtmsSink) -> None:
        self.config = config
        self.http = http
        self.meeting_uuid = meeting_uuid
        self.stream_id = stream_id
        self.server_url = server_url
        self.sink = sink
        self.kinds = frozenset(config.media)
        self.connects = 0
        self.reconnects = 0
        self.duplicates = 0
        self._seq = 0
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._stop = asyncio.Event()
        self._ready_at = 0.0
        self._last_media = 0.0

    def stop(self) -> None:
        self._stop.set()

    def _sig(self) -> str:
        return proto.signature(self.config.client_id, self.meeting_uuid, self.stream_id,
                               self.config.client_secret)

    def _next(self) -> int:
        self._seq += 1
        return self._seq

    async def run(self) -> str:
        """Until the stream ends: ``terminated``, ``closed``, ``stopped``, ``gave_up`` or
        ``refused: ...``."""
        if not allowed_url(self.server_url, self.config.server_hosts):
            return "refused: signaling host not allowed"
        delay, lost = BACKOFF[0], time.monotonic()
        while not self._stop.is_set():
            try:
                return await self._connect_once()
            except RtmsRefused as exc:
                return f"refused: {exc}"
            except (aiohttp.ClientError, _Dropped, TimeoutError, proto.ProtocolError, ValueError) as exc:
                log.warning("rtms connection lost", extra={"error_type": type(exc).__name__})
                if self._ready_at > lost:        # it worked since the last loss: start over
                    delay, lost = BACKOFF[0], time.monotonic()
                if time.monotonic() - lost > RECONNECT_WINDOW_S:
                    return "gave_up"
                self.reconnects += 1
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), delay * (1 + random.random() / 5))
                delay = min(delay * 2, BACKOFF[1])
        return "stopped"

    async def _receive(self, ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
        msg = await ws.receive()
        if msg.type != aiohttp.WSMsgType.TEXT:
            raise _Dropped(str(msg.type))
        data = json.loads(msg.data)
        if not isinstance(data, dict):
            raise proto.ProtocolError("a message is not a JSON object")
        return data

    async def _answer(self, ws: aiohttp.ClientWebSocketResponse, expected: int) -> dict[str, Any]:
        """The handshake answer (keep-alives that come first are answered)."""
        async with asyncio.timeout(HANDSHAKE_TIMEOUT_S):
            while True:
                msg = await self._receive(ws)
                if msg.get("msg_type") == proto.Msg.KEEP_ALIVE_REQ:
                    await ws.send_json(proto.keep_alive_answer(msg))
                    continue
                code = proto.status_of(msg, expected)
                if code != 0:
                    raise RtmsRefused(f"status_code {code}")
                return msg

    async def _connect_once(self) -> str:
        ws_kw: dict[str, Any] = {"heartbeat": None, "max_msg_size": MAX_FRAME, "autoping": True}
        async with contextlib.AsyncExitStack() as stack:
            sig = await stack.enter_async_context(self.http.ws_connect(self.server_url, **ws_kw))
            await sig.send_json(proto.signaling_handshake(self.meeting_uuid, self.stream_id, self._sig(),
                                                          self._next()))
            answer = await self._answer(sig, proto.Msg.SIGNALING_HAND_SHAKE_RESP)
            media: list[aiohttp.ClientWebSocketResponse] = []
            for url, kinds in proto.media_urls(answer, self.kinds).items():
                if not allowed_url(url, self.config.server_hosts):
                    raise RtmsRefused("media host not allowed")
                ws = await stack.enter_async_context(self.http.ws_connect(url, **ws_kw))
                await ws.send_json(proto.media_handshake(self.meeting_uuid, self.stream_id, self._sig(),
                                                         kinds, self._next()))
                await self._answer(ws, proto.Msg.DATA_HAND_SHAKE_RESP)
                media.append(ws)
            await sig.send_json(proto.event_subscription())
            await sig.send_json(proto.client_ready(self.stream_id))
            self.connects += 1
            self._ready_at = time.monotonic()
            self.sink.state("ready")
            return await self._stream(sig, media)

    async def _stream(self, sig: aiohttp.ClientWebSocketResponse,
                      media: list[aiohttp.ClientWebSocketResponse]) -> str:
        tasks = [asyncio.ensure_future(self._signaling(sig)),
                 *(asyncio.ensure_future(self._media(ws)) for ws in media),
                 asyncio.ensure_future(self._stop.wait())]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            if tasks[0] in done and tasks[0].exception() is None:
                await self._drain(tasks[1:-1])     # the stream ended: what media still holds first
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        first = next(iter(done))
        if tasks[-1] in done:
            await self._close(sig)
            return "closed"
        result = first.result()          # re-raises _Dropped and the like
        return str(result)

    async def _drain(self, media: Sequence[asyncio.Future[Any]]) -> None:
        """Let the media readers run until they have been idle DRAIN_IDLE_S (at most DRAIN_MAX_S)."""
        deadline = time.monotonic() + DRAIN_MAX_S
        while time.monotonic() < deadline and not all(t.done() for t in media):
            if time.monotonic() - self._last_media >= DRAIN_IDLE_S:
                return
            await asyncio.sleep(DRAIN_IDLE_S / 4)

    async def _close(self, sig: aiohttp.ClientWebSocketResponse) -> None:
        with contextlib.suppress(Exception):
            await sig.send_json(proto.close_request(self.meeting_uuid, self.stream_id))
            async with asyncio.timeout(2.0):
                while (await self._receive(sig)).get("msg_type") != proto.Msg.STREAM_CLOSE_RESP:
                    pass

    async def _signaling(self, ws: aiohttp.ClientWebSocketResponse) -> str:
        while True:
            msg = await self._receive(ws)
            kind = msg.get("msg_type")
            if kind == proto.Msg.KEEP_ALIVE_REQ:
                await ws.send_json(proto.keep_alive_answer(msg))
            elif kind == proto.Msg.EVENT_UPDATE:
                await self._event(msg)
            elif kind == proto.Msg.STREAM_STATE_UPDATE:
                state = msg.get("state")
                if state in (proto.StreamState.TERMINATING, proto.StreamState.TERMINATED):
                    return "terminated"
                names = {proto.StreamState.PAUSED: "paused", proto.StreamState.RESUMED: "resumed",
                         proto.StreamState.INTERRUPTED: "interrupted"}
                self.sink.state(names.get(state, "active") if isinstance(state, int) else "active")
            elif kind == proto.Msg.SESSION_STATE_UPDATE:
                state = msg.get("state")
                if state == proto.SessionState.STOPPED:
                    return "terminated"
                if state in (proto.SessionState.PAUSED, proto.SessionState.RESUMED):
                    self.sink.state("paused" if state == proto.SessionState.PAUSED else "resumed")
            elif kind == proto.Msg.STREAM_CLOSE_RESP:
                return "closed"

    async def _event(self, msg: Mapping[str, Any]) -> None:
        event = msg.get("event", msg.get("content"))
        if not isinstance(event, Mapping):
            return
        kind = event.get("event_type")
        people = event.get("participants")
        if kind in (proto.Event.PARTICIPANT_JOIN, proto.Event.PARTICIPANT_LEAVE) and isinstance(people, list):
            await self.sink.participants(kind == proto.Event.PARTICIPANT_JOIN,
                                         [p for p in people if isinstance(p, Mapping)])

    async def _media(self, ws: aiohttp.ClientWebSocketResponse) -> str:
        while True:
            msg = await self._receive(ws)
            self._last_media = time.monotonic()
            if msg.get("msg_type") == proto.Msg.KEEP_ALIVE_REQ:
                await ws.send_json(proto.keep_alive_answer(msg))
                continue
            item = proto.media_item(msg)
            if item is None or item.kind not in self.kinds:
                continue
            if self._duplicate(item):
                self.duplicates += 1
                continue
            await self.sink.media(item)

    def _duplicate(self, item: proto.Media) -> bool:
        digest = hashlib.sha256(item.data.encode("utf-8", "surrogatepass")).hexdigest()[:24]
        key = f"{item.kind}|{item.user_id}|{item.timestamp}|{digest}"
        if key in self._seen:
            return True
        self._seen[key] = None
        while len(self._seen) > SEEN_MAX:
            self._seen.popitem(last=False)
        return False
