"""A spoken value is removed whole (#23): numbers heard in pieces across pauses and cues,
pieces of redacted values elsewhere, the ASR shapes of dictated addresses, and the
verification's piece-wise hearing. Text only (no models), and the guard on fakes."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from meetguard import Guard, GuardOptions, Meeting, VerificationError
from meetguard._model import Finding
from meetguard.audio.fragments import fragment_spans, fragments_of, heard_fragment
from meetguard.audio.second import check_agreement
from meetguard.audio.verify import heard_again
from meetguard.audio.whole import complete_document
from meetguard.detection._spoken import find_spoken_emails
from meetguard.testing import (
    FakeDetector,
    FakeTranscriber,
    MemoryAuditSink,
    bleep_policy,
    lines_still_heard,
    tone_wav,
)


def _phone(text: str, value: str) -> Finding:
    s = text.index(value)
    return Finding(s, s + len(value), "PHONE_NUMBER", 0.9, "".join(c for c in value if c.isdigit()))


def _said(texts: list[str], found: list[list[Finding]]) -> list[list[str]]:
    return [[t[f.start:f.end] for f in unit] for t, unit in zip(texts, found, strict=True)]


def test_an_area_code_heard_in_the_cue_before_joins_the_number() -> None:
    texts = ["My direct line is 202.", "555-0143.", "Thanks, see you."]
    found = complete_document(texts, [[], [_phone(texts[1], "555-0143")], []], lambda f: True)
    assert _said(texts, found) == [["202"], ["555-0143"], []]
    assert found[0][0].entity_type == "PHONE_NUMBER" and found[0][0].normalized == "5550143"


def test_spoken_groups_and_double_run_on_until_the_digits_stop() -> None:
    text = "Call four one five, five double five, 3912 before noon, room two."
    found = complete_document([text], [[_phone(text, "3912")]], lambda f: True)
    assert _said([text], found) == [["four one five, five double five, 3912"]]


@pytest.mark.parametrize(
    ("texts", "phone", "said"),
    [
        (["Call the lab at 206-555-0174, extension four two one."], "206-555-0174",
         [["206-555-0174, extension four two one"]]),
        (["Call the lab at 206-555-0174 ext. 4-2-1 today."], "206-555-0174", [["206-555-0174 ext. 4-2-1"]]),
        (["Call 206-555-0174.", "Extension 421, after nine."], "206-555-0174", [["206-555-0174"], ["421"]]),
    ],
)
def test_a_phones_extension_said_after_it_is_part_of_it(texts: list[str], phone: str,
                                                         said: list[list[str]]) -> None:
    found = complete_document(texts, [[_phone(texts[0], phone)], *[[] for _ in texts[1:]]], lambda f: True)
    assert _said(texts, found) == said
    assert all(f.entity_type == "PHONE_NUMBER" for unit in found for f in unit)


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("The card ending in four four one two was declined again.", "four four one two"),
        ("The card ending in 4-4-1-2 was declined.", "4-4-1-2"),
        ("My Visa ends with 4412, and it expired.", "4412"),
        ("Use the account ending in 0093, please.", "0093"),
    ],
)
def test_a_card_said_by_its_last_digits_is_a_card_value(text: str, said: str) -> None:
    from meetguard.detection import TextUnit
    from meetguard.detection._defaults import default_registry

    found = default_registry().findings([TextUnit(text, spoken=True)])[0]
    assert [(text[f.start:f.end], f.entity_type) for f in found] == [(said, "CREDIT_CARD")]


@pytest.mark.parametrize("text", ["The meeting ending in 2025 was fine.", "We ended in 1999 with a loss.",
                                  "The card ending in 42 pages."])
def test_numbers_ending_something_else_are_no_card(text: str) -> None:
    from meetguard.detection import TextUnit
    from meetguard.detection._defaults import default_registry

    found = default_registry().findings([TextUnit(text, spoken=True)])[0]
    assert all(f.entity_type != "CREDIT_CARD" for f in found)


@pytest.mark.parametrize(
    ("text", "first"),
    [("Tove and Anselm Brekke are joining from the north office.", ["Tove"]),
     ("Thanks, Rose and Anselm Brekke.", ["Rose"]),
     ("Sales and Anselm Brekke met.", []),      # a dictionary word, no name
     ("We and Anselm Brekke met.", [])],
)
def test_a_first_name_before_and_a_full_name_is_a_name_too(text: str, first: list[str]) -> None:
    s = text.index("Anselm")
    full = Finding(s, s + len("Anselm Brekke"), "PERSON", 0.9, "anselm brekke")
    found = complete_document([text, f"Later {first[0] if first else 'Sales'} spoke."], [[full], []],
                              lambda f: True)
    assert [text[f.start:f.end] for f in found[0]] == [*first, "Anselm Brekke"]
    assert len(found[1]) == len(first)       # and the name heard again elsewhere goes as a piece of it
    kept = complete_document([text], [[full]], lambda f: f.normalized == "anselm brekke")
    assert [text[f.start:f.end] for f in kept[0]] == ["Anselm Brekke"]   # only what the rules redact


def test_a_name_spelled_out_is_a_piece_of_it_and_so_are_misheard_letters_after_a_cue() -> None:
    frags = fragments_of(["Thea Vandermeer"])
    text = "Later: V A N D E R M E E R, and I a m fine, A B C D."
    assert [text[s:e] for s, e in fragment_spans(text, frags)] == ["V A N D E R M E E R"]
    texts = ["Please add Thea Vandermeer to the list.", "That's B-A-N-D-E-R-M-E-A-R.", "The plan is A B C D."]
    name = Finding(11, 26, "PERSON", 0.9, "thea vandermeer")
    found = complete_document(texts, [[name], [], []], lambda f: True)
    assert _said(texts, found) == [["Thea Vandermeer"], ["B-A-N-D-E-R-M-E-A-R"], []]
    assert found[1][0].normalized == "thea vandermeer"
    kept = complete_document(texts, [[name], [], []], lambda f: False)   # a name the rules keep: so its spelling
    assert _said(texts, kept) == [["Thea Vandermeer"], [], []]
    texts = ["Please add the eventour mirror to the list. That's V-A-N-D-E-R-M-E-E-R.", "We use the F-B-I list."]
    alone = complete_document(texts, [[], []], lambda f: True)    # the name misheard: its spelling is one
    assert _said(texts, alone) == [["V-A-N-D-E-R-M-E-E-R"], []]
    assert alone[0][0].entity_type == "PERSON" and alone[0][0].normalized == "vandermeer"


def test_a_surnames_particles_are_part_of_the_name_and_no_piece_alone() -> None:
    text = "Ask Jan van der Berg to sign, Rosa de la Cruz too, and park the van."
    fs = [Finding(4, 7, "PERSON", 0.9, "jan"), Finding(16, 20, "PERSON", 0.9, "berg"),
          Finding(30, 34, "PERSON", 0.9, "rosa")]
    found = complete_document([text], [fs], lambda f: True)
    assert _said([text], found) == [["Jan van der Berg", "Rosa de la Cruz"]]
    assert fragments_of(["Jan van der Berg"]).words == {"jan", "berg"}


def test_an_email_dictated_with_at_sign_takes_no_sign_into_its_domain() -> None:
    text = "Send the report to greta dot lindqvist at sign quillmark dot com."
    hits = find_spoken_emails(text, asr=True)
    assert {h.normalized for h in hits} >= {"greta.lindqvist@quillmark.com"}
    assert all("sign" not in h.normalized for h in hits)
    assert [h.normalized for h in find_spoken_emails("mail jo at sign dot com", asr=True)] == ["jo@sign.com"]


@pytest.mark.parametrize(
    ("text", "place", "said"),
    [("Mail the keys to 314 Birchwood Terrace, apartment 3B.", "314 Birchwood Terrace",
      "314 Birchwood Terrace, apartment 3B"),
     ("Mail the keys to three fourteen Birchwood Terrace, apartment three B.", "three fourteen Birchwood Terrace",
      "three fourteen Birchwood Terrace, apartment three B"),
     ("Ship to 12 Elm Street, suite four hundred, by noon.", "12 Elm Street", "12 Elm Street, suite four hundred"),
     ("We flew to Portland, room 4 was nice.", "Portland", "Portland"),           # no street address
     ("Go to 12 Elm Street, floor plans are ready.", "12 Elm Street", "12 Elm Street"),
     ("I live at 4200 Elm Street now.", "4200 Elm Street", "4200 Elm Street")],            # "no" + "w": no unit
)
def test_the_unit_after_a_street_address_is_part_of_it(text: str, place: str, said: str) -> None:
    s = text.index(place)
    found = complete_document([text], [[Finding(s, s + len(place), "LOCATION", 0.9, place.lower())]],
                              lambda f: True)
    assert _said([text], found) == [[said]]
    assert "apartment" not in fragments_of([said]).words


def test_a_card_heard_with_its_groups_repeated_is_still_a_card() -> None:
    from meetguard.detection import TextUnit
    from meetguard.detection._defaults import default_registry

    text = "The company card is 5105, 1051, 0051, 0051, 0051, 0051, 0050."
    found = default_registry().findings([TextUnit(text, spoken=True)])[0]
    assert [(text[f.start:f.end], f.entity_type) for f in found] == [(text[20:-1], "CREDIT_CARD")]
    text = "We sold 100, 200, 300, 400, 500, 600, 700, 800, 900 units."     # no card named: a list of amounts
    assert not default_registry().findings([TextUnit(text, spoken=True)])[0]


def test_an_extension_label_joins_only_a_phone_and_only_after_it() -> None:
    text = "Card 4111 1111 1111 1111, extension 421 of the form."
    card = Finding(5, 24, "CREDIT_CARD", 0.9, "4111111111111111")
    assert _said([text], complete_document([text], [[card]], lambda f: True)) == [["4111 1111 1111 1111"]]
    text = "Extension 421, then call 206-555-0174."
    assert _said([text], complete_document([text], [[_phone(text, "206-555-0174")]], lambda f: True)) == [
        ["206-555-0174"]]


def test_numbers_the_rules_keep_are_not_widened_and_words_between_stop_a_run() -> None:
    texts = ["Room 202 is free.", "555-0143."]
    found = complete_document(texts, [[], [_phone(texts[1], "555-0143")]], lambda f: True)
    assert _said(texts, found) == [[], ["555-0143"]]                   # a word after 202: not joined
    texts = ["Call 202.", "555-0143."]
    kept = complete_document(texts, [[], [_phone(texts[1], "555-0143")]], lambda f: False)
    assert _said(texts, kept) == [[], ["555-0143"]]


def test_pieces_of_a_redacted_value_elsewhere_are_redacted_as_that_value() -> None:
    texts = ["Send the contract to Ingrid.", "ingrid.solberg@litware.example", "Litware said yes, 2025."]
    email = Finding(0, len(texts[1]), "EMAIL_ADDRESS", 0.9, "ingrid.solberg@litware.example")
    found = complete_document(texts, [[], [email], []], lambda f: True)
    assert _said(texts, found) == [["Ingrid"], [texts[1]], ["Litware"]]
    assert {f.normalized for unit in found for f in unit} == {"ingrid.solberg@litware.example"}


def test_fragments_words_digits_and_everyday_words() -> None:
    frags = fragments_of(["Will Hope", "2025550143", "rohan.mehta@fourthcoffee.example"])
    assert frags.words == {"will", "hope", "rohan", "mehta", "fourthcoffee"}
    assert heard_fragment("it's two zero two here", frags)           # 3 digits of the number
    assert heard_fragment("ends in 0143", frags)
    assert not heard_fragment("room 17, 2 people", frags)
    assert not heard_fragment("we will see", frags)                   # an everyday word, lower case
    assert heard_fragment("Will said so", frags)                      # written as a name
    assert heard_fragment("that Rohan", frags)
    assert fragment_spans("call five five five now", frags) == [(5, 19)]


def test_verification_hears_a_lone_first_name_or_part_of_a_number() -> None:
    values = ["ingrid.solberg@litware.example", "2025550143"]
    assert heard_again("Send the contract to Ingrid.", values)
    assert heard_again("the domain is Litware", values)
    assert heard_again("my direct line is 202", values)
    assert not heard_again("Send the contract to the team.", values)


@pytest.mark.parametrize(("text", "said"), [
    ("Send the contract to ingrid dot solberg at litware dot example.",
     "ingrid dot solberg at litware dot example"),
    ("Please send the receipt to rohan dot mehta at fourth coffee dot example.",
     "rohan dot mehta at fourth coffee dot example"),
    ("Rohan.mehta at Fourth Coffee.example.", "Rohan.mehta at Fourth Coffee.example"),
    ("Send the contract to Ingrid Solberg at Litware.example.", "Ingrid Solberg at Litware.example"),
])
def test_asr_shapes_of_dictated_addresses_are_found_from_their_first_word(text: str, said: str) -> None:
    spans = [text[h.start:h.end] for h in find_spoken_emails(text, asr=True)]
    assert said in spans


def test_the_two_decodes_must_place_a_shared_value_within_the_padding() -> None:
    first = {"5550143": [(2.0, 3.0)]}
    check_agreement(first, {"5550143": [(3.2, 4.0)]}, 0.15, "rec")    # padded spans meet
    check_agreement(first, {"other": [(9.0, 9.5)]}, 0.15, "rec")      # nothing shared
    with pytest.raises(VerificationError, match="^the two decodes of rec place a value") as err:
        check_agreement(first, {"5550143": [(3.5, 4.0)]}, 0.15, "rec")
    assert err.value.reason == "decodes_disagree"


def test_a_value_said_again_later_is_another_mention_not_a_disagreement() -> None:
    """A long recording: the first decode caught a name at 12 s and 300 s, the second at
    45 s and 300.1 s (each missed one the other heard): no mention is placed apart."""
    first = {"marta": [(12.0, 12.4), (300.0, 300.5)]}
    check_agreement(first, {"marta": [(45.0, 45.4), (300.1, 300.6)]}, 0.15, "rec")
    check_agreement(first, {"marta": [(45.0, 45.4)]}, 0.15, "rec")
    # the same mention placed ~1 s late (tiny.en's drift after a pause) still refuses, even
    # where the value agrees elsewhere
    with pytest.raises(VerificationError):
        check_agreement(first, {"marta": [(13.2, 13.6), (300.1, 300.6)]}, 0.15, "rec")
    with pytest.raises(VerificationError):
        check_agreement(first, {"marta": [(299.0, 299.4)]}, 0.15, "rec")


def test_adjacent_mentions_heard_in_other_spellings_are_no_disagreement() -> None:
    """Two clips in a row dictate one address (the 10-minute bench's recording): the first
    decode finds it in both, the second in the first only and hears the next one spelt
    otherwise, at the same place. Each span is placed by both decodes."""
    first = {"ingrid.solberg@litware.example": [(57.28, 60.86), (63.08, 66.02)]}
    second = {"ingrid.solberg@litware.example": [(57.16, 61.24)],
              "ingrid.solberg.letware.example": [(62.86, 65.44)]}
    check_agreement(first, second, 0.15, "rec")
    del second["ingrid.solberg.letware.example"]    # nothing of the second's at 63 s: still no
    check_agreement(first, second, 0.15, "rec")     # disagreement (that span meets a first one)


POLICY = bleep_policy("whole-1", ["PHONE_NUMBER", "EMAIL_ADDRESS", "PERSON"], operator="redact")


def _wav(path: Path, seconds: float = 6.0) -> Path:
    tone_wav(path, seconds)
    return path


def _guard(tmp_path: Path, main: list[tuple[float, float, str]], heard: list[tuple[float, float, str]],
           values: dict[str, str]) -> tuple[Guard, MemoryAuditSink, Meeting, FakeTranscriber]:
    (tmp_path / "policy.yaml").write_text(POLICY, encoding="utf-8")
    tx = FakeTranscriber(main, verify_script=heard)
    audit = MemoryAuditSink()
    guard = Guard(tmp_path / "policy.yaml", GuardOptions(), detector=FakeDetector(values), transcriber=tx,
                  audit=audit)
    return guard, audit, Meeting.from_files(audio=_wav(tmp_path / "rec.wav"), attendees=["p-alice"]), tx


def test_the_transcript_never_keeps_the_area_code_heard_apart(tmp_path: Path) -> None:
    guard, _, meeting, _ = _guard(tmp_path, [(0.5, 2.0, "My direct line is 202."), (2.5, 4.0, "555-0143.")],
                                  [], {"555-0143": "PHONE_NUMBER"})
    result = guard.process_sync(meeting, "summarization", "summarizer", verify=False)
    assert result.decision == "release"
    vtt = result.text("rec.transcript.vtt")
    assert "202" not in vtt and "0143" not in vtt and "direct line" in vtt


def test_a_release_whose_verify_decode_hears_a_lone_first_name_is_refused(tmp_path: Path) -> None:
    # The main decode heard the whole address; the verification decode hears its first
    # word again in the released audio: nothing is released, the audit says why.
    email = "ingrid.solberg@litware.example"
    guard, audit, meeting, tx = _guard(
        tmp_path, [(0.5, 3.5, f"Send the contract to {email}")],
        [(0.5, 3.5, "Send the contract to Ingrid.")], {email: "EMAIL_ADDRESS"})
    with pytest.raises(VerificationError, match="heard again in rec$"):
        guard.process_sync(meeting, "summarization", "summarizer", verify=True)
    (record,) = audit.records
    assert record["decision"] == "error" and record["reasons"][0].startswith("verification_failed: ")
    assert "ingrid" not in repr(record).lower() and record.get("artefacts", []) == []
    assert tx.variants == ["main", "verify", "verify"]


def test_the_verify_decodes_values_are_bleeped_too(tmp_path: Path) -> None:
    """The union: a phone number only the verification decode heard (at 3-4 s) is bleeped
    although the main decode heard nothing there; the rest stays bit-identical."""
    from meetguard._model import AudioInput
    from meetguard.audio.second import hear_original
    from meetguard.release import build_redacted_audio
    from meetguard.testing import script_cues

    rec = AudioInput(path=_wav(tmp_path / "rec.wav"))
    tx = FakeTranscriber([], verify_script=[(0.5, 2.0, "hello team"), (3.0, 4.0, "555-0143")])
    hearing = hear_original(rec, tx, None, lambda texts: [
        [Finding(0, 8, "PHONE_NUMBER", 0.9, "5550143")] if t == "555-0143" else [] for t in texts],
        lambda f: True, [])
    assert hearing.values >= {"5550143"} and tx.variants == ["verify"]
    main = script_cues([(0.5, 2.0, "hello team"), (3.0, 4.0, "bye now")])
    out = bytes(build_redacted_audio(rec, main, [[], []], "bleep", None, hearing))
    got = np.frombuffer(out[44:], dtype=np.int16)
    with wave.open(str(rec.path), "rb") as w:
        src = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)
    changed = np.flatnonzero(got != src) / 16000
    assert changed.min() >= 3.0 - 0.15 - 0.01 and changed.max() <= 4.0 + 0.15 + 0.01
    assert changed.size > 0.9 * 16000


def test_digits_cut_into_cues_of_their_own_are_one_number_and_years_are_not() -> None:
    texts = ["My mobile is 312.", "555.", "7781.", "See you in 2025.", "2026 too."]
    found = complete_document(texts, [[], [], [], [], []], lambda f: True)
    assert _said(texts, found) == [["312"], ["555"], ["7781"], [], []]
    assert {f.normalized for unit in found for f in unit} == {"3125557781"}


def test_misheard_digit_words_next_to_a_number_join_it() -> None:
    # tiny.en heard espeak-ng's "two zero two, five five five, ..." as "too zero to 5, 5, 5, ..."
    text = "My direct line is too zero to 5, 5, 5, 0, 1, 4, 3."
    found = complete_document([text], [[_phone(text, "5, 5, 5, 0, 1, 4, 3")]], lambda f: True)
    assert _said([text], found) == [["too zero to 5, 5, 5, 0, 1, 4, 3"]]
    plain = "I will talk to 555-0143 later."
    assert _said([plain], complete_document([plain], [[_phone(plain, "555-0143")]], lambda f: True)) == [
        ["555-0143"]]


def test_a_house_number_belongs_to_its_street() -> None:
    text = "Our office moved to 120 Harbor Road last week."
    s = text.index("Harbor Road")
    found = complete_document([text], [[Finding(s, s + 11, "PERSON", 0.8, "Harbor Road")]], lambda f: True)
    assert _said([text], found) == [["120 Harbor Road"]]


def test_double_before_a_numeral_and_a_sentence_first_word_is_no_local_part() -> None:
    from meetguard.detection._spoken import find_spoken_numbers

    text = "Call me on 4155, double 5, 3912."
    assert [h.normalized for h in find_spoken_numbers(text, asr=True)] == ["4155553912"]
    spans = [(h.start, h.end) for h in find_spoken_emails("Send it to Ingrid Solberg at Litware.example.",
                                                          asr=True)]
    assert (11, 44) in spans
    copy = "Copy Jamal at wingtip.example on the thread."
    assert [copy[h.start:h.end] for h in find_spoken_emails(copy, asr=True)] == ["Jamal at wingtip.example"]


@pytest.mark.parametrize(("text", "digits"), [
    ("Call me on 415- 5-double-5-3912.", "4155553912"),        # Kokoro's "five double five", tiny.en
    ("Call me on 415-5-double 5-3912.", "4155553912"),
    ("Call me on four one five, five double-five, three nine one two.", "4155553912"),
])
def test_hyphenated_groups_with_double_are_one_number(text: str, digits: str) -> None:
    from meetguard.detection._spoken import find_spoken_numbers

    (hit,) = find_spoken_numbers(text, asr=True)
    assert hit.normalized == digits and text[hit.end:] == "."
    assert text[:hit.start].endswith("on ")
    frags = fragments_of([digits])
    assert fragment_spans(text, frags) == [(hit.start, hit.end)]


@pytest.mark.parametrize(("text", "said"), [
    # espeak-ng's "rohan dot mehta at fourth coffee dot example" as tiny.en and base heard it
    ("Please end the receipt to rohan. May that force coffee not an ample.", "May that force coffee not an ample"),
    ("Please send the receipt to Rohan Mehta at force coffee not an ample.",
     "Rohan Mehta at force coffee not an ample"),
    # "copy jamal at wingtip dot example": the "at" lost, the name heard as words
    ("Copy your mallet wing tip, not an ample on the thread, please.", "your mallet wing tip, not an ample"),
    ("Copy your mouth with wingtip, not an ample on the thread, please.", "your mouth with wingtip, not an ample"),
    ("Write to lena berg at contoso dot com today.", "lena berg at contoso dot com"),
])
def test_an_address_heard_only_by_its_end_is_taken_back_to_its_first_word(text: str, said: str) -> None:
    assert [text[h.start:h.end] for h in find_spoken_emails(text, asr=True)] == [said]


@pytest.mark.parametrize("text", [
    "That is definitely not an example of good work.",
    "the dot com bubble burst in 2001.",
    "We bought acme dot com last year.",
    "Meet Rohan at the cafe, not the office.",
])
def test_ordinary_speech_is_no_address_end(text: str) -> None:
    assert find_spoken_emails(text, asr=True) == []


class _Ears(FakeTranscriber):
    """Hears a verify line only where the audio under it is still the source's (unbleeped);
    ``stuck`` lines are heard whatever the audio (an ear that hears a value in a bleep)."""

    def __init__(self, source: np.ndarray, heard: list[tuple[float, float, str]],
                 stuck: list[tuple[float, float, str]] = ()) -> None:  # type: ignore[assignment]
        super().__init__(heard, verify_script=heard)
        self.source, self.heard, self.stuck = source, heard, list(stuck)

    def transcribe(self, samples: np.ndarray, **kw: object) -> list:  # type: ignore[override]
        from meetguard.testing import script_cues

        self.variants.append(str(kw.get("variant")))
        offset = float(kw.get("offset", 0.0))  # type: ignore[arg-type]
        lines = lines_still_heard(self.source, samples, offset, self.heard)
        return script_cues(lines + self.stuck)


def test_a_value_heard_outside_the_bleeps_is_bleeped_and_the_release_heard_again(tmp_path: Path) -> None:
    """The repair: the verify decode hears "zero one four three" at 4.0-4.6 s, where the main
    decode placed nothing (it timed the number's end short). Those words are bleeped too,
    from the original, and the new release is heard again from scratch: released, with
    both places changed and everything else bit-identical."""
    from meetguard.release import AudioCheck, build_redacted_audio
    from meetguard.testing import script_cues

    rec_path = _wav(tmp_path / "rec.wav")
    with wave.open(str(rec_path), "rb") as w:
        src = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)
    from meetguard._model import AudioInput

    rec = AudioInput(path=rec_path)
    main = script_cues([(0.5, 2.0, "call me on 555")])
    per_cue = [[Finding(11, 14, "PHONE_NUMBER", 0.9, "5550143")]]
    ears = _Ears(src, [(4.0, 4.6, "zero one four three"), (5.0, 5.8, "thanks a lot")])
    out = bytes(build_redacted_audio(rec, main, per_cue, "bleep",
                                     AudioCheck(ears, ["5550143"], lambda text: [], "Meeting."), None))
    got = np.frombuffer(out[44:], dtype=np.int16)
    changed = np.flatnonzero(got != src) / 16000
    assert changed.min() >= 1.5 - 0.15 - 0.01 and changed.max() <= 4.6 + 0.15 + 0.01
    assert (changed > 3.8).any() and not ((changed > 2.2) & (changed < 3.8)).any()
    assert ears.variants == ["verify", "verify"]          # the first release, then the repaired one
    # an ear that hears the value inside the bleeps already: nothing to repair, refused
    stuck = _Ears(src, [], stuck=[(1.5, 2.0, "555")])
    with pytest.raises(VerificationError, match="heard again in rec$"):
        build_redacted_audio(rec, main, per_cue, "bleep",
                             AudioCheck(stuck, ["5550143"], lambda text: [], "Meeting."), None)
    assert stuck.variants == ["verify"]
