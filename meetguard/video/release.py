"""The video stage's door: after the run's decision, release the guarded video.

:func:`release_video` builds the :class:`~meetguard.video.stage.VideoPlan` from the
policy and the decision (``video.faces`` of the purpose, the participants excluded),
the text check from the run's own detector and roster, and returns the output
(``video.mp4``) or the reason it is withheld. The CLI and the sidecar call it after
:meth:`meetguard.Guard.process` and audit what it answers.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import re
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .._model import Finding
from .._result import GuardResult
from ..audit import AuditSink
from ..backends import DetectorBackend
from ..detection import Roster, TextUnit
from ..policy.decide import NOTHING_LEFT
from ..policy.model import Policy
from .decode import VideoLimits
from .stage import TextCheck, VideoModels, VideoOutcome, VideoPlan, VideoWithheld, guard_video

__all__ = ["VIDEO_OUTPUT", "apply_video", "release_video", "text_check", "video_may_run", "video_outputs",
           "video_plan", "with_video"]

log = logging.getLogger(__name__)

VIDEO_OUTPUT = "video.mp4"
Progress = Callable[[float, float], None]     # (seconds of video done, seconds in all)
_LETTERS = re.compile(r"[^\w]+")
# Loaded models kept between runs (a sidecar guards many videos); one run uses a set at a time
# (OpenCV's network is not safe to share between threads), so concurrent runs get their own.
_IDLE: list[VideoModels] = []
_IDLE_LOCK = threading.Lock()


@contextmanager
def shared_models() -> Iterator[VideoModels]:
    """A loaded :class:`VideoModels` not in use by another run (loaded once, then reused)."""
    with _IDLE_LOCK:
        models = _IDLE.pop() if _IDLE else None
    if models is None:
        models = VideoModels()
    try:
        yield models
    finally:
        with _IDLE_LOCK:
            _IDLE.append(models)


def video_plan(policy: Policy, purpose: str, excluded: Sequence[str]) -> VideoPlan:
    """What the decision asks of the picture: the purpose's ``video.faces``, who refuses."""
    faces = policy.purposes[purpose].video_faces if purpose in policy.purposes else "blur"
    return VideoPlan(faces=faces, refusing=frozenset(excluded),
                     limits=VideoLimits.from_mapping(policy.audio_limits))


def _squash(text: str) -> str:
    return _LETTERS.sub("", text).casefold()


def text_check(detector: DetectorBackend, roster: Roster) -> TextCheck:
    """The run's detector and roster over lines read on screen. OCR often drops the space in
    a label ("AliceMoreno"), so a line that is a roster name with its spaces gone (give or
    take a few characters: "Alice Moreno (Host)" is not) counts as naming that participant."""
    names = [(m.key, _squash(n)) for m in roster.members for n in m.names if len(_squash(n)) >= 3]

    def check(texts: Sequence[str]) -> list[list[Finding]]:
        found = detector.detect([TextUnit(t) for t in texts], roster)
        out: list[list[Finding]] = []
        for text, hits in zip(texts, found, strict=True):
            squashed = _squash(text)
            extra = [Finding(0, len(text), "PERSON", 1.0, name, key)
                     for key, name in names if name in squashed and len(squashed) - len(name) <= 4 and not any(h.participant_id == key for h in hits)]
            out.append([*hits, *extra])
        return out

    return check


def release_video(path: Path, policy: Policy, purpose: str, excluded: Sequence[str],
                  detector: DetectorBackend, roster: Roster, audio: Path | None,
                  models: VideoModels | None = None, progress: Progress | None = None
                  ) -> tuple[VideoOutcome | None, str | None]:
    """``(outcome, None)`` with the released video, or ``(None, reason)`` when withheld."""
    plan = video_plan(policy, purpose, excluded)
    try:
        if models is not None:
            return guard_video(path, plan, models, text_check(detector, roster), audio, progress), None
        with shared_models() as loaded:
            return guard_video(path, plan, loaded, text_check(detector, roster), audio, progress), None
    except VideoWithheld as exc:
        return None, exc.reason


