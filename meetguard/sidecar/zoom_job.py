"""Zoom recording jobs: accepted once, kept on disk, downloaded, guarded per purpose.

``jobs_dir/zoom/<key>/`` (0700; files 0600), where ``key`` is the event's
idempotency key (zoom_event.event_key). Creating the directory is the
idempotency check: a redelivered event finds it and is a no-op. ``job.json``
holds the plan (ids, types, sizes, URLs, policy ids: no token, name or topic),
the phase and the result of each purpose already guarded.

Phases: ``accepted`` -> (download into ``inputs/``) -> ``downloaded`` -> one
``/v1/release``-equivalent run per configured purpose, each result saved as it
lands -> ``done`` (inputs deleted; the directory stays as the redelivery marker
for :data:`MARKER_TTL_S`). A restart resumes every unfinished job where it
stopped, so every purpose is guarded and delivered once:

- the download token is kept only sealed (zoom_seal.py, ``token.sealed``) and
  deleted once the downloads are done; each file fully downloaded and checked
  is listed in ``job.json`` (``fetched``) as it lands and is not fetched again;
  a partial file is deleted and fetched again;
- a purpose whose result is saved is not guarded again.

A job that cannot get its token back (lost, sealed under a secret rotated away,
altered, or past its 24 h lifetime) fails closed with an audit record saying
why; nothing was delivered, and its marker is removed so that a resent event
is processed. Jobs of one meeting run one at a time, and a file already
delivered for the meeting (zoom_delivered.py) is not fetched or delivered again.

Every job ends in one audit record for the event: the meeting uuid, the files
by type, the decision and delivery of each purpose. Never a token or a value.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import os
import re
import shutil
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

from .._errors import MeetguardError, StateUnavailable
from .._files import write_json_private
from ..audit import AuditLog, AuditSink
from ..policy import Policy, consent_state, load_policy
from ..state import StateBackend
from ..state.postgres import PostgresState
from .config import SidecarConfig
from .forms import GuardRequest
from .jobs import Gate
from .metrics import Metrics
from .service import DELIVERY_FENCE, GuardService
from .zoom_config import ZoomConfig, ZoomPurpose
from .zoom_delivered import DeliveredFiles
from .zoom_download import DownloadError, DownloadRules, TokenRefused, download_file
from .zoom_event import ZoomFile, ZoomPlan, event_key, plan_event
from .zoom_record import audit_entry, logged, purpose_label
from .zoom_seal import TokenUnavailable, open_token, seal_token
from .zoom_shared import LeaseLost, SharedZoomJobs

__all__ = ["MARKER_TTL_S", "HookContext", "ZoomJobs", "start_zoom_jobs"]

log = logging.getLogger("meetguard.sidecar")
MARKER_TTL_S = 7 * 24 * 3600
_KEY = re.compile(r"^[0-9a-f]{64}$")
UNKNOWN_PRESENT = "a per-participant recording matched no policy participant (an unknown speaker is present)"
TOKEN_FILE = "token.sealed"


@dataclass(frozen=True)
class HookContext:
    """What a Zoom job needs from the running sidecar."""

    zoom: ZoomConfig
    jobs_dir: Path
    policy_path: Path
    service: GuardService
    gate: Gate
    metrics: Metrics
    session: aiohttp.ClientSession
    audit: AuditSink
    gate_slots: int = 2               # how many jobs download at once (limits.max_jobs)
    state: StateBackend | None = None  # shared state: the event key is claimed there first


def _write_private(path: Path, data: Mapping[str, Any]) -> None:
    write_json_private(path, data)


class ZoomJobs:
    def __init__(self, ctx: HookContext) -> None:
        self.ctx = ctx
        self.dir = ctx.jobs_dir / "zoom"
        self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(self.dir, 0o700)
        self.delivered = DeliveredFiles(self.dir / "delivered")
        self._meetings: dict[str, tuple[asyncio.Lock, int]] = {}     # one job per meeting at once
        self._downloads = asyncio.Semaphore(max(1, ctx.gate_slots))   # jobs downloading at once
        self._tasks: dict[str, asyncio.Task[None]] = {}
        # replicas: jobs claimed in the database, held by a lease (zoom_shared.py)
        state = ctx.state
        self.shared = (SharedZoomJobs(state, state.config.job_lease_s)
                       if isinstance(state, PostgresState) else None)
        self._keeper: asyncio.Task[None] | None = None
        z = ctx.zoom
        self.rules = DownloadRules(first_hosts=frozenset({z.api_host, *z.download_hosts}),
                                   redirect_hosts=frozenset(z.download_hosts),
                                   max_bytes=z.max_download_bytes)

    def policy(self) -> Policy:
        """The guard's policy in force (the file's, when the guard does not show one)."""
        current = self.ctx.service.guard.policy
        return current if isinstance(current, Policy) else load_policy(self.ctx.policy_path)

    # -- accepting ------------------------------------------------------------------
    async def accept(self, event: Mapping[str, Any]) -> str:
        """Persist and start a recording event: ``accepted``, or ``duplicate`` (no-op).
        Raises zoom_event.EventShapeError for a malformed event."""
        key = event_key(event)
        token = event.get("download_token")
        token = token if isinstance(token, str) and token.strip() else None
        loop = asyncio.get_running_loop()
        if self.shared is not None:
            return await self._accept_shared(key, event, token)
        persisted = await loop.run_in_executor(None, self._persist, key, event, token)
        if not persisted:
            return "duplicate"
        self._start(key)
        return "accepted"

    async def _accept_shared(self, key: str, event: Mapping[str, Any], token: str | None) -> str:
        """Replicas: the first to claim the key in the database takes the event and its
        job (a unique key, one transaction); the others answer duplicate.
        StateUnavailable (503): Zoom sends it again."""
        assert self.shared is not None
        loop = asyncio.get_running_loop()
        record, sealed = await loop.run_in_executor(None, self._prepare, key, event, token)
        if not await self.shared.create(key, record, sealed):
            return "duplicate"
        await loop.run_in_executor(None, self._adopt, key, record, sealed)
        self._start(key)
        return "accepted"

    def _prepare(self, key: str, event: Mapping[str, Any], token: str | None
                 ) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """The job's first record and its sealed token (nothing written)."""
        policy = self.policy()
        plan = plan_event(event, policy, self._video_asked(policy))
        now = time.time()
        sealed = seal_token(self.ctx.zoom.secrets[0], key, token, now) if token is not None else None
        record = {"key": key, "plan": plan.to_json(), "phase": "accepted", "created": now,
                  "results": {}, "had_token": token is not None, "fetched": []}
        return record, sealed

    def _adopt(self, key: str, record: dict[str, Any], sealed: dict[str, Any] | None) -> None:
        """Write a job claimed in the database into this replica's spool. Files fetched by
        another replica (or lost in a restart) are fetched again: back to ``accepted``."""
        jdir = self.dir / key
        jdir.mkdir(mode=0o700, exist_ok=True)
        if sealed is not None:
            _write_private(jdir / TOKEN_FILE, sealed)
        if record.get("phase") == "downloaded":
            sizes = {f.stored: f.size for f in ZoomPlan.from_json(record["plan"]).files}
            if not all(_complete(jdir / "inputs" / n, sizes.get(n)) for n in record.get("fetched") or []):
                record["phase"] = "accepted"
        _write_private(jdir / "job.json", record)

    def _persist(self, key: str, event: Mapping[str, Any], token: str | None) -> bool:
        """Create the job on disk, its token sealed; False when it exists (the idempotency
        check: mkdir is atomic)."""
        jdir = self.dir / key
        if jdir.exists():
            return False
        plan = plan_event(event, self.policy(), self._video_asked(self.policy()))
        try:
            jdir.mkdir(mode=0o700)
        except FileExistsError:
            return False
        now = time.time()
        if token is not None:
            _write_private(jdir / TOKEN_FILE, seal_token(self.ctx.zoom.secrets[0], key, token, now))
        record = {"key": key, "plan": plan.to_json(), "phase": "accepted", "created": now,
                  "results": {}, "had_token": token is not None, "fetched": []}
        _write_private(jdir / "job.json", record)   # last: a job without it is torn, removed
        return True

    def _start(self, key: str) -> None:
        if key in self._tasks:
            return                      # running here already (its lease taken back)
        task = asyncio.get_running_loop().create_task(self._run(key))
        self._tasks[key] = task
        task.add_done_callback(lambda _t: self._tasks.pop(key, None))

    def _read(self, key: str) -> dict[str, Any] | None:
        try:
            with open(self.dir / key / "job.json", encoding="utf-8") as fh:
                data = json.load(fh)
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def _save(self, record: dict[str, Any]) -> None:
        _write_private(self.dir / str(record["key"]) / "job.json", record)

    async def _sync(self, record: dict[str, Any]) -> None:
        """Replicas: the record to the job's row too (LeaseLost if the job was taken over)."""
        if self.shared is not None:
            await self.shared.save(record)

    async def _sync_end(self, key: str, record: dict[str, Any]) -> None:
        """Replicas: the job is over here: done (its sealed token dropped), dropped (a
        resent event may run), or its audit record left for a later try by any replica."""
        if self.shared is None:
            return
        if not (self.dir / key).exists():
            await self.shared.drop(key)
        elif record.get("phase") == "done":
            await self.shared.save(record, keep_sealed=False)
        self.shared.let_go(key)

    # -- running ----------------------------------------------------------------------
    async def _run(self, key: str) -> None:
        record = self._read(key)
        if record is None:
            return
        plan = ZoomPlan.from_json(record["plan"])
        results: dict[str, dict[str, Any]] = dict(record.get("results") or {})
        failure: MeetguardError | None = None
        uuid = plan.meeting_uuid
        lock, users = self._meetings.get(uuid, (asyncio.Lock(), 0))
        self._meetings[uuid] = (lock, users + 1)
        loop = asyncio.get_running_loop()
        resumed = record.get("phase") == "auditing"       # finished before a restart
        try:
            async with lock:
                if not resumed:
                    try:
                        await self._steps(key, record, plan, results)
                    except (LeaseLost, StateUnavailable):
                        raise
                    except MeetguardError as exc:
                        failure = exc
                    except Exception as exc:  # noqa: BLE001 -- fail closed, audited
                        failure = MeetguardError(f"internal error ({type(exc).__name__})")
                    await loop.run_in_executor(None, self._finish, record, plan, results, failure)
                    await self._sync(record)      # still ours: before the record is written
                await loop.run_in_executor(None, self._audit, record, resumed)
                await self._sync_end(key, record)
        except (LeaseLost, StateUnavailable) as exc:
            await self._lost(key, exc)
        finally:
            lock, users = self._meetings[uuid]
            if users <= 1:
                del self._meetings[uuid]
            else:
                self._meetings[uuid] = (lock, users - 1)

    async def _steps(self, key: str, record: dict[str, Any], plan: ZoomPlan,
                     results: dict[str, dict[str, Any]]) -> None:
        """Download (resuming), then guard each purpose not guarded yet (results saved as they land)."""
        if record.get("phase") == "accepted":
            if not record.get("had_token", True):
                raise TokenRefused("the event carries no download_token (the Zoom app needs "
                                   "the recording:read scope)")
            async with self._downloads:
                record["fetched"] = await self._download(key, plan, record)
            record["phase"] = "downloaded"
            self._save(record)
            await self._sync(record)
        (self.dir / key / TOKEN_FILE).unlink(missing_ok=True)     # the downloads are done
        policy = self.policy()
        for zp in self.ctx.zoom.purposes:
            if purpose_label(zp) in results:
                continue               # guarded (and delivered) before a restart
            results[purpose_label(zp)] = await self._guard_one(key, plan, zp, policy,
                                                          record.get("fetched", []))
            record["results"] = results
            self._save(record)
            await self._sync(record)

    def _video_asked(self, policy: Policy) -> bool:
        """Some configured purpose's policy gives a ``video:`` setting (docs/video.md)."""
        return any(policy.purposes[zp.purpose].video for zp in self.ctx.zoom.purposes
                   if zp.purpose in policy.purposes)

    async def _delivered(self, meeting_uuid: str) -> dict[str, set[str]]:
        """Files already delivered for the meeting (file id -> labels): shared by replicas."""
        if self.shared is not None:
            return await self.shared.delivered(meeting_uuid)
        return self.delivered.get(meeting_uuid)

    async def _mark_delivered(self, meeting_uuid: str, file_ids: list[str], label: str) -> None:
        if self.shared is not None:
            await self.shared.mark_delivered(meeting_uuid, file_ids, label)
            return
        await asyncio.get_running_loop().run_in_executor(
            None, self.delivered.add, meeting_uuid, file_ids, label)

    def _wanted(self, plan: ZoomPlan, policy: Policy, done: Mapping[str, set[str]]) -> list[ZoomFile]:
        """What to fetch: a track only if its person consents to some configured purpose
        now (a refused participant's voice is never downloaded); mixed audio if some
        configured purpose has the consent of every mapped participant and no unknown
        speaker blocks it, or else (and where no per-participant file names anyone) with the
        TIMELINE, whose refusing and unknown speakers the guard then silences (docs/audio.md);
        the MP4 if some configured purpose's policy gives a ``video:`` setting (docs/video.md);
        nothing already delivered for this meeting to every purpose."""
        now = datetime.now(UTC)
        labels = {purpose_label(zp) for zp in self.ctx.zoom.purposes}
        specs = [policy.purposes[zp.purpose] for zp in self.ctx.zoom.purposes
                 if zp.purpose in policy.purposes]
        unknown_blocks = plan.unknown_tracks > 0 and policy.unknown_speakers != "consenting"
        everyone = not unknown_blocks and any(
            all(consent_state(policy, pid, s, now)[0] for pid in plan.present) for s in specs)
        # no per-participant file names anyone: only the timeline says who is present
        silence = (not everyone or not plan.present) and bool(specs) and any(
            f.kind == "timeline" for f in plan.files)
        video = self._video_asked(policy)
        out: list[ZoomFile] = []
        for f in plan.files:
            if f.file_id and labels <= done.get(f.file_id, set()):
                continue
            if f.kind == "track":
                if not any(consent_state(policy, str(f.participant), s, now)[0] for s in specs):
                    continue
            elif not {"audio": everyone or silence, "timeline": silence, "video": video}.get(f.kind, True):
                continue
            out.append(f)
        return out

    def _token(self, key: str) -> str:
        try:
            with open(self.dir / key / TOKEN_FILE, encoding="utf-8") as fh:
                sealed = json.load(fh)
        except (OSError, ValueError):
            raise TokenUnavailable("the sealed download token is missing; resend the event "
                                   "from Zoom") from None
        if not isinstance(sealed, dict):
            raise TokenUnavailable("the sealed download token is unreadable; resend the event from Zoom")
        return open_token(self.ctx.zoom.secrets, key, sealed, time.time())

    async def _download(self, key: str, plan: ZoomPlan, record: dict[str, Any]) -> list[str]:
        """Fetch what is wanted and not yet down (each file listed in ``fetched`` once it is
        complete and checked, so a restart keeps it); the token is opened only if needed."""
        inputs = self.dir / key / "inputs"
        inputs.mkdir(mode=0o700, exist_ok=True)
        # the timeline first: the mixed audio is wanted with it only to silence someone, and
        # without it is not fetched at all
        delivered = await self._delivered(plan.meeting_uuid)
        wanted = sorted(self._wanted(plan, self.policy(), delivered), key=lambda f: f.kind != "timeline")
        lost_timeline = False
        done = {f.stored for f in wanted if f.stored in (record.get("fetched") or [])
                and _complete(inputs / f.stored, f.size)}
        for path in inputs.iterdir():      # partial files, and files no longer wanted
            if path.name not in done:
                path.unlink()
        token: str | None = None
        for f in wanted:
            if f.stored in done or (f.kind == "audio" and lost_timeline):
                continue                   # downloaded and checked before a restart
            token = token or self._token(key)
            try:
                await download_file(self.ctx.session, f.url, token, inputs / f.stored, self.rules, f.size)
            except TokenRefused:
                raise
            except DownloadError as exc:
                if f.kind == "video":       # the rest is guarded without the picture
                    log.warning("zoom video not fetched", extra={"code": exc.code})
                    (inputs / f.stored).unlink(missing_ok=True)
                    continue
                if f.kind != "timeline":
                    raise
                # without the timeline nobody can be silenced: the mixed audio is withheld
                log.warning("zoom timeline not fetched", extra={"code": exc.code})
                (inputs / f.stored).unlink(missing_ok=True)
                lost_timeline = True
                continue
            done.add(f.stored)
            record["fetched"] = [w.stored for w in wanted if w.stored in done]
            self._save(record)
        return [f.stored for f in wanted if f.stored in done]

    def _request(self, plan: ZoomPlan, zp: ZoomPurpose, policy: Policy,
                 have: list[ZoomFile]) -> GuardRequest | str:
        """The release request for one purpose from the files ``have``, or why there is none.
        Mixed audio is given only when every mapped participant consents and no unknown
        speaker blocks it (it carries everyone's voice)."""
        spec = policy.purposes.get(zp.purpose)
        unknown_blocks = plan.unknown_tracks > 0 and policy.unknown_speakers != "consenting"
        if spec is not None and unknown_blocks and spec.missing_consent == "deny":
            return f"{UNKNOWN_PRESENT}; purpose {zp.purpose!r} requires the consent of everyone present"
        now = datetime.now(UTC)
        present = list(plan.present)
        consenting = {pid for pid in present
                      if spec is not None and consent_state(policy, pid, spec, now)[0]}
        tracks = {str(f.participant): f.stored for f in have
                  if f.kind == "track" and f.participant in consenting}
        everyone = spec is not None and not unknown_blocks and consenting == set(present)
        timeline = next((f.stored for f in have if f.kind == "timeline"), None)
        silenced = spec is not None and (not everyone or not present) and timeline is not None
        audio = next((f.stored for f in have if f.kind == "audio" and (everyone or silenced)), None)
        chat = tuple(f.stored for f in have if f.kind == "chat")
        transcript = tuple(f.stored for f in have if f.kind == "transcript")
        # the MP4 for a purpose whose policy asks for video; its own sound is guarded as the
        # mixed recording when no M4A is given (withheld while someone present refuses)
        video = next((f.stored for f in have if f.kind == "video" and spec is not None and spec.video), None)
        if not (chat or transcript or audio or tracks or video):   # a timeline alone is nothing to guard
            return "nothing to guard: no audio, transcript, chat or video file was fetched"
        return GuardRequest(purpose=zp.purpose, recipient=zp.recipient, meeting_id=plan.meeting_uuid,
                            attendees=tuple(present), chat=chat, transcript=transcript, audio=audio,
                            tracks=tracks, speakers=timeline if audio is not None and silenced else None,
                            video=video)

    async def _guard_one(self, key: str, plan: ZoomPlan, zp: ZoomPurpose, policy: Policy,
                         fetched: list[str]) -> dict[str, Any]:
        label = purpose_label(zp)
        done = await self._delivered(plan.meeting_uuid)
        repeat = [f for f in plan.files if f.file_id and label in done.get(f.file_id, set())]
        have = [f for f in plan.files if f.stored in fetched and f not in repeat]
        req = self._request(plan, zp, policy, have)
        if isinstance(req, str):
            if repeat and not have:
                return {"decision": "duplicate", "delivered": False, "status": None, "audit_id": None,
                        "reason": f"{len(repeat)} file(s) already delivered for this meeting"}
            return {"decision": "deny", "delivered": False, "status": None, "reason": req,
                    "audit_id": None}
        gate = self.ctx.gate
        gate.reserve(force=True)        # accepted work is never refused, only queued
        async with gate.run():
            fence = self.shared.fence(key, label) if self.shared is not None else None
            if self.shared is not None:
                await self.shared.check(key)     # still ours, right before it is guarded
            reset = DELIVERY_FENCE.set(fence)    # and claimed when it is delivered
            try:
                outcome = await self.ctx.service.run("release", req, self.dir / key / "inputs")
            finally:
                DELIVERY_FENCE.reset(reset)
        if fence is not None and fence.refused == "delivered":
            return {"decision": "duplicate", "delivered": False, "status": None, "audit_id": None,
                    "reason": "delivered by a replica that held this job before"}
        body = outcome.body
        delivered = body.get("delivered") is True
        if delivered:                   # before the result is saved: never delivered twice
            given = {req.audio, req.speakers, req.video, *req.chat, *req.transcript, *req.tracks.values()}
            await self._mark_delivered(plan.meeting_uuid, [f.file_id for f in have if f.stored in given],
                                       label)
        decision = str(body.get("decision") or "error")
        reason = str(body.get("error") or "")
        spec = policy.purposes.get(zp.purpose)
        withheld = _withheld(plan, req, {f.file_id for f in repeat}, video_asked=spec is not None and spec.video)
        if decision in ("release", "partial") and withheld:
            decision, reason = "partial", withheld      # the hook dropped content before the guard
        return {"decision": decision if decision in ("release", "partial", "deny") else "error",
                "delivered": delivered, "status": outcome.status,
                "reason": reason, "audit_id": body.get("audit_id")}

    async def _lost(self, key: str, exc: BaseException) -> None:
        """Replicas: the job stops here unfinished. Taken over (LeaseLost): its spool goes.
        The database away: it is left to whoever holds it once the lease runs out."""
        if isinstance(exc, LeaseLost):
            log.warning("zoom job taken over by another replica")
            await asyncio.get_running_loop().run_in_executor(
                None, functools.partial(shutil.rmtree, self.dir / key, ignore_errors=True))
        else:
            log.error("zoom job paused: state database unavailable", extra={"error_type": type(exc).__name__})
        if self.shared is not None:
            self.shared.let_go(key)

    # -- finishing --------------------------------------------------------------------
    def _finish(self, record: dict[str, Any], plan: ZoomPlan, results: Mapping[str, dict[str, Any]],
                failure: MeetguardError | None) -> None:
        """The job is over: spool and token go, its audit entry is saved (phase ``auditing``),
        to be written once by :meth:`_audit`."""
        key = str(record["key"])
        jdir = self.dir / key
        shutil.rmtree(jdir / "inputs", ignore_errors=True)    # all purposes are done with it
        (jdir / TOKEN_FILE).unlink(missing_ok=True)
        entry, outcome = audit_entry(plan, self.ctx.zoom.purposes, results, failure,
                                      record.get("fetched") or [])
        entry["event"]["job"] = key
        self.ctx.metrics.hook_jobs.labels("zoom", outcome).inc()
        level = logging.WARNING if failure is not None else logging.INFO
        log.log(level, "zoom job finished", extra={"outcome": outcome, "decision": entry["decision"],
                                                   **({"code": failure.code} if failure else {})})
        # nothing was delivered without a token: the marker goes, so that a resent event runs
        record.update(phase="auditing", results=dict(results), outcome=outcome,
                      audit={"entry": entry, "drop": isinstance(failure, TokenUnavailable)})
        self._save(record)

    def _audit(self, record: dict[str, Any], check: bool) -> None:
        """Write the saved audit entry unless ``check`` finds it in the log already (a restart
        came between the write and ``done``), then mark the job done (or drop it)."""
        key = str(record["key"])
        saved = record["audit"]
        if not (check and logged(self.ctx.audit, key)):
            try:
                self.ctx.audit.append(saved["entry"])
            except MeetguardError as exc:      # not done: the next start retries the record
                log.error("zoom job audit failed", extra={"error_type": type(exc).__name__})
                return
        if saved.get("drop"):
            shutil.rmtree(self.dir / key, ignore_errors=True)
            return
        del record["audit"]
        record.update(phase="done", done_at=time.time())
        self._save(record)

    # -- restart ----------------------------------------------------------------------
    def resume(self) -> int:
        """Start again every unfinished job; drop markers past their time. Returns how many."""
        n = 0
        now = time.time()
        self.delivered.sweep(MARKER_TTL_S)
        if self.shared is not None:
            self._keeper = asyncio.get_running_loop().create_task(self._keep())
            return 0                    # the database says which jobs are this replica's
        for jdir in sorted(self.dir.iterdir()):
            if not jdir.is_dir() or not _KEY.match(jdir.name):
                continue
            record = self._read(jdir.name)
            if record is None:
                shutil.rmtree(jdir, ignore_errors=True)      # torn before it was accepted
                continue
            if record.get("phase") == "done":
                if now - float(record.get("done_at", now)) > MARKER_TTL_S:
                    shutil.rmtree(jdir, ignore_errors=True)
                continue
            self._start(jdir.name)
            n += 1
        return n

    async def _keep(self) -> None:
        """Replicas: at start, take back the jobs this replica owned; then every third of the
        lease, renew the leases held here (a job taken over meanwhile is stopped) and take
        over one job whose lease ran out, while fewer than ``limits.max_jobs`` run here."""
        assert self.shared is not None
        shared, every = self.shared, self.shared.lease_s / 3
        started = False
        loop = asyncio.get_running_loop()
        while True:
            try:
                if not started:
                    await shared.state.job_sweep(MARKER_TTL_S)
                    taken = await shared.take(mine=True)
                    started = True
                else:
                    for key in await shared.renew():
                        task = self._tasks.get(key)
                        if task is not None:
                            task.cancel()
                    taken = await shared.take() if len(self._tasks) < self.ctx.gate_slots else []
                for key, record, sealed in taken:
                    if key not in self._tasks:
                        await loop.run_in_executor(None, self._adopt, key, record, sealed)
                    log.info("zoom job taken over", extra={"outcome": str(record.get("phase"))})
                    self._start(key)
            except MeetguardError as exc:
                log.warning("zoom job leases not renewed", extra={"error_type": type(exc).__name__})
            await asyncio.sleep(every)

    async def aclose(self, grace_s: float) -> None:
        """Let running jobs finish (up to ``grace_s``); the rest resume at the next start
        (replicas: on whichever replica takes them once their lease runs out)."""
        if self._keeper is not None:
            self._keeper.cancel()
            await asyncio.gather(self._keeper, return_exceptions=True)
        tasks = list(self._tasks.values())
        if tasks:
            await asyncio.wait(tasks, timeout=grace_s)
        for t in list(self._tasks.values()):
            t.cancel()
        pending = list(self._tasks.values())
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)


