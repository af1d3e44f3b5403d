"""Reading a video's picture with the bundled ffmpeg, and writing one back.

- :func:`probe_video` reads the first video stream's size and frame rate and the
  duration from ffmpeg's own report of the input (there is no ffprobe);
- :func:`check_video_limits` refuses a recording over the policy's ``limits:``
  (duration 413, size and frame rate 422) before anything decodes a frame;
- :func:`read_frames` streams RGB frames at a fixed rate and size (one ffmpeg,
  a raw pipe, one frame in memory at a time);
- :class:`FrameWriter` encodes RGB frames to H.264/MP4, with an audio file muxed in.

ffmpeg may open local files only, as for audio (:mod:`meetguard.audio.decode`).
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np

from .._errors import InputError, InputTooLarge
from ..audio.decode import ffmpeg_exe

__all__ = ["FrameWriter", "VideoInfo", "VideoLimits", "check_video_file", "check_video_limits", "output_size",
           "probe_video", "read_frames"]

_LOCAL_ONLY = ["-protocol_whitelist", "file,pipe"]
_DURATION = re.compile(r"^\s*Duration: (\d+):(\d{2}):(\d{2}(?:\.\d+)?)", re.MULTILINE)
_VIDEO = re.compile(r"^\s*Stream #0:\d+\S*: Video: (.*)$", re.MULTILINE)
_SIZE = re.compile(r"\b(\d{2,5})x(\d{2,5})\b")
_FPS = re.compile(r"([\d.]+) (?:fps|tbr)\b")
_AUDIO = re.compile(r"^\s*Stream #0:\d+\S*: Audio: ", re.MULTILINE)
MAX_OUT_HEIGHT = 720


@dataclass(frozen=True)
class VideoInfo:
    width: int
    height: int
    fps: float
    duration: float          # seconds; 0.0 when the container does not say
    has_audio: bool


@dataclass(frozen=True)
class VideoLimits:
    """``limits:`` keys for video (docs/video.md): refused before decoding."""

    max_video_minutes: int = 240
    max_video_width: int = 3840
    max_video_height: int = 2160
    max_video_fps: int = 60

    @classmethod
    def from_mapping(cls, values: Mapping[str, int]) -> VideoLimits:
        return cls(**{k: int(v) for k, v in values.items() if k in cls.__dataclass_fields__})


def probe_video(path: Path) -> VideoInfo:
    """The first video stream of ``path``; InputError naming the file's base name if none."""
    cmd = [ffmpeg_exe(), "-nostdin", "-hide_banner", *_LOCAL_ONLY, "-i", str(path)]
    try:
        proc = subprocess.run(cmd, capture_output=True, timeout=60, check=False)
    except subprocess.TimeoutExpired as exc:
        raise InputError(path.name, "timed out reading the video header") from exc
    report = proc.stderr.decode("utf-8", "replace")
    stream = _VIDEO.search(report)
    size = _SIZE.search(stream.group(1)) if stream else None
    if stream is None or size is None:
        raise InputError(path.name, "has no readable video stream")
    fps = _FPS.search(stream.group(1))
    dur = _DURATION.search(report)
    seconds = int(dur.group(1)) * 3600 + int(dur.group(2)) * 60 + float(dur.group(3)) if dur else 0.0
    rate = float(fps.group(1)) if fps else 25.0
    return VideoInfo(int(size.group(1)), int(size.group(2)), rate if rate > 0 else 25.0, seconds,
                     _AUDIO.search(report) is not None)


def check_video_limits(path: Path, info: VideoInfo, limits: VideoLimits) -> None:
    """Refuse ``path`` over ``limits``; errors name the base name and the limit, never content."""
    if info.width > limits.max_video_width or info.height > limits.max_video_height:
        raise InputError(path.name, f"{info.width}x{info.height} is over the limit "
                                    f"(limits.max_video_width/max_video_height)")
    if info.fps > limits.max_video_fps:
        raise InputError(path.name, f"{info.fps:g} fps is over the limit (limits.max_video_fps)")
    if info.duration > limits.max_video_minutes * 60:
        raise InputTooLarge(path.name, f"longer than the limit of {limits.max_video_minutes} minutes "
                                       f"(limits.max_video_minutes)")


