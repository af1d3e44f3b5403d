"""No personal value audible after release (#23), on the committed leak corpus.

The clips (tests/fixtures/speech/leaks: piper, espeak-ng and Kokoro voices; what each
says, its values and its words to keep in manifest.json) go through the whole guard
with the real models: tiny.en transcribes, the multilingual base hears the original and
the release again. The three sentences of the issue run here, in a neural voice
(piper) and a formant one (espeak-ng en-us) (CI time);
benchmarks/bench_audio_leaks.py runs all the clips. Each release must give
away no piece of a value, in its transcript or in its sound heard again by tiny.en
primed with the roster, and keep the ordinary words.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from meetguard import Guard, MeetguardError, Meeting, VerificationError

from .conftest import warm_guard

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from bench_audio_leaks import CORPUS, corpus_policy, heard_parts, keep_lost

pytestmark = pytest.mark.models

AT = datetime(2026, 12, 1, 12, tzinfo=UTC)
MANIFEST = json.loads((CORPUS / "manifest.json").read_text("utf-8"))
CLIPS = {c["file"]: c for c in MANIFEST["clips"]}
CHOSEN = [f"{w}__{v}.flac" for w in ("email_ingrid", "email_rohan", "phone_direct")
          for v in ("piper-joe", "espeak-us")]


@pytest.fixture(scope="module")
def guard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Guard]:
    work = tmp_path_factory.mktemp("leaks")
    (work / "policy.yaml").write_text(corpus_policy(MANIFEST), encoding="utf-8")
    yield from warm_guard(work / "policy.yaml", work)


@pytest.fixture(scope="module")
def ear(guard: Guard) -> Any:
    """tiny.en primed with the roster: hears the released audio again."""
    from meetguard.audio.transcriber import get_transcriber
    from meetguard.pipeline import build_roster, verify_prompt

    return get_transcriber("openai-whisper", "tiny.en"), verify_prompt(build_roster(guard.policy, {}))


def _hear(ear: Any, wav: bytes, path: Path) -> str:
    from meetguard.audio.decode import load, to_whisper_input

    path.write_bytes(wav)
    transcriber, prompt = ear
    return " ".join(c.text for c in transcriber.transcribe(to_whisper_input(load(path)), prompt=prompt))


def _meeting(name: str) -> Meeting:
    return Meeting.from_files(audio=CORPUS / name, attendees=[m["id"] for m in MANIFEST["roster"]])


def _released_transcript(result: Any, ear: Any, name: str, tmp_path: Path) -> str:
    """The released transcript of clip ``name``, once it is asserted that the guard released
    it and that neither that transcript nor the released sound, heard again by ``ear``, holds
    a piece of any of the clip's values."""
    stem = Path(name).stem
    assert result.decision == "release"
    items = json.loads(result.outputs[f"{stem}.transcript.json"])["items"]
    transcript = " ".join(item["text"] for item in items)
    heard = _hear(ear, bytes(result.outputs[f"{stem}.redacted.wav"]), tmp_path / "released.wav")
    for value in CLIPS[name]["values"]:
        assert not heard_parts(value, transcript), (stem, "transcript", value["type"])
        assert not heard_parts(value, heard), (stem, "audio", value["type"])
    return transcript


def test_the_corpus_is_what_the_issue_asks() -> None:
    clips = MANIFEST["clips"]
    assert len([c for c in clips if not c["held_out"]]) >= 40
    held_voices = set(MANIFEST["held_out_voices"])
    assert held_voices and all(c["held_out"] for c in clips if c["voice"] in held_voices)
    assert len([c for c in clips if c["held_out"]]) >= 20
    assert len({c["voice"] for c in clips}) >= 6
    engines = {MANIFEST["voices"][c["voice"]]["engine"] for c in clips}
    assert engines == {"piper", "espeak", "kokoro"}
    for clip in clips:
        assert (CORPUS / clip["file"]).is_file() and clip["values"] and clip["keep"]
    assert sum(1 for f in CLIPS if f.startswith("email_ingrid__")) == len(MANIFEST["voices"])


