"""What is bleeped in the sound is gone from the released transcript too (#23): the
transcript words under the other decode's bleeps and the repair's (fakes, no models)."""

from __future__ import annotations

import dataclasses
import json
import re
import wave
from pathlib import Path

import numpy as np
import pytest

from meetguard import Guard, GuardOptions, Meeting
from meetguard._model import Document
from meetguard.redaction.bleeped import unsay_bleeped
from meetguard.testing import (
    FakeDetector,
    MemoryAuditSink,
    StillHeardEars,
    bleep_policy,
    lines_still_heard,
    script_cues,
    tone_wav,
)

from .conftest import fake_release

_TOKEN = r"[<\[][A-Z_]+(?:_\d+)?[>\]]"

POLICY = bleep_policy("bleeped-1", ["PHONE_NUMBER", "LOCATION", "PERSON"])


def _doc(script: list[tuple[float, float, str]]) -> Document:
    return Document(name="rec.transcript", format="meetguard-json", kind="transcript",
                    items=tuple(script_cues(script)))


def test_words_whose_middle_is_bleeped_are_replaced_and_tokens_kept() -> None:
    doc = _doc([(0.0, 3.0, "moved to harbour road, last"), (3.0, 4.0, "[PERSON_1] said hi")])
    # words of 0.6 s: "moved" 0-0.6, "to" 0.6-1.2, "harbour" 1.2-1.8, "road," 1.8-2.4, "last" 2.4-3.0
    out = unsay_bleeped(doc, [(1.1, 2.3), (3.0, 3.4)])
    first, second = out.items
    assert re.fullmatch(rf"moved to {_TOKEN}, last", first.text)
    assert [w.text for w in first.words][:2] == ["moved", "to"] and first.word_offsets()
    assert (first.words[2].start, first.words[2].end) == (1.2, 2.4)
    assert second.text == "[PERSON_1] said hi"          # already a token: left as it is
    masked = unsay_bleeped(doc, [(1.3, 1.7)], form=None)
    assert masked.items[0].text == "moved to ******* road, last"
    assert unsay_bleeped(doc, []) is doc and unsay_bleeped(doc, [(2.75, 2.9)]).items[0].text.endswith("last")


def _wav(path: Path, seconds: float = 6.0) -> Path:
    tone_wav(path, seconds)
    return path


_Ears = StillHeardEars


def test_what_only_the_other_decode_found_is_bleeped_and_gone_from_the_transcript(tmp_path: Path) -> None:
    """The main decode heard "one twenty harbour road" as "won twin tee harbour rode" (no
    value found); the verification decode heard the address at the same time: it is bleeped
    (the union), and the main decode's words there are gone from the released transcript."""
    (tmp_path / "policy.yaml").write_text(POLICY, encoding="utf-8")
    path = _wav(tmp_path / "rec.wav")
    with wave.open(str(path), "rb") as w:
        src = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)
    main = [(0.5, 2.0, "our office moved"), (2.0, 4.0, "won twin tee harbour"), (4.0, 5.0, "last week")]
    heard = [(0.5, 2.0, "our office moved"), (2.0, 4.0, "one twenty harbour road"), (4.0, 5.0, "last week")]
    ears = _Ears(src, main, heard)
    guard = Guard(tmp_path / "policy.yaml", GuardOptions(), transcriber=ears, audit=MemoryAuditSink(),
                  detector=FakeDetector({"one twenty harbour road": "LOCATION"}))
    result = guard.process_sync(Meeting.from_files(audio=path, attendees=["p-alice"]), "summarization",
                                "summarizer", verify=True)
    assert result.decision == "release"
    data = json.loads(result.text("rec.transcript.json"))
    text = " ".join(item["text"] for item in data["items"])
    assert "harbour" not in text and "twin" not in text and re.search(_TOKEN, text)
    assert "our office moved" in text and "last week" in text
    vtt = result.text("rec.transcript.vtt")
    assert "harbour" not in vtt and "last week" in vtt
    got = np.frombuffer(bytes(result.outputs["rec.redacted.wav"])[44:], dtype=np.int16)
    changed = np.flatnonzero(got != src) / 16000
    assert changed.min() >= 2.0 - 0.15 - 0.01 and changed.max() <= 4.0 + 0.15 + 0.01


