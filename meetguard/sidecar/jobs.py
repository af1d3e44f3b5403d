"""Admission control and persistent async jobs.

:class:`Gate` bounds guard work: ``max_jobs`` run, ``queue`` wait, anything
beyond is refused at once with :class:`Overloaded` (HTTP 503 + Retry-After).

:class:`JobManager` keeps ``Prefer: respond-async`` requests on disk
(``jobs_dir/<id>/``, directories 0700, files 0600): the request parameters,
the uploaded inputs, the owner's token as an HMAC-SHA256 under a random key kept
in ``jobs_dir/.token-key`` (so a leaked ``job.json`` does not let anyone confirm
a guessed token), and finally the result. Unfinished jobs are queued again on
start. A result is deleted once fetched with GET (HEAD only looks), and swept
``ttl_s`` after it was written if nobody fetched it.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import hashlib
import hmac
import json
import logging
import mmap
import os
import re
import secrets
import shutil
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._errors import Overloaded, StateUnavailable
from .._files import write_json_private
from .forms import GuardRequest
from .metrics import Metrics

if TYPE_CHECKING:
    from .jobs_shared import SharedJobs

__all__ = ["JOB_PROGRESS", "Gate", "JobManager", "JobOutcome", "token_digest"]

log = logging.getLogger("meetguard.sidecar")
# The running job's progress, for the work it runs to fill in (the video stage: seconds of
# video done and in all); GET /v1/jobs/{id} shows it. None outside a job.
JOB_PROGRESS: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar("job_progress", default=None)
_JOB_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def token_digest(key: bytes, token: str) -> str:
    """The owner's token as stored in ``job.json``: keyed, so it cannot be confirmed by guessing."""
    return hmac.new(key, token.encode("utf-8", "surrogateescape"), hashlib.sha256).hexdigest()