@pytest.mark.parametrize("name", CHOSEN)
def test_nothing_of_a_value_is_released(guard: Guard, ear: Any, tmp_path: Path, name: str) -> None:
    stem = Path(name).stem
    try:
        result = guard.process_sync(_meeting(name), "summarization", "summarizer", AT, verify=True)
    except VerificationError:
        pytest.fail(f"{stem}: refused where it should be released whole")
    except MeetguardError as exc:
        pytest.fail(f"{stem}: {exc.code}")
    transcript = _released_transcript(result, ear, name, tmp_path)
    assert keep_lost(CLIPS[name]["keep"], transcript) <= 0.5, stem


def test_a_release_the_independent_model_still_hears_a_value_in_is_refused(
        guard: Guard, monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail closed, with the real models: the bleeps miss (the windows are lost on the way
    to the writer, as a placement bug would lose them), so the dictated address is still
    in the released sound. base, hearing the release again, hears it: nothing is released,
    and the audit says why without the value."""
    import meetguard.redaction.audio_stream as stream

    name = "email_ingrid__piper-joe.flac"
    real = stream.redact_to_wav
    missed: list[object] = []

    def bleeps_missed(path: Path, windows: Any, *args: Any, **kwargs: Any) -> Any:
        missed.append(list(windows))
        return real(path, [], *args, **kwargs)

    monkeypatch.setattr(stream, "redact_to_wav", bleeps_missed)
    audit = guard.audit_path
    before = audit.read_text("utf-8").count("\n") if audit.exists() else 0
    meeting = _meeting(name)
    with pytest.raises(VerificationError, match=r"heard (again )?in (the redacted )?email_ingrid__piper-joe$"):
        guard.process_sync(meeting, "summarization", "summarizer", AT, verify=True)
    assert missed and missed[0], "the guard meant to bleep the address"
    (record,) = [json.loads(line) for line in audit.read_text("utf-8").splitlines()[before:]]
    assert record["decision"] == "error" and record["reasons"][0].startswith("verification_failed: ")
    assert not {"solberg", "litware"} & set(re.findall(r"[a-z]+", json.dumps(record).lower()))
    assert not record.get("artefacts")
    # the same clip with its bleeps in place is released (test_nothing_of_a_value_is_released)


def _released_or_refused(guard: Guard, ear: Any, name: str, tmp_path: Path) -> None:
    """Guard clip ``name`` with verification: refused (``VerificationError``), or released
    with the checks of :func:`_released_transcript` holding."""
    try:
        result = guard.process_sync(_meeting(name), "summarization", "summarizer", AT, verify=True)
    except VerificationError:
        return
    _released_transcript(result, ear, name, tmp_path)

def test_a_release_whose_hearing_looped_is_decided(guard: Guard, ear: Any, tmp_path: Path) -> None:
    """#23: this clip's bleeped release sent base's beam search into a repetition loop (224
    tokens at every fallback temperature and seek: the guard ran over 15 minutes). Every
    decode is now bounded by the length of what it hears; the guard decides: released with
    nothing of the address, or refused (verification_failed), never released unheard."""
    _released_or_refused(guard, ear, "email_single__espeak-us-f3.flac", tmp_path)


def test_words_only_the_primed_verification_heard_as_a_name_are_kept(guard: Guard, ear: Any,
                                                                     tmp_path: Path) -> None:
    """#23 (audio/disputes.py): base, primed with the roster, hears this clip's "will call the
    vendor tomorrow" as "with Kodavendra Tamarau", a PERSON; tiny.en heard ordinary words
    there. base heard again without the prompt hears no name, so those words are neither
    bleeped nor taken from the transcript; Deepak Rao is still removed from both."""
    name = "name_deepak__kokoro-alpha.flac"
    result = guard.process_sync(_meeting(name), "summarization", "summarizer", AT, verify=True)
    transcript = _released_transcript(result, ear, name, tmp_path)
    assert keep_lost(CLIPS[name]["keep"], transcript) == 0, transcript


def test_a_value_both_decodes_garble_is_not_released(guard: Guard, ear: Any, tmp_path: Path) -> None:
    """#23 (audio/unsure.py): tiny.en and base both garble this clip's dictated email ("...
    goes to R01 for Ingridorted numbers..", "go to Ardya not for a matter of adventure work
    started mumble."; tiny.en's sampled fallback differs from run to run), so neither finds an
    email; the words they were unsure of after "to" are bleeped and gone from the transcript.
    Released with nothing of the address in the transcript or heard again, or refused."""
    _released_or_refused(guard, ear, "email_twoword_domain__espeak-gb-rp.flac", tmp_path)