def _complete(path: Path, size: int | None) -> bool:
    """A spooled file that is whole: present, and of the event's ``file_size`` when it gave one."""
    try:
        return path.is_file() and (size is None or path.stat().st_size == size)
    except OSError:
        return False


def _withheld(plan: ZoomPlan, req: GuardRequest, repeated: Collection[str] = (), *,
              video_asked: bool = False) -> str:
    """What of the recording this purpose's guard run was not given, and why ('' if nothing).
    ``repeated``: ids of the files left out as already delivered for this meeting."""
    parts = []
    rest = [f for f in plan.files if not (f.file_id and f.file_id in repeated)]
    tracks = sum(1 for f in rest if f.kind == "track" and f.participant not in req.tracks)
    if tracks:
        parts.append(f"{tracks} participant track(s) withheld: no consent")
    if plan.unknown_tracks:
        parts.append(f"{plan.unknown_tracks} unknown speaker track(s) not fetched")
    if req.audio is None and any(f.kind == "audio" for f in rest):
        who = "an unknown speaker is present" if plan.unknown_tracks else "not everyone present consents"
        parts.append(f"mixed audio withheld: {who}")
    if video_asked and req.video is None and any(f.kind == "video" for f in rest):
        parts.append("video not fetched: its download failed")
    if repeated:
        parts.append(f"{len(repeated)} file(s) already delivered for this meeting")
    return "; ".join(parts)


def start_zoom_jobs(config: SidecarConfig, guard: Any, service: GuardService, gate: Gate,
                    metrics: Metrics, session: aiohttp.ClientSession,
                    state: StateBackend | None = None) -> ZoomJobs | None:
    """The Zoom job runner for a running sidecar (None without a ``zoom:`` section), with
    unfinished jobs resumed. Its event records go to the guard's audit log."""
    if config.zoom is None:
        return None
    audit_path = guard.audit_path or config.audit or Path("meetguard-audit.jsonl")
    ctx = HookContext(zoom=config.zoom, jobs_dir=config.jobs_dir, policy_path=config.policy,
                      service=service, gate=gate, metrics=metrics, session=session,
                      audit=getattr(guard, "audit", None) or AuditLog(audit_path, replica=config.audit_replica),   # the guard's: keyed too
                      gate_slots=config.limits.max_jobs, state=state)
    jobs = ZoomJobs(ctx)
    resumed = jobs.resume()
    if resumed:
        log.info("zoom jobs resumed", extra={"jobs": resumed})
    return jobs
