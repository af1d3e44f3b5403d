"""Zoom recording jobs: accepted once, kept on disk, downloaded, guarded per purpose.

``jobs_dir/zoom/<key>/`` (0700; files 0600), where ``key`` is the event's
idempotency key (zoom_event.event_key). Creating the directory is the
idempotency check: a redelivered event finds it and is a no-op. ``job.json``
holds the plan (ids, types, sizes, URLs, policy ids: no token, name or topic),
the phase and the result of each purpose already guarded.

Phases: ``accepted`` -> (download into ``inputs/``) -> ``downloaded`` -> one
``/v1/release``-equivalent run per configured purpose, each result saved as it
lands -> ``done`` (inputs deleted; the directory stays as the redelivery marker
for :data:`MARKER_TTL_S`). A restart resumes ``downloaded`` jobs where they
stopped, so every purpose is guarded and delivered once. The download token
lives only in memory: a job interrupted before its files were down cannot
continue, fails closed with an audit record saying so, and its marker is
removed so that a resent event is processed.

Every job ends in one audit record for the event: the meeting uuid, the files
by type, the decision and delivery of each purpose. Never a token or a value.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import shutil
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

from .._errors import MeetguardError
from .._files import write_json_private
from ..audit import AuditLog, AuditSink
from ..policy import Policy, consent_state, load_policy
from .config import SidecarConfig
from .forms import GuardRequest
from .jobs import Gate
from .metrics import Metrics
from .service import GuardService
from .zoom_config import ZoomConfig, ZoomPurpose
from .zoom_download import DownloadError, DownloadRules, TokenRefused, download_file
from .zoom_event import ZoomFile, ZoomPlan, event_key, plan_event

__all__ = ["MARKER_TTL_S", "HookContext", "TokenLost", "ZoomJobs", "start_zoom_jobs"]

log = logging.getLogger("meetguard.sidecar")
MARKER_TTL_S = 7 * 24 * 3600
_KEY = re.compile(r"^[0-9a-f]{64}$")
UNKNOWN_PRESENT = "a per-participant recording matched no policy participant (an unknown speaker is present)"


class TokenLost(DownloadError):
    code = "download_token_lost"


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


def _write_private(path: Path, data: Mapping[str, Any]) -> None:
    write_json_private(path, data)


def _label(zp: ZoomPurpose) -> str:
    return json.dumps([zp.purpose, zp.recipient])


class ZoomJobs:
    def __init__(self, ctx: HookContext) -> None:
        self.ctx = ctx
        self.dir = ctx.jobs_dir / "zoom"
        self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(self.dir, 0o700)
        self._tokens: dict[str, str] = {}
        self._downloads = asyncio.Semaphore(max(1, ctx.gate_slots))   # jobs downloading at once
        self._tasks: dict[str, asyncio.Task[None]] = {}
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
        has_token = isinstance(token, str) and bool(token.strip())
        loop = asyncio.get_running_loop()
        if not await loop.run_in_executor(None, self._persist, key, event, has_token):
            return "duplicate"
        if isinstance(token, str) and has_token:
            self._tokens[key] = token
        self._start(key)
        return "accepted"

    def _persist(self, key: str, event: Mapping[str, Any], has_token: bool) -> bool:
        """Create the job on disk; False when it exists (the idempotency check: mkdir is atomic)."""
        jdir = self.dir / key
        if jdir.exists():
            return False
        plan = plan_event(event, self.policy())
        try:
            jdir.mkdir(mode=0o700)
        except FileExistsError:
            return False
        record = {"key": key, "plan": plan.to_json(), "phase": "accepted", "created": time.time(),
                  "results": {}, "had_token": has_token}
        _write_private(jdir / "job.json", record)
        return True

    def _start(self, key: str) -> None:
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

    # -- running ----------------------------------------------------------------------
    async def _run(self, key: str) -> None:
        record = self._read(key)
        if record is None:
            return
        plan = ZoomPlan.from_json(record["plan"])
        results: dict[str, dict[str, Any]] = dict(record.get("results") or {})
        failure: MeetguardError | None = None
        try:
            if record.get("phase") == "accepted":
                if not record.get("had_token", True):
                    raise TokenRefused("the event carries no download_token (the Zoom app needs "
                                       "the recording:read scope)")
                async with self._downloads:
                    record["fetched"] = await self._download(key, plan)
                record["phase"] = "downloaded"
                self._save(record)
            policy = self.policy()
            for zp in self.ctx.zoom.purposes:
                if _label(zp) in results:
                    continue               # guarded (and delivered) before a restart
                results[_label(zp)] = await self._guard_one(key, plan, zp, policy,
                                                              record.get("fetched", []))
                record["results"] = results
                self._save(record)
        except MeetguardError as exc:
            failure = exc
        except Exception as exc:  # noqa: BLE001 -- fail closed, audited
            failure = MeetguardError(f"internal error ({type(exc).__name__})")
        finally:
            self._tokens.pop(key, None)
        await asyncio.get_running_loop().run_in_executor(None, self._finish, record, plan, results,
                                                         failure)

    def _wanted(self, plan: ZoomPlan, policy: Policy) -> list[ZoomFile]:
        """What to fetch: a track only if its person consents to some configured purpose
        now (a refused participant's voice is never downloaded); mixed audio unless an
        unknown speaker who does not consent is present."""
        now = datetime.now(UTC)
        specs = [policy.purposes[zp.purpose] for zp in self.ctx.zoom.purposes
                 if zp.purpose in policy.purposes]
        unknown_blocks = plan.unknown_tracks > 0 and policy.unknown_speakers != "consenting"
        out: list[ZoomFile] = []
        for f in plan.files:
            if f.kind == "track":
                if not any(consent_state(policy, str(f.participant), s, now)[0] for s in specs):
                    continue
            elif f.kind == "audio" and unknown_blocks:
                continue
            out.append(f)
        return out

    async def _download(self, key: str, plan: ZoomPlan) -> list[str]:
        token = self._tokens.get(key)
        if token is None:
            raise TokenLost("the download token is not kept on disk and a restart came before "
                            "the files were downloaded; resend the event from Zoom")
        inputs = self.dir / key / "inputs"
        shutil.rmtree(inputs, ignore_errors=True)
        inputs.mkdir(mode=0o700)
        fetched: list[str] = []
        for f in self._wanted(plan, self.policy()):
            await download_file(self.ctx.session, f.url, token, inputs / f.stored, self.rules, f.size)
            fetched.append(f.stored)
        return fetched

    def _request(self, plan: ZoomPlan, zp: ZoomPurpose, policy: Policy,
                 fetched: list[str]) -> GuardRequest | str:
        """The release request for one purpose, or why there is none."""
        spec = policy.purposes.get(zp.purpose)
        unknown_blocks = plan.unknown_tracks > 0 and policy.unknown_speakers != "consenting"
        if spec is not None and unknown_blocks and spec.missing_consent == "deny":
            return f"{UNKNOWN_PRESENT}; purpose {zp.purpose!r} requires the consent of everyone present"
        now = datetime.now(UTC)
        have = [f for f in plan.files if f.stored in fetched]
        tracks = {str(f.participant): f.stored for f in have if f.kind == "track" and spec is not None
                  and consent_state(policy, str(f.participant), spec, now)[0]}
        audio = next((f.stored for f in have if f.kind == "audio" and not unknown_blocks), None)
        chat = tuple(f.stored for f in have if f.kind == "chat")
        transcript = tuple(f.stored for f in have if f.kind == "transcript")
        if not (chat or transcript or audio or tracks):
            return "nothing to guard: no audio, transcript or chat file was fetched"
        present = sorted({str(f.participant) for f in plan.files if f.kind == "track"})
        return GuardRequest(purpose=zp.purpose, recipient=zp.recipient, meeting_id=plan.meeting_uuid,
                            attendees=tuple(present), chat=chat, transcript=transcript, audio=audio,
                            tracks=tracks)

    async def _guard_one(self, key: str, plan: ZoomPlan, zp: ZoomPurpose, policy: Policy,
                         fetched: list[str]) -> dict[str, Any]:
        req = self._request(plan, zp, policy, fetched)
        if isinstance(req, str):
            return {"decision": "deny", "delivered": False, "status": None, "reason": req,
                    "audit_id": None}
        gate = self.ctx.gate
        gate.reserve(force=True)        # accepted work is never refused, only queued
        async with gate.run():
            outcome = await self.ctx.service.run("release", req, self.dir / key / "inputs")
        body = outcome.body
        decision = str(body.get("decision") or "error")
        reason = str(body.get("error") or "")
        withheld = _withheld(plan, req)
        if decision in ("release", "partial") and withheld:
            decision, reason = "partial", withheld      # the hook dropped content before the guard
        return {"decision": decision if decision in ("release", "partial", "deny") else "error",
                "delivered": body.get("delivered") is True, "status": outcome.status,
                "reason": reason, "audit_id": body.get("audit_id")}

    # -- finishing --------------------------------------------------------------------
    def _finish(self, record: dict[str, Any], plan: ZoomPlan, results: Mapping[str, dict[str, Any]],
                failure: MeetguardError | None) -> None:
        key = str(record["key"])
        jdir = self.dir / key
        shutil.rmtree(jdir / "inputs", ignore_errors=True)    # all purposes are done with it
        entry, outcome = _audit_entry(plan, self.ctx.zoom.purposes, results, failure,
                                      record.get("fetched") or [])
        if isinstance(failure, TokenLost):
            shutil.rmtree(jdir, ignore_errors=True)   # nothing was fetched: let a resent event run
        self.ctx.metrics.hook_jobs.labels("zoom", outcome).inc()
        level = logging.WARNING if failure is not None else logging.INFO
        log.log(level, "zoom job finished", extra={"outcome": outcome, "decision": entry["decision"],
                                                   **({"code": failure.code} if failure else {})})
        try:
            self.ctx.audit.append(entry)
        except MeetguardError as exc:      # not done: the next start retries the record
            log.error("zoom job audit failed", extra={"error_type": type(exc).__name__})
            return
        if isinstance(failure, TokenLost):
            return
        record.update(phase="done", done_at=time.time(), results=dict(results), outcome=outcome)
        self._save(record)

    # -- restart ----------------------------------------------------------------------
    def resume(self) -> int:
        """Start again every unfinished job; drop markers past their time. Returns how many."""
        n = 0
        now = time.time()
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

    async def aclose(self, grace_s: float) -> None:
        """Let running jobs finish (up to ``grace_s``); the rest resume at the next start."""
        tasks = list(self._tasks.values())
        if tasks:
            await asyncio.wait(tasks, timeout=grace_s)
        for t in list(self._tasks.values()):
            t.cancel()
        pending = list(self._tasks.values())
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)


def _withheld(plan: ZoomPlan, req: GuardRequest) -> str:
    """What of the recording this purpose's guard run was not given, and why ('' if nothing)."""
    parts = []
    tracks = sum(1 for f in plan.files if f.kind == "track" and f.participant not in req.tracks)
    if tracks:
        parts.append(f"{tracks} participant track(s) withheld: no consent")
    if plan.unknown_tracks:
        parts.append(f"{plan.unknown_tracks} unknown speaker track(s) not fetched")
    if req.audio is None and any(f.kind == "audio" for f in plan.files):
        parts.append("mixed audio withheld: an unknown speaker is present")
    return "; ".join(parts)


def _overall(decisions: list[str]) -> str:
    if not decisions or "error" in decisions:
        return "error"
    if all(d == "deny" for d in decisions):
        return "deny"
    if all(d == "release" for d in decisions):
        return "release"
    return "partial"


def _audit_entry(plan: ZoomPlan, purposes: tuple[ZoomPurpose, ...],
                 results: Mapping[str, dict[str, Any]],
                 failure: MeetguardError | None, fetched: list[str]) -> tuple[dict[str, Any], str]:
    """The event's audit record and the job's outcome label (metrics)."""
    rows = []
    for zp in purposes:
        r = results.get(_label(zp))
        if r is not None:
            rows.append({"purpose": zp.purpose, "recipient": zp.recipient, **r})
    reasons = [f"{row['purpose']} -> {row['recipient']}: {row['decision']}"
               + (", delivered" if row["delivered"] else "")
               + (f" ({row['reason']})" if row.get("reason") else "") for row in rows]
    if failure is not None:
        reasons.append(f"{failure.code}: {failure.message}")
        decision = "error"
    else:
        decision = _overall([row["decision"] for row in rows])
    delivered = sum(1 for row in rows if row["delivered"])
    released = sum(1 for row in rows if row["decision"] in ("release", "partial"))
    if failure is not None or decision == "error" or delivered < released:
        outcome = "failed"
    else:
        outcome = "delivered" if delivered else "denied"
    entry = {
        "decision": decision,
        "meeting_id": plan.meeting_uuid,
        "reasons": reasons,
        "delivered": {"delivered": delivered > 0 and delivered == released, "count": delivered},
        "event": {"source": "zoom", "type": plan.event, "event_ts": plan.event_ts,
                  "files": plan.counts(), "fetched": plan.counts(fetched), "not_fetched": dict(plan.not_fetched),
                  "unknown_speaker_tracks": plan.unknown_tracks, "purposes": rows},
    }
    return entry, outcome


def start_zoom_jobs(config: SidecarConfig, guard: Any, service: GuardService, gate: Gate,
                    metrics: Metrics, session: aiohttp.ClientSession) -> ZoomJobs | None:
    """The Zoom job runner for a running sidecar (None without a ``zoom:`` section), with
    unfinished jobs resumed. Its event records go to the guard's audit log."""
    if config.zoom is None:
        return None
    audit_path = guard.audit_path or config.audit or Path("meetguard-audit.jsonl")
    ctx = HookContext(zoom=config.zoom, jobs_dir=config.jobs_dir, policy_path=config.policy,
                      service=service, gate=gate, metrics=metrics, session=session,
                      audit=getattr(guard, "audit", None) or AuditLog(audit_path),   # the guard's: keyed too
                      gate_slots=config.limits.max_jobs)
    jobs = ZoomJobs(ctx)
    resumed = jobs.resume()
    if resumed:
        log.info("zoom jobs resumed", extra={"jobs": resumed})
    return jobs
