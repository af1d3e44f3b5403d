"""Several short spans of speech heard in one transcription call (live audio, docs/live.md).

Whisper encodes a fixed 30 s window per call, so hearing a 5 s span costs nearly what
hearing 25 s does. :func:`hear_packed` joins the spans, :data:`GAP_S` of silence between
them, hears them in one call, and hands each span its own cues: every word goes to the
span its middle lies in (a word in a gap to the nearer span), with times from that span's
start, clamped to it. A span's values are then found in its own words only.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .._model import Cue, Word
from .backend import SAMPLE_RATE, Transcriber, cue_from_words

__all__ = ["GAP_S", "MAX_PACKED_S", "hear_packed", "packed_length"]

GAP_S = 1.0                  # silence between two spans
MAX_PACKED_S = 28.0          # spans and gaps in one call (inside Whisper's 30 s window)


def packed_length(lengths_s: Sequence[float]) -> float:
    """Seconds of audio one call hears for spans of these lengths."""
    return sum(lengths_s) + GAP_S * max(0, len(lengths_s) - 1)


def _bounds(spans: Sequence[np.ndarray]) -> list[tuple[float, float]]:
    out, pos = [], 0.0
    for i, s in enumerate(spans):
        pos += GAP_S if i else 0.0
        out.append((pos, pos + len(s) / SAMPLE_RATE))
        pos = out[-1][1]
    return out


def _owner(bounds: Sequence[tuple[float, float]], t: float) -> int:
    """The span a time belongs to: the one holding it, else the nearest."""
    return min(range(len(bounds)), key=lambda k: 0.0 if bounds[k][0] <= t <= bounds[k][1]
               else min(abs(t - bounds[k][0]), abs(t - bounds[k][1])))


def _leads(text: str, words: Sequence[Word]) -> list[str]:
    """Whether each word followed a space in the cue's text ("555-123-4567" is three words
    and one value: its words are joined back without spaces)."""
    out, pos = [], 0
    for w in words:
        at = text.find(w.text, pos)
        if at < 0:
            out.append(" ")
            continue
        out.append(" " if at == 0 or text[at - 1].isspace() else "")
        pos = at + len(w.text)
    return out


def hear_packed(transcriber: Transcriber, spans: Sequence[np.ndarray], prompt: str | None = None) -> list[list[Cue]]:
    """Each span's cues (seconds from its own start), all heard in one call."""
    if not spans:
        return []
    gap = np.zeros(int(GAP_S * SAMPLE_RATE), dtype=np.float32)
    parts: list[np.ndarray] = []
    for i, s in enumerate(spans):
        parts += [gap, np.asarray(s, dtype=np.float32)] if i else [np.asarray(s, dtype=np.float32)]
    bounds = _bounds(spans)
    out: list[list[Cue]] = [[] for _ in spans]
    for cue in transcriber.transcribe(np.concatenate(parts), prompt=prompt, offset=0.0):
        groups: dict[int, list[tuple[str, float, float, float | None]]] = {}
        words = cue.words or ()
        if not words:                          # no word timings: the whole cue, to each span it touches
            for k, (a, b) in enumerate(bounds):
                if cue.start <= b and cue.end >= a:
                    groups.setdefault(k, []).append((cue.text, 0.0, b - a, None))
        for w, lead in zip(words, _leads(cue.text, words), strict=True):
            k = _owner(bounds, (w.start + w.end) / 2)
            a, b = bounds[k]
            groups.setdefault(k, []).append((lead + w.text, min(max(w.start - a, 0.0), b - a),
                                             min(max(w.end - a, 0.0), b - a), w.probability))
        for k, raw in sorted(groups.items()):
            made = cue_from_words(len(out[k]), raw)
            if made is not None:
                out[k].append(made)
    return out