def test_the_verifier_hears_the_release_with_its_bleeps_silent_and_only_bleeps(tmp_path: Path) -> None:
    """redaction/quiet.py: the copy the verification decode hears is the released file
    outside the windows, digital silence inside them; a window that holds no bleep tone
    (the bleep was lost: speech may be left) fails closed instead."""
    import pytest

    from meetguard import VerificationError
    from meetguard.redaction.audio_stream import redact_to_wav
    from meetguard.redaction.quiet import hearing_copy

    src = _wav(tmp_path / "src.wav")
    release = tmp_path / "release.wav"
    windows = [(1.0, 2.5), (4.0, 4.6)]
    for mode in ("bleep", "silence"):
        with open(release, "wb") as fh:
            redact_to_wav(src, windows, mode, fh)
        copy = hearing_copy(release, windows, mode, tmp_path / "heard.wav", "rec")
        with wave.open(str(copy), "rb") as w, wave.open(str(release), "rb") as r:
            got = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)
            rel = np.frombuffer(r.readframes(r.getnframes()), dtype=np.int16)
        t = np.arange(got.size) / 16000
        inside = ((t >= 1.0) & (t < 2.5)) | ((t >= 4.0) & (t < 4.6))
        assert not got[inside].any() and np.array_equal(got[~inside], rel[~inside])
        assert mode == "silence" or rel[inside].any()
    with open(release, "wb") as fh:
        redact_to_wav(src, windows[:1], "bleep", fh)     # the second bleep lost on the way
    with pytest.raises(VerificationError, match="may still be heard in rec$"):
        hearing_copy(release, windows, "bleep", tmp_path / "heard.wav", "rec")


def test_a_repair_of_a_value_heard_only_in_the_release_spares_plain_words() -> None:
    """phone_direct (espeak-gb-rp): base heard the release's "My direct" as "Bye bye, Rick."
    and the repair's bleep (by base's times, padded) took tiny.en's "direct" from the
    transcript. Under such a repair a word stays when it cannot be the value: the main decode
    was sure of it, a dictionary word in lower case, no name word, no digit word, no piece of
    a value; the sound is bleeped all the same. Every other word under it goes."""
    from meetguard.audio.fragments import plain_word

    # words of 0.6 s: My 0-0.6, direct 0.6-1.2, line 1.2-1.8, to 1.8-2.4, example 2.4-3.0
    doc = _doc([(0.0, 3.0, "My direct line to example")])
    rick = [((0.0, 3.0), frozenset({"rick"}))]
    out = unsay_bleeped(doc, [], spared=rick, plain=plain_word)
    # "My" and "direct", "example" stay; "to" (a digit heard as a word) goes
    assert re.fullmatch(rf"My direct line {_TOKEN} example", out.items[0].text)
    # a piece of the value heard there, or a word sharing its first four letters, goes
    out = unsay_bleeped(doc, [], spared=[((0.0, 3.0), frozenset({"directory", "examples"}))], plain=plain_word)
    assert re.fullmatch(rf"My {_TOKEN} line {_TOKEN}", out.items[0].text)    # direct; to, example: one token
    # ... or a word inside one, or one holding one ("lit ware" for "litware")
    split = _doc([(0.0, 1.2, "lit ware")])
    assert re.fullmatch(_TOKEN, unsay_bleeped(split, [], spared=[((0.0, 1.2), frozenset({"litware"}))],
                                              plain=plain_word).items[0].text)
    # a word the decode was unsure of goes
    cue = doc.items[0]
    unsure = dataclasses.replace(doc, items=(dataclasses.replace(cue, words=tuple(
        dataclasses.replace(w, probability=0.3 if w.text == "direct" else w.probability) for w in cue.words)),))
    assert "direct" not in unsay_bleeped(unsure, [], spared=rick, plain=plain_word).items[0].text
    # under a bleep of the original (or of an unsure stretch) every word goes, plain or not
    out = unsay_bleeped(doc, [(0.0, 3.0)], spared=rick, plain=plain_word)
    assert re.fullmatch(_TOKEN, out.items[0].text)
    # without a judge of plain words, a spared window takes every word
    assert re.fullmatch(_TOKEN, unsay_bleeped(doc, [], spared=rick).items[0].text)


