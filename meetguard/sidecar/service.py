"""What the routes do, without HTTP: build the meeting, call the guard, shape the answer.

The same :meth:`GuardService.run` serves the synchronous routes and the async
jobs, so both answer exactly alike.
"""

from __future__ import annotations

import asyncio
import base64
import contextvars
import functools
import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from .._errors import MeetguardError, UsageError
from .._guard import Delivery, GuardResult
from .._model import Meeting
from ..audio.limits import AudioLimits, check_audio_limits
from .errors import error_outcome
from .forms import GuardRequest, parse_at
from .jobs import JOB_PROGRESS, JobOutcome
from .metrics import Metrics
from .upstreams import OpenAIUpstream, Upstream

__all__ = ["DELIVERY_FENCE", "DeliveryFence", "GuardLike", "GuardService", "MeetingLoader",
           "release_payload", "split_outputs"]

log = logging.getLogger("meetguard.sidecar")
# Released WAV beyond this total is never base64 inside the JSON answer: the answer is
# multipart/mixed (the JSON first, then one audio/wav part per file), docs/deploy.md.
INLINE_AUDIO_MAX = 16 * 1024 * 1024

MeetingLoader = Callable[..., Meeting]


class DeliveryFence(Protocol):
    """What a delivery is fenced by (sidecar/zoom_shared.py: a Zoom job's lease, with replicas)."""

    async def claim(self) -> str | None:
        """None: deliver now (claimed); else why not (one line, no content)."""
        ...

    async def settle(self, delivered: bool | None) -> None:
        """The claimed delivery's outcome (None: no answer, it may have arrived)."""
        ...


# Set around a guard run whose delivery must be claimed first (a Zoom job on replicas):
# :meth:`GuardService._deliver` claims it right before forwarding and settles it after.
DELIVERY_FENCE: contextvars.ContextVar[DeliveryFence | None] = contextvars.ContextVar(
    "delivery_fence", default=None)


class GuardLike(Protocol):
    """The part of :class:`meetguard.Guard` the sidecar uses (a fake in tests)."""

    async def process(self, meeting: Meeting, purpose: str, recipient: str | None = None,
                      at: Any = None, *, verify: bool | None = None,
                      deliver: Any = None, language: str | None = None,
                      vault_owner: str | None = None) -> GuardResult: ...

    async def redact_texts(self, texts: Sequence[str], purpose: str, recipient: str | None,
                           attendees: Sequence[str], at: Any = None,
                           meeting_id: str | None = None, *,
                           book: Any = None, language: str | None = None) -> tuple[GuardResult, list[str]]: ...

    def warm(self) -> None: ...

    async def aclose(self) -> None: ...

    @property
    def policy(self) -> Any:
        """The policy in force (what the sidecar reads: each purpose's recipients)."""
        ...

    def policy_status(self) -> tuple[bool, str | None]:
        """(a valid policy is in force, the one-line error of a rejected reload)."""
        ...

    @property
    def audit_path(self) -> Path | None:
        """Where the guard's audit records go (None: the config's, else the default)."""
        ...


def split_outputs(outputs: Mapping[str, bytes]) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """(text content, base64 WAV audio, base64 other binaries such as a Slack export zip)."""
    content: dict[str, str] = {}
    audio: dict[str, str] = {}
    binary: dict[str, str] = {}
    for name in sorted(outputs):
        data = outputs[name]
        if name.endswith(".wav"):
            audio[name] = base64.b64encode(data).decode("ascii")
        elif name.endswith((".zip", ".mp4")):
            binary[name] = base64.b64encode(data).decode("ascii")
        else:
            try:
                content[name] = data.decode("utf-8")
            except UnicodeDecodeError:
                binary[name] = base64.b64encode(data).decode("ascii")
    return content, audio, binary


