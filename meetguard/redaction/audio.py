"""Audio redaction: findings -> words -> time windows -> bleep or silence.

A finding is the analyzer's character span in a cue's text. Because an ASR
cue's text is built by concatenating its words (:meth:`Cue.word_offsets`),
every character belongs to a known word with known times: the span is mapped
to the words it overlaps, then to ``[first.start - pad, last.end + pad]``.
Windows are merged where they overlap or touch and clamped to the audio. A
finding that overlaps no timed word cannot be placed in time, so the whole
run fails closed (:class:`AudioPlacementError`).

Samples outside the windows are left bit-identical; the output keeps the
input's sample rate, width and channels. ``drop`` (no audio at all) is the
release stage's business, not this module's.
"""

from __future__ import annotations

import io
import math
import wave
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from .._errors import AudioPlacementError
from .._model import Cue, Finding

__all__ = ["PAD", "apply", "merge_windows", "redact_frames", "to_wav_bytes", "windows_for"]

Window = tuple[float, float]
PAD = 0.15                  # seconds of bleep before and after each value's words
# The bleep: 997 Hz, not 1 kHz. At 8, 16 or 48 kHz a 1 kHz sine repeats every 8, 16 or 48
# samples, so a steady bleep writes the same bytes again and again at strides that divide
# MPEG-TS's 192-byte packets; at some loudness one of them is 0x47 (the TS sync byte) and
# ffmpeg, sniffing the file's format without a hint (as whisper's load_audio does), took a
# release that began with a bleep for a transport stream and could not read it. A prime
# frequency (the usual digital test tone) repeats at no such stride.
_BLEEP_HZ = 997.0
_BLEEP_BELOW_DB = 3.0       # the tone sits a bit below the speech it replaces
_FALLBACK_DBFS = -30.0      # when the window and its surroundings are silent
_RAMP_S = 0.005             # short fades so the tone does not click


def windows_for(
    cues: Sequence[Cue],
    findings: Sequence[Sequence[Finding]],
    *,
    pad: float = PAD,
    duration: float | None = None,
) -> list[Window]:
    """Merged, padded, clamped ``(start, end)`` windows (seconds) covering every finding.

    ``findings[i]`` are the findings in ``cues[i].text``. ``duration`` (the
    recording's length) clamps the windows' ends when given.
    """
    if len(findings) != len(cues):
        raise AudioPlacementError("audio redaction: findings do not match the transcript cues")
    raw: list[Window] = []
    for n, (cue, cue_findings) in enumerate(zip(cues, findings)):
        if not cue_findings:
            continue
        try:
            spans = cue.word_offsets()
        except ValueError as exc:
            raise AudioPlacementError(f"audio redaction: cue {n} text is not built from its words") from exc
        for finding in cue_findings:
            hit = [w for w, (s, e) in zip(cue.words, spans) if s < finding.end and e > finding.start]
            if not hit:
                raise AudioPlacementError(
                    f"audio redaction: a {finding.entity_type} finding in cue {n} overlaps no timed word"
                )
            start = min(w.start for w in hit) - pad
            end = max(w.end for w in hit) + pad
            raw.append((start, end))
    return merge_windows(raw, duration)


def merge_windows(raw: Sequence[Window], duration: float | None = None) -> list[Window]:
    """``raw`` windows sorted, merged where they overlap or touch, clamped to ``[0, duration]``."""
    out: list[Window] = []
    for start, end in sorted(raw):
        start = max(0.0, start)
        if duration is not None:
            end = min(end, duration)
            start = min(start, duration)
        if end <= start:
            continue
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def _dtype(width: int) -> Any:
    return {1: np.uint8, 2: np.int16, 4: np.int32}.get(width)


def _rms(block: np.ndarray, width: int) -> float:
    if block.size == 0:
        return 0.0
    x = block.astype(np.float64)
    if width == 1:
        x = x - 128.0
    return float(np.sqrt(np.mean(x * x)))


def redact_frames(
    frames: np.ndarray, a: int, b: int, mode: Literal["bleep", "silence"], width: int, rate: int
) -> None:
    """Bleep or silence ``frames[a:b]`` in place (``frames``: samples x channels).

    Bleep: a 997 Hz sine at the window's loudness (RMS, 3 dB below), or at the
    loudness of one second of ``frames`` either side when the window is
    silent. Shared by :func:`apply` and the streaming
    :mod:`meetguard.redaction.audio_stream`, which keeps that second of
    context around each window so both give the same samples.
    """
    dtype = _dtype(width)
    if dtype is None:
        raise ValueError(f"unsupported sample width {width}")
    zero = 128 if width == 1 else 0
    if mode == "silence":
        frames[a:b] = zero
        return
    full_scale = float(2 ** (8 * width - 1))
    level = _rms(frames[a:b], width)
    if level <= 0:
        around = rate  # one second either side
        level = _rms(np.concatenate([frames[max(0, a - around) : a], frames[b : b + around]]), width)
    if level > 0:
        dbfs = 20 * math.log10(level / full_scale) - _BLEEP_BELOW_DB
    else:
        dbfs = _FALLBACK_DBFS
    amplitude = min(full_scale * 0.9, full_scale * 10 ** (dbfs / 20) * math.sqrt(2))
    t = np.arange(b - a) / rate
    tone = amplitude * np.sin(2 * math.pi * _BLEEP_HZ * t)
    ramp = min(int(_RAMP_S * rate), (b - a) // 2)
    if ramp > 0:
        env = np.linspace(0.0, 1.0, ramp)
        tone[:ramp] *= env
        tone[-ramp:] *= env[::-1]
    tone = np.round(tone) + zero
    info = np.iinfo(dtype)
    frames[a:b] = np.clip(tone, info.min, info.max).astype(dtype)[:, None]


def apply(seg: Any, windows: Sequence[Window], mode: Literal["bleep", "silence"]) -> Any:
    """``seg`` (a pydub AudioSegment) with each window bleeped or silenced.

    Bleep: a 997 Hz sine at the replaced window's loudness (RMS, 3 dB below),
    or its surroundings' when the window is silent. Silence: digital zero.
    """
    if mode not in ("bleep", "silence"):
        raise ValueError(f"unknown audio redaction mode: {mode}")
    width, rate, channels = int(seg.sample_width), int(seg.frame_rate), int(seg.channels)
    dtype = _dtype(width)
    if dtype is None:
        raise ValueError(f"unsupported sample width {width}")
    frames = np.frombuffer(seg.raw_data, dtype=dtype).reshape(-1, channels).copy()
    total = frames.shape[0]
    for start, end in windows:
        a = max(0, min(total, math.floor(start * rate)))
        b = max(0, min(total, math.ceil(end * rate)))
        if b <= a:
            continue
        redact_frames(frames, a, b, mode, width, rate)
    return seg._spawn(frames.tobytes())


def to_wav_bytes(seg: Any) -> bytes:
    """PCM16 WAV bytes at the segment's own rate and channels."""
    if int(seg.sample_width) != 2:
        seg = seg.set_sample_width(2)
    buf = io.BytesIO()
    with wave.open(buf, "wb") as out:
        out.setnchannels(int(seg.channels))
        out.setsampwidth(2)
        out.setframerate(int(seg.frame_rate))
        out.writeframes(seg.raw_data)
    return buf.getvalue()
