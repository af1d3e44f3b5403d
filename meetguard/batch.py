"""Guarding many meetings: the engine behind ``Guard.process_many``.

Workers (threads, processes or Ray actors) each build their own Guard once, with
an in-memory audit sink, and guard one meeting at a time. They send back the
result and the audit records their Guard wrote; the driver (the process that
iterates) is the only writer of the real audit chain, so the chain stays one
chain however many workers run. Nothing here imports the Guard itself: the
caller hands over a picklable factory, so this module stays below ``_guard``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from ._errors import MeetguardError
from ._model import Meeting
from .audit import AuditSink, MemoryAuditSink

__all__ = [
    "BatchOutcome",
    "BatchWorker",
    "BeforeAudit",
    "GuardFactory",
    "Item",
    "JobSettings",
    "LocalEngine",
    "MeetingSpec",
    "Runner",
    "ThreadEngine",
    "WorkerReply",
    "peak_rss_mb",
    "process_many",
]

_SEAL_KEYS = frozenset({"seq", "ts", "prev_hash", "hash"})


class _Guardlike(Protocol):
    async def process(self, meeting: Meeting, purpose: str, recipient: str | None = None,
                      at: datetime | None = None, *, verify: bool | None = None) -> Any: ...

    def close(self) -> None: ...


GuardFactory = Callable[..., _Guardlike]
"""Builds a worker's Guard: called as ``factory(audit=sink)``; must pickle for processes."""


@dataclass(frozen=True)
class MeetingSpec:
    """A meeting named by its files, loaded where it is guarded (a worker).

    Paths must be readable by the workers: on a cluster, a shared file system.
    ``at`` overrides the batch's instant for this meeting.
    """

    name: str
    chat: tuple[str, ...] = ()
    transcript: tuple[str, ...] = ()
    audio: str | None = None
    tracks: tuple[tuple[str, str], ...] = ()
    attendees: tuple[str, ...] = ()
    meeting_id: str | None = None
    at: datetime | None = None

    def load(self) -> Meeting:
        from ._output_names import generic_names
        from .formats import Meeting as FileMeeting

        # outputs named by kind and index, never by an input's file name (#25)
        return generic_names(FileMeeting.from_files(
            chat=self.chat, transcript=self.transcript, audio=self.audio,
            tracks=dict(self.tracks), attendees=self.attendees, meeting_id=self.meeting_id))


Item = Meeting | MeetingSpec


@dataclass(frozen=True)
class WorkerReply:
    """One meeting's result as a worker sends it back (picklable)."""

    result: Any | None                       # GuardResult, outputs as bytes; None on error
    records: tuple[dict[str, Any], ...]      # audit records the worker's Guard wrote, unsealed
    error: str | None = None                 # one line, no content values
    exit_code: int = 0                       # the error's exit code (2 input, 1 internal)
    seconds: float = 0.0
    audio_seconds: float = 0.0
    messages: int = 0                        # chat messages and cues read
    worker: str = ""
    worker_peak_mb: float = 0.0


@dataclass(frozen=True)
class BatchOutcome:
    """One meeting done: its result (audit id from the driver's chain) or its error."""

    index: int
    name: str
    result: Any | None                       # GuardResult
    error: str | None = None
    exit_code: int = 0
    seconds: float = 0.0
    audio_seconds: float = 0.0
    messages: int = 0
    worker: str = ""
    worker_peak_mb: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def decision(self) -> str:
        return "error" if self.result is None else str(self.result.decision)


@dataclass(frozen=True)
class JobSettings:
    purpose: str
    recipient: str | None
    at: datetime | None
    verify: bool | None


def peak_rss_mb() -> float:
    """VmHWM of this process (0.0 where /proc is missing)."""
    try:
        with open("/proc/self/status") as fh:
            for row in fh:
                if row.startswith("VmHWM:"):
                    return round(int(row.split()[1]) / 1024, 1)
    except OSError:
        pass
    return 0.0


def item_name(item: Item, index: int) -> str:
    if isinstance(item, MeetingSpec):
        return item.name
    return item.meeting_id or f"meeting-{index + 1}"


