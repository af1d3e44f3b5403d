"""The transcript's decode hears a window it was unsure of again by beam search (#23 words
to keep, audio/whisper_backend ``WhisperTranscriber._surer``). Greedy search drops words on
speech it hears badly and then samples at rising temperatures; a beam search kept more of
them on every clip of the leak corpus. Fakes only: a scripted ``whisper.transcribe`` and a
transcriber with no weights loaded; the real tiny.en is measured in benchmarks."""

from __future__ import annotations

import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from meetguard.audio.whisper_backend import UNSURE_LOGPROB, WhisperTranscriber

RATE = 16000


def _transcriber(transcript: bool) -> WhisperTranscriber:
    tx = WhisperTranscriber.__new__(WhisperTranscriber)
    tx.model_path, tx.english_only, tx._lock, tx.transcript = Path("fake"), True, threading.Lock(), transcript
    tx._model = SimpleNamespace(dims=SimpleNamespace(n_text_ctx=448), is_multilingual=False)
    return tx


def _seg(seek_s: float, start: float, end: float, text: str, logprob: float, temperature: float = 0.0,
         ratio: float = 1.2, no_speech: float = 0.05) -> dict[str, Any]:
    return {"seek": int(seek_s * 100), "start": start, "end": end, "text": text, "tokens": [1, 2, 3],
            "avg_logprob": logprob, "temperature": temperature, "compression_ratio": ratio, "no_speech_prob": no_speech,
            "words": [{"word": f" {w}", "start": start + k * 0.3, "end": start + k * 0.3 + 0.25,
                       "probability": 0.9} for k, w in enumerate(text.split())]}


def _whisper(first: list[dict[str, Any]], again: list[list[dict[str, Any]]]) -> tuple[Any, list[Any]]:
    """whisper.transcribe: the whole audio -> ``first``; each later call -> the next of ``again``."""
    seen: list[tuple[float, dict[str, Any]]] = []

    def fake(model: Any, audio: Any, **kwargs: Any) -> dict[str, Any]:
        seen.append((len(audio) / RATE, kwargs))
        return {"segments": first if len(seen) == 1 else again[len(seen) - 2]}

    return fake, seen


def _audio(seconds: float) -> np.ndarray:
    return np.random.default_rng(3).normal(0, 0.1, int(seconds * RATE)).astype(np.float32)


def test_an_unsure_window_is_heard_again_by_beam_search_in_its_own_place(monkeypatch: pytest.MonkeyPatch) -> None:
    import whisper

    first = [_seg(0, 1.0, 3.0, "send the contract", -0.3), _seg(0, 20.0, 27.0, "send it too", -0.3),
             _seg(28.0, 29.0, 33.0, "it invoice goes", UNSURE_LOGPROB - 0.5, temperature=0.4)]
    fake, seen = _whisper(first, [[_seg(0, 1.0, 4.0, "the invoice goes to legal", -0.4)]])
    monkeypatch.setattr(whisper, "transcribe", fake)
    cues = _transcriber(True).transcribe(_audio(31.0), prompt="Meeting with Ingrid Solberg.", offset=10.0)
    assert [c.text for c in cues] == ["send the contract", "send it too", "the invoice goes to legal"]
    assert (cues[2].start, cues[2].end) == pytest.approx((10.0 + 28.0 + 1.0, 10.0 + 28.0 + 2.45))  # in its place
    assert len(seen) == 2                                            # the sure window is not heard again
    again = seen[1]
    assert again[0] == pytest.approx(3.0)                            # the window from its seek to the end
    assert again[1]["beam_size"] == 5 and tuple(again[1]["temperature"]) == (0.0,)   # beam, no sampling
    assert again[1]["initial_prompt"] == "Meeting with Ingrid Solberg."
    assert tuple(seen[0][1]["temperature"]) == (0.0,) and not seen[0][1].get("beam_size")   # greedy, no sampling


