"""A long release heard on the original's window grid (#23: long recordings, audio cost).

The verification decode hears a release in windows of at most 30 s. Cut at the
release's own quiet points, the windows move wherever a bleep (a loud tone) changed
which frame is quietest, and every window after it then holds other audio than the
hearing before: after a repair the whole release was heard afresh, and in a
10-minute recording some other window, cut elsewhere, was heard otherwise. Here the
windows are cut once, at the *original's* quiet points (the grid both decodes of
the original used), and a release is heard window by window on that grid:

- **only what changed is heard again.** A repair (bleeping what the verification
  decode heard outside every bleep) changes the windows its new bleeps touch; only
  those are decoded again, and the rest of the hearing stands (the same samples,
  the same deterministic search);
- **a window the release leaves as it was is not decoded twice** when the
  verification decode already heard it in the original (:func:`heard_release`'s
  ``original``): no bleep touches it, so its samples are the original's (16-bit
  PCM of the same decoded audio), and that decode is the independent checkpoint's
  (base after tiny.en), whose hearing of every window found nothing the rules redact
  there (else a bleep would be in it: its findings are bleeped, the union). Its words
  join the released hearing's for the same checks (pieces of every value, the
  detector over the whole text), so the release is still judged by the independent
  model over all of its samples; what is skipped is a third decode of unchanged audio
  by the model that heard it already (docs/audio.md, "Verification cost").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np

from .._errors import VerificationError
from .._model import Cue
from .backend import VERIFY, Transcriber, accepts_variant
from .decode import SAMPLE_RATE, iter_chunks
from .transcribe import split_points, windows

__all__ = ["Grid", "cut", "grid_of", "hear_on_grid", "heard_release", "loop_start", "looped", "touched"]

Grid = list[tuple[int, int]]     # (first sample, end sample) of each window, 16 kHz


def grid_of(path: Path, max_seconds: float = 30.0) -> Grid:
    """The windows :func:`~meetguard.audio.transcribe.windows` cuts ``path`` into (its quiet points)."""
    grid: Grid = []
    for offset, samples in windows(iter_chunks(Path(path), seconds=10.0), max_seconds=max_seconds):
        start = round(offset * SAMPLE_RATE)
        grid.append((start, start + len(samples)))
    return grid


def _cut(path: Path, grid: Grid, which: set[int]) -> Iterator[tuple[int, np.ndarray]]:
    """``(k, samples)`` of each window ``k`` in ``which``, streamed from ``path``."""
    buf = np.zeros(0, dtype=np.float32)
    base = 0                      # sample index of buf[0]
    todo = sorted(which)
    chunks = iter_chunks(Path(path), seconds=10.0)
    for k in todo:
        start, end = grid[k]
        while base + len(buf) < end:
            chunk = next(chunks, None)
            if chunk is None:
                break
            buf = np.concatenate([buf, chunk]) if buf.size else chunk
        yield k, buf[max(0, start - base): end - base]
        drop = max(0, min(end, base + len(buf)) - base)
        buf, base = buf[drop:], base + drop
    chunks.close()  # type: ignore[attr-defined]


def cut(path: Path, spans: Grid) -> list[np.ndarray]:
    """The samples of each of ``spans`` (first sample, end sample; in order) of ``path``."""
    got = dict(_cut(path, spans, set(range(len(spans)))))
    return [got[k] for k in range(len(spans))]


def hear_on_grid(path: Path, transcriber: Transcriber, prompt: str | None, grid: Grid,
                 which: Iterable[int]) -> dict[int, list[Cue]]:
    """What the verification decode hears in the windows ``which`` of ``path`` (timed)."""
    heard: dict[int, list[Cue]] = {}
    for k, samples in _cut(path, grid, set(which)):
        heard[k] = _hear(transcriber, samples, prompt, grid[k][0] / SAMPLE_RATE)
    return heard


MIN_PIECE = 4.0     # seconds: a looping window is heard in halves down to this length


def _hear(transcriber: Transcriber, samples: np.ndarray, prompt: str | None, offset: float) -> list[Cue]:
    """One window's hearing; where the decode loops (beam search and greedy retry: a
    ``repetition_loop`` refusal), the window is heard again in two halves cut at its
    quietest point, each on its own, down to :data:`MIN_PIECE` seconds. Every sample is
    still heard by the same decode; a piece that loops at the smallest length refuses the
    recording as before."""
    try:
        if accepts_variant(transcriber):
            return transcriber.transcribe(samples, prompt=prompt, offset=offset, variant=VERIFY)
        return transcriber.transcribe(samples, prompt=prompt, offset=offset)  # a backend older than `variant`
    except VerificationError as exc:
        if exc.reason != "repetition_loop" or len(samples) < 2 * MIN_PIECE * SAMPLE_RATE:
            raise
    third = len(samples) // 3
    cut = split_points(samples, 2 * third, third)
    return [*_hear(transcriber, samples[:cut], prompt, offset),
            *_hear(transcriber, samples[cut:], prompt, offset + cut / SAMPLE_RATE)]


def touched(grid: Grid, spans: Sequence[tuple[float, float]]) -> set[int]:
    """The windows that any of ``spans`` (seconds) overlaps."""
    out: set[int] = set()
    for a, b in spans:
        for k, (s, e) in enumerate(grid):
            if a * SAMPLE_RATE < e and b * SAMPLE_RATE > s:
                out.add(k)
    return out


LOOP_WORDS = 4     # a run of one to this many words ...
LOOP_TIMES = 8     # ... said this many times in a row or more is a loop, not a hearing


def looped(grid: Grid, original: Sequence[Cue] | None) -> set[int]:
    """The windows where the verification decode's hearing of the original loops: a run of
    one to :data:`LOOP_WORDS` words said :data:`LOOP_TIMES` times or more in a row (the
    text a decode stopped in a loop leaves, audio/loops.py: "time, time, time, ..."). That
    decode did not hear what was said there, so its hearing cannot stand for the release's:
    such a window is decoded on the release like one a bleep touched (and a release whose
    decode loops there too is refused, ``repetition_loop``). Speech that repeats a short
    unit that often (a card of one digit read out) costs a decode, never a release."""
    from bisect import bisect_right

    starts = [s for s, _e in grid]
    said: dict[int, list[str]] = {}
    for cue in original or ():
        k = max(0, bisect_right(starts, round(cue.start * SAMPLE_RATE)) - 1)
        said.setdefault(k, []).extend(_WORD.findall(cue.text.casefold()))
    return {k for k, words in said.items() if loop_start(words) is not None}


_WORD = re.compile(r"[\w']+")


def loop_start(texts: Sequence[str]) -> int | None:
    """The index of the first word of the first run in ``texts`` (words, case and punctuation
    gone) of one unit of 1 to :data:`LOOP_WORDS` words said :data:`LOOP_TIMES` times or more
    in a row; ``None``: no loop."""
    for i in range(len(texts)):
        for n in range(1, LOOP_WORDS + 1):
            if i + n * LOOP_TIMES > len(texts):
                break
            unit = texts[i:i + n]
            if any(unit) and all(texts[i + k * n:i + (k + 1) * n] == unit for k in range(1, LOOP_TIMES)):
                return i
    return None


def heard_release(grid: Grid, heard: dict[int, list[Cue]], original: Sequence[Cue] | None) -> list[Cue]:
    """The release's hearing in time order: each window's decode where it was heard,
    else the verification decode's hearing of the original in that (unchanged) window."""
    from bisect import bisect_right

    starts = [s for s, _e in grid]
    kept: dict[int, list[Cue]] = {}
    for cue in original or ():
        kept.setdefault(max(0, bisect_right(starts, round(cue.start * SAMPLE_RATE)) - 1), []).append(cue)
    out: list[Cue] = []
    for k in range(len(grid)):
        out.extend(heard[k] if k in heard else kept.get(k, []))
    return out