def check_video_file(path: Path, limits: Mapping[str, int]) -> VideoInfo:
    """Probe ``path`` and refuse it over the policy's ``limits:`` (:func:`check_video_limits`)."""
    info = probe_video(path)
    check_video_limits(path, info, VideoLimits.from_mapping(limits))
    return info


def output_size(info: VideoInfo) -> tuple[int, int]:
    """The released picture's size: the input's, scaled down to at most 720 lines, even sides."""
    w, h = info.width, info.height
    if h > MAX_OUT_HEIGHT:
        w, h = round(w * MAX_OUT_HEIGHT / h), MAX_OUT_HEIGHT
    return max(2, w - w % 2), max(2, h - h % 2)


def read_frames(path: Path, fps: float, size: tuple[int, int],
                max_seconds: float | None = None) -> Iterator[np.ndarray]:
    """RGB frames (H x W x 3 uint8) of ``path`` at ``fps`` and ``size``, in order."""
    w, h = size
    cmd = [ffmpeg_exe(), "-nostdin", "-hide_banner", "-v", "error", *_LOCAL_ONLY, "-i", str(path),
           "-map", "0:v:0", *(["-t", f"{max_seconds:.3f}"] if max_seconds else []),
           "-vf", f"fps={fps:.6f},scale={w}:{h}", "-pix_fmt", "rgb24", "-f", "rawvideo", "pipe:1"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdout is not None
    frame_bytes = w * h * 3
    try:
        while True:
            buf = _read_exact(proc.stdout, frame_bytes)
            if buf is None:
                break
            yield np.frombuffer(buf, np.uint8).reshape(h, w, 3).copy()
    finally:
        proc.stdout.close()
        proc.kill()
        proc.wait()
    if proc.returncode not in (0, -9) and proc.returncode is not None and proc.returncode > 0:
        raise InputError(path.name, "ffmpeg could not decode the video stream")


def _read_exact(stream: IO[bytes], n: int) -> bytes | None:
    chunks, got = [], 0
    while got < n:
        chunk = stream.read(n - got)
        if not chunk:
            return None
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


class FrameWriter:
    """Encode RGB frames to ``out`` (H.264 in MP4), muxing ``audio`` in when given."""

    def __init__(self, out: Path, fps: float, size: tuple[int, int], audio: Path | None) -> None:
        w, h = size
        cmd: list[Any] = [ffmpeg_exe(), "-nostdin", "-hide_banner", "-v", "error", "-y", *_LOCAL_ONLY,
                          "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}", "-r", f"{fps:.6f}",
                          "-i", "pipe:0"]
        if audio is not None:
            cmd += ["-i", str(audio), "-map", "0:v:0", "-map", "1:a:0", "-c:a", "aac", "-shortest"]
        cmd += ["-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p",
                "-movflags", "+faststart", str(out)]
        self._proc = subprocess.Popen([str(c) for c in cmd], stdin=subprocess.PIPE,
                                      stderr=subprocess.PIPE)

    def write(self, frame: np.ndarray) -> None:
        assert self._proc.stdin is not None
        self._proc.stdin.write(np.ascontiguousarray(frame, np.uint8).tobytes())

    def close(self) -> None:
        assert self._proc.stdin is not None
        self._proc.stdin.close()
        err = self._proc.stderr.read() if self._proc.stderr else b""
        if self._proc.wait() != 0:
            detail = err.decode("utf-8", "replace").strip().splitlines()[-1:] or ["?"]
            raise InputError("video", f"ffmpeg could not encode the released video ({detail[0][:120]})")

    def abort(self) -> None:
        self._proc.kill()
        self._proc.wait()
