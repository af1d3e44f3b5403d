"""Decoding recordings with ffmpeg (through pydub where it helps).

- :func:`check_readable` refuses a missing, unreadable, corrupt or truncated
  file with one :class:`InputError` line naming it (it decodes the whole file,
  to a small 8 kHz mono stream, to be sure).
- :func:`load` gives a :class:`pydub.AudioSegment` at the file's own rate and
  channels (for redaction and the released WAV).
- :func:`iter_chunks` streams 16 kHz mono float32 from ffmpeg in bounded
  chunks, so an hour-long recording never sits whole in memory.
- :func:`to_whisper_input` turns a segment into 16 kHz mono float32.

Subprocesses are always run with argument lists, never a shell string.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import numpy as np

from .._errors import InputError

__all__ = [
    "SAMPLE_RATE",
    "check_readable",
    "duration",
    "iter_chunks",
    "load",
    "probe",
    "to_whisper_input",
]

SAMPLE_RATE = 16000
_CHECK_RATE = 8000
_PCM_FORMATS = {1: "u8", 2: "s16le", 3: "s24le", 4: "s32le"}


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise InputError(name, "not installed (ffmpeg is needed to decode audio)")
    return found


def probe(path: Path) -> dict[str, Any]:
    """ffprobe's view of ``path`` (format and streams); InputError when it cannot read it."""
    path = Path(path)
    try:
        proc = subprocess.run(
            [_tool("ffprobe"), "-v", "error", "-show_format", "-show_streams", "-of", "json", "--", str(path)],
            capture_output=True,
            timeout=60,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise InputError(str(path), "timed out reading the audio header") from exc
    if proc.returncode != 0:
        raise InputError(str(path), "not a readable audio file")
    try:
        info: dict[str, Any] = json.loads(proc.stdout or b"{}")
    except ValueError as exc:
        raise InputError(str(path), "not a readable audio file") from exc
    return info


def _declared_duration(info: dict[str, Any]) -> float | None:
    for source in (info.get("format", {}), *(s for s in info.get("streams", []) if s.get("codec_type") == "audio")):
        try:
            value = float(source.get("duration", "nan"))
        except (TypeError, ValueError):
            continue
        if math.isfinite(value) and value > 0:
            return value
    return None


def duration(path: Path) -> float:
    """The declared duration in seconds (0.0 when the container does not say)."""
    return _declared_duration(probe(path)) or 0.0


def check_readable(path: Path) -> None:
    """Raise :class:`InputError` unless ``path`` is a complete, decodable recording."""
    path = Path(path)
    where = str(path)
    if not path.exists():
        raise InputError(where, "no such file")
    if not path.is_file():
        raise InputError(where, "not a file")
    if not os.access(path, os.R_OK):
        raise InputError(where, "not readable")
    if path.stat().st_size == 0:
        raise InputError(where, "empty file")
    info = probe(path)
    if not any(s.get("codec_type") == "audio" for s in info.get("streams", [])):
        raise InputError(where, "has no audio stream")
    declared = _declared_duration(info)
    cmd = [
        _tool("ffmpeg"), "-nostdin", "-hide_banner", "-v", "error", "-i", str(path),
        "-map", "0:a:0", "-ac", "1", "-ar", str(_CHECK_RATE), "-f", "s16le", "pipe:1",
    ]
    decoded = 0
    # stderr goes to a file, not a pipe: a garbage body makes ffmpeg write megabytes of
    # errors, which would fill a pipe nobody reads while we read stdout (a deadlock).
    with tempfile.TemporaryFile() as err, \
            subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err) as proc:
        assert proc.stdout is not None
        while block := proc.stdout.read(1 << 16):
            decoded += len(block)
        rc = proc.wait()
        errors = err.tell() > 0
    if rc != 0 or errors:
        raise InputError(where, "corrupt or truncated audio (decoding failed)")
    seconds = decoded / (2 * _CHECK_RATE)
    if seconds <= 0:
        raise InputError(where, "holds no audio samples")
    if declared is not None and seconds + max(0.5, 0.02 * declared) < declared:
        raise InputError(where, "truncated audio (shorter than its header says)")
    if _container_truncated(path):
        raise InputError(where, "truncated audio (the file ends early)")