class BatchWorker:
    """One Guard, built once, guarding one meeting at a time."""

    def __init__(self, factory: GuardFactory, settings: JobSettings) -> None:
        self.sink = MemoryAuditSink()
        self.guard = factory(audit=self.sink)
        self.settings = settings
        self.name = f"pid-{os.getpid()}"

    def run(self, item: Item) -> WorkerReply:
        return asyncio.run(self.arun(item))

    async def arun(self, item: Item) -> WorkerReply:
        start = time.monotonic()
        s = self.settings
        at = item.at if isinstance(item, MeetingSpec) and item.at is not None else s.at
        result: Any | None = None
        error: str | None = None
        code = 0
        audio_s = 0.0
        messages = 0
        try:
            meeting = item.load() if isinstance(item, MeetingSpec) else item
            messages = sum(len(d.items) for d in meeting.documents)
            audio_s = _audio_seconds(meeting)
            result = await self.guard.process(meeting, s.purpose, s.recipient, at, verify=s.verify)
            result = dataclasses.replace(result, outputs={k: bytes(v) for k, v in result.outputs.items()})
        except MeetguardError as exc:
            error, code = str(exc), exc.exit_code
        except Exception as exc:  # noqa: BLE001 -- fail closed, one line, no content
            error, code = f"internal error ({type(exc).__name__}); nothing was released", 1
        records = tuple({k: v for k, v in r.items() if k not in _SEAL_KEYS} for r in self.sink.records)
        self.sink.records.clear()
        return WorkerReply(result, records, error, code, time.monotonic() - start, audio_s, messages,
                           self.name, peak_rss_mb())

    def close(self) -> None:
        self.guard.close()


def _audio_seconds(meeting: Meeting) -> float:
    if not meeting.audio:
        return 0.0
    from .audio.decode import duration

    return sum(duration(a.path) for a in meeting.audio)


class Runner(Protocol):
    """Where meetings are guarded: ``slots`` meetings may be in flight at once."""

    slots: int

    async def start(self, factory: GuardFactory, settings: JobSettings) -> None: ...

    async def run(self, item: Item) -> WorkerReply: ...

    async def aclose(self) -> None: ...


# -- the local engines --------------------------------------------------------

_WORKER: BatchWorker | None = None


def _init_process(factory: GuardFactory, settings: JobSettings) -> None:
    global _WORKER
    _WORKER = BatchWorker(factory, settings)


def _run_in_process(item: Item) -> WorkerReply:
    assert _WORKER is not None, "the pool initializer builds the worker"
    return _WORKER.run(item)


class LocalEngine:
    """A pool of ``workers`` processes (spawned: no fork of a threaded driver), one Guard each."""

    def __init__(self, workers: int | None = None) -> None:
        self.slots = max(1, workers or os.cpu_count() or 1)
        self._pool: Executor | None = None

    async def start(self, factory: GuardFactory, settings: JobSettings) -> None:
        import multiprocessing

        self._pool = ProcessPoolExecutor(self.slots, mp_context=multiprocessing.get_context("spawn"),
                                         initializer=_init_process, initargs=(factory, settings))

    async def run(self, item: Item) -> WorkerReply:
        assert self._pool is not None, "start() first"
        return await asyncio.get_running_loop().run_in_executor(self._pool, _run_in_process, item)

    async def aclose(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await asyncio.get_running_loop().run_in_executor(None, pool.shutdown)


class ThreadEngine:
    """In this process: one worker Guard on a thread of its own (the library default)."""

    slots = 1

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="meetguard-batch")
        self._worker: BatchWorker | None = None

    async def start(self, factory: GuardFactory, settings: JobSettings) -> None:
        loop = asyncio.get_running_loop()
        self._worker = await loop.run_in_executor(self._pool, BatchWorker, factory, settings)

    async def run(self, item: Item) -> WorkerReply:
        assert self._worker is not None, "start() first"
        return await asyncio.get_running_loop().run_in_executor(self._pool, self._worker.run, item)

    async def aclose(self) -> None:
        worker, self._worker = self._worker, None
        loop = asyncio.get_running_loop()
        if worker is not None:
            await loop.run_in_executor(self._pool, worker.close)
        await loop.run_in_executor(None, self._pool.shutdown)


