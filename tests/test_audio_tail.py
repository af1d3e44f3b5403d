"""A decode that ends seconds before its audio does, with speech still to come, hears the
rest again (#23, audio/whisper_backend.unheard_tail). whisper's transcribe reads a pass ending
on a single timestamp as "no speech after it": on the 10-minute bench recording tiny.en and
base, roster-primed, both stopped 15.6 s early in two windows, so two cards read there were
never heard, bleeped or redacted, and only the release's check caught them. Fakes only: a
scripted ``whisper.transcribe`` and a transcriber with no weights loaded."""

from __future__ import annotations

import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from meetguard.audio.whisper_backend import TAIL, WhisperTranscriber, unheard_tail

RATE = 16000


def _transcriber() -> WhisperTranscriber:
    tx = WhisperTranscriber.__new__(WhisperTranscriber)
    tx.model_path, tx.english_only, tx._lock, tx.transcript = Path("fake"), True, threading.Lock(), False
    tx._model = SimpleNamespace(dims=SimpleNamespace(n_text_ctx=448), is_multilingual=False)
    return tx


def _speech(seconds: float, level: float = 0.1, seed: int = 5) -> np.ndarray:
    return np.random.default_rng(seed).normal(0, level, int(seconds * RATE)).astype(np.float32)


def _heard_until(*ends: float) -> Any:
    """A whisper whose pass over each piece, by its length in order, ends at ``ends[k]`` s
    (one word from 0.5 s to there), and the pieces it was given with their options."""
    seen: list[tuple[float, dict[str, Any]]] = []

    def fake(model: Any, audio: Any, **kwargs: Any) -> dict[str, Any]:
        end = ends[len(seen)]
        seen.append((len(audio) / RATE, kwargs))
        return {"segments": [{"compression_ratio": 1.2, "text": " word", "tokens": [1, 2], "words": [
            {"word": " word", "start": min(0.5, end / 2), "end": end, "probability": 0.9}]}]}

    return fake, seen


@pytest.mark.parametrize("variant", ["main", "verify"])
def test_the_rest_of_a_window_a_decode_left_unheard_is_heard_again(
        monkeypatch: pytest.MonkeyPatch, variant: Any) -> None:
    import whisper

    fake, seen = _heard_until(5.0, 14.9)
    monkeypatch.setattr(whisper, "transcribe", fake)
    cues = _transcriber().transcribe(_speech(20.0), offset=100.0, variant=variant)
    assert [round(s, 1) for s, _ in seen] == [20.0, 15.0]          # the rest from the last word's end
    assert [(c.start, c.end) for c in cues] == [(100.5, 105.0), (105.5, 119.9)]   # at its own offset
    assert (seen[1][1].get("beam_size") is not None) == (variant == "verify")    # by the same search


def test_a_decode_that_heard_all_there_is_is_not_repeated(monkeypatch: pytest.MonkeyPatch) -> None:
    import whisper

    audio = _speech(20.0)
    audio[int(6.0 * RATE):] = 0.0                                   # silence after the speech
    fake, seen = _heard_until(5.8)
    monkeypatch.setattr(whisper, "transcribe", fake)
    _transcriber().transcribe(audio)
    assert len(seen) == 1
    hum = audio.copy()
    hum[int(6.0 * RATE):] = _speech(14.0, level=0.003, seed=9)      # room noise at -30 dB of the speech
    assert unheard_tail(hum, [{"words": [{"end": 5.8}]}]) is None
    speech = audio.copy()
    speech[int(6.0 * RATE):] = _speech(14.0, seed=9)                # speech again
    assert unheard_tail(speech, [{"words": [{"end": 5.8}]}]) == int(5.8 * RATE)
    short = _speech(5.8 + TAIL - 0.1)                                # less than TAIL left: not worth a decode
    assert unheard_tail(short, [{"words": [{"end": 5.8}]}]) is None
    assert unheard_tail(speech, [{"words": []}]) is None             # heard nothing: nothing to go on from
