"""Decoding recordings with ffmpeg alone (no ffprobe, no system package).

- :func:`ffmpeg_exe` is the ffmpeg binary in use: the static one the pinned
  ``imageio-ffmpeg`` wheel ships (or ``IMAGEIO_FFMPEG_EXE``); a system ffmpeg
  only where the wheel has none. :func:`ensure_ffmpeg_on_path` puts a program
  named ``ffmpeg`` for it first on ``PATH``, for libraries that call ``ffmpeg``
  by name (pydub, openai-whisper's ``load_audio``).
- :func:`probe` reads the container and streams from ffmpeg's own report of its
  input, in the shape ffprobe's JSON has (``format``, ``streams``).
- :func:`check_readable` refuses a missing, unreadable, corrupt or truncated
  file with one :class:`InputError` line naming it (it decodes the whole file,
  to a small 8 kHz mono stream, to be sure).
- :func:`load` gives a :class:`pydub.AudioSegment` at the file's own rate and
  channels (for redaction and the released WAV): ffmpeg decodes to PCM, pydub
  only wraps the samples.
- :func:`iter_chunks` streams 16 kHz mono float32 from ffmpeg in bounded
  chunks, so an hour-long recording never sits whole in memory.
- :func:`to_whisper_input` turns a segment into 16 kHz mono float32.

Subprocesses are always run with argument lists, never a shell string, and
ffmpeg may open local files only (``-protocol_whitelist file,pipe``): a playlist
inside a recording cannot make it reach the network.
"""

from __future__ import annotations

import functools
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import numpy as np

from .._errors import InputError
from .models import cache_dir

__all__ = [
    "SAMPLE_RATE",
    "check_readable",
    "duration",
    "ensure_ffmpeg_on_path",
    "ffmpeg_exe",
    "ffmpeg_version",
    "iter_chunks",
    "layout",
    "load",
    "probe",
    "to_whisper_input",
]

SAMPLE_RATE = 16000
_CHECK_RATE = 8000
_PCM_FORMATS = {1: "u8", 2: "s16le", 3: "s24le", 4: "s32le"}
# Before ``-i``: ffmpeg may read local files and our pipes, nothing else.
_LOCAL_ONLY = ["-protocol_whitelist", "file,pipe"]


@functools.cache
def ffmpeg_exe() -> str:
    """The ffmpeg binary in use (resolved once): imageio-ffmpeg's, else one on PATH."""
    try:
        import imageio_ffmpeg

        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except (ImportError, RuntimeError):
        pass
    found = shutil.which("ffmpeg")
    if found is None:
        raise InputError("ffmpeg", "not installed (run `make setup`: ffmpeg comes from the imageio-ffmpeg wheel)")
    return found


def _tool(name: str) -> str:
    """The binary for ``name``; only ffmpeg is used (there is no ffprobe to rely on)."""
    if name != "ffmpeg":
        raise InputError(name, "not used: meetguard decodes with ffmpeg alone")
    return ffmpeg_exe()