# -- the driver ---------------------------------------------------------------

BeforeAudit = Callable[[BatchOutcome], Awaitable[None]]


async def process_many(
    audit: AuditSink,
    factory: GuardFactory,
    meetings: Iterable[Item],
    settings: JobSettings,
    runner: Runner | None = None,
    before_audit: BeforeAudit | None = None,
) -> AsyncIterator[BatchOutcome]:
    """Guard every meeting on ``runner``; yield outcomes as they complete.

    ``before_audit`` is awaited with each decided outcome before its audit
    record is appended (the CLI stages the outputs there, so a crash leaves
    either nothing audited or the outputs on disk). A failing meeting never
    stops the others: its outcome carries the one-line error.
    """
    engine: Runner = runner if runner is not None else ThreadEngine()
    await engine.start(factory, settings)
    try:
        async for outcome in _drive(audit, engine, list(meetings), before_audit):
            yield outcome
    finally:
        await engine.aclose()


async def _drive(audit: AuditSink, engine: Runner, items: list[Item],
                 before_audit: BeforeAudit | None) -> AsyncIterator[BatchOutcome]:
    loop = asyncio.get_running_loop()
    pending: dict[asyncio.Future[WorkerReply], int] = {}
    queue = iter(range(len(items)))

    def submit() -> None:
        for index in queue:
            pending[asyncio.ensure_future(engine.run(items[index]))] = index
            if len(pending) >= engine.slots:
                return

    submit()
    try:
        while pending:
            done, _ = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            for fut in sorted(done, key=lambda f: pending[f]):
                index = pending.pop(fut)
                reply = _reply_of(fut)
                outcome = _outcome(index, item_name(items[index], index), reply)
                records = reply.records
                if outcome.result is not None and before_audit is not None:
                    try:
                        await before_audit(outcome)
                    except Exception as exc:  # noqa: BLE001 -- this meeting fails, not the batch
                        outcome, records = _unstaged(outcome, exc), ()
                outcome = await loop.run_in_executor(None, _commit, audit, outcome, records)
                yield outcome
            submit()
    finally:
        for fut in pending:
            fut.cancel()


def _unstaged(outcome: BatchOutcome, exc: Exception) -> BatchOutcome:
    """Its outputs could not be staged: nothing was written, so nothing is released or audited."""
    why = exc.message if isinstance(exc, MeetguardError) else type(exc).__name__
    return dataclasses.replace(outcome, result=None, exit_code=1,
                               error=f"outputs could not be written ({why}); nothing was released")


def _reply_of(fut: asyncio.Future[WorkerReply]) -> WorkerReply:
    try:
        return fut.result()
    except Exception as exc:  # noqa: BLE001 -- a dead worker fails its meeting, not the batch
        cause = getattr(exc, "cause", None) or exc      # Ray wraps the worker's exception
        return WorkerReply(None, (), f"worker failed ({type(cause).__name__}); nothing was released", 1)


def _outcome(index: int, name: str, reply: WorkerReply) -> BatchOutcome:
    return BatchOutcome(index, name, reply.result, reply.error, reply.exit_code, reply.seconds,
                        reply.audio_seconds, reply.messages, reply.worker, reply.worker_peak_mb)


def _commit(audit: AuditSink, outcome: BatchOutcome, records: tuple[dict[str, Any], ...]) -> BatchOutcome:
    """Append the worker's records to the one chain; the last one is the decision's."""
    last: dict[str, Any] | None = None
    for record in records:
        last = audit.append(record)
    if outcome.result is None:
        return outcome
    if last is None:  # fail closed: never hand on a decision that is not in the chain
        return dataclasses.replace(outcome, result=None, exit_code=1,
                                   error="internal error (no audit record); nothing was released")
    result = dataclasses.replace(outcome.result, audit_id=str(last["hash"]))
    return dataclasses.replace(outcome, result=result)
