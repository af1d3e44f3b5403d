"""Audio through the whole guard with the real models: committed speech clips and jfk.flac.

The clips (tests/fixtures/speech, what each says in clips.txt) were made with piper-tts by
make_speech.py there, so no TTS is needed here."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from meetguard import Guard, GuardOptions, Meeting, VerificationError
from meetguard.audio.decode import load, to_whisper_input
from meetguard.audio.transcriber import get_transcriber
from meetguard.audio.verify import verify_redacted

from .conftest import FFMPEG, JFK, SAMPLES, SPEECH, require_shared

require_shared()

pytestmark = pytest.mark.models

AT = datetime(2026, 11, 28, 12, tzinfo=UTC)
JFK_REF = ("and so my fellow americans ask not what your country can do for you "
           "ask what you can do for your country")


@pytest.fixture(scope="module")
def guard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Guard]:
    audit = tmp_path_factory.mktemp("audit") / "audit.jsonl"
    g = Guard.from_policy(SAMPLES / "policy.yaml", GuardOptions(audit_path=audit))
    yield g
    g.close()


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower())


def wer(ref: str, hyp: str) -> float:
    r, h = words(ref), words(hyp)
    d = np.zeros((len(r) + 1, len(h) + 1), dtype=int)
    d[:, 0] = range(len(r) + 1)
    d[0, :] = range(len(h) + 1)
    for i in range(1, len(r) + 1):
        for j in range(1, len(h) + 1):
            d[i, j] = min(d[i - 1, j] + 1, d[i, j - 1] + 1, d[i - 1, j - 1] + (r[i - 1] != h[j - 1]))
    return float(d[len(r), len(h)]) / len(r)


def speak(path: Path, clip: str) -> Path:
    """The committed clip ``clip`` (16 kHz mono FLAC) copied to ``path``."""
    shutil.copyfile(SPEECH / f"{clip}.flac", path)
    return path


def transcript_text(outputs: dict[str, bytes], stem: str) -> str:
    data = json.loads(outputs[f"{stem}.transcript.json"])
    return " ".join(item["text"] for item in data["items"])


def rules_check(guard: Guard) -> tuple[Callable[[str], list[str]], str]:
    """What the pipeline's verification checks for the sample policy's summarization
    (the real detector; what its rules remove), and the roster prompt it primes with."""
    from meetguard.detection import TextUnit
    from meetguard.pipeline import build_roster, verify_prompt
    from meetguard.redaction import make_operator
    from meetguard.redaction.text import RedactionRules, rules_redact

    spec = guard.policy.purposes["summarization"]
    rules = RedactionRules(spec.redact.entities, make_operator(spec.redact.operator, None),
                           spec.redact.speakers == "pseudonymize", frozenset(), {})
    roster = build_roster(guard.policy, {})
    detector = guard.backends.detector()

    def heard(text: str) -> list[str]:
        return [f.normalized for f in detector.detect([TextUnit(text, True)], roster)[0]
                if rules_redact(rules, f)]

    return heard, verify_prompt(roster)


def assert_independently_verified(guard: Guard, original: Path, stem: str) -> None:
    """The release was verified (the audit says so), and the same independent check over
    the original recording fails closed: verification hears what redaction removed."""
    record = json.loads(Path(guard.options.audit_path or "").read_text().splitlines()[-1])
    (audio,) = [a for a in record["artefacts"] if a["kind"] == "audio"]
    assert audio["verified"] is True
    heard, prompt = rules_check(guard)
    with pytest.raises(VerificationError, match=f"policy removes was heard in the redacted {stem}$"):
        verify_redacted(original, guard.backends.transcriber(), [], heard, name=stem, prompt=prompt)


def test_jfk_transcript_close_and_audio_unchanged(guard: Guard) -> None:
    meeting = Meeting.from_files(audio=JFK, attendees=["p-alice"])
    result = guard.process_sync(meeting, "summarization", "summarizer", AT)
    assert result.decision == "release"
    assert wer(JFK_REF, transcript_text(dict(result.outputs), "jfk")) <= 0.10
    vtt = result.text("jfk.transcript.vtt")
    assert vtt.startswith("WEBVTT")
    out_wav = Path("jfk.redacted.wav")
    out_wav.write_bytes(result.outputs["jfk.redacted.wav"])
    original, released = load(JFK), load(out_wav)
    # PCM16 at the input's own rate and channels (jfk.flac is 44.1 kHz stereo, 24 bit)
    assert (released.frame_rate, released.channels, released.sample_width) == (
        original.frame_rate, original.channels, 2)
    assert np.array_equal(np.array(original.set_sample_width(2).get_array_of_samples()),
                          np.array(released.get_array_of_samples()))


def test_spoken_pii_is_gone_from_transcript_and_sound(guard: Guard, tmp_path: Path) -> None:
    wav = speak(tmp_path / "call.flac", "call")
    m4a = tmp_path / "call.m4a"
    subprocess.run([FFMPEG, "-loglevel", "error", "-i", str(wav), "-c:a", "aac", str(m4a)], check=True)
    meeting = Meeting.from_files(audio=m4a, attendees=["p-alice"])
    result = guard.process_sync(meeting, "summarization", "summarizer", AT, verify=True)
    assert result.decision == "release"
    text = transcript_text(dict(result.outputs), "call")
    flat = re.sub(r"\D", "", re.sub(r"<[A-Z_]+_\d+>", "", text))
    assert "5551234567" not in flat and "1234567" not in flat
    assert "deepak" not in text.lower() and "rao" not in words(text)
    for ordinary in ("review", "vendor", "everyone", "week"):
        assert ordinary in words(text), ordinary
    assert result.entity_counts.get("PHONE_NUMBER", 0) >= 1
    # re-transcribe what was released: the number and the name do not come back
    released = tmp_path / "released.wav"
    released.write_bytes(result.outputs["call.redacted.wav"])
    transcriber = get_transcriber("openai-whisper", "tiny.en")
    heard = " ".join(c.text for c in transcriber.transcribe(to_whisper_input(load(released))))
    assert "1234567" not in re.sub(r"\D", "", heard)
    assert "deepak" not in heard.lower()
    assert "week" in words(heard)
    assert_independently_verified(guard, wav, "call")


def test_spoken_card_number_and_email_are_gone(guard: Guard, tmp_path: Path) -> None:
    wav = speak(tmp_path / "billing.flac", "billing")
    meeting = Meeting.from_files(audio=wav, attendees=["p-alice"])
    result = guard.process_sync(meeting, "summarization", "summarizer", AT, verify=True)
    assert result.decision == "release"
    text = transcript_text(dict(result.outputs), "billing")
    digits = re.sub(r"\D", "", re.sub(r"<[A-Z_]+_\d+>", "", text))
    assert "1111111" not in digits and "4111" not in digits
    assert "john" not in text.lower() and "smith" not in text.lower()
    for ordinary in ("review", "invoice", "week"):
        assert ordinary in words(text), ordinary
    assert_independently_verified(guard, wav, "billing")


def test_tracks_are_named_by_participant_and_excluded_ones_dropped(guard: Guard, tmp_path: Path) -> None:
    alice = speak(tmp_path / "Audio only - Alice Martin.flac", "alice_track")
    carla = speak(tmp_path / "Audio only - Carla Nunes.flac", "carla_track")
    meeting = Meeting.from_files(tracks={"p-alice": alice, "p-carla": carla})
    result = guard.process_sync(meeting, "summarization", "summarizer", AT)
    assert result.decision == "partial"
    assert result.excluded_participants == ("p-carla",)
    assert set(result.outputs) == {"p-alice.transcript.vtt", "p-alice.transcript.json",
                                   "p-alice.redacted.wav"}
    assert "forecast" in words(transcript_text(dict(result.outputs), "p-alice"))
    vtt = result.text("p-alice.transcript.vtt")
    assert "<v PERSON_1>" in vtt and "Alice" not in vtt


def test_mixed_audio_with_a_non_consenting_attendee_is_not_released(guard: Guard, tmp_path: Path) -> None:
    wav = speak(tmp_path / "mixed.flac", "mixed")
    meeting = Meeting.from_files(audio=wav, attendees=["p-alice", "p-carla"])
    result = guard.process_sync(meeting, "summarization", "summarizer", AT)
    assert result.decision == "deny"
    assert result.outputs == {}
    assert any("mixed" in r or "attribut" in r for r in result.reasons)


def test_training_drops_audio_but_releases_transcript(guard: Guard, tmp_path: Path) -> None:
    wav = speak(tmp_path / "train.flac", "train")
    meeting = Meeting.from_files(audio=wav, attendees=["p-alice"])
    result = guard.process_sync(meeting, "training", None, AT)
    assert result.decision == "release"
    assert set(result.outputs) == {"train.transcript.vtt", "train.transcript.json"}