def ffmpeg_version() -> str:
    """ffmpeg's version word (``9.0.2`` or a build id), from ``ffmpeg -version``."""
    try:
        proc = subprocess.run([ffmpeg_exe(), "-hide_banner", "-version"], capture_output=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise InputError(ffmpeg_exe(), "does not run as ffmpeg") from exc
    match = re.match(rb"ffmpeg version (\S+)", proc.stdout)
    if proc.returncode != 0 or match is None:
        raise InputError(ffmpeg_exe(), "does not run as ffmpeg")
    return match.group(1).decode("ascii", "replace")


def _named_ffmpeg_dir(exe: Path) -> Path | None:
    """A folder holding a program named ``ffmpeg`` that is ``exe``: the venv's ``bin`` where
    `make setup` linked it, else a link made in the cache (``$MEETGUARD_CACHE/bin``)."""
    if exe.name == "ffmpeg":
        return exe.parent
    cache = cache_dir() / "bin"
    for folder in (Path(sys.executable).parent, cache):  # the venv's bin (`make setup` links it) first
        link = folder / "ffmpeg"
        try:
            if link.resolve() == exe.resolve() and os.access(link, os.X_OK):
                return folder
            if folder == cache:
                folder.mkdir(parents=True, exist_ok=True)
                tmp = folder / f".ffmpeg-{os.getpid()}"
                tmp.unlink(missing_ok=True)
                tmp.symlink_to(exe.resolve())
                tmp.replace(link)
                return folder
        except OSError:
            continue
    return None


def ensure_ffmpeg_on_path() -> str:
    """Put :func:`ffmpeg_exe` first on ``PATH`` as ``ffmpeg``; returns the binary.

    pydub looks ffmpeg up by name when imported and openai-whisper's
    ``load_audio`` runs ``ffmpeg`` by name, so this process and its children
    find the bundled binary even where ``PATH`` lacks ``.venv/bin``.
    """
    exe = ffmpeg_exe()
    folder = _named_ffmpeg_dir(Path(exe))
    if folder is not None:
        parts = os.environ.get("PATH", "").split(os.pathsep)
        if not parts or parts[0] != str(folder):
            os.environ["PATH"] = os.pathsep.join([str(folder), *(p for p in parts if p and p != str(folder))])
    return exe


def _pydub() -> Any:
    """pydub's AudioSegment, told to use :func:`ffmpeg_exe` (it warns at import when none is on PATH)."""
    exe = ensure_ffmpeg_on_path()
    with warnings.catch_warnings():
        # We set the converter ourselves just below; the import-time guess is moot.
        warnings.filterwarnings("ignore", message="Couldn't find ffmpeg or avconv", category=RuntimeWarning)
        from pydub import AudioSegment
    AudioSegment.converter = exe
    return AudioSegment


_DURATION = re.compile(r"^\s*Duration: (\d+):(\d{2}):(\d{2}(?:\.\d+)?)")
_STREAM = re.compile(r"^\s*Stream #0:(\d+)\S*: (\w+): (.*)$")
_SAMPLE_FMT = re.compile(r"^(u8|s16|s32|s64|flt|dbl)p?(?: \((\d+) bit\))?$")
_INT_BITS = {"u8": 8, "s16": 16, "s32": 32, "s64": 64}
_FLOAT_BITS = {"flt": 32, "dbl": 64}


def _fields(text: str) -> list[str]:
    """``text`` split at top-level ``, `` (commas inside parentheses stay)."""
    out, depth, cur = [], 0, ""
    for ch in text:
        depth += (ch == "(") - (ch == ")")
        if ch == "," and depth == 0:
            out.append(cur.strip())
            cur = ""
        else:
            cur += ch
    return [*out, cur.strip()]


def _audio_stream(index: int, text: str) -> dict[str, Any]:
    fields = _fields(text)
    codec = fields[0].split(" ")[0]
    stream: dict[str, Any] = {"index": index, "codec_type": "audio", "codec_name": codec}
    for field in fields[1:]:
        if field.endswith(" Hz") and field[:-3].isdigit():
            stream["sample_rate"] = field[:-3]
        elif (fmt := _SAMPLE_FMT.match(field)) is not None:
            base, raw = fmt.group(1), fmt.group(2)
            stream["sample_fmt"] = field.split(" ")[0]
            bits = int(raw) if raw else _INT_BITS.get(base, 0)
            if not bits and codec.startswith("pcm_"):
                bits = _FLOAT_BITS.get(base, 0)
            stream["bits_per_raw_sample"] = str(bits)
    return stream


def _parse_report(report: str) -> dict[str, Any] | None:
    """ffmpeg's ``Input #0`` block as ffprobe-shaped JSON; None when ffmpeg found no input."""
    lines = report.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("Input #0")]
    if not starts:
        return None
    info: dict[str, Any] = {"format": {}, "streams": []}
    for line in lines[starts[0] + 1 :]:
        if not line.startswith(" "):  # "Stream mapping:", "Output #0", an error: the input block is over
            break
        if (dur := _DURATION.match(line)) is not None:
            h, m, s = dur.groups()
            info["format"]["duration"] = f"{int(h) * 3600 + int(m) * 60 + float(s):.6f}"
        elif (st := _STREAM.match(line)) is not None:
            index, kind, rest = int(st.group(1)), st.group(2).lower(), st.group(3)
            stream = _audio_stream(index, rest) if kind == "audio" else {"index": index, "codec_type": kind}
            info["streams"].append(stream)
    return info


def _wav_layout(header: bytes) -> tuple[int, int] | None:
    """``(channels, rate)`` from a WAV header's ``fmt `` chunk."""
    if header[:4] != b"RIFF" or header[8:12] != b"WAVE":
        return None
    pos = 12
    while pos + 8 <= len(header):
        tag, size = header[pos : pos + 4], int.from_bytes(header[pos + 4 : pos + 8], "little")
        if tag == b"fmt " and pos + 16 <= len(header):
            channels = int.from_bytes(header[pos + 10 : pos + 12], "little")
            rate = int.from_bytes(header[pos + 12 : pos + 16], "little")
            return channels, rate
        pos += 8 + size + (size & 1)
    return None