def release_payload(result: GuardResult) -> dict[str, Any]:
    """The JSON an upstream receives (contract §3 "Release payload")."""
    content, audio, binary = split_outputs(result.outputs)
    payload: dict[str, Any] = {
        "meeting_id": result.meeting_id,
        "purpose": result.purpose,
        "decision": result.decision,
        "policy_id": result.policy_id,
        "retention_days": result.retention_days,
        "content": content,
        "audio": audio,
    }
    if binary:
        payload["files"] = binary
    return payload


class GuardService:
    def __init__(self, guard: GuardLike, upstreams: Mapping[str, Upstream], metrics: Metrics,
                 loader: MeetingLoader, audio_limits: AudioLimits | None = None,
                 video_limits: Any = None) -> None:
        self.audio_limits = audio_limits      # None: the loader is not the real decoder (tests)
        self.video_limits = video_limits      # the sidecar's limits.max_video_* (VideoLimits)
        self.guard = guard
        self.upstreams = upstreams
        self.metrics = metrics
        self.loader = loader

    def check_release_recipient(self, req: GuardRequest) -> None:
        if req.recipient is not None and req.recipient not in self.upstreams:
            raise UsageError(f"recipient {req.recipient!r} has no configured upstream")

    async def run(self, kind: str, req: GuardRequest, inputs: Path) -> JobOutcome:
        """Guard one request whose uploads are in ``inputs``; errors become outcomes."""
        try:
            return await self._run(kind, req, inputs)
        except MeetguardError as exc:
            status, body, _ = error_outcome(exc, scrub=inputs)
            if status >= 500:
                log.warning("guard failed", extra={"error_type": type(exc).__name__, "code": exc.code})
            return JobOutcome(status, body)

    async def _run(self, kind: str, req: GuardRequest, inputs: Path) -> JobOutcome:
        at = parse_at(req.at)
        await self._check_audio(req, inputs)
        loader = functools.partial(
            self.loader,
            chat=[inputs / n for n in req.chat],
            transcript=[inputs / n for n in req.transcript],
            audio=inputs / req.audio if req.audio else _video_sound(inputs, req.video),
            tracks={pid: inputs / n for pid, n in req.tracks.items()},
            attendees=list(req.attendees),
            meeting_id=req.meeting_id,
            **({"speakers": inputs / req.speakers} if req.speakers else {}),
        )
        meeting = await asyncio.get_running_loop().run_in_executor(None, loader)
        if kind == "release" and req.video:
            self.check_release_recipient(req)
            result = await self._release_video(meeting, req, at, inputs / req.video)
        elif kind == "release":
            self.check_release_recipient(req)
            result = await self.guard.process(meeting, req.purpose, req.recipient, at,
                                              deliver=self._deliver, language=req.language,
                                              vault_owner=req.owner)
        else:
            result = await self.guard.process(meeting, req.purpose, req.recipient, at,
                                              language=req.language, vault_owner=req.owner)
        if req.video and kind != "release":
            result = await asyncio.get_running_loop().run_in_executor(
                None, self._video, inputs / req.video, result, req.attendees, _job_progress())
        self.metrics.observe_decision(result.decision, result.entity_counts)
        body = result.decision_json()
        if at is not None:
            body["at_replayed"] = True       # decided at a client's time, not now (replay_at token)
        if result.decision == "deny":
            body.update(content={}, audio={})
            return JobOutcome(403, body)
        if result.decision not in ("release", "partial"):
            return JobOutcome(500, {"error": "internal", "message": "guard did not release",
                                    "audit_id": result.audit_id})
        if kind == "release":
            delivery = result.delivery
            if delivery is None or not delivery.delivered:
                self.metrics.deliveries.labels("failed").inc()
                detail = delivery.detail if delivery is not None else "not delivered"
                return JobOutcome(502, {"error": "upstream_failed",
                                        "message": f"upstream {result.recipient!r}: {detail}",
                                        "audit_id": result.audit_id})
            self.metrics.deliveries.labels("delivered").inc()
            body.update(delivered=True, upstream_status=delivery.status)
            return JobOutcome(200, body)
        return await _answer(body, result)

    def _video_parts(self) -> tuple[Any, Any]:
        backends, audit = getattr(self.guard, "backends", None), getattr(self.guard, "audit", None)
        if backends is None or audit is None:
            raise UsageError("video: this sidecar's guard has no video stage")
        return backends, audit

    def _video(self, path: Path, result: GuardResult, attendees: Sequence[str] = (),
               progress: Callable[[float, float], None] | None = None) -> GuardResult:
        """The video stage after the decision (docs/video.md), on the real guard only."""
        from ..video.release import apply_video

        backends, audit = self._video_parts()
        return apply_video(path, result, self.guard.policy, backends.detector(), audit, attendees,
                           progress)

    async def _release_video(self, meeting: Meeting, req: GuardRequest, at: Any, path: Path) -> GuardResult:
        """/v1/release with a video (docs/video.md): the video stage runs when the decision
        releases, inside the delivery, so that one payload (the video in ``files``) is forwarded
        once and the decision's record says whether it was delivered; the video stage's record
        follows it. A deny for want of content only (the picture is all there is) is decided
        and audited first, then the video, then its delivery."""
        from ..video.release import video_may_run, video_outputs, with_video

        backends, audit = self._video_parts()
        loop = asyncio.get_running_loop()
        stage: dict[str, Any] = {}

        async def video(result: GuardResult) -> GuardResult:
            files, record = await loop.run_in_executor(None, functools.partial(
                video_outputs, path, self.guard.policy, result, backends.detector(), attendees=req.attendees,
                progress=_job_progress()))
            stage.update(files=files, record=record)
            return with_video(result, files, record)

        async def deliver(result: GuardResult) -> Delivery:
            return await self._deliver(await video(result))

        result = await self.guard.process(meeting, req.purpose, req.recipient, at, deliver=deliver,
                                          language=req.language, vault_owner=req.owner)
        if stage:                          # released: the video went with the delivery
            out = with_video(result, stage["files"], stage["record"])
        elif result.decision == "deny" and video_may_run(result, req.attendees):
            out = await video(result)      # nothing left but the picture
            if out.decision != "deny":
                out = await self._deliver_after(out)
        else:
            return result                  # a deny, or the video stage failed: nothing was forwarded
        record = stage["record"]
        if out.delivery is not None:
            record["delivered"] = {"delivered": out.delivery.delivered, "status": out.delivery.status}
        await loop.run_in_executor(None, audit.append, record)
        return out

    async def _deliver_after(self, result: GuardResult) -> GuardResult:
        import dataclasses

        return dataclasses.replace(result, delivery=await self._deliver(result))

    async def _check_audio(self, req: GuardRequest, inputs: Path) -> None:
        """limits.max_audio_minutes / max_sample_rate / max_channels, before anything decodes."""
        if self.audio_limits is None:
            return
        loop = asyncio.get_running_loop()
        sound = await loop.run_in_executor(None, _video_sound, inputs, req.video) if req.video else None
        if req.video:     # limits.max_video_*, before the sound is transcribed or a frame decoded
            await loop.run_in_executor(None, self.check_video, inputs / req.video)
        for name in ([req.audio] if req.audio else []) + list(req.tracks.values()) + ([sound.name] if sound else []):
            await loop.run_in_executor(None, check_audio_limits, inputs / name, self.audio_limits)

    def check_video(self, path: Path) -> float:
        """``path`` within the policy's and the sidecar's limits.max_video_* (else 413/422 naming
        the limit); its duration in seconds."""
        from ..video.decode import check_video_file, check_video_limits

        info = check_video_file(path, self.guard.policy.audio_limits)
        if self.video_limits is not None:
            check_video_limits(path, info, self.video_limits)
        return info.duration

    async def _deliver(self, result: GuardResult) -> Delivery:
        """Forward released content; never raises (the audit must learn the outcome)."""
        upstream = self.upstreams.get(result.recipient or "")
        if upstream is None:
            return Delivery(False, None, "no upstream configured for the recipient")
        fence = DELIVERY_FENCE.get()
        if fence is not None:
            try:
                refused = await fence.claim()
            except MeetguardError as exc:     # the state database away: nothing forwarded
                return Delivery(False, None, f"not delivered: the delivery could not be claimed ({exc.code})")
            if refused is not None:
                return Delivery(False, None, refused)
        try:
            payload = await asyncio.get_running_loop().run_in_executor(None, release_payload, result)
            answer = await upstream.deliver(payload)
        except Exception as exc:  # a plugin upstream must not break the audit  # noqa: BLE001
            delivery = Delivery(False, None, f"upstream error ({type(exc).__name__})")
        else:
            delivery = Delivery(answer.ok, answer.status, answer.detail)
        if fence is not None:
            try:
                await fence.settle(delivery.delivered if delivery.delivered or delivery.status else None)
            except MeetguardError as exc:     # left claimed: never sent again
                log.warning("delivery outcome not recorded", extra={"error_type": type(exc).__name__})
        return delivery

    # -- OpenAI pass-through -------------------------------------------------------------
    def default_chat_recipient(self, purpose: str) -> str:
        """The purpose's only ``kind: openai`` recipient among the configured upstreams."""
        openai = [n for n, u in self.upstreams.items() if isinstance(u, OpenAIUpstream)]
        allowed = _purpose_recipients(self.guard, purpose)
        if allowed is not None:
            openai = [n for n in openai if n in allowed]
        if len(openai) != 1:
            raise UsageError("X-Meetguard-Recipient: required (the purpose has no single openai recipient)")
        return openai[0]

    def chat_upstream(self, recipient: str) -> OpenAIUpstream:
        up = self.upstreams.get(recipient)
        if not isinstance(up, OpenAIUpstream):
            raise UsageError(f"X-Meetguard-Recipient: {recipient!r} is not a configured openai upstream")
        return up


