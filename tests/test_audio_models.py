"""Real Whisper: the converted tiny.en checkpoint, word timing, bleeps, verification."""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from meetguard import ModelUnavailable, VerificationError
from meetguard._model import AudioInput, Cue, Finding
from meetguard.audio import models
from meetguard.audio.decode import iter_chunks, load, to_whisper_input
from meetguard.audio.transcribe import transcribe_audio
from meetguard.audio.verify import verify_redacted
from meetguard.audio.whisper_backend import WhisperTranscriber
from meetguard.redaction.audio import apply, windows_for

from .conftest import JFK, SPEECH, require_shared

require_shared()

JFK_TEXT = ("And so my fellow Americans, ask not what your country can do for you, "
            "ask what you can do for your country.")


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower())


def wer(ref: str, hyp: str) -> float:
    r, h = words(ref), words(hyp)
    d = list(range(len(h) + 1))
    for i, rw in enumerate(r, 1):
        prev, d[0] = d[0], i
        for j, hw in enumerate(h, 1):
            prev, d[j] = d[j], min(d[j] + 1, d[j - 1] + 1, prev + (rw != hw))
    return d[len(h)] / len(r)


@pytest.fixture(scope="session")
def converted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tiny.en converted from the embedded CTranslate2 model into a fresh cache."""
    mp = pytest.MonkeyPatch()
    mp.setenv("MEETGUARD_CACHE", str(tmp_path_factory.mktemp("mgcache")))
    try:
        return models.embedded_default()
    finally:
        mp.undo()


@pytest.fixture(scope="session")
def whisper_tx(converted: Path) -> Iterator[WhisperTranscriber]:
    tx = WhisperTranscriber(converted)
    yield tx
    tx.close()


def test_wer_helper() -> None:
    assert wer("a b c d", "a b x d") == 0.25 and wer("a b", "a b") == 0.0


def test_unknown_model_is_unavailable_offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEETGUARD_CACHE", str(tmp_path))
    with pytest.raises(ModelUnavailable, match="model not available offline: large-v9"):
        models.resolve_model("large-v9")
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "base.en.pt").write_bytes(b"x")
    assert models.resolve_model("base.en") == tmp_path / "models" / "base.en.pt"
    assert models.resolve_model(str(JFK)) == JFK


def test_sha_mismatch_of_the_embedded_model_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEETGUARD_CACHE", str(tmp_path))
    with pytest.raises(ModelUnavailable, match="SHA-256"):
        models.embedded_default(expected_sha256="0" * 64)
    assert not (tmp_path / "models" / "tiny.en.pt").exists()


def test_tampered_source_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = tmp_path / "ct2"
    src.mkdir()
    (src / "model.bin").write_bytes(b"not the pinned model")
    (src / "config.json").write_text("{}")
    monkeypatch.setenv("MEETGUARD_CACHE", str(tmp_path / "cache"))
    with pytest.raises(ModelUnavailable, match="pinned SHA-256"):
        models.embedded_default(src)


def test_tampered_checkpoint_is_refused(tmp_path: Path) -> None:
    ckpt = tmp_path / "m.pt"
    ckpt.write_bytes(b"weights")
    (tmp_path / "m.pt.json").write_text(json.dumps({"sha256": "0" * 64}))
    with pytest.raises(ModelUnavailable, match="recorded SHA-256"):
        models.checkpoint_file(ckpt)


def test_fetch_offline_fails_in_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import urllib.request

    def offline(*args: object, **kwargs: object) -> None:
        raise OSError("network unreachable")

    monkeypatch.setenv("MEETGUARD_CACHE", str(tmp_path))
    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(ModelUnavailable, match="model not available offline: base.en"):
        models.fetch("base.en")
    with pytest.raises(ModelUnavailable, match="unknown"):
        models.fetch("no-such-model")
    assert not list((tmp_path / "models").glob("*.pt"))


@pytest.mark.models
def test_conversion_is_cached_with_its_hash_and_heads(converted: Path) -> None:
    meta = json.loads(converted.with_name(converted.name + ".json").read_text())
    assert meta["sha256"] == models.sha256_file(converted)
    assert meta["source_sha256"] == models.EMBEDDED_SHA256
    assert meta["alignment_heads"] and all(len(h) == 2 for h in meta["alignment_heads"])
    import torch

    ckpt = torch.load(converted, weights_only=True)
    assert set(ckpt) == {"dims", "model_state_dict"}
    assert ckpt["dims"]["n_vocab"] == 51864 and ckpt["dims"]["n_text_layer"] == 4


@pytest.mark.models
def test_converted_checkpoint_transcribes_jfk(whisper_tx: WhisperTranscriber) -> None:
    samples = np.concatenate(list(iter_chunks(JFK)))
    cues = whisper_tx.transcribe(samples, offset=2.0)
    text = " ".join(c.text for c in cues)
    assert wer(JFK_TEXT, text) <= 0.10
    all_words = [w for c in cues for w in c.words]
    assert all_words[0].start >= 2.0 and all_words[-1].end <= 2.0 + 11.0 + 0.05
    assert all(a.start <= b.start for a, b in itertools.pairwise(all_words))
    for cue in cues:  # the cue text is built from its words
        spans = cue.word_offsets()
        assert [cue.text[s:e] for s, e in spans] == [w.text for w in cue.words]


@pytest.mark.models
def test_alignment_heads_are_the_models_own(whisper_tx: WhisperTranscriber) -> None:
    heads = whisper_tx._model.alignment_heads.to_dense()
    assert int(heads.sum()) == 8 and bool(heads[1, 0]) and not bool(heads[0, 0])


# --- synthetic speech with a layout we control ------------------------------------

# layout.flac (tests/fixtures/speech/clips.txt): three sentences 1.5 s apart, a spoken
# number in the middle ("Five, five, five. One, two, three, four.").


def speech_regions(samples: np.ndarray) -> list[tuple[float, float]]:
    """Runs of non-silent 20 ms frames, joined across gaps under 0.5 s."""
    frames = samples[: len(samples) // 320 * 320].reshape(-1, 320)
    loud = (frames.astype(np.float64) ** 2).mean(axis=1) > 1e-6
    regions: list[tuple[float, float]] = []
    for i, on in enumerate(loud):
        t = i * 0.02
        if on:
            if regions and t - regions[-1][1] < 0.5:
                regions[-1] = (regions[-1][0], t + 0.02)
            else:
                regions.append((t, t + 0.02))
    return regions


@pytest.fixture(scope="module")
def layout() -> Path:
    return SPEECH / "layout.flac"


@pytest.fixture(scope="module")
def layout_transcript(layout: Path, whisper_tx: WhisperTranscriber) -> list[Cue]:
    doc = transcribe_audio(AudioInput(layout, None, "call"), whisper_tx, None)
    return [c for c in doc.items if isinstance(c, Cue)]


def digit_findings(cues: list[Cue]) -> list[list[Finding]]:
    out: list[list[Finding]] = []
    for cue in cues:
        out.append([Finding(m.start(), m.end(), "PHONE_NUMBER", 0.9, re.sub(r"\D", "", m.group()))
                    for m in re.finditer(r"\d(?:[\s,.\-]*\d)+", cue.text)])
    return out


@pytest.mark.models
def test_speech_words_are_timed_in_order(layout: Path, layout_transcript: list[Cue]) -> None:
    total = len(np.concatenate(list(iter_chunks(layout)))) / 16000
    ws = [w for c in layout_transcript for w in c.words]
    assert len(ws) >= 10
    assert all(0.0 <= w.start <= w.end <= total + 0.05 for w in ws)
    assert all(a.start <= b.start for a, b in itertools.pairwise(ws))
    text = " ".join(c.text for c in layout_transcript).lower()
    assert "hello" in text and "thank you" in text


@pytest.mark.models
def test_bleep_lands_on_the_number_and_verification_passes(layout: Path, layout_transcript: list[Cue],
                                                           whisper_tx: WhisperTranscriber) -> None:
    seg = load(layout)
    regions = speech_regions(to_whisper_input(seg))
    assert len(regions) == 3, regions
    (_, first_end), (num_start, num_end), (last_start, _) = regions
    findings = digit_findings(layout_transcript)
    assert sum(map(len, findings)) >= 1, "the number was not transcribed as digits"
    wins = windows_for(layout_transcript, findings, duration=len(seg) / 1000)
    assert len(wins) == 1
    start, end = wins[0]
    # The window covers most of the spoken number and stays clear of the
    # sentences before and after it.
    covered = max(0.0, min(end, num_end) - max(start, num_start))
    assert covered >= 0.8 * (num_end - num_start), (wins, regions)
    assert start >= first_end and end <= last_start, (wins, regions)

    redacted = apply(seg, wins, "bleep")
    assert (redacted.frame_rate, redacted.channels) == (seg.frame_rate, seg.channels)
    values = [f.normalized for fs in findings for f in fs]
    verify_redacted(redacted, whisper_tx, values, name="call")  # no digits come back
    heard = " ".join(c.text for c in whisper_tx.transcribe(to_whisper_input(redacted))).lower()
    assert "hello" in heard and "thank you" in heard
    assert not re.search(r"555|1234", heard)
    with pytest.raises(VerificationError, match="heard again in call$"):
        verify_redacted(seg, whisper_tx, values, name="call")  # the original still says it


@pytest.mark.models
def test_a_sampled_fallback_hears_the_same_words_every_run(whisper_tx: WhisperTranscriber) -> None:
    """Whisper's fallback temperatures sample; each decode draws from a generator seeded the
    same way (whisper_backend.SEED), so one recording is heard alike run after run, whatever
    the caller's random state, and that state is left as it was."""
    import torch

    audio = to_whisper_input(load(JFK))[: 16000 * 5]
    search = {"temperature": (1.0,), "sample_len": 48}   # sampling only: no greedy pass to fall back from
    heard = []
    for draws in (0, 1000):
        torch.rand(draws)                                # the caller's generator moved on between runs
        before = torch.get_rng_state()
        heard.append([s["text"] for s in whisper_tx._decode(audio, None, None, search)])
        assert torch.equal(torch.get_rng_state(), before)
    assert heard[0] == heard[1] and any(t.strip() for t in heard[0])