def probe(path: Path) -> dict[str, Any]:
    """The container and streams of ``path``, ffprobe-shaped, from ffmpeg alone.

    One ffmpeg run: its report of the input gives the duration, codecs and
    sample formats; a zero-length WAV of the first audio stream on stdout gives
    that stream's exact channel count and rate. InputError when it cannot read it.
    """
    path = Path(path)
    cmd = [
        _tool("ffmpeg"), "-nostdin", "-hide_banner", *_LOCAL_ONLY, "-i", str(path),
        "-map", "0:a:0", "-t", "0", "-f", "wav", "pipe:1",
    ]
    try:
        proc = subprocess.run(cmd, capture_output=True, timeout=60, check=False)
    except subprocess.TimeoutExpired as exc:
        raise InputError(str(path), "timed out reading the audio header") from exc
    info = _parse_report(proc.stderr.decode("utf-8", "replace"))
    if info is None:
        raise InputError(str(path), "not a readable audio file")
    audio = [s for s in info["streams"] if s.get("codec_type") == "audio"]
    found = _wav_layout(proc.stdout) if proc.returncode == 0 else None
    if audio and found is not None:
        audio[0]["channels"], audio[0]["sample_rate"] = found[0], str(found[1])
    elif audio:
        raise InputError(str(path), "not a readable audio file")
    return info


def first_audio_stream(info: dict[str, Any], where: str) -> tuple[dict[str, Any], int, int]:
    """``(stream, rate, channels)`` of a probe's first audio stream; :class:`InputError`
    naming ``where`` when there is none or its rate or channel count is not a number."""
    streams = [s for s in info.get("streams", []) if s.get("codec_type") == "audio"]
    if not streams:
        raise InputError(where, "has no audio stream")
    stream: dict[str, Any] = streams[0]
    try:
        return stream, int(stream.get("sample_rate", 0)), int(stream.get("channels", 0))
    except (TypeError, ValueError):
        raise InputError(where, "unreadable audio stream layout") from None


def layout(path: Path) -> tuple[int, int, int]:
    """``(rate, channels, width)`` of the first audio stream; width 4 above 16 bits, else 2."""
    stream, rate, channels = first_audio_stream(probe(path), str(path))
    try:
        bits = int(stream.get("bits_per_raw_sample") or 0)
    except (TypeError, ValueError):
        raise InputError(str(path), "unreadable audio stream layout") from None
    if rate <= 0 or channels <= 0:
        raise InputError(str(path), "unreadable audio stream layout")
    return rate, channels, (4 if bits > 16 else 2)


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
        _tool("ffmpeg"), "-nostdin", "-hide_banner", "-v", "error", *_LOCAL_ONLY, "-i", str(path),
        "-map", "0:a:0", "-ac", "1", "-ar", str(_CHECK_RATE), "-f", "s16le", "pipe:1",
    ]
    decoded, rc, errors = count_decoded(cmd)
    if rc != 0 or errors:
        raise InputError(where, "corrupt or truncated audio (decoding failed)")
    seconds = decoded / (2 * _CHECK_RATE)
    if seconds <= 0:
        raise InputError(where, "holds no audio samples")
    if declared is not None and seconds + max(0.5, 0.02 * declared) < declared:
        raise InputError(where, "truncated audio (shorter than its header says)")
    if _container_truncated(path):
        raise InputError(where, "truncated audio (the file ends early)")


def count_decoded(cmd: list[str]) -> tuple[int, int, bool]:
    """Run an ffmpeg command that decodes to ``pipe:1`` and count what it writes:
    ``(bytes, exit code, whether it wrote any error)``; the samples are dropped."""
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
    return decoded, rc, errors


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
    """The whole recording as a pydub ``AudioSegment`` at its own rate and channels.

    ffmpeg decodes the first audio stream to 16-bit PCM (32-bit above 16 bits,
    as :func:`layout` says and the streaming redaction path does too); pydub
    only wraps the samples, so it never needs ffprobe.
    """
    path = Path(path)
    rate, channels, width = layout(path)
    fmt = "s32le" if width == 4 else "s16le"
    cmd = [
        _tool("ffmpeg"), "-nostdin", "-hide_banner", "-v", "error", *_LOCAL_ONLY, "-i", str(path),
        "-map", "0:a:0", "-vn", "-f", fmt, "-acodec", f"pcm_{fmt}", "pipe:1",
    ]
    with tempfile.TemporaryFile() as err:  # a file, not a pipe: see check_readable
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=err, check=False)
    frame = width * channels
    if proc.returncode != 0 or not proc.stdout:
        raise InputError(str(path), "cannot decode audio (ffmpeg failed)")
    data = proc.stdout[: len(proc.stdout) - len(proc.stdout) % frame]
    return _pydub()(data=data, sample_width=width, frame_rate=rate, channels=channels)


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
        _tool("ffmpeg"), "-nostdin", "-hide_banner", "-v", "error", *_LOCAL_ONLY, "-i", str(path),
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
        _tool("ffmpeg"), "-nostdin", "-hide_banner", "-v", "error", *_LOCAL_ONLY,
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