def test_a_sure_decode_and_the_verification_model_are_heard_once(monkeypatch: pytest.MonkeyPatch) -> None:
    import whisper

    sure = [_seg(0, 1.0, 3.0, "send the contract", UNSURE_LOGPROB + 0.2)]
    fake, seen = _whisper(sure, [])
    monkeypatch.setattr(whisper, "transcribe", fake)
    assert [c.text for c in _transcriber(True).transcribe(_audio(3.0))] == ["send the contract"]
    unsure = [_seg(0, 1.0, 3.0, "send the contract", UNSURE_LOGPROB - 0.2)]
    fake, seen = _whisper(unsure, [])
    monkeypatch.setattr(whisper, "transcribe", fake)
    # another checkpoint's main hearing (the verification model's, greedy) is not heard again
    assert [c.text for c in _transcriber(False).transcribe(_audio(3.0))] == ["send the contract"]
    assert len(seen) == 1


def test_a_beam_hearing_that_loops_leaves_the_greedy_one(monkeypatch: pytest.MonkeyPatch) -> None:
    import whisper

    first = [_seg(0, 1.0, 3.0, "send the contract", UNSURE_LOGPROB - 0.3)]
    fake, seen = _whisper(first, [[_seg(0, 0.5, 3.5, "the the the the the", -0.2, ratio=9.0)]])
    monkeypatch.setattr(whisper, "transcribe", fake)
    assert [c.text for c in _transcriber(True).transcribe(_audio(3.0))] == ["send the contract"]
    assert len(seen) == 2


def test_a_beam_hearing_that_stops_short_leaves_the_greedy_one(monkeypatch: pytest.MonkeyPatch) -> None:
    import whisper

    first = [_seg(0, 1.0, 3.0, "send the contract", UNSURE_LOGPROB - 0.3),
             _seg(0, 6.0, 8.0, "to legal today", UNSURE_LOGPROB - 0.3)]
    fake, seen = _whisper(first, [[_seg(0, 1.0, 3.0, "send the contract", -0.2)]])
    monkeypatch.setattr(whisper, "transcribe", fake)
    cues = _transcriber(True).transcribe(_audio(7.0))
    assert [c.text for c in cues] == ["send the contract", "to legal today"]   # not the three words it heard
    assert len(seen) == 2


def test_neighbouring_unsure_windows_are_heard_again_as_one_piece(monkeypatch: pytest.MonkeyPatch) -> None:
    import whisper

    first = [_seg(0, 0.5, 2.0, "they didn't voice go", UNSURE_LOGPROB - 2.0, temperature=1.0),
             _seg(2.5, 3.0, 4.0, "priya not", UNSURE_LOGPROB - 1.5, temperature=1.0)]
    fake, seen = _whisper(first, [[_seg(0, 0.5, 4.0, "the invoice goes to adventure works", -0.4)]])
    monkeypatch.setattr(whisper, "transcribe", fake)
    cues = _transcriber(True).transcribe(_audio(4.0))
    assert [c.text for c in cues] == ["the invoice goes to adventure works"]
    assert len(seen) == 2 and seen[1][0] == pytest.approx(4.0)      # one piece: both windows, to the end


def test_a_window_of_no_speech_or_under_a_second_is_not_heard_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """jfk.flac, roster-primed: its last half second (silence) was heard "Thank you." at log
    probability -1.0, no-speech 0.82; beam search wrote a sentence nobody said over it."""
    import whisper

    first = [_seg(0, 0.3, 2.0, "ask what you can do", -0.15),
             _seg(2.2, 2.4, 3.4, "thank you", UNSURE_LOGPROB - 0.4, no_speech=0.82),
             _seg(3.4, 3.5, 3.9, "for", UNSURE_LOGPROB - 0.4)]
    fake, seen = _whisper(first, [])
    monkeypatch.setattr(whisper, "transcribe", fake)
    cues = _transcriber(True).transcribe(_audio(4.0))
    assert [c.text for c in cues] == ["ask what you can do", "thank you", "for"]
    assert len(seen) == 1


def test_a_decode_that_heard_nothing_is_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """A recording of tones (the video test's meeting) heard as no segment at all: the
    transcript's decode failed on it (ValueError) before this."""
    import whisper

    fake, seen = _whisper([], [])
    monkeypatch.setattr(whisper, "transcribe", fake)
    assert _transcriber(True).transcribe(_audio(3.0)) == []
    assert len(seen) == 1
