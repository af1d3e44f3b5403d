"""The faster-whisper plugin: found by entry point, offline, word-timed cues."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from meetguard import ModelUnavailable
from meetguard._plugins import find
from meetguard.audio.decode import iter_chunks
from meetguard.audio.transcriber import Transcriber, get_transcriber

# ../shared beside the checkout (../../shared from a worktree in wt/NAME); may be absent.
_REPO = Path(__file__).resolve().parents[3]
JFK = next((p for p in (_REPO.parent / "shared", _REPO.parent.parent / "shared")
            if (p / "data" / "audio" / "jfk.flac").is_file()), _REPO.parent / "shared") / "data" / "audio" / "jfk.flac"
REF = ["and", "so", "my", "fellow", "americans", "ask", "not", "what", "your", "country", "can", "do", "for", "you", "ask", "what", "you", "can", "do", "for", "your", "country"]


def test_entry_point_is_registered_without_importing() -> None:
    found = {p.name: p for p in find("meetguard.transcribers")}
    assert found["faster-whisper"].value == "meetguard_faster_whisper:create"


def test_unknown_model_is_unavailable(tmp_path: Path) -> None:
    from meetguard_faster_whisper import resolve_directory

    with pytest.raises(ModelUnavailable, match="model not available offline: base.en"):
        resolve_directory("base.en")
    with pytest.raises(ModelUnavailable):
        resolve_directory(str(tmp_path))  # a folder without model.bin


@pytest.fixture(scope="session")
def fw() -> Iterator[Transcriber]:
    tx = get_transcriber("faster-whisper", "tiny.en")
    yield tx
    tx.close()


@pytest.mark.models
@pytest.mark.skipif(not JFK.is_file(), reason="shared data (../shared) is not beside this checkout")
def test_transcribes_jfk_with_timed_words(fw: Transcriber) -> None:
    samples = np.concatenate(list(iter_chunks(JFK)))
    cues = fw.transcribe(samples, offset=5.0)
    hyp = re.findall(r"[a-z']+", " ".join(c.text for c in cues).lower())
    errors = sum(a != b for a, b in zip(REF, hyp)) + abs(len(REF) - len(hyp))
    assert errors / len(REF) <= 0.10
    words = [w for c in cues for w in c.words]
    assert words[0].start >= 5.0 and words[-1].end <= 16.05
    assert all(a.start <= b.start for a, b in itertools.pairwise(words))
    for cue in cues:
        assert [cue.text[s:e] for s, e in cue.word_offsets()] == [w.text for w in cue.words]
        assert cue.speaker is None


def test_the_plugin_offers_the_independent_verification_decode() -> None:
    from meetguard_faster_whisper import FasterWhisperTranscriber

    from meetguard.audio.backend import accepts_variant

    assert accepts_variant(FasterWhisperTranscriber)


@pytest.mark.models
@pytest.mark.skipif(not JFK.is_file(), reason="shared data (../shared) is not beside this checkout")
def test_the_verification_decode_hears_jfk_too(fw: Transcriber) -> None:
    samples = np.concatenate(list(iter_chunks(JFK)))
    cues = fw.transcribe(samples, variant="verify")       # greedy, where the main decode is beam 5
    hyp = re.findall(r"[a-z']+", " ".join(c.text for c in cues).lower())
    errors = sum(a != b for a, b in zip(REF, hyp)) + abs(len(REF) - len(hyp))
    assert errors / len(REF) <= 0.15


def test_every_decode_is_capped_like_the_builtin_backend() -> None:
    from meetguard_faster_whisper import MAX_LENGTH, max_new_tokens

    from meetguard.plugin_api import sample_len_for

    for seconds in (0.1, 1.0, 4.8, 11.0, 20.0):
        assert max_new_tokens(seconds) == sample_len_for(seconds) < MAX_LENGTH // 2
    assert max_new_tokens(1.0) < max_new_tokens(4.8) < max_new_tokens(11.0)
    # a whole window: room is left for the longest prompt faster-whisper keeps (223 tokens)
    assert max_new_tokens(30.0) == max_new_tokens(600.0) <= MAX_LENGTH - 1 - 223 - 3


@pytest.mark.models
@pytest.mark.skipif(not JFK.is_file(), reason="shared data (../shared) is not beside this checkout")
def test_decodes_are_bounded_by_the_audio_length(fw: Transcriber, monkeypatch: pytest.MonkeyPatch) -> None:
    """The real model is asked for at most sample_len_for(seconds) new tokens (a loop stops
    there), the whole of jfk still fits, and a window with the longest prompt still decodes
    (faster-whisper refuses a prompt plus max_new_tokens over 448)."""
    from meetguard_faster_whisper import max_new_tokens

    model = fw._model  # type: ignore[attr-defined]
    asked: list[int] = []
    real = model.transcribe

    def spy(audio: np.ndarray, **kw: object) -> object:
        asked.append(int(kw["max_new_tokens"]))  # type: ignore[call-overload]
        return real(audio, **kw)

    monkeypatch.setattr(model, "transcribe", spy)
    samples = np.concatenate(list(iter_chunks(JFK)))
    for variant in ("main", "verify"):
        cues = fw.transcribe(samples, variant=variant)  # type: ignore[arg-type]
        hyp = re.findall(r"[a-z']+", " ".join(c.text for c in cues).lower())
        assert len(hyp) >= len(REF) - 2
    assert asked == [max_new_tokens(len(samples) / 16000)] * 2
    window = np.tile(samples, 3)[: 30 * 16000]
    long_prompt = "Meeting with " + ", ".join(f"Person{k} Surname{k}" for k in range(120)) + "."
    assert fw.transcribe(window, prompt=long_prompt)
    assert asked[-1] == max_new_tokens(30.0)
