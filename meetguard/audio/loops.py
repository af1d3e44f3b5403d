"""A Whisper decode stuck in a loop is stopped where the loop shows, not at its token cap (#23).

Whisper sometimes writes one short unit again and again ("time, time, time, ...",
"fine fine fine ...") until its token cap: the model no longer follows the audio. Run to
the cap, such a decode was the costliest of a guard (base's greedy hearing of card_master's
5.6 s half: 62 tokens, 70 s under load, for nothing heard), and the cap holds whatever
the audio said after the loop began as unheard as at the loop's first repeat.

:class:`StopLoops`, a logit filter added to each openai-whisper decode
(:func:`decode_stopping`), ends the decode (every candidate, with end-of-text) as soon as
the sampled tokens of one candidate end in one unit of 1 to :data:`LOOP_UNIT` tokens said
:data:`LOOP_TIMES` times or more in a row over :data:`LOOP_TOKENS` tokens or more. Speech that truly repeats stays
under that: a card read out is at most 16 digits ("five five five five, five five five
five, ...", one or two tokens each, a comma every four), a sentence said again carries
new timestamps. A decode so stopped is *marked*: its result's compression ratio is set to
infinity, so every caller that tells a loop by whisper's ratio (2.4) still sees one, and
what it heard stays distrusted: a verification decode that loops fails closed
(``repetition_loop``), a main decode is heard again in halves. Stopping changes only when
a loop ends (sooner), never what counts as one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

__all__ = ["LOOP_TIMES", "LOOP_TOKENS", "LOOP_UNIT", "StopLoops", "decode_stopping", "tail_loop"]

LOOP_UNIT = 16     # tokens: the longest unit a loop may repeat
LOOP_TIMES = 3     # ... said at least this many times in a row
LOOP_TOKENS = 40   # ... over at least this many tokens (a 16-digit card read out, with commas, is 20)


def tail_loop(tokens: Sequence[int]) -> bool:
    """Whether ``tokens`` (a decode's sampled tokens, timestamps included) end in one unit
    of 1 to :data:`LOOP_UNIT` tokens repeated :data:`LOOP_TIMES` times or more in a row,
    the repeats covering :data:`LOOP_TOKENS` tokens or more."""
    n = len(tokens)
    if n < LOOP_TOKENS:
        return False
    tail = list(tokens[-(LOOP_TOKENS + LOOP_UNIT):])
    m = len(tail)
    for unit in range(1, LOOP_UNIT + 1):
        times = max(LOOP_TIMES, math.ceil(LOOP_TOKENS / unit))
        span = unit * times
        if span > m:
            continue
        run = tail[m - span:]
        if all(run[i] == run[i - unit] for i in range(unit, span)):
            return True
    return False


class StopLoops:
    """openai-whisper logit filter: once any candidate's tokens end in a loop (:func:`tail_loop`),
    every candidate may only end (end-of-text), so the decode stops there instead of at its
    token cap, and :attr:`looped` says so. Every candidate, not only the looping one: in a
    beam search a candidate ended alone gives its place to its siblings, the same loop with
    one token changed, which run on (to the cap: base's beam search on card_master's release,
    86 tokens of "Time, time, ...", took 628 s under load without this filter)."""

    def __init__(self, eot: int, sample_begin: int) -> None:
        self.eot, self.sample_begin, self.looped = eot, sample_begin, False

    def apply(self, logits: Any, tokens: Any) -> None:
        if not self.looped and tokens.shape[-1] - self.sample_begin >= LOOP_TOKENS:
            tails = tokens[:, -(LOOP_TOKENS + LOOP_UNIT):].tolist()
            self.looped = any(tail_loop(tail) for tail in tails)
        if self.looped:
            logits[:, :] = -math.inf
            logits[:, self.eot] = 0.0


def decode_stopping(model: Any, mel: Any, options: Any) -> Any:
    """``whisper.decode`` with :class:`StopLoops` after whisper's own filters; the result of a
    decode so stopped, or whose tokens end in a loop, is marked by an infinite compression ratio
    (one search per task, so with a batch of several audios each would be marked; whisper's
    transcribe decodes one)."""
    import torch
    from whisper.decoding import DecodingTask

    single = mel.ndim == 2
    with torch.no_grad():
        task = DecodingTask(model, options)
        stop = StopLoops(task.tokenizer.eot, task.sample_begin)
        task.logit_filters.append(stop)
        results = task.run(mel.unsqueeze(0) if single else mel)
    marked = [replace(r, compression_ratio=math.inf) if stop.looped or tail_loop(r.tokens) else r for r in results]
    return marked[0] if single else marked
