"""Streaming audio redaction: a recording -> a redacted PCM16 WAV, in bounded memory.

:func:`redact_to_wav` is the streaming twin of
``audio.apply(decode.load(path), windows, mode)`` followed by
``audio.to_wav_bytes``: ffmpeg decodes the recording at its own sample rate and
channels in chunks, each window is bleeped or silenced by the same
:func:`~meetguard.redaction.audio.redact_frames`, and the WAV is written to
``out`` as it goes. The output is bit-identical to the in-memory path; memory
is a chunk plus the window being redacted and one second either side of it
(the bleep's loudness context), whatever the recording's length.

Samples are processed at the width the in-memory path would use (16 bits,
or 32 bits for sources of more than 16 bits, then cut to 16 bits the way
``AudioSegment.set_sample_width(2)`` does), so the two agree sample for sample.
"""

from __future__ import annotations

import math
import struct
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, BinaryIO, Literal

import numpy as np

from .._errors import InputError
from ..audio.decode import _tool, first_audio_stream, probe
from .audio import redact_frames

__all__ = ["redact_to_wav"]

_CHUNK_FRAMES = 1 << 16  # about 1.5 s at 44.1 kHz


def _layout(path: Path) -> tuple[int, int, int]:
    """``(rate, channels, width)`` of the first audio stream, width as the in-memory path decodes it."""
    stream, rate, channels = first_audio_stream(probe(path), str(path))
    if rate <= 0 or channels <= 0:
        raise InputError(str(path), "unreadable audio stream layout")
    bits = 0
    for key in ("bits_per_sample", "bits_per_raw_sample"):
        try:
            bits = max(bits, int(stream.get(key) or 0))
        except (TypeError, ValueError):
            continue
    return rate, channels, (4 if bits > 16 else 2)


def _frames(path: Path, channels: int, width: int) -> Iterator[np.ndarray]:
    """Decoded ``(n, channels)`` integer frames, in chunks, from ffmpeg (no shell)."""
    fmt = "s32le" if width == 4 else "s16le"
    dtype = np.int32 if width == 4 else np.int16
    cmd = [
        _tool("ffmpeg"), "-nostdin", "-hide_banner", "-v", "error", "-i", str(path),
        "-map", "0:a:0", "-f", fmt, "-acodec", f"pcm_{fmt}", "pipe:1",
    ]
    frame_bytes = channels * width
    size = _CHUNK_FRAMES * frame_bytes
    # stderr to a file: a pipe nobody drains could fill and stall ffmpeg.
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err)
        stdout: IO[bytes] | None = proc.stdout
        assert stdout is not None
        try:
            rest = b""
            while True:
                block = stdout.read(size)
                if not block:
                    break
                block = rest + block
                usable = len(block) - len(block) % frame_bytes
                rest = block[usable:]
                if usable:
                    yield np.frombuffer(block[:usable], dtype=dtype).reshape(-1, channels).copy()
            rc = proc.wait()
            err.seek(0)
            if rc != 0 or err.read().strip() or rest:
                raise InputError(str(path), "corrupt or truncated audio (decoding failed)")
        finally:
            if proc.poll() is None:
                proc.kill()
            stdout.close()
            proc.wait()


def _to_pcm16(frames: np.ndarray, width: int) -> bytes:
    if width == 2:
        return frames.astype("<i2", copy=False).tobytes()
    # As audioop.lin2lin(data, 4, 2): keep the top 16 bits (arithmetic shift).
    return (frames >> 16).astype("<i2").tobytes()


def _redacted_chunks(
    path: Path, windows: Sequence[tuple[float, float]], mode: Literal["bleep", "silence"],
    rate: int, channels: int, width: int,
) -> Iterator[np.ndarray]:
    """Final (redacted) frames in order; holds at most a window plus a second either side and a chunk."""
    pending: list[tuple[int, int]] = sorted(
        ((max(0, math.floor(s * rate)), max(0, math.ceil(e * rate))) for s, e in windows),
        key=lambda w: w[0],
    )
    pending.reverse()  # pop from the end: earliest first
    dtype = np.int32 if width == 4 else np.int16
    buf = np.zeros((0, channels), dtype=dtype)
    base = 0      # absolute frame index of buf[0]
    written = 0   # absolute frames already yielded
    chunks = _frames(path, channels, width)
    eof = False
    while True:
        chunk = next(chunks, None)
        if chunk is None:
            eof = True
        elif chunk.size:
            buf = np.concatenate([buf, chunk]) if buf.size else chunk
        end = base + buf.shape[0]
        # A window is applied once its second of after-context is in (or the input ended).
        while pending and (eof or pending[-1][1] + rate <= end):
            a, b = pending.pop()
            a, b = min(a, end), min(b, end)
            if b > a:
                redact_frames(buf, a - base, b - base, mode, width, rate)
        limit = min(pending[-1][0], end) if pending else end
        if limit > written:
            yield buf[written - base : limit - base]
            written = limit
        if eof:
            break
        # Keep one second before the next window (its bleep's before-context); drop the rest.
        keep = written if not pending else max(base, min(written, pending[-1][0] - rate))
        if keep > base:
            buf = buf[keep - base :]
            base = keep


def redact_to_wav(
    path: Path,
    windows: Sequence[tuple[float, float]],
    mode: Literal["bleep", "silence"],
    out: BinaryIO,
) -> None:
    """Write ``path`` with each ``(start, end)`` window (seconds) bleeped or silenced to ``out`` as PCM16 WAV.

    The WAV keeps the recording's own sample rate and channels; samples
    outside the windows are the decoded input, unchanged. Windows are applied
    in order of their start, clamped to the recording (as from
    :func:`~meetguard.redaction.audio.windows_for`). A seekable ``out`` gets
    its header sizes patched at the end; for a non-seekable one the recording
    is decoded once more first, to count its frames. Output longer than a
    WAV can hold (4 GiB) is refused. Raises
    :class:`InputError` when the recording cannot be decoded; ``out`` then
    holds a partial file and must be discarded.
    """
    if mode not in ("bleep", "silence"):
        raise ValueError(f"unknown audio redaction mode: {mode}")
    path = Path(path)
    rate, channels, width = _layout(path)
    try:
        start: int | None = out.tell() if out.seekable() else None
    except (AttributeError, OSError):
        start = None
    counted = None
    if start is None:
        counted = sum(c.shape[0] for c in _frames(path, channels, width))
    out.write(_header(counted or 0, rate, channels))
    total = 0
    for frames in _redacted_chunks(path, windows, mode, rate, channels, width):
        out.write(_to_pcm16(frames, width))
        total += frames.shape[0]
    if counted is not None and total != counted:
        raise InputError(str(path), "the recording changed while it was being redacted")
    if start is not None:
        end = out.tell()
        out.seek(start)
        out.write(_header(total, rate, channels))
        out.seek(end)


def _header(nframes: int, rate: int, channels: int) -> bytes:
    """The 44-byte PCM16 WAV header ``wave`` writes."""
    data = nframes * channels * 2
    if 36 + data > 0xFFFFFFFF:
        raise InputError("audio", "too long for one WAV file (over 4 GiB of samples)")
    return (
        b"RIFF" + struct.pack("<L", 36 + data) + b"WAVE"
        + b"fmt " + struct.pack("<LHHLLHH", 16, 1, channels, rate, channels * 2 * rate, channels * 2, 16)
        + b"data" + struct.pack("<L", data)
    )
