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