def _container_truncated(path: Path) -> bool:
    """Cheap structural checks ffmpeg forgives: a WAV data chunk or an Ogg stream cut short."""
    size = path.stat().st_size
    with open(path, "rb") as fh:
        head = fh.read(12)
        if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
            pos = 12
            while pos + 8 <= size:
                fh.seek(pos)
                chunk = fh.read(8)
                if len(chunk) < 8:
                    return True
                length = int.from_bytes(chunk[4:8], "little")
                if chunk[:4] == b"data":
                    # 0 and 0xFFFFFFFF mark a streamed WAV of unknown length.
                    return length not in (0, 0xFFFFFFFF) and pos + 8 + length > size
                pos += 8 + length + (length & 1)
            return False
        if head[:4] == b"OggS":
            tail_at = max(0, size - 65536 - 27 - 255)
            fh.seek(tail_at)
            tail = fh.read()
            last = tail.rfind(b"OggS")
            if last < 0 or last + 27 > len(tail):
                return True
            page = tail[last:]
            n_segments = page[26]
            if 27 + n_segments > len(page):
                return True
            body = sum(page[27 : 27 + n_segments])
            if 27 + n_segments + body > len(page):
                return True
            return not page[5] & 0x04  # the last page must close the stream
    return False


def load(path: Path) -> Any:
    """The whole recording as a pydub ``AudioSegment`` at its own rate and channels."""
    from pydub import AudioSegment

    path = Path(path)
    try:
        return AudioSegment.from_file(str(path))
    except Exception as exc:  # pydub raises several kinds; the message may hold ffmpeg output
        raise InputError(str(path), f"cannot decode audio ({type(exc).__name__})") from exc


def _read_exact(stream: IO[bytes], size: int) -> bytes:
    parts: list[bytes] = []
    while size > 0:
        block = stream.read(size)
        if not block:
            break
        parts.append(block)
        size -= len(block)
    return b"".join(parts)


def iter_chunks(path: Path, seconds: float = 30.0) -> Iterator[np.ndarray]:
    """16 kHz mono float32 chunks of ``seconds`` (the last one shorter), streamed from ffmpeg."""
    path = Path(path)
    if seconds <= 0:
        raise ValueError("seconds must be positive")
    cmd = [
        _tool("ffmpeg"), "-nostdin", "-hide_banner", "-v", "error", "-i", str(path),
        "-map", "0:a:0", "-ac", "1", "-ar", str(SAMPLE_RATE), "-f", "f32le", "pipe:1",
    ]
    size = int(seconds * SAMPLE_RATE) * 4
    err = tempfile.TemporaryFile()  # noqa: SIM115 (closed in finally; not a pipe: see check_readable)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err)
    assert proc.stdout is not None
    try:
        while True:
            block = _read_exact(proc.stdout, size)
            if block:
                usable = len(block) - len(block) % 4
                yield np.frombuffer(block[:usable], dtype=np.float32).copy()
            if len(block) < size:
                break
        if proc.wait() != 0 or err.tell() > 0:
            raise InputError(str(path), "corrupt or truncated audio (decoding failed)")
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stdout.close()
        proc.wait()
        err.close()


def to_whisper_input(seg: Any) -> np.ndarray:
    """A pydub segment as 16 kHz mono float32 (resampled by ffmpeg)."""
    width = int(seg.sample_width)
    if width not in _PCM_FORMATS:
        raise InputError("audio", f"unsupported sample width {width}")
    cmd = [
        _tool("ffmpeg"), "-nostdin", "-hide_banner", "-v", "error",
        "-f", _PCM_FORMATS[width], "-ar", str(int(seg.frame_rate)), "-ac", str(int(seg.channels)),
        "-i", "pipe:0", "-ac", "1", "-ar", str(SAMPLE_RATE), "-f", "f32le", "pipe:1",
    ]
    raw = seg.raw_data
    if width == 1:  # pydub keeps 8-bit WAV bytes as written (unsigned)
        pass
    proc = subprocess.run(cmd, input=raw, capture_output=True, check=False)
    if proc.returncode != 0:
        raise InputError("audio", "cannot resample audio for transcription")
    out = proc.stdout[: len(proc.stdout) - len(proc.stdout) % 4]
    return np.frombuffer(out, dtype=np.float32).copy()