def test_a_sure_lower_case_dictionary_word_that_is_also_a_surname_is_plain_under_a_repair() -> None:
    """phone_direct (espeak-gb-scot): "line" is a surname too (name_words.txt: "Line", "Lyne"), and
    under base's repair the transcript lost it though tiny.en wrote it in lower case, sure of it. A
    name is capitalised: a sure lower-case dictionary word is that word (as the disputes read it).
    Still removed: the word capitalised, unsure, a roster name's word, a piece of a value heard
    there, a name word no dictionary holds ("jamal")."""
    from meetguard.audio.fragments import plain_word

    # words of 0.6 s: My 0-0.6, direct 0.6-1.2, line 1.2-1.8, is 1.8-2.4
    rick = [((0.0, 2.4), frozenset({"rick"}))]
    for said, kept in (("My direct line is", True), ("My direct Line is", False), ("My direct jamal is", False)):
        out = unsay_bleeped(_doc([(0.0, 2.4, said)]), [], spared=rick, plain=plain_word).items[0].text
        assert (out == said) is kept, out
        assert kept or re.fullmatch(rf"My direct {_TOKEN} is", out), out
    # the roster's name words and the values' words are pieces: "line" goes where either holds it
    for pieces in (frozenset({"rick", "line"}), frozenset({"lines"})):
        out = unsay_bleeped(_doc([(0.0, 2.4, "My direct line is")]), [], spared=[((0.0, 2.4), pieces)],
                            plain=plain_word).items[0].text
        assert re.fullmatch(rf"My direct {_TOKEN} is", out), out
    # unsure of it: goes
    doc = _doc([(0.0, 2.4, "My direct line is")])
    cue = doc.items[0]
    unsure = dataclasses.replace(doc, items=(dataclasses.replace(cue, words=tuple(
        dataclasses.replace(w, probability=0.3 if w.text == "line" else w.probability) for w in cue.words)),))
    assert re.fullmatch(rf"My direct {_TOKEN} is", unsay_bleeped(unsure, [], spared=rick, plain=plain_word).items[0].text)


class _Context(_Ears):
    """As :class:`_Ears`, but on a release (audio no longer the source's somewhere) the
    verification decode hears ``release`` instead, each line where its audio is unchanged:
    what base hears in a context the original never had."""

    def __init__(self, source: np.ndarray, main: list[tuple[float, float, str]],
                 release: list[tuple[float, float, str]]) -> None:
        super().__init__(source, main, main)
        self.release = release

    def transcribe(self, samples: np.ndarray, **kw: object) -> list:  # type: ignore[override]
        if kw.get("variant", "main") != "verify":
            return super().transcribe(samples, **kw)
        offset = float(kw.get("offset", 0.0))  # type: ignore[arg-type]
        same = lines_still_heard(self.source, samples, offset, [(offset, offset + np.asarray(samples).size / 16000, "")])
        return script_cues(lines_still_heard(self.source, samples, offset, self.heard if same else self.release))


def test_a_name_heard_only_in_the_release_is_bleeped_and_the_plain_word_under_it_kept(tmp_path: Path) -> None:
    """phone_direct (espeak-gb-rp) on fakes: base hears the release (its number bleeped) as
    "My Rick line is", "Rick" over tiny.en's "direct". The sound there is repaired (bleeped);
    the transcript keeps "direct", which cannot be the name."""
    (tmp_path / "policy.yaml").write_text(POLICY, encoding="utf-8")
    path = _wav(tmp_path / "rec.wav")
    with wave.open(str(path), "rb") as w:
        src = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)
    # words of 0.6 s: My 0.0-0.6, direct 0.6-1.2, line 1.2-1.8, is 1.8-2.4, 5550143 2.4-3.0
    main = [(0.0, 3.0, "My direct line is 5550143")]
    ears = _Context(src, main, [(0.0, 2.2, "My Rick line is")])   # clear of the number's padded bleep
    text, changed = fake_release(tmp_path / "policy.yaml", path, ears,
                                 {"5550143": "PHONE_NUMBER", "Rick": "PERSON"}, src)
    assert re.fullmatch(rf"My direct line is {_TOKEN}", text)
    assert ((changed > 0.6) & (changed < 1.2)).any()          # "Rick" is bleeped in the sound
    assert not ((changed > 1.4) & (changed < 2.0)).any()      # the rest of "line is" is not


