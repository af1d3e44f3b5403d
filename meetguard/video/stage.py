"""The video stage: decode, analyse sampled frames, hide, re-encode with the guarded
audio muxed in, then verify the released file at a different rate (docs/video.md).

The stage decides nothing about consent: :class:`VideoPlan` says what the run's
decision asks (faces blurred or kept, who refuses), and ``check`` is the run's own
detector and roster over lines of text. A line is hidden when the detector finds
anything in it; a line naming a refusing participant is a tile label, and that tile
is blacked out. Where someone refuses and a face is in a tile with no recognised
label, the video is withheld (:class:`VideoWithheld`), as mixed audio is.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .._model import Finding
from .analyse import Box, FaceFinder, TextLine, TextReader, scene_changed, tile_of
from .decode import (
    FrameWriter,
    VideoLimits,
    check_video_limits,
    output_size,
    probe_video,
    read_frames,
)
from .redact import Regions, apply_regions

__all__ = ["TextCheck", "VideoModels", "VideoOutcome", "VideoPlan", "VideoWithheld", "guard_video"]

log = logging.getLogger(__name__)

TextCheck = Callable[[Sequence[str]], list[list[Finding]]]
MAX_OUT_FPS = 30.0


class VideoWithheld(Exception):
    """The video cannot be released; ``reason`` says why (never content)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class VideoPlan:
    faces: str = "blur"                       # blur | keep
    refusing: frozenset[str] = frozenset()    # participant ids excluded for the purpose
    sample_fps: float = 2.0                   # analysed frames per second
    verify_fps: float = 1.3                   # the released file is sampled again at this rate
    reread_s: float = 10.0                    # text is read again at least this often, change or not
    sheet_frames: int = 12                    # frames whose hidden boxes are kept for the report
    limits: VideoLimits = field(default_factory=VideoLimits)


@dataclass
class VideoOutcome:
    video: bytes
    frames: int = 0
    sampled: int = 0
    faces: int = 0
    text_boxes: int = 0
    black_tiles: int = 0
    hidden_whole: int = 0
    verified_frames: int = 0
    fps: float = 0.0
    size: tuple[int, int] = (0, 0)
    # the report's contact sheet: for a few released frames, the boxes hidden in them
    # ({"frame", "t", "hidden": [[x0, y0, x1, y1]], "black": [...], "whole"}); geometry only
    sheet: list[dict[str, object]] = field(default_factory=list)


class VideoModels:
    """The face finder and text reader, loaded once and shared between runs."""

    def __init__(self) -> None:
        try:
            self.faces = FaceFinder()
            self.text = TextReader()
        except ImportError as exc:
            # the runtime image has no video stage (OpenCV, onnxruntime: deploy/lean-venv.sh)
            raise VideoWithheld(f"video withheld: no video stage installed here ({exc.name or 'OpenCV'} "
                                "missing; the image's `full` target has it)") from exc


@dataclass
class _State:
    plan: VideoPlan
    models: VideoModels
    check: TextCheck
    outcome: VideoOutcome
    sheet_every: int = 0                      # every this many frames one is kept for the sheet
    progress: Callable[[float, float], None] | None = None   # (seconds done, seconds in all)
    duration: float = 0.0
    last_read: np.ndarray | None = None
    read_at: int = 0                          # the sample index of the last OCR
    text_regions: Regions = field(default_factory=Regions)
    labelled: list[Box] = field(default_factory=list)


