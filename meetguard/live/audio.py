"""Live audio: each participant's own stream, released with a fixed delay, values bleeped.

RTMS sends individual streams (``data_opt`` AUDIO_MULTI_STREAMS, 16 kHz mono L16,
20 ms packets, each with its user id). For one participant, samples are cut into
chunks of a fifth of the configured delay ``D``. Every new chunk is heard together
with the two before it (a rolling window of three chunks, the embedded Whisper model
primed with the roster), so a value up to two chunks long lies whole inside some
window; the guard decides the speaker's consent for the window and finds the values
to bleep. A chunk goes out exactly ``D`` after its first packet arrived, once the
window that starts with it was heard (or nothing followed it), bleeped wherever any
of the three windows covering it found a value. A chunk whose windows are not heard by then is dropped and said so (an
``audio_dropped`` event, reason ``guard_behind``): audio never goes out unguarded.
The audio of anyone not consenting, and a purpose whose ``audio`` is ``drop``, never
goes out at all.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

from .._errors import MeetguardError
from ..redaction.audio import redact_frames

__all__ = ["RATE", "AudioStream", "rtf"]

log = logging.getLogger("meetguard.live")
RATE = 16000
WINDOW = 3                           # chunks heard together
SPAN_DIV = 5                         # chunk = delay / 5: a chunk's last window ends 3 chunks after it


@dataclass
class _Chunk:
    pcm: np.ndarray                  # int16 samples
    arrived: float                   # monotonic time of its first packet
    ts: int                          # the platform's timestamp of its first packet
    windows: list[tuple[float, float]] = field(default_factory=list)   # seconds in the chunk
    index: int = 0
    covered_to: int = -1             # the last chunk index of a heard window covering it
    refused: bool = False            # a window covering it was not released (consent)
    failed: bool = False             # the guard failed on a window covering it


class AudioStream:
    """One participant's audio for one purpose (``meeting``: its :class:`LiveMeeting`)."""

    def __init__(self, meeting: Any, purpose: str, who: Any, delay_s: float,
                 mode: str = "bleep") -> None:
        self.meeting = meeting
        self.mode = "silence" if mode == "silence" else "bleep"
        self.purpose = purpose
        self.who = who
        self.delay = delay_s
        self.chunk_n = int(delay_s / SPAN_DIV * RATE)
        self._count = 0
        self._pending = 0                # windows queued or being heard
        self._ended = False              # no packet for a while: what is held needs no more windows
        self._buf: list[np.ndarray] = []
        self._buf_n = 0
        self._buf_start: tuple[float, int] | None = None
        self._last_packet = 0.0
        self._chunks: deque[_Chunk] = deque()
        self._recent: deque[_Chunk] = deque(maxlen=WINDOW)
        self._work: asyncio.Queue[list[_Chunk] | None] = asyncio.Queue()
        self._tasks = [asyncio.ensure_future(self._hear()), asyncio.ensure_future(self._release())]
        self.heard_s = 0.0               # audio seconds heard (windows)
        self.busy_s = 0.0                # seconds spent hearing them

    def feed(self, pcm: bytes, ts: int) -> None:
        now = time.monotonic()
        samples = np.frombuffer(pcm[: len(pcm) // 2 * 2], dtype="<i2")
        if self._buf_start is None:
            self._buf_start = (now, ts)
        self._buf.append(samples)
        self._buf_n += samples.size
        self._last_packet = now
        self._ended = False
        if self._buf_n >= self.chunk_n:
            self._cut()

    def _cut(self) -> None:
        if not self._buf or self._buf_start is None:
            return
        chunk = _Chunk(np.concatenate(self._buf), *self._buf_start, index=self._count)
        self._count += 1
        self._buf, self._buf_n, self._buf_start = [], 0, None
        self._chunks.append(chunk)
        self._recent.append(chunk)
        self._pending += 1
        self._work.put_nowait(list(self._recent))

    async def _hear(self) -> None:
        while True:
            job = await self._work.get()
            if job is None:
                return
            parts = job
            samples = np.concatenate([c.pcm for c in parts]).astype(np.float32) / 32768.0
            started = time.monotonic()
            spec = self.meeting.purposes[self.purpose]
            attendees = [self.who.pid] if self.who.pid is not None else []
            try:
                released, windows = await self.meeting.guard.live_audio(
                    samples, self.purpose, spec.recipient, attendees, datetime.now(UTC))
                failed = False
            except MeetguardError:
                released, windows, failed = False, [], True
            self.busy_s += time.monotonic() - started
            self.heard_s += samples.size / RATE
            offset = 0.0
            for c in parts:
                length = c.pcm.size / RATE
                c.windows += [(max(a - offset, 0.0), min(b - offset, length)) for a, b in windows
                              if b > offset and a < offset + length]
                c.covered_to = max(c.covered_to, parts[-1].index)
                c.refused |= not released
                c.failed |= failed
                offset += length
            self._pending -= 1

    async def _release(self) -> None:
        while True:
            if not self._chunks:
                await asyncio.sleep(self.delay / 16)
                self._idle_cut()
                continue
            chunk = self._chunks[0]
            wait = chunk.arrived + self.delay - time.monotonic()
            if wait > 0:
                await asyncio.sleep(min(wait, self.delay / 16))
                self._idle_cut()
                continue
            self._chunks.popleft()
            self._out(chunk)

    def _idle_cut(self) -> None:
        """No packet for an eighth of the delay: what is buffered is a chunk; a chunk with
        nothing after it needs only its own window."""
        if time.monotonic() - self._last_packet < self.delay / 8:
            return
        if self._buf:
            self._cut()
        else:
            self._ended = True

    def _out(self, chunk: _Chunk) -> None:
        m, purpose = self.meeting, self.purpose
        if chunk.refused:
            m.count(purpose, "dropped:audio_no_consent")
            return
        ready = chunk.covered_to >= chunk.index + WINDOW - 1 or (self._ended and self._pending == 0
                                                                  and chunk.covered_to >= chunk.index)
        if (chunk.failed or not ready) and not m.consents(self.who, purpose):
            m.count(purpose, "dropped:audio_no_consent")      # nothing said about those who refuse
            return
        if chunk.failed or not ready:
            m.count(purpose, "dropped:audio_guard_behind")
            m.channels[purpose].publish({"type": "audio_dropped", "participant": self.who.label, "ts": chunk.ts,
                                         "ms": round(chunk.pcm.size * 1000 / RATE),
                                         "reason": "guard_error" if chunk.failed else "guard_behind"})
            return
        frames = chunk.pcm.copy().reshape(-1, 1)
        for a, b in chunk.windows:
            lo, hi = int(a * RATE), int(b * RATE)
            if hi > lo:
                redact_frames(frames, lo, hi, "silence" if self.mode == "silence" else "bleep", 2, RATE)
        m.count(purpose, "released:audio")
        m.count(purpose, "audio:bleeped_windows", len(chunk.windows))
        m.channels[purpose].publish({"type": "audio", "participant": self.who.label, "ts": chunk.ts,
                                     "rate": RATE, "encoding": "L16", "ms": round(frames.size * 1000 / RATE),
                                     "data": base64.b64encode(frames.astype("<i2").tobytes()).decode("ascii")})

    async def aclose(self, flush: bool = True) -> None:
        """The stream ended: what is buffered is heard and released on schedule (``flush``)."""
        if flush:
            self._cut()
            self._ended = True
            deadline = time.monotonic() + self.delay + 1.0
            while self._chunks and time.monotonic() < deadline:
                await asyncio.sleep(self.delay / 16)
        self._work.put_nowait(None)
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for chunk in list(self._chunks):          # never out unguarded: what is left is dropped
            self._chunks.popleft()
            self.meeting.count(self.purpose, "dropped:audio_guard_behind")


def rtf(streams: Sequence[AudioStream]) -> float | None:
    """Seconds spent hearing per second of audio heard (the real-time factor)."""
    heard = sum(s.heard_s for s in streams)
    return round(sum(s.busy_s for s in streams) / heard, 3) if heard else None