@pytest.mark.parametrize(("participants", "kept"), [
    ('  - id: p-alice\n    names: ["Alice Martin"]\n', True),
    ('  - id: p-alice\n    names: ["Alice Line"]\n', False),        # a roster member's name word
])
def test_a_surname_that_is_a_sure_lower_case_word_stays_under_a_repair_unless_the_roster_has_it(
        tmp_path: Path, participants: str, kept: bool) -> None:
    """phone_direct (espeak-gb-scot) on fakes: base hears the release as "My direct Lyne is", a
    PERSON over tiny.en's "line" (sure, lower case; a surname too). The sound there is repaired;
    the transcript keeps "line", unless a roster member's name holds the word."""
    (tmp_path / "policy.yaml").write_text(bleep_policy("bleeped-2", ["PHONE_NUMBER", "PERSON"],
                                                       participants=participants), encoding="utf-8")
    path = _wav(tmp_path / "rec.wav")
    with wave.open(str(path), "rb") as w:
        src = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)
    # words of 0.6 s: My 0.0-0.6, direct 0.6-1.2, line 1.2-1.8, is 1.8-2.4, 5550143 2.4-3.0
    ears = _Context(src, [(0.0, 3.0, "My direct line is 5550143")], [(0.0, 2.2, "My direct Lyne is")])
    text, changed = fake_release(tmp_path / "policy.yaml", path, ears,
                                 {"5550143": "PHONE_NUMBER", "Lyne": "PERSON"}, src)
    assert re.fullmatch(rf"My direct line is {_TOKEN}" if kept else rf"My direct {_TOKEN} is {_TOKEN}", text), text
    assert ((changed > 1.2) & (changed < 1.8)).any()          # "Lyne" is bleeped in the sound either way


def _guarded(tmp_path: Path, main: list[tuple[float, float, str]], values: dict[str, str]) -> tuple[str, np.ndarray]:
    """The released transcript's text and the times (s) of the samples the release changed."""
    (tmp_path / "policy.yaml").write_text(POLICY, encoding="utf-8")
    path = _wav(tmp_path / "rec.wav")
    with wave.open(str(path), "rb") as w:
        src = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)
    return fake_release(tmp_path / "policy.yaml", path, _Ears(src, main, main), values, src)


def test_a_plain_word_under_a_bleeps_pad_stays_in_the_transcript(tmp_path: Path) -> None:
    """The pads (0.15 s) are for the sound's edges: a plain word whose middle lies in one, not in
    the value's own span, stays in the transcript; the sound there is bleeped all the same."""
    # words of 0.24 s: call 0-.24, me .24-.48, on .48-.72, 5550143 .72-.96, today .96-1.2 (bleep .57-1.11)
    text, changed = _guarded(tmp_path, [(0.0, 1.2, "call me on 5550143 today")], {"5550143": "PHONE_NUMBER"})
    assert re.fullmatch(rf"call me on {_TOKEN} today", text)
    assert changed.min() < 0.6 and changed.max() > 1.08            # both pads bleeped in the sound


def test_a_digit_homophone_or_name_word_under_a_pad_still_goes(tmp_path: Path) -> None:
    """What could be a piece of the value stays removed under a pad: "to" (ASR's "two"), a
    name word written as a name ("Rose"; "rose" in lower case, sure, is the dictionary word, as
    the disputes read it); and every word inside the value's own span goes, plain or not."""
    text, _ = _guarded(tmp_path, [(0.0, 1.2, "text to 5550143 Rose now")], {"5550143": "PHONE_NUMBER"})
    assert re.fullmatch(rf"text {_TOKEN} {_TOKEN} {_TOKEN} now", text)
    (tmp_path / "c").mkdir()
    text, _ = _guarded(tmp_path / "c", [(0.0, 1.2, "text to 5550143 rose now")], {"5550143": "PHONE_NUMBER"})
    assert re.fullmatch(rf"text {_TOKEN} {_TOKEN} rose now", text)
    # the verification decode alone found the number; the main decode's words inside its span go
    (tmp_path / "b").mkdir()
    path = _wav(tmp_path / "b" / "rec.wav")
    (tmp_path / "b" / "policy.yaml").write_text(POLICY, encoding="utf-8")
    with wave.open(str(path), "rb") as w:
        src = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)
    ears = _Ears(src, [(0.0, 1.2, "call me on fife fife today")], [(0.0, 1.2, "call me on 5550143 today")])
    guard = Guard(tmp_path / "b" / "policy.yaml", GuardOptions(), transcriber=ears, audit=MemoryAuditSink(),
                  detector=FakeDetector({"5550143": "PHONE_NUMBER"}, roster=False))
    result = guard.process_sync(Meeting.from_files(audio=path, attendees=["p-alice"]), "summarization",
                                "summarizer", verify=True)
    assert result.decision == "release"
    text = " ".join(item["text"] for item in json.loads(result.text("rec.transcript.json"))["items"])
    assert "fife" not in text and re.fullmatch(rf"call me on {_TOKEN} today", text), text