async def _answer(body: dict[str, Any], result: GuardResult) -> JobOutcome:
    """The 200 answer of /v1/guard: text inline, binaries base64, large WAV and video as parts."""
    big = {n: d for n, d in result.outputs.items() if n.endswith((".wav", ".mp4"))}
    parts = big if sum(len(d) for d in big.values()) > INLINE_AUDIO_MAX else {}
    inline = {n: d for n, d in result.outputs.items() if n not in parts}
    content, audio, binary = await asyncio.get_running_loop().run_in_executor(
        None, split_outputs, inline)
    body.update(content=content, audio=audio)
    if binary:
        body["files"] = binary
    for key, ext in (("audio_parts", ".wav"), ("video_parts", ".mp4")):
        if any(n.endswith(ext) for n in parts):   # sent as multipart/mixed parts, not base64
            body[key] = sorted(n for n in parts if n.endswith(ext))
    return JobOutcome(200, body, parts)


def _job_progress() -> Callable[[float, float], None] | None:
    """In an async job: a progress sink for the video stage (GET /v1/jobs/{id} shows
    ``video_s`` and ``video_total_s``); None for a synchronous request."""
    box = JOB_PROGRESS.get()
    if box is None:
        return None

    def report(done: float, total: float) -> None:
        box.update(stage="video", video_s=round(done, 1), video_total_s=round(total, 1))
    return report


def _video_sound(inputs: Path, video: str | None) -> Path | None:
    """The video's own sound as the mixed recording, when it has one."""
    if not video:
        return None
    from ..video.decode import probe_video

    return inputs / video if probe_video(inputs / video).has_audio else None


def _purpose_recipients(guard: GuardLike, purpose: str) -> set[str] | None:
    """The purpose's recipients in the guard's policy (None for an undefined purpose)."""
    spec = guard.policy.purposes.get(purpose)
    return None if spec is None else {str(r) for r in spec.recipients}
