"""A scripted transcriber for fast tests: no model, exact word timings.

``FakeTranscriber([(start, end, "text"), ...])`` gives one cue per script line;
the line's words share its time span evenly. Times are absolute (in the
recording); a call with ``offset`` and ``samples`` returns the lines whose
midpoint falls inside ``[offset, offset + len(samples) / 16000)`` (all lines
when ``samples`` is empty), so it works with chunked transcription too.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from meetguard._model import Cue, Word

SAMPLE_RATE = 16000


def script_cues(script: Sequence[tuple[float, float, str]]) -> list[Cue]:
    """The cues a script describes (text = words joined by single spaces)."""
    cues: list[Cue] = []
    for start, end, text in script:
        tokens = text.split()
        step = (end - start) / max(1, len(tokens))
        words = tuple(
            Word(tok, round(start + i * step, 3), round(start + (i + 1) * step, 3), 1.0)
            for i, tok in enumerate(tokens)
        )
        cues.append(Cue(index=len(cues), start=start, end=end, speaker=None,
                        text=" ".join(tokens), words=words))
    return cues


class FakeTranscriber:
    def __init__(self, script: Sequence[tuple[float, float, str]]) -> None:
        self.script = list(script)
        self.calls: list[tuple[float, int, str | None]] = []
        self.closed = False

    def transcribe(
        self, samples: np.ndarray, *, prompt: str | None = None, offset: float = 0.0
    ) -> list[Cue]:
        if self.closed:
            raise RuntimeError("closed")
        n = int(np.asarray(samples).size)
        self.calls.append((offset, n, prompt))
        end = offset + n / SAMPLE_RATE
        chosen = [
            line for line in self.script if n == 0 or offset <= (line[0] + line[1]) / 2 < end
        ]
        return script_cues(chosen)

    def close(self) -> None:
        self.closed = True
