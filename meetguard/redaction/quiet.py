"""The copy of a released recording the verification decode hears: bleeps made silent (#23).

A bleep replaces every sample of its window by a 997 Hz tone, so no speech is left
under it in the release. Whisper hears a long tone badly: on releases that were mostly
bleeps (a card read out, a dictated address), base's beam search and its greedy retry
both looped on the tone ("fine, fine, fine, ...") and the release was refused, losing
every word. So the verification decode hears a copy of the released file in which each
bleep window is digital silence instead. Outside the windows the copy is the released
file itself, sample for sample; inside them the release holds no speech to hear. That
this holds is checked, not assumed: a window of the release that is not the bleep tone
(in ``silence`` mode: not silent) fails closed, since a value meant to be removed may
still be audible there.
"""

from __future__ import annotations

import math
import shutil
import wave
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np

from .._errors import VerificationError
from .audio import _BLEEP_HZ, _RAMP_S

__all__ = ["hearing_copy"]

_HEADER = 44            # the PCM16 WAV header audio_stream writes
_TONE_SHARE = 0.9       # of a window's power at the bleep's frequency, its ramps left out
_MIN_CHECKED = 0.02     # seconds: a shorter window's inside is too short to measure


def _is_replaced(block: np.ndarray, rate: int, mode: Literal["bleep", "silence"]) -> bool:
    """Whether ``block`` (frames x channels, int16) is what ``mode`` writes: zeros, or a
    997 Hz tone (its fades at both ends left out)."""
    if mode == "silence":
        return not block.any()
    ramp = int(_RAMP_S * rate) + 1
    inner = block[ramp:-ramp].astype(np.float64)
    if inner.shape[0] < int(_MIN_CHECKED * rate):
        return True
    n = np.arange(inner.shape[0])
    phase = np.exp(-2j * math.pi * _BLEEP_HZ * n / rate)
    for ch in range(inner.shape[1]):
        x = inner[:, ch]
        power = float(np.mean(x * x))
        if power == 0.0:
            return False
        share = 2 * abs(complex(np.dot(x, phase))) ** 2 / x.size ** 2 / power
        if share < _TONE_SHARE:
            return False
    return True


def hearing_copy(release: Path, windows: Sequence[tuple[float, float]], mode: Literal["bleep", "silence"],
                 dest: Path, name: str) -> Path:
    """Write ``dest``: ``release`` (a PCM16 WAV from ``audio_stream.redact_to_wav``) with
    every window silent; :class:`VerificationError` when a window of ``release`` does not
    hold what ``mode`` writes there (module doc)."""
    shutil.copyfile(release, dest)
    with wave.open(str(release), "rb") as w:
        rate, channels, total = w.getframerate(), w.getnchannels(), w.getnframes()
    if total == 0 or not windows:
        return dest
    frames = np.memmap(dest, dtype="<i2", mode="r+", offset=_HEADER, shape=(total, channels))
    try:
        for start, end in windows:
            a = max(0, min(total, math.floor(start * rate)))
            b = max(0, min(total, math.ceil(end * rate)))
            if b <= a:
                continue
            if not _is_replaced(np.asarray(frames[a:b]), rate, mode):
                raise VerificationError(f"a value meant to be removed may still be heard in {name}")
            frames[a:b] = 0
        frames.flush()
    finally:
        del frames
    return dest