def _base_only(tmp_path: Path, heard: list[tuple[float, float, str]]) -> str:
    """The transcript of tiny.en's "call me on 5550143 today" (words of 0.24 s) where base hears ``heard``."""
    (tmp_path / "policy.yaml").write_text(POLICY, encoding="utf-8")
    path = _wav(tmp_path / "rec.wav")
    with wave.open(str(path), "rb") as w:
        src = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)
    ears = _Ears(src, [(0.0, 1.2, "call me on 5550143 today")], heard)
    guard = Guard(tmp_path / "policy.yaml", GuardOptions(), transcriber=ears, audit=MemoryAuditSink(),
                  detector=FakeDetector({"5550143": "PHONE_NUMBER"}, roster=False))
    result = guard.process_sync(Meeting.from_files(audio=path, attendees=["p-alice"]), "summarization",
                                "summarizer", verify=True)
    assert result.decision == "release"
    return " ".join(item["text"] for item in json.loads(result.text("rec.transcript.json"))["items"])


def test_a_word_both_decodes_heard_under_the_other_decodes_value_stays(tmp_path: Path) -> None:
    """Base times the number from 0.6 s (words of 0.2 s), inside tiny.en's "on" (0.48-0.72 s): the
    word stays when base heard "on" there too, outside its value; it goes when base heard another
    word there ("at"), which it does not agree on."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    kept = _base_only(tmp_path / "a", [(0.0, 0.8, "call me on 5550143")])
    assert re.fullmatch(rf"call me on {_TOKEN} today", kept), kept
    gone = _base_only(tmp_path / "b", [(0.0, 0.8, "call me at 5550143")])
    assert re.fullmatch(rf"call me {_TOKEN} {_TOKEN} today", gone), gone


def _prompted(tmp_path: Path, main: str, heard: str, values: dict[str, str]) -> str:
    """The transcript of tiny.en's ``main`` (six words of 0.2 s) where base hears ``heard`` (six
    words of 0.2 s), the detector finding ``values`` and the roster's name ("Alice Martin")."""
    (tmp_path / "policy.yaml").write_text(POLICY, encoding="utf-8")
    path = _wav(tmp_path / "rec.wav")
    with wave.open(str(path), "rb") as w:
        src = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)
    ears = _Ears(src, [(0.0, 1.2, main)], [(0.0, 1.2, heard)])
    guard = Guard(tmp_path / "policy.yaml", GuardOptions(), transcriber=ears, audit=MemoryAuditSink(),
                  detector=FakeDetector({"5550143": "PHONE_NUMBER", **values}))
    result = guard.process_sync(Meeting.from_files(audio=path, attendees=["p-alice"]), "summarization",
                                "summarizer", verify=True)
    assert result.decision == "release"
    return " ".join(item["text"] for item in json.loads(result.text("rec.transcript.json"))["items"])


def test_a_plain_word_under_a_roster_name_only_the_verification_decode_heard_stays(tmp_path: Path) -> None:
    """Base, primed with the roster, writes a member's name over speech it does not make out ("My
    name is Rohan Mehta" over tiny.en's sure "My direct line is"): tiny.en's plain words under that
    name stay in the transcript (the sound is bleeped as before). A word that could carry the name
    still goes: one written as a name ("Line"), the roster's own name word ("alice"); and under a
    name base heard that is no roster member's, only words both decodes heard alike stay."""
    cases = [("a", "my direct line is 5550143 today", {}, rf"my direct line is {_TOKEN} today"),
             ("b", "my direct Line is 5550143 today", {}, rf"my direct {_TOKEN} is {_TOKEN} today"),
             ("c", "my direct alice is 5550143 today", {}, rf"my direct {_TOKEN} is {_TOKEN} today"),
             ("d", "my direct line is 5550143 today", {"Bob Stone": "PERSON"},
              rf"my direct {_TOKEN} {_TOKEN} today")]
    for sub, main, values, want in cases:
        (tmp_path / sub).mkdir()
        heard = "my name Bob Stone 5550143 today" if values else "my name Alice Martin 5550143 today"
        text = _prompted(tmp_path / sub, main, heard, values)
        assert re.fullmatch(want, text), (sub, text)
