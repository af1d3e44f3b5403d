"""A Whisper decode stuck in a loop stops where the loop shows, marked as a loop (#23,
audio/loops.py); speech that truly repeats (a card read out) is no loop. Fakes only: a
scripted decoder stands for whisper's DecodingTask."""

from __future__ import annotations

import math
from typing import Any, ClassVar

import pytest

from meetguard.audio.loops import LOOP_TOKENS, StopLoops, decode_stopping, tail_loop

EOT = 99
TS = 50          # token ids from here up stand for timestamps in these scripts


def test_a_unit_said_again_and_again_is_a_loop() -> None:
    assert tail_loop([1, 2, 3] + [7] * LOOP_TOKENS)                 # "time time time ..."
    assert tail_loop([1] + [7, 8] * (LOOP_TOKENS // 2))             # "time, time, time, ..."
    assert tail_loop([4, 5] + [1, 2, 3, 4, 5, 6, 7] * 6)            # a 7-token phrase six times
    assert not tail_loop([7] * (LOOP_TOKENS - 1))                  # not yet
    assert not tail_loop([7] * LOOP_TOKENS + [8])                  # it ended: no loop at the tail


def test_speech_that_truly_repeats_is_no_loop() -> None:
    five, four, comma = 11, 12, 13
    card = ([five] * 4 + [comma]) * 3 + [four] * 4                 # "five five five five, ..." (card_master)
    assert not tail_loop([1, 2, 3] + card)
    assert not tail_loop([1, 2, 3] + [five, comma] * 16)            # 16 digits, a comma after each
    assert not tail_loop([1, 2, 3] + [five] * 17 + [four, comma] * 4)   # tiny.en's "fine" x17 "4, 4, 4, 4"
    sentence = [1, 2, 3, 4, 5, 6, 7, 8]
    said = [t for k in range(6) for t in (TS + 2 * k, *sentence, TS + 2 * k + 1)]   # new timestamps each time
    assert not tail_loop(said)


def test_once_a_candidate_loops_every_candidate_may_only_end() -> None:
    """In a beam search a candidate ended alone is replaced by its siblings (the same loop,
    one token changed): once one loops, the whole search ends, marked as looped."""
    import torch

    stop = StopLoops(EOT, sample_begin=1)
    fine = torch.tensor([[0, 1, *range(2, 2 + LOOP_TOKENS)], [0, 1, *range(3, 3 + LOOP_TOKENS)]])
    logits = torch.zeros(2, 100)
    stop.apply(logits, fine)
    assert torch.equal(logits, torch.zeros(2, 100)) and not stop.looped
    tokens = torch.tensor([[0, 1, *([7] * LOOP_TOKENS)], [0, 1, *range(2, 2 + LOOP_TOKENS)]])
    stop.apply(logits, tokens)
    assert stop.looped
    assert (logits[:, EOT] == 0.0).all() and torch.isinf(logits[:, :EOT]).all()
    logits = torch.zeros(2, 100)
    stop.apply(logits, fine)                                         # and stays ended
    assert torch.isinf(logits[:, :EOT]).all()


class _Scripted:
    """Stands for whisper's DecodingTask: a greedy decoder whose model would say ``script``
    then its last token for ever, up to the cap, through the task's logit filters."""

    script: ClassVar[list[int]] = []

    def __init__(self, model: Any, options: Any) -> None:
        self.tokenizer = type("Tok", (), {"eot": EOT})()
        self.sample_begin, self.sample_len, self.logit_filters = 1, options.sample_len, []

    def run(self, mel: Any) -> list[Any]:
        import torch
        from whisper.decoding import DecodingResult, compression_ratio

        tokens = torch.tensor([[0]])
        for i in range(self.sample_len):
            logits = torch.zeros(1, 100)
            logits[0, self.script[min(i, len(self.script) - 1)]] = 5.0
            for f in self.logit_filters:
                f.apply(logits, tokens)
            nxt = int(logits[0].argmax())
            if nxt == EOT:
                break
            tokens = torch.cat([tokens, torch.tensor([[nxt]])], dim=1)
        said = tokens[0, 1:].tolist()
        return [DecodingResult(audio_features=mel, language="en", tokens=said, text=" x" * len(said),
                               avg_logprob=-0.1, no_speech_prob=0.0, temperature=0.0,
                               compression_ratio=compression_ratio(" x" * len(said)))]


@pytest.mark.parametrize(("script", "loops"), [([1, 2, 3, 7], True), ([1, 2, *([5] * 17), 6, EOT], False)])
def test_a_looping_decode_stops_early_and_is_marked(monkeypatch: pytest.MonkeyPatch, script: list[int],
                                                   loops: bool) -> None:
    import torch
    import whisper.decoding
    from whisper.decoding import DecodingOptions

    monkeypatch.setattr(whisper.decoding, "DecodingTask", _Scripted)
    monkeypatch.setattr(_Scripted, "script", script)
    result = decode_stopping(object(), torch.zeros(80, 3000), DecodingOptions(sample_len=224))
    if loops:
        assert len(result.tokens) < LOOP_TOKENS + 8      # stopped at the loop, not at the cap of 224
        assert math.isinf(result.compression_ratio)      # and still a loop to every caller
    else:
        assert result.tokens == script[:-1] and not math.isinf(result.compression_ratio)


@pytest.mark.models
def test_the_backend_decodes_through_the_filter() -> None:
    """Every model the backend loads decodes with :func:`decode_stopping` (an instance's own
    ``decode``, not a patch of whisper for every other user in the process)."""
    from meetguard.audio.transcriber import get_transcriber

    tx: Any = get_transcriber("openai-whisper", "tiny.en")
    model = tx._model
    assert model.decode.func is decode_stopping and model.decode.args == (model,)
    import whisper.model

    assert whisper.model.Whisper.decode is not model.decode
