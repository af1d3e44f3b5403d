"""Verification is a second, independent hearing: the backend's `verify` decode, primed
with the roster, over the redacted audio, with the real rules deciding what must not
be heard. On fakes: the main decode and the verification decode are scripted apart,
so one mishearing is modelled exactly."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from meetguard import Guard, GuardOptions, Meeting, VerificationError
from meetguard._model import Cue
from meetguard.audio.backend import accepts_variant
from meetguard.audio.verify import verify_redacted
from meetguard.testing import FakeDetector, FakeTranscriber, MemoryAuditSink, bleep_policy, tone_wav

POLICY = bleep_policy("verify-1", ["PHONE_NUMBER", "EMAIL_ADDRESS"], operator="redact", speakers="keep",
                      participants="""\
  - id: p-alice
    names: ["Alice Martin", "Martin, Alice [NW]"]
  - id: p-carla
    names: ["Carla Nunes"]
    consent:
      summarization: {status: refused, at: 2026-11-02T09:00:00Z}
""")
PHONE = "555 0123"
SAID = f"call me on {PHONE} please"
MISHEARD = "call me on 555 O123 please"      # the main decode heard a letter O


def _wav(path: Path, seconds: float = 4.0) -> Path:
    tone_wav(path, seconds)
    return path


def _run(tmp_path: Path, main: str, heard: str) -> tuple[FakeTranscriber, MemoryAuditSink,
                                                         Guard, Meeting]:
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY, encoding="utf-8")
    transcriber = FakeTranscriber([(0.5, 3.5, main)], verify_script=[(0.5, 3.5, heard)])
    audit = MemoryAuditSink()
    guard = Guard(policy, GuardOptions(), detector=FakeDetector({PHONE: "PHONE_NUMBER"}),
                  transcriber=transcriber, audit=audit)
    meeting = Meeting.from_files(audio=_wav(tmp_path / "call.wav"), attendees=["p-alice"])
    return transcriber, audit, guard, meeting


def test_a_value_the_first_decode_misheard_fails_closed_when_the_second_hears_it(tmp_path: Path) -> None:
    transcriber, audit, guard, meeting = _run(tmp_path, MISHEARD, SAID)
    with pytest.raises(VerificationError) as err:
        guard.process_sync(meeting, "summarization", "summarizer", verify=True)
    assert "555" not in str(err.value) and "0123" not in str(err.value)
    assert "call" in str(err.value)                                   # names the recording
    (record,) = audit.records
    assert record["decision"] == "error" and record["reasons"][0].startswith("verification_failed: ")
    assert "0123" not in repr(record)
    # the main pass decoded once, greedy; verification heard the original (its values are
    # bleeped too) and the released audio with the other decode
    assert transcriber.variants == ["main", "verify", "verify"]
    _, _, verify_prompt = transcriber.calls[1]
    assert verify_prompt is not None and "Alice Martin" in verify_prompt
    assert "Carla Nunes" in verify_prompt and "[NW]" not in verify_prompt


def test_both_decodes_clean_release_verified(tmp_path: Path) -> None:
    transcriber, audit, guard, meeting = _run(tmp_path, SAID, "call me on please")
    result = guard.process_sync(meeting, "summarization", "summarizer", verify=True)
    assert result.decision == "release"
    assert "0123" not in result.text("call.transcript.vtt")
    assert transcriber.variants == ["main", "verify", "verify"]
    (audio,) = [a for a in audit.records[0]["artefacts"] if a["kind"] == "audio"]
    assert audio["verified"] is True


def test_verification_runs_even_when_the_first_pass_redacted_nothing(tmp_path: Path) -> None:
    transcriber, audit, guard, meeting = _run(tmp_path, "see you next week", "see you next week")
    result = guard.process_sync(meeting, "summarization", "summarizer", verify=True)
    # the verification decode heard the whole recording; nothing was bleeped, so the release
    # is the original's samples, judged by that hearing (not decoded a third time: grid.py)
    assert result.decision == "release" and transcriber.variants == ["main", "verify"]
    (audio,) = [a for a in audit.records[0]["artefacts"] if a["kind"] == "audio"]
    assert audio["verified"] is True
    # without verification the second decode never runs
    transcriber.variants.clear()
    guard.process_sync(meeting, "summarization", "summarizer", verify=False)
    assert transcriber.variants == ["main"]


def test_what_the_rules_keep_is_no_false_alarm_what_they_remove_is(tmp_path: Path) -> None:
    # Alice consents and speakers are kept: her name heard again is allowed.
    _, _, guard, meeting = _run(tmp_path, "thanks Alice Martin", "thanks Alice Martin")
    assert guard.process_sync(meeting, "summarization", "summarizer", verify=True).decision == "release"
    # Carla refused: her name, heard only by the second decode, must not be released.
    _, audit, guard, meeting = _run(tmp_path, "ask Carlo Nunez", "ask Carla Nunes")
    with pytest.raises(VerificationError):
        guard.process_sync(meeting, "summarization", "summarizer", verify=True)
    assert audit.records[-1]["decision"] == "error"


def test_verify_redacted_uses_the_verify_decode_and_the_detector() -> None:
    from pydub import AudioSegment

    seg = AudioSegment.silent(duration=3000, frame_rate=16000)
    tx = FakeTranscriber([(0.5, 2.0, "all clear")], verify_script=[(0.5, 2.0, "mail bo at example dot com")])
    # nothing was redacted and the detector finds nothing: released
    verify_redacted(seg, tx, [], lambda text: [], name="rec", prompt="Meeting with Bo.")
    assert tx.variants == ["verify"] and tx.calls[0][2] == "Meeting with Bo."
    # the detector (the rules' view) finds a value in the second hearing: refused
    with pytest.raises(VerificationError, match=r"^a personal value the policy removes was heard in the "
                                                r"redacted rec$"):
        verify_redacted(seg, tx, [], lambda text: ["bo@example.com"] if "example" in text else [],
                        name="rec")


def test_a_backend_older_than_variant_is_called_without_it() -> None:
    from pydub import AudioSegment

    class Legacy:
        def __init__(self) -> None:
            self.calls = 0

        def transcribe(self, samples: np.ndarray, *, prompt: str | None = None,
                       offset: float = 0.0) -> list[Cue]:
            self.calls += 1
            return FakeTranscriber([(0.5, 2.0, "call 555 0123")]).transcribe(samples, offset=offset)

        def close(self) -> None:
            pass

    legacy = Legacy()
    assert not accepts_variant(legacy) and accepts_variant(FakeTranscriber())
    seg = AudioSegment.silent(duration=3000, frame_rate=16000)
    with pytest.raises(VerificationError, match="heard again"):
        verify_redacted(seg, legacy, ["555-0123"], name="rec")  # type: ignore[arg-type]
    assert legacy.calls == 1


REAL_POLICY = POLICY.replace("entities: [PHONE_NUMBER, EMAIL_ADDRESS], operator: redact, speakers: keep",
                             "entities: [PERSON, PHONE_NUMBER, EMAIL_ADDRESS], operator: redact, "
                             "speakers: pseudonymize")


@pytest.fixture(scope="module")
def real_detector() -> Iterator[Any]:
    from meetguard.detection import Detector

    with Detector() as detector:
        yield detector


@pytest.mark.models
@pytest.mark.parametrize(("main", "heard"), [
    # tiny.en's kinds of mishearing in the main pass; the second decode hears the value
    ("Please email them at the sample dot com about the invoice.",
     "Please email John Dot Smith at example.com about the invoice."),
    ("The pack row will call the vendor.", "Deepak Rao will call the vendor."),
])
def test_the_real_detector_hears_what_the_first_decode_missed(tmp_path: Path, real_detector: Any,
                                                             main: str, heard: str) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(REAL_POLICY.replace('["Carla Nunes"]', '["Carla Nunes"]\n  - id: p-deepak\n'
                                          '    names: ["Deepak Rao"]'), encoding="utf-8")
    transcriber = FakeTranscriber([(0.5, 3.5, main)], verify_script=[(0.5, 3.5, heard)])
    guard = Guard(policy, GuardOptions(), detector=real_detector, transcriber=transcriber,
                  audit=MemoryAuditSink())
    meeting = Meeting.from_files(audio=_wav(tmp_path / "call.wav"), attendees=["p-alice"])
    with pytest.raises(VerificationError, match="heard (again )?in (the redacted )?call$"):
        guard.process_sync(meeting, "summarization", "summarizer", verify=True)
    # the converse: the second decode hears the same clean words, the audio is released
    clean = FakeTranscriber([(0.5, 3.5, main)], verify_script=[(0.5, 3.5, "about the invoice")])
    guard = Guard(policy, GuardOptions(), detector=real_detector, transcriber=clean,
                  audit=MemoryAuditSink())
    assert guard.process_sync(meeting, "summarization", "summarizer", verify=True).decision == "release"


def test_a_decode_is_bounded_by_the_length_of_what_it_hears() -> None:
    """#23: a bleeped 6 s release made base's beam search loop for 224 tokens at every
    fallback temperature and seek (over 15 minutes). The options bound it."""
    from meetguard.audio.whisper_backend import (
        MAIN_TEMPERATURES,
        TOKENS_PER_SECOND,
        VERIFY_BEAM,
        decode_options,
        sample_len_for,
    )

    short = decode_options("verify", 6.0)
    assert short["sample_len"] <= 6 * TOKENS_PER_SECOND + 16 < 224
    assert short["beam_size"] == VERIFY_BEAM and "best_of" not in short
    assert short["temperature"] == (0.0,) and len(MAIN_TEMPERATURES) == 6  # deterministic, no sampling
    assert decode_options("main", 6.0)["sample_len"] == short["sample_len"]
    assert "beam_size" not in decode_options("main", 6.0)
    assert sample_len_for(0.2) >= 16 and sample_len_for(30.0) == sample_len_for(600.0) == 224
    assert sample_len_for(10.0) > sample_len_for(5.0)


@pytest.mark.models
@pytest.mark.parametrize("retry_loops", [True, False])
def test_the_real_backend_passes_the_bound_and_refuses_a_loop(monkeypatch: pytest.MonkeyPatch,
                                                              retry_loops: bool) -> None:
    """The real openai-whisper backend hands whisper the bounded options. A verification
    decode whose beam search loops is heard again greedily; when that loops too, it fails
    closed (never an unheard release); a main decode that loops is a transcript as it is."""
    import whisper

    from meetguard.audio.transcriber import get_transcriber

    seen: list[dict[str, Any]] = []

    def result(ratio: float, word: str) -> dict[str, Any]:
        return {"segments": [{"compression_ratio": ratio, "words": [
            {"word": f" {word}", "start": 0.0, "end": 0.5, "probability": 0.2}]}]}

    def fake(model: Any, audio: Any, **kwargs: Any) -> dict[str, Any]:
        seen.append(kwargs)
        if kwargs.get("beam_size") or retry_loops:
            return result(4.1, "bleep")
        return result(1.2, "heard")

    transcriber = get_transcriber("openai-whisper", "tiny.en")
    monkeypatch.setattr(whisper, "transcribe", fake)
    samples = np.zeros(16000 * 4, dtype=np.float32)
    if retry_loops:
        with pytest.raises(VerificationError, match="repetition loop"):
            transcriber.transcribe(samples, variant="verify")
    else:
        assert [c.text.strip() for c in transcriber.transcribe(samples, variant="verify")] == ["heard"]
    beam, greedy = seen
    assert beam["beam_size"] == 5 and beam["compression_ratio_threshold"] == 2.4
    assert beam["sample_len"] <= 4 * 8 + 16 and greedy["sample_len"] == beam["sample_len"]
    assert "beam_size" not in greedy and greedy["temperature"] == (0.0,)
    seen.clear()
    assert [c.text.strip() for c in transcriber.transcribe(samples)] == ["bleep" if retry_loops else "heard"]
    assert len(seen) == 1 and seen[0]["sample_len"] == beam["sample_len"]
