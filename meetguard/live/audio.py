"""Live audio: each participant's own stream, released with a fixed delay, values bleeped.

RTMS sends individual streams (``data_opt`` AUDIO_MULTI_STREAMS, 16 kHz mono L16,
20 ms packets, each with its user id). For one participant and purpose, packets are
gathered into **spans**, and every span is heard **once** by the embedded Whisper model
(primed with the roster) while the detector finds the values to bleep:

- a span ends at a pause (:data:`PAUSE_S` below the quiet level, found by the packets'
  energy against the stream's noise floor) once it holds a quarter of the delay ``D``,
  and at the latest when it holds half of ``D`` (then at its quietest 100 ms in its
  second half, the rest opening the next span), or when the participant falls silent;
- a span is due ``D`` after its first packet arrived: heard by then, it goes out in
  slices of at most :data:`SLICE_S`, each exactly ``D`` after its own first packet,
  bleeped (or silenced) wherever a value was found; not heard by then (the guard is
  behind, or failed), the whole span is dropped and said so (an ``audio_dropped``
  event, reason ``guard_behind`` / ``guard_error``, and a count): audio never goes out
  unguarded. A span that could not be heard in time anyway (the last hearing took
  longer than the time left) is dropped without hearing it, so the guard catches up.

The audio of anyone not consenting (decided per span, at that time, on the consent in
force: a withdrawal applies from the next span), and a purpose whose ``audio`` is
``drop``, never goes out at all, and nothing is said about it.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import math
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

from .._errors import MeetguardError
from ..audio.packed import MAX_PACKED_S, packed_length
from ..redaction.audio import redact_frames

__all__ = ["MAX_SHARE", "MIN_SHARE", "PAUSE_S", "RATE", "SLICE_S", "AudioStream", "Hearing", "bleep", "rtf"]

log = logging.getLogger("meetguard.live")
RATE = 16000
PAUSE_S = 0.4                # this long below the quiet level is a pause (a phone number read in
                             # groups pauses less between them)
MIN_SHARE = 0.25             # a span ends at a pause once it holds delay * MIN_SHARE
MAX_SHARE = 0.5              # and at the latest at delay * MAX_SHARE: the rest of D is for hearing it
SLICE_S = 0.2                # audio goes out in slices of at most this
FLOOR_S = 10.0               # the noise floor: the 5th percentile of the packets' levels over FLOOR_S
FLOOR_MIN_DB = -90.0         # ... no lower (digital silence is no guide to the pauses of a voice)
QUIET_ABOVE_FLOOR_DB = 10.0  # quiet: within this of the floor ...
QUIET_BELOW_PEAK_DB = 20.0   # ... and this far below the span's loudest packet
TICK_S = 0.05                # the release loop's longest sleep


def _dbfs(samples: np.ndarray) -> float:
    if not samples.size:
        return -120.0
    power = float(np.mean(np.square(samples.astype(np.float64)))) / (32768.0 ** 2)
    return 10.0 * math.log10(power + 1e-12)


@dataclass
class _Packet:
    arrived: float                   # monotonic time it arrived
    ts: int                          # the platform's timestamp
    pcm: np.ndarray                  # int16 samples
    db: float                        # its level, dBFS


@dataclass
class _Span:
    packets: list[_Packet]
    state: str = "queued"            # queued, heard, refused, failed, behind
    windows: list[tuple[float, float]] = field(default_factory=list)   # seconds in the span

    @property
    def due(self) -> float:
        return self.packets[0].arrived

    @property
    def samples(self) -> int:
        return sum(p.pcm.size for p in self.packets)


@dataclass
class _Slice:
    due: float                       # arrival of its first packet
    ts: int
    pcm: np.ndarray


@dataclass
class _Job:
    samples: np.ndarray
    purpose: str
    recipient: str | None
    attendees: list[str]
    deadline: float
    future: asyncio.Future[tuple[bool, list[tuple[float, float]], float] | None]


class Hearing:
    """The model calls of every live audio stream of one guard: the spans waiting when a
    call starts are heard together in it (Whisper's cost is per call, not per second
    heard: audio/packed.py), up to :data:`MAX_PACKED_S` of audio. A span that could not
    be heard by its deadline (the last call took longer than the time it has left) is
    answered None without being heard, so the guard catches up."""

    def __init__(self, guard: Any) -> None:
        self.guard = guard
        self._jobs: deque[_Job] = deque()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.estimate = 0.0              # seconds the last calls took (a cautious average)
        self.calls = 0

    async def hear(self, samples: np.ndarray, purpose: str, recipient: str | None, attendees: list[str],
                   deadline: float) -> tuple[bool, list[tuple[float, float]], float] | None:
        """(released, windows, this span's share of the call's seconds); None: not heard in
        time. Raises MeetguardError when the call failed."""
        job = _Job(samples, purpose, recipient, attendees, deadline, asyncio.get_running_loop().create_future())
        self._jobs.append(job)
        self._wake.set()
        if self._task is None or self._task.done():
            self._task = asyncio.ensure_future(self._run())
        return await job.future

    def _batch(self) -> list[_Job]:
        batch: list[_Job] = []
        now = time.monotonic()
        while self._jobs:
            job = self._jobs[0]
            if batch and packed_length([j.samples.size / RATE for j in (*batch, job)]) > MAX_PACKED_S:
                break
            self._jobs.popleft()
            if now + self.estimate > job.deadline:
                self.estimate *= 0.7           # (and try again soon: the machine may be freer)
                job.future.set_result(None)
                continue
            batch.append(job)
        return batch

    async def _run(self) -> None:
        while True:
            if not self._jobs:
                self._wake.clear()
                await self._wake.wait()
            batch = self._batch()
            if not batch:
                continue
            started = time.monotonic()
            try:
                found = await self.guard.live_audio_many(
                    [(j.samples, j.purpose, j.recipient, j.attendees) for j in batch], datetime.now(UTC))
            except Exception as exc:  # noqa: BLE001 -- each span fails closed; the hearing goes on
                found = []
                error = exc if isinstance(exc, MeetguardError) else MeetguardError(
                    f"live audio: hearing failed ({type(exc).__name__})")
            took = time.monotonic() - started
            self.estimate = took if took > self.estimate else 0.7 * self.estimate + 0.3 * took
            self.calls += 1
            total = sum(j.samples.size for j in batch)
            for k, job in enumerate(batch):
                if job.future.done():
                    continue
                if not found:
                    job.future.set_exception(error)
                else:
                    job.future.set_result((found[k][0], found[k][1], took * job.samples.size / total))

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        while self._jobs:
            job = self._jobs.popleft()
            if not job.future.done():
                job.future.set_result(None)


class AudioStream:
    """One participant's audio for one purpose (``meeting``: its :class:`LiveMeeting`)."""

    def __init__(self, meeting: Any, purpose: str, who: Any, delay_s: float,
                 mode: str = "bleep") -> None:
        self.meeting = meeting
        self.mode = "silence" if mode == "silence" else "bleep"
        self.purpose = purpose
        self.who = who
        self.delay = delay_s
        self.min_n = int(delay_s * MIN_SHARE * RATE)
        self.max_n = int(delay_s * MAX_SHARE * RATE)
        self._buf: list[_Packet] = []
        self._buf_n = 0
        self._levels: deque[float] = deque(maxlen=int(FLOOR_S / 0.02))
        self._last_packet = 0.0
        self._spans: deque[_Span] = deque()
        self._out: deque[_Slice] = deque()
        self._work: asyncio.Queue[_Span | None] = asyncio.Queue()
        self._tasks = [asyncio.ensure_future(self._hear()), asyncio.ensure_future(self._release())]
        self.heard_s = 0.0               # audio seconds heard
        self.busy_s = 0.0                # seconds spent hearing them
        self.spans_heard = 0

    # -- in -------------------------------------------------------------------------------
    def feed(self, pcm: bytes, ts: int) -> None:
        now = time.monotonic()
        samples = np.frombuffer(pcm[: len(pcm) // 2 * 2], dtype="<i2")
        if not samples.size:
            return
        packet = _Packet(now, ts, samples, _dbfs(samples))
        self._buf.append(packet)
        self._buf_n += samples.size
        self._levels.append(packet.db)
        self._last_packet = now
        if self._buf_n >= self.min_n and self._pause_at_end():
            self._cut(len(self._buf))
        elif self._buf_n >= self.max_n:
            self._cut(self._quietest())

    def _quiet_level(self) -> float:
        floor = max(float(np.percentile(self._levels, 5)), FLOOR_MIN_DB) if self._levels else FLOOR_MIN_DB
        peak = max(p.db for p in self._buf)
        return min(floor + QUIET_ABOVE_FLOOR_DB, peak - QUIET_BELOW_PEAK_DB)

    def _pause_at_end(self) -> bool:
        level, quiet = self._quiet_level(), 0
        for p in reversed(self._buf):
            if p.db >= level:
                break
            quiet += p.pcm.size
        return quiet >= PAUSE_S * RATE

    def _quietest(self) -> int:
        """Where a span that reached its longest ends: after the packet at the quietest
        100 ms (the latest such) of its second half; all of it when too short to choose."""
        n = len(self._buf)
        if n < 10:
            return n
        levels = np.array([p.db for p in self._buf])
        smooth = np.convolve(levels, np.ones(5) / 5, mode="same")
        lo = n // 2
        k = lo + int(np.flatnonzero(smooth[lo:] == smooth[lo:].min())[-1])
        return min(n, k + 1)

    def _cut(self, k: int) -> None:
        if not self._buf or k <= 0:
            return
        span = _Span(self._buf[:k])
        self._buf = self._buf[k:]
        self._buf_n = sum(p.pcm.size for p in self._buf)
        self._spans.append(span)
        self._work.put_nowait(span)

    def _idle_cut(self, now: float) -> None:
        """Nothing for a pause, or the span has waited its longest: cut what is buffered."""
        if self._buf and (now - self._last_packet >= PAUSE_S
                          or now - self._buf[0].arrived >= self.delay * MAX_SHARE):
            self._cut(len(self._buf))

    # -- hearing, once per span -----------------------------------------------------------------
    async def _hear(self) -> None:
        while True:
            span = await self._work.get()
            if span is None:
                return
            deadline = span.due + self.delay
            samples = np.concatenate([p.pcm for p in span.packets]).astype(np.float32) / 32768.0
            spec = self.meeting.purposes[self.purpose]
            attendees = [self.who.pid] if self.who.pid is not None else []
            try:
                heard = await self.meeting.hearing.hear(samples, self.purpose, spec.recipient, attendees, deadline)
            except MeetguardError:
                span.state = "failed"
                continue
            if heard is None:
                span.state = "behind"           # it could not be heard in time: skipped
                continue
            released, windows, busy = heard
            self.busy_s += busy
            self.heard_s += samples.size / RATE
            self.spans_heard += 1
            span.windows = list(windows)
            span.state = ("refused" if not released else
                          "heard" if time.monotonic() <= deadline else "behind")

    # -- out, each slice exactly the delay after it arrived ---------------------------------------
    async def _release(self) -> None:
        while True:
            now = time.monotonic()
            self._idle_cut(now)
            while self._out and self._out[0].due + self.delay <= now:
                self._publish(self._out.popleft())
            while self._spans and self._spans[0].due + self.delay <= now:
                await self._settle(self._spans.popleft())
            while self._out and self._out[0].due + self.delay <= now:
                self._publish(self._out.popleft())
            nxt = min([TICK_S] + [x.due + self.delay - now for x in (self._out[0] if self._out else None,
                                                                      self._spans[0] if self._spans else None)
                                  if x is not None])
            await asyncio.sleep(max(0.001, nxt))

    async def _settle(self, span: _Span) -> None:
        """A span is due: out in slices (heard), or dropped (said so unless for consent)."""
        m, purpose = self.meeting, self.purpose
        if span.state == "refused":
            m.count(purpose, "dropped:audio_no_consent")
            return
        if span.state != "heard":
            if not await m.consents(self.who, purpose):
                m.count(purpose, "dropped:audio_no_consent")      # nothing said about those who refuse
                return
            self._drop(span, "guard_error" if span.state == "failed" else "guard_behind")
            return
        frames = bleep(np.concatenate([p.pcm for p in span.packets]), span.windows, self.mode).reshape(-1, 1)
        m.count(purpose, "audio:bleeped_windows", len(span.windows))
        pos, start, size = 0, 0, 0
        for i, p in enumerate(span.packets):
            if size and size + p.pcm.size > SLICE_S * RATE:
                first = span.packets[start]
                self._out.append(_Slice(first.arrived, first.ts, frames[pos:pos + size, 0]))
                pos, start, size = pos + size, i, 0
            size += p.pcm.size
        first = span.packets[start]
        self._out.append(_Slice(first.arrived, first.ts, frames[pos:pos + size, 0]))

    def _drop(self, span: _Span, reason: str) -> None:
        ms = round(span.samples * 1000 / RATE)
        self.meeting.count(self.purpose, "dropped:audio_guard_behind" if reason == "guard_behind"
                           else "dropped:audio_guard_error")
        self.meeting.count(self.purpose, "audio:ms_dropped", ms)
        self.meeting.channels[self.purpose].publish({"type": "audio_dropped", "participant": self.who.label,
                                                     "ts": span.packets[0].ts, "ms": ms, "reason": reason})

    def _publish(self, piece: _Slice) -> None:
        m = self.meeting
        ms = round(piece.pcm.size * 1000 / RATE)
        m.count(self.purpose, "released:audio")
        m.count(self.purpose, "audio:ms_released", ms)
        m.channels[self.purpose].publish({"type": "audio", "participant": self.who.label, "ts": piece.ts,
                                          "rate": RATE, "encoding": "L16", "ms": ms,
                                          "data": base64.b64encode(piece.pcm.astype("<i2").tobytes()).decode()})

    async def aclose(self, flush: bool = True) -> None:
        """The stream ended: what is buffered is heard and released on schedule (``flush``)."""
        if flush:
            self._cut(len(self._buf))
            deadline = time.monotonic() + self.delay + 1.0
            while (self._spans or self._out) and time.monotonic() < deadline:
                await asyncio.sleep(TICK_S)
        self._work.put_nowait(None)
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._out.clear()                         # (flush=False: slices not yet due go nowhere)
        while self._spans:                        # never out unguarded: what is left is dropped
            span = self._spans.popleft()
            if span.state != "refused" and await self.meeting.consents(self.who, self.purpose):
                self._drop(span, "guard_behind")


def bleep(pcm: np.ndarray, windows: Sequence[tuple[float, float]], mode: str = "bleep") -> np.ndarray:
    """A copy of 16 kHz int16 ``pcm`` with each window (seconds) bleeped, or silenced."""
    frames = pcm.astype("<i2").reshape(-1, 1).copy()
    for a, b in windows:
        lo, hi = max(0, int(a * RATE)), min(frames.shape[0], int(b * RATE))
        if hi > lo:
            redact_frames(frames, lo, hi, "silence" if mode == "silence" else "bleep", 2, RATE)
    return frames.reshape(-1)


def rtf(streams: Sequence[AudioStream]) -> float | None:
    """Seconds spent hearing per second of audio heard (the real-time factor)."""
    heard = sum(s.heard_s for s in streams)
    return round(sum(s.busy_s for s in streams) / heard, 3) if heard else None