def video_may_run(result: GuardResult, attendees: Sequence[str] = ()) -> bool:
    """A released result, or a deny only because no other content was left (the picture is
    content of its own: a gallery with the refusing tiles black) while someone present is not
    excluded; never a deny of the purpose, recipient or consent itself, and never a deny in
    which every attendee is excluded (nobody's picture is left to release)."""
    if result.decision != "deny":
        return True
    if not result.reasons or result.reasons[-1] != NOTHING_LEFT:
        return False
    return len(set(attendees)) > len(result.excluded_participants)


def video_participants(policy: Policy, result: GuardResult, attendees: Sequence[str]) -> list[str]:
    """Policy ids whose picture and voice a released video may hold: the attendees who are
    policy participants and not excluded (what a withdrawal of consent must reach)."""
    known = {p.id for p in policy.participants}
    return sorted({a for a in attendees if a in known} - set(result.excluded_participants))


def with_video(result: GuardResult, files: Mapping[str, bytes], record: Mapping[str, Any]) -> GuardResult:
    """``result`` with the video stage's outputs and reasons added (a deny for want of
    content becomes partial when the video is released)."""
    reasons = [r for r in result.reasons if not (files and r == NOTHING_LEFT)] + list(record["reasons"])
    decision = result.decision
    if files and decision == "deny":
        decision = "partial"
    outputs = {**result.outputs, **files} if decision != "deny" else dict(result.outputs)
    return dataclasses.replace(result, decision=decision, reasons=tuple(reasons), outputs=outputs)


def video_outputs(path: Path, policy: Policy, result: GuardResult, detector: DetectorBackend,
                  audio_name: str = "audio.redacted.wav", attendees: Sequence[str] = (),
                  progress: Progress | None = None) -> tuple[dict[str, bytes], dict[str, Any]]:
    """After ``result`` (not a deny): the outputs of the video stage (``video.mp4``, or none
    when withheld) and the audit record of what it did (reasons and counts, never content).
    The guarded mixed audio of ``result`` is muxed in; none released, the video has no sound."""
    from ..pipeline import build_roster

    with tempfile.TemporaryDirectory(prefix="meetguard-video-") as tmp:
        audio: Path | None = None
        if audio_name in result.outputs:
            audio = Path(tmp) / "audio.wav"
            audio.write_bytes(result.outputs[audio_name])
        outcome, reason = release_video(path, policy, result.purpose, result.excluded_participants,
                                        detector, build_roster(policy, {}), audio, progress=progress)
    files = {VIDEO_OUTPUT: outcome.video} if outcome is not None else {}
    reasons = [reason] if reason else [
        f"video released: {outcome.frames} frames, {outcome.sampled} analysed, {outcome.faces} faces hidden, "
        f"{outcome.text_boxes} text boxes hidden, {outcome.black_tiles} tiles blacked out, "
        f"{outcome.hidden_whole} frames hidden whole, {outcome.verified_frames} frames verified"
        if outcome is not None else "video withheld"]
    record: dict[str, Any] = {
        "policy_id": result.policy_id, "policy_sha256": result.policy_sha256, "purpose": result.purpose,
        "recipient": result.recipient, "meeting_id": result.meeting_id, "at": result.at,
        "decision": "release" if outcome is not None else "error", "reasons": reasons,
        "output_sha256": {name: hashlib.sha256(data).hexdigest() for name, data in files.items()},
        "participants": video_participants(policy, result, attendees) if files else [],
        "artefacts": [{"kind": "video", "sha256": hashlib.sha256(data).hexdigest()} for data in files.values()],
    }
    if outcome is not None:     # the report's contact sheet: where boxes were hidden (geometry only)
        record["video"] = {"fps": round(outcome.fps, 3), "size": list(outcome.size), "sheet": outcome.sheet}
    return files, record


def apply_video(path: Path, result: GuardResult, policy: Policy, detector: DetectorBackend,
                audit: AuditSink, attendees: Sequence[str] = (), progress: Progress | None = None) -> GuardResult:
    """The video stage after ``result``'s decision (the CLI's ``--video``, the sidecar's
    ``video`` field): runs when :func:`video_may_run`, appends its own audit record after the
    decision's, and answers ``result`` with the video's outputs and reasons added."""
    if not video_may_run(result, attendees):
        return result
    files, record = video_outputs(path, policy, result, detector, attendees=attendees, progress=progress)
    audit.append(record)
    if not files:
        log.info("%s", record["reasons"][0])
    return with_video(result, files, record)
