"""The live meetings of one sidecar: RTMS streams started and stopped by Zoom's webhook,
generic ingest feeds, and the forwarders that POST each guarded event upstream.

At most one RTMS session per ``rtms_stream_id``: a second ``meeting.rtms_started`` for
a stream already running is a no-op. A meeting ends (its audit record written, its
subscribers told) when its stream ends, when a feed says ``end``, or at shutdown.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import re
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp

from . import rtms_protocol as proto
from .audio import Hearing
from .config import DEFAULT_AUDIO_DELAY_MS, LiveConfig, LivePurpose
from .meeting import LiveGuard, LiveMeeting, is_private_chat
from .rtms_client import RtmsSession, allowed_url

__all__ = ["Forward", "LiveHub", "RtmsEventError"]

log = logging.getLogger("meetguard.live")
MAX_MEETINGS = 1024
_ID = re.compile(r"[A-Za-z0-9+/=_.:-]{1,128}")


class RtmsEventError(ValueError):
    """The signed RTMS event lacks what it must carry, or points where we may not go."""


@dataclass(frozen=True)
class Forward:
    """Where ``live.forward`` POSTs each event (an upstream's url, headers and timeout)."""

    url: str
    headers: Mapping[str, str]
    timeout_s: float


class _Sink:
    """An RTMS session's items, into its meeting."""

    def __init__(self, meeting: LiveMeeting) -> None:
        self.meeting = meeting

    async def media(self, item: proto.Media) -> None:
        m = self.meeting
        if item.kind == "audio":
            try:
                pcm = base64.b64decode(item.data, validate=True)
            except ValueError:
                m.count(None, "dropped:audio_malformed")
                return
            m.audio(item.user_id, item.user_name, pcm, item.timestamp)
            return
        private = item.kind == "chat" and is_private_chat(item.raw)
        await m.text(item.kind, item.user_id, item.user_name, item.data, private=private, ts=item.timestamp)

    async def participants(self, joined: bool, people: list[Mapping[str, Any]]) -> None:
        for p in people:
            uid = str(p.get("user_id", p.get("participant_id", "")))
            name = p.get("user_name", p.get("participant_name"))
            name = name if isinstance(name, str) else ""
            if joined:
                await self.meeting.join(uid, name)
            else:
                await self.meeting.leave(uid, name)

    def state(self, what: str) -> None:
        if what == "ready":
            self.meeting.sessions += 1


class LiveHub:
    def __init__(self, config: LiveConfig, guard: LiveGuard, http: aiohttp.ClientSession,
                 forwards: Mapping[str, Forward]) -> None:
        self.config = config
        self.guard = guard
        self.http = http
        self.forwards = forwards
        self.meetings: OrderedDict[str, LiveMeeting] = OrderedDict()
        self.streams: dict[str, tuple[RtmsSession, asyncio.Task[None]]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.hearing = Hearing(guard)      # one model call for the audio spans of all meetings

    async def warm(self) -> None:
        """Run the live path once per purpose on a fixed harmless text, so the first real
        item does not pay for what the guard builds on first use (seconds)."""
        from datetime import UTC, datetime

        from ..policy import consent_state
        from ..redaction import PseudonymBook

        for spec in self.config.purposes:
            try:
                policy, now = self.guard.policy, datetime.now(UTC)
                purpose = policy.purposes.get(spec.purpose)
                who = next((p.id for p in policy.participants if purpose is not None
                            and consent_state(policy, p.id, purpose, now)[0]), None)
                if who is not None:
                    await self.guard.redact_live(["warming up the live guard"], spec.purpose, spec.recipient,
                                                 [who], now, book=PseudonymBook())
                    if self.config.rtms is not None and "audio" in self.config.rtms.media:
                        import numpy as np

                        tone = 0.01 * np.sin(np.arange(16000, dtype=np.float32) * 0.2)   # not silent: heard
                        await self.guard.live_audio_many([(tone, spec.purpose, spec.recipient, [who])], now)
            except Exception as exc:  # noqa: BLE001  (a real item will fail closed on its own)
                log.warning("live warm-up failed", extra={"error_type": type(exc).__name__})

    # -- meetings ------------------------------------------------------------------------
    def meeting(self, meeting_id: str, source: str = "pending") -> LiveMeeting:
        found = self.meetings.get(meeting_id)
        if found is not None and found.ended is not None and source != "pending":
            found = None                       # a new session of a meeting that ended
        if found is None:
            rtms = self.config.rtms
            delay = (rtms.audio_delay_ms if rtms is not None else DEFAULT_AUDIO_DELAY_MS) / 1000
            found = LiveMeeting(meeting_id, source, self.config.purposes, self.guard, delay, self.hearing)
            self.meetings[meeting_id] = found
            self._forwarders(found)
            self._evict()
        elif found.source == "pending" and source != "pending":
            found.source = source
        return found

    def _evict(self) -> None:
        for mid in list(self.meetings):
            if len(self.meetings) <= MAX_MEETINGS:
                return
            m = self.meetings[mid]
            if m.ended is not None or (m.source == "pending" and not any(c.subscribers for c in m.channels.values())):
                del self.meetings[mid]

    def _forwarders(self, meeting: LiveMeeting) -> None:
        for spec in self.config.purposes:
            fwd = self.forwards.get(spec.forward) if spec.forward else None
            if fwd is not None:
                queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
                meeting.channels[spec.purpose].listeners.append(queue)
                self._spawn(self._forward(meeting, spec, fwd, queue))

    async def _forward(self, meeting: LiveMeeting, spec: LivePurpose, fwd: Forward,
                       queue: asyncio.Queue[dict[str, Any]]) -> None:
        timeout = aiohttp.ClientTimeout(total=fwd.timeout_s)
        while True:
            event = await queue.get()
            body = {"meeting_id": meeting.meeting_id, "purpose": spec.purpose, **event}
            try:
                async with self.http.post(fwd.url, json=body, headers=dict(fwd.headers), timeout=timeout,
                                          allow_redirects=False) as r:
                    ok = r.status < 300
            except (aiohttp.ClientError, TimeoutError):
                ok = False
            meeting.count(spec.purpose, "forwarded:ok" if ok else "forwarded:failed")
            if event.get("type") == "end":
                return

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- RTMS ------------------------------------------------------------------------------
    def rtms_started(self, event: Mapping[str, Any]) -> str:
        """Start a session for a verified ``meeting.rtms_started`` (the outcome for the
        metrics). Raises :class:`RtmsEventError`."""
        rtms = self.config.rtms
        if rtms is None:
            return "ignored"
        uuid, stream, url = _payload(event, with_url=True)
        if not allowed_url(url, rtms.server_hosts):
            raise RtmsEventError("server_urls: host not in zoom.rtms.server_hosts")
        if stream in self.streams:
            return "duplicate"
        meeting = self.meeting(uuid, "zoom_rtms")
        session = RtmsSession(rtms, self.http, uuid, stream, url, _Sink(meeting))
        task = asyncio.ensure_future(self._run(session, meeting))
        self.streams[stream] = (session, task)
        return "started"

    async def _run(self, session: RtmsSession, meeting: LiveMeeting) -> None:
        reason = "error"
        try:
            reason = await session.run()
        finally:
            self.streams.pop(session.stream_id, None)
            meeting.count(None, "rtms:duplicates_skipped", session.duplicates)
            meeting.count(None, "rtms:reconnects", session.reconnects)
            await meeting.finish(reason.split(":")[0])

    def rtms_stopped(self, event: Mapping[str, Any]) -> str:
        _, stream, _ = _payload(event, with_url=False)
        running = self.streams.get(stream)
        if running is None:
            return "not_running"
        running[0].stop()
        return "stopping"

    async def aclose(self) -> None:
        for session, _ in list(self.streams.values()):
            session.stop()
        await asyncio.gather(*(t for _, t in list(self.streams.values())), return_exceptions=True)
        for meeting in list(self.meetings.values()):
            if meeting.source != "pending":
                await meeting.finish("shutdown")
        await self.hearing.aclose()
        for task in list(self._tasks):
            task.cancel()
        with contextlib.suppress(Exception):
            await asyncio.gather(*self._tasks, return_exceptions=True)


def _payload(event: Mapping[str, Any], *, with_url: bool) -> tuple[str, str, str]:
    payload = event.get("payload")
    if not isinstance(payload, Mapping):
        raise RtmsEventError("payload: required")
    uuid, stream, url = payload.get("meeting_uuid"), payload.get("rtms_stream_id"), payload.get("server_urls")
    if not isinstance(uuid, str) or not _ID.fullmatch(uuid):
        raise RtmsEventError("payload.meeting_uuid: required")
    if not isinstance(stream, str) or not _ID.fullmatch(stream):
        raise RtmsEventError("payload.rtms_stream_id: required")
    if with_url and (not isinstance(url, str) or not url):
        raise RtmsEventError("payload.server_urls: required")
    return uuid, stream, url if isinstance(url, str) else ""