def _load_key(path: Path) -> bytes:
    """The jobs directory's token key: 32 random bytes, made once (0600)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = path.read_bytes()
        if len(key) >= 32:
            return key
        os.unlink(path)
        return _load_key(path)
    key = secrets.token_bytes(32)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key)
        fh.flush()
        os.fsync(fh.fileno())
    return key


class Gate:
    """``max_running`` at once, ``queue`` waiting; refuse beyond."""

    def __init__(self, max_running: int, queue: int, metrics: Metrics, retry_after_s: int = 5) -> None:
        self.capacity = max_running + queue
        self.retry_after_s = retry_after_s
        self._sem = asyncio.Semaphore(max_running)
        self._metrics = metrics
        self.waiting = 0
        self.running = 0

    def reserve(self, force: bool = False) -> None:
        """Take a place in the queue now (raise Overloaded if there is none)."""
        if not force and self.waiting + self.running >= self.capacity:
            self._metrics.rejected.inc()
            raise Overloaded("server busy: the guard queue is full, retry later")
        self.waiting += 1
        self._metrics.queue_depth.set(self.waiting)

    def cancel(self) -> None:
        self.waiting -= 1
        self._metrics.queue_depth.set(self.waiting)

    @contextlib.asynccontextmanager
    async def run(self) -> AsyncIterator[None]:
        """Wait for a slot (after :meth:`reserve`) and hold it."""
        try:
            await self._sem.acquire()
        except BaseException:
            self.cancel()
            raise
        self.waiting -= 1
        self.running += 1
        self._metrics.queue_depth.set(self.waiting)
        self._metrics.running.set(self.running)
        try:
            yield
        finally:
            self.running -= 1
            self._metrics.running.set(self.running)
            self._sem.release()

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        self.reserve()
        async with self.run():
            yield


@dataclass(frozen=True)
class JobOutcome:
    """What a finished job answers: the HTTP status and JSON body of the sync route."""

    status: int
    body: dict[str, Any]
    files: Mapping[str, Any] = field(default_factory=dict)   # name -> bytes: released audio parts


Runner = Callable[[str, GuardRequest, Path], Awaitable[JobOutcome]]


def _write_json_private(path: Path, data: dict[str, Any]) -> None:
    write_json_private(path, data)


_PART_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def _write_parts(pdir: Path, files: Mapping[str, Any]) -> None:
    """Released audio parts as private files beside the result (never base64 in it)."""
    if not files:
        return
    pdir.mkdir(mode=0o700, exist_ok=True)
    for name, data in files.items():
        if not _PART_NAME.match(name):
            raise ValueError("unexpected output name")
        fd = os.open(pdir / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            view = memoryview(data)
            for off in range(0, len(view), 1 << 20):
                fh.write(view[off:off + (1 << 20)])


def _map_parts(pdir: Path, names: Any) -> dict[str, Any]:
    """The parts, memory-mapped (they stay readable once the job directory is removed)."""
    out: dict[str, Any] = {}
    for name in names if isinstance(names, list) else []:
        if not isinstance(name, str) or not _PART_NAME.match(name):
            continue
        with open(pdir / name, "rb") as fh:
            out[name] = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) if os.fstat(fh.fileno()).st_size else b""
    return out


class JobManager:
    def __init__(self, jobs_dir: Path, gate: Gate, runner: Runner, metrics: Metrics,
                 ttl_s: float = 86400.0, shared: SharedJobs | None = None) -> None:
        self.dir = jobs_dir
        self.ttl_s = ttl_s
        self._gate = gate
        self._runner = runner
        self._metrics = metrics
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._running: set[str] = set()
        self._progress: dict[str, dict[str, Any]] = {}
        self._sweeper: asyncio.Task[None] | None = None
        # replicas (sidecar/jobs_shared.py): status and sealed results in the shared state
        self.shared = shared
        self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(self.dir, 0o700)
        self._key = _load_key(self.dir / ".token-key")

    # -- creating -----------------------------------------------------------------
    def new_inputs_dir(self) -> tuple[str, Path]:
        job_id = secrets.token_urlsafe(18)
        jdir = self.dir / job_id
        jdir.mkdir(mode=0o700)
        (jdir / "inputs").mkdir(mode=0o700)
        return job_id, jdir / "inputs"

    def discard(self, job_id: str) -> None:
        shutil.rmtree(self.dir / job_id, ignore_errors=True)

    def submit(self, job_id: str, kind: str, req: GuardRequest, token: str, *,
               reserved: bool = False) -> None:
        """Persist and queue a job whose inputs are already in its inputs dir."""
        if not reserved:         # else the caller took the place before reading the body
            self._gate.reserve()     # may raise Overloaded: the caller discards the job
        record = {"id": job_id, "kind": kind, "token_hmac": token_digest(self._key, token),
                  "request": req.to_json(), "status": "queued", "created": time.time()}
        _write_json_private(self.dir / job_id / "job.json", record)
        self._metrics.jobs.labels("queued").inc()
        self._start(job_id, kind, req)

    def _start(self, job_id: str, kind: str, req: GuardRequest) -> None:
        task = asyncio.get_running_loop().create_task(self._run(job_id, kind, req))
        self._tasks[job_id] = task
        task.add_done_callback(lambda _t: self._tasks.pop(job_id, None))

    async def _run(self, job_id: str, kind: str, req: GuardRequest) -> None:
        jdir = self.dir / job_id
        async with self._gate.run():
            self._running.add(job_id)
            JOB_PROGRESS.set(self._progress.setdefault(job_id, {}))   # this task's context only
            try:
                self._set_status(jdir, "running")
                self._metrics.jobs.labels("running").inc()
                await self._share_status(job_id, "running")
                try:
                    outcome = await self._runner(kind, req, jdir / "inputs")
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # the runner maps errors; this is the last guard  # noqa: BLE001
                    log.error("job failed", extra={"job": job_id, "error_type": type(exc).__name__})
                    outcome = JobOutcome(500, {"error": "internal", "message": "internal error"})
                _write_parts(jdir / "parts", outcome.files)
                _write_json_private(jdir / "result.json", {"status": outcome.status, "body": outcome.body})
                shutil.rmtree(jdir / "inputs", ignore_errors=True)
                self._set_status(jdir, "done")
                self._metrics.jobs.labels("done").inc()
                await self._share_result(jdir, outcome)
            finally:
                self._running.discard(job_id)
                self._progress.pop(job_id, None)

    # -- replicas ---------------------------------------------------------------------
    async def publish(self, job_id: str, token: str) -> None:
        """Replicas: the job is known to every replica before its 202 answer (StateUnavailable:
        the request is refused, the job discarded)."""
        if self.shared is not None:
            await self.shared.publish(job_id, token)

    async def _share_status(self, job_id: str, status: str) -> None:
        if self.shared is None:
            return
        try:
            await self.shared.status(job_id, status)
        except StateUnavailable:
            log.warning("job status not shared: state database unavailable", extra={"job": job_id})

    async def _share_result(self, jdir: Path, outcome: JobOutcome) -> None:
        """The result, sealed, for any replica to hand out once; then only there (the local
        copy goes). The database away: it stays here, for this replica to answer."""
        if self.shared is None:
            return
        try:
            await self.shared.finish(jdir.name, outcome.status, outcome.body, outcome.files)
        except StateUnavailable:
            log.warning("job result kept on this replica: state database unavailable",
                        extra={"job": jdir.name})
            return
        await asyncio.get_running_loop().run_in_executor(None, functools.partial(
            shutil.rmtree, jdir, ignore_errors=True))

    async def fetch_any(self, job_id: str, token: str, *, consume: bool = True
                        ) -> tuple[int, dict[str, Any], Mapping[str, Any]] | None:
        """:meth:`fetch_parts`, through the shared state first (replicas: a job run on any)."""
        if self.shared is not None and _JOB_ID.match(job_id):
            try:
                found = await self.shared.fetch(job_id, token, consume)
            except StateUnavailable:
                found = None                  # this replica's own jobs still answer
            if found is not None:
                if consume and "job" in found[1]:        # a result, taken away
                    self._metrics.jobs.labels("fetched").inc()
                return found
        return self.fetch_parts(job_id, token, consume=consume)

    def _set_status(self, jdir: Path, status: str) -> None:
        record = self._record(jdir.name)
        if record is None:
            return
        record["status"] = status
        record[f"{status}_at"] = time.time()
        _write_json_private(jdir / "job.json", record)

    def _record(self, job_id: str) -> dict[str, Any] | None:
        try:
            with open(self.dir / job_id / "job.json", encoding="utf-8") as fh:
                data = json.load(fh)
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    # -- restart ----------------------------------------------------------------------
    def resume(self) -> int:
        """Queue again every job that has no result yet. Returns how many."""
        n = 0
        for jdir in sorted(self.dir.iterdir()) if self.dir.exists() else []:
            if not jdir.is_dir() or not _JOB_ID.match(jdir.name) or (jdir / "result.json").exists():
                continue
            record = self._record(jdir.name)
            if record is None:
                shutil.rmtree(jdir, ignore_errors=True)   # torn before it was accepted
                continue
            req = GuardRequest.from_json(record["request"])
            self._gate.reserve(force=True)
            self._set_status(jdir, "queued")
            self._start(jdir.name, str(record["kind"]), req)
            n += 1
        return n

    # -- expiry -----------------------------------------------------------------------
    def _expired(self, result_path: Path, now: float) -> bool:
        try:
            return now - result_path.stat().st_mtime > self.ttl_s
        except OSError:
            return False

    def sweep(self, now: float | None = None) -> int:
        """Remove every result older than ``ttl_s``. Returns how many."""
        now = time.time() if now is None else now
        n = 0
        for jdir in sorted(self.dir.iterdir()) if self.dir.exists() else []:
            if jdir.is_dir() and _JOB_ID.match(jdir.name) and self._expired(jdir / "result.json", now):
                shutil.rmtree(jdir, ignore_errors=True)
                self._metrics.jobs.labels("expired").inc()
                n += 1
        return n

    def start_sweeping(self, every_s: float | None = None) -> None:
        every = every_s if every_s is not None else max(1.0, min(600.0, self.ttl_s / 4))

        async def loop() -> None:
            while True:
                swept = await asyncio.get_running_loop().run_in_executor(None, self.sweep)
                if self.shared is not None:
                    with contextlib.suppress(StateUnavailable):
                        swept += await self.shared.sweep(self.ttl_s)
                if swept:
                    log.info("job results expired", extra={"jobs": swept})
                await asyncio.sleep(every)

        self._sweeper = asyncio.get_running_loop().create_task(loop())

    # -- reading ----------------------------------------------------------------------
    def fetch(self, job_id: str, token: str, *, consume: bool = True) -> tuple[int, dict[str, Any]] | None:
        found = self.fetch_parts(job_id, token, consume=consume)
        return None if found is None else (found[0], found[1])

    def fetch_parts(self, job_id: str, token: str, *, consume: bool = True
                    ) -> tuple[int, dict[str, Any], dict[str, Any]] | None:
        """Status (200 + progress) or the final result (deleted now if ``consume``). None:
        no such job for this token (another token's job looks exactly like a missing one),
        or its result expired."""
        if not _JOB_ID.match(job_id):
            return None
        record = self._record(job_id)
        if record is None:
            return None
        if not hmac.compare_digest(str(record.get("token_hmac", "")), token_digest(self._key, token)):
            return None
        jdir = self.dir / job_id
        result_path = jdir / "result.json"
        if self._expired(result_path, time.time()):
            shutil.rmtree(jdir, ignore_errors=True)
            return None
        if record.get("status") == "done" and result_path.exists():
            try:
                with open(result_path, encoding="utf-8") as fh:
                    result = json.load(fh)
                parts = _map_parts(jdir / "parts", [*(result["body"].get("audio_parts") or []),
                                                    *(result["body"].get("video_parts") or [])])
            except (OSError, ValueError):
                return 500, {"error": "internal", "message": "job result unreadable"}, {}
            if consume:
                shutil.rmtree(jdir, ignore_errors=True)
                self._metrics.jobs.labels("fetched").inc()
            body = dict(result["body"])
            body.setdefault("job", {"id": job_id, "status": "done"})
            return int(result["status"]), body, parts
        status = "running" if job_id in self._running else "queued"
        started = record.get("running_at")
        progress: dict[str, Any] = {"stage": status}
        if started is not None and status == "running":
            progress["elapsed_s"] = round(time.time() - float(started), 1)
            progress.update(self._progress.get(job_id, {}))
        return 200, {"id": job_id, "status": status, "progress": progress}, {}

    async def aclose(self, grace_s: float = 60.0) -> None:
        """Let running jobs finish (up to ``grace_s``); queued ones stay on disk for the next start."""
        if self._sweeper is not None:
            self._sweeper.cancel()
            await asyncio.gather(self._sweeper, return_exceptions=True)
        running = [t for jid, t in self._tasks.items() if jid in self._running]
        waiting = [t for jid, t in self._tasks.items() if jid not in self._running]
        for t in waiting:
            t.cancel()
        if running:
            await asyncio.wait(running, timeout=grace_s)
        for t in list(self._tasks.values()):
            t.cancel()
        pending = list(self._tasks.values())
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