def guard_video(path: Path, plan: VideoPlan, models: VideoModels, check: TextCheck,
                audio: Path | None, progress: Callable[[float, float], None] | None = None) -> VideoOutcome:
    """Release ``path``'s picture guarded by ``plan``, with ``audio`` (the guarded track, or
    None for no sound) muxed in. Raises :class:`VideoWithheld` when it cannot be released.
    ``progress`` is told (seconds of video done, seconds in all) at each analysed frame."""
    info = probe_video(path)
    check_video_limits(path, info, plan.limits)
    size = output_size(info)
    fps = min(info.fps, MAX_OUT_FPS)
    step = max(1, round(fps / plan.sample_fps))
    state = _State(plan, models, check, VideoOutcome(b"", fps=fps, size=size), progress=progress,
                   duration=info.duration)
    expected = max(1, round(info.duration * fps)) if info.duration else 10 * step * plan.sheet_frames
    state.sheet_every = max(step, -(-expected // max(1, plan.sheet_frames)))
    with tempfile.TemporaryDirectory(prefix="meetguard-video-") as tmp:
        out = Path(tmp) / "video.mp4"
        writer = FrameWriter(out, fps, size, audio)
        try:
            for frame in _released_frames(read_frames(path, fps, size), step, state):
                writer.write(frame)
        except BaseException:
            writer.abort()
            raise
        writer.close()
        if progress is not None:
            done = state.outcome.frames / fps
            progress(done, max(done, info.duration))
        if state.outcome.frames == 0:
            raise VideoWithheld("video withheld: no frame could be decoded")
        try:
            _verify(out, plan, models, check, size, state.outcome)
        except VideoWithheld:
            raise
        except Exception as exc:  # unverified is never released
            raise VideoWithheld(f"video withheld: verification could not run ({type(exc).__name__})") from exc
        state.outcome.video = out.read_bytes()
    return state.outcome


def _released_frames(frames: Iterator[np.ndarray], step: int, state: _State) -> Iterator[np.ndarray]:
    """Each frame with the regions of the samples around it hidden (boxes held between samples)."""
    before: Regions | None = None
    current: Regions | None = None
    pending: list[tuple[int, np.ndarray]] = []
    for i, frame in enumerate(frames):
        state.outcome.frames += 1
        if i % step == 0:
            if state.progress is not None and state.duration > i / state.outcome.fps:
                state.progress(i / state.outcome.fps, state.duration)
            found = _analyse(frame, state)
            if current is not None:
                yield from _hidden(pending, current.union(before, found), state)
            pending, before, current = [], current, found
        pending.append((i, frame))
    if current is not None:
        yield from _hidden(pending, current.union(before), state)


def _hidden(pending: list[tuple[int, np.ndarray]], hold: Regions, state: _State) -> Iterator[np.ndarray]:
    """``pending`` frames with ``hold`` hidden; the boxes of every ``sheet_every``-th kept."""
    for i, frame in pending:
        if state.sheet_every and i % state.sheet_every == 0:
            state.outcome.sheet.append({
                "frame": i, "t": round(i / state.outcome.fps, 3) if state.outcome.fps else 0.0,
                "hidden": [[b.x0, b.y0, b.x1, b.y1] for b in dict.fromkeys(hold.blur)],
                "black": [[b.x0, b.y0, b.x1, b.y1] for b in dict.fromkeys(hold.black)],
                "whole": hold.whole})
        yield apply_regions(frame, hold)


def _analyse(frame: np.ndarray, state: _State) -> Regions:
    state.outcome.sampled += 1
    h, w = frame.shape[:2]
    try:
        faces = state.models.faces.find(frame)
        due = state.outcome.sampled - state.read_at >= state.plan.reread_s * state.plan.sample_fps
        if due or scene_changed(state.last_read, frame):
            state.read_at = state.outcome.sampled
            _read_text(frame, state)
    except Exception as exc:  # noqa: BLE001  (a frame that cannot be analysed is hidden whole)
        log.warning("video: a frame could not be analysed (%s); hidden whole", type(exc).__name__)
        state.outcome.hidden_whole += 1
        return Regions(whole=True)
    if state.plan.refusing and any(not any(t.contains(*f.center) for t in state.labelled) for f in faces):
        raise VideoWithheld("video withheld: a participant refuses and a face on screen is in no "
                            "tile whose name label could be read")
    regions = state.text_regions.union()
    if state.plan.faces == "blur":
        regions.blur += [f.padded(0.3, w, h) for f in faces]
        state.outcome.faces += len(faces)
    return regions


def _read_text(frame: np.ndarray, state: _State) -> None:
    """OCR ``frame`` (the picture changed), and keep its hidden boxes and tiles until the next."""
    h, w = frame.shape[:2]
    lines: list[TextLine] = state.models.text.read(frame)
    findings = state.check([line.text for line in lines]) if lines else []
    regions, labelled = Regions(), []
    for line, found in zip(lines, findings, strict=True):
        if not found:
            continue
        regions.blur.append(line.box.padded(0.15, w, h))
        people = {f.participant_id for f in found if f.participant_id}
        if people:
            tile = tile_of(frame, *line.box.center)
            labelled.append(tile)
            if people & state.plan.refusing:
                regions.black.append(tile)
    state.outcome.text_boxes += len(regions.blur)
    state.outcome.black_tiles += len(regions.black)
    state.last_read, state.text_regions, state.labelled = frame, regions, labelled


def _verify(out: Path, plan: VideoPlan, models: VideoModels, check: TextCheck,
            size: tuple[int, int], outcome: VideoOutcome) -> None:
    """Sample the released file at ``plan.verify_fps``: a face (with ``faces: blur``) or a
    line of text in which the detector finds anything fails the video closed."""
    last: np.ndarray | None = None
    read_at = 0
    for frame in read_frames(out, plan.verify_fps, size):
        outcome.verified_frames += 1
        if plan.faces == "blur" and models.faces.find(frame):
            raise VideoWithheld("video withheld: verification found a face in the released video")
        if outcome.verified_frames - read_at >= plan.reread_s * plan.verify_fps or scene_changed(last, frame):
            last, read_at = frame, outcome.verified_frames
            lines = models.text.read(frame)
            if lines and any(check([line.text for line in lines])):
                raise VideoWithheld("video withheld: verification read a personal value in the released video")
