"""A name only the verification decode heard, where the transcript heard ordinary words
(meetguard.audio.disputes, #23): heard a third time without the roster prompt; bleeped only
when that hearing hears a name there too. On fakes: the decode hears one script primed
with the prompt and another without it."""

from __future__ import annotations

import dataclasses
import re
import wave
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from meetguard import Guard, GuardOptions, Meeting, VerificationError
from meetguard._model import Cue, Finding
from meetguard.audio.disputes import settle, transcript_of
from meetguard.detection import TextUnit
from meetguard.testing import (
    FakeDetector,
    FakeTranscriber,
    MemoryAuditSink,
    bleep_policy,
    lines_still_heard,
    script_cues,
)

from .conftest import released

_TOKEN = r"[<\[][A-Z_]+(?:_\d+)?[>\]]"
NAMES = {"Deepak Rao": "PERSON", "Kodavendra Tamarau": "PERSON"}

# words of 0.5 s: Deepak 0.5-1.0, Rao 1.0-1.5, will 1.5-2.0, call 2.0-2.5, the 2.5-3.0,
# vendor 3.0-3.5, tomorrow 3.5-4.0 (the transcript's decode)
MAIN = [(0.5, 4.0, "Deepak Rao will call the vendor tomorrow")]
# the verification decode, primed with the roster: Kodavendra 2.0-3.0, Tamarau 3.0-4.0
PRIMED = [(0.5, 4.0, "Deepak Rao Kodavendra Tamarau")]


def _find(cues: Sequence[Cue], names: dict[str, str] = NAMES) -> list[list[Finding]]:
    return FakeDetector(names, roster=False).detect([TextUnit(c.text, True) for c in cues], None)  # type: ignore[arg-type]


def _settle(main: list[tuple[float, float, str]], primed: list[tuple[float, float, str]],
            again: list[tuple[float, float, str]] | Exception) -> tuple[list[Cue], list[tuple[float, float]]]:
    main_cues = script_cues(main)
    transcript = transcript_of(main_cues, _find(main_cues))
    asked: list[tuple[float, float]] = []

    def rehear(start: float, end: float) -> list[Cue]:
        asked.append((start, end))
        if isinstance(again, Exception):
            raise again
        return script_cues(again)

    cues = script_cues(primed)
    return settle(cues, _find(cues), transcript, rehear, lambda c: _find(c), ["deepak rao"]), asked


def test_a_name_the_unprompted_hearing_does_not_hear_is_a_mishearing() -> None:
    cues, asked = _settle(MAIN, PRIMED, MAIN)
    assert asked == [(0.5, 4.0)]                    # the cue heard again, once
    assert [c.text for c in cues] == ["Deepak Rao will call the vendor tomorrow"]
    # the value the transcript found, heard again next to the disputed span, confirms nothing
    again = [(0.5, 2.2, "Deepak Rao"), (2.2, 4.0, "will call the vendor tomorrow")]
    cues, asked = _settle(MAIN, PRIMED, again)
    assert [c.text for c in cues] == ["Deepak Rao", "will call the vendor tomorrow"]


def test_a_name_the_unprompted_hearing_hears_too_stands() -> None:
    cues, asked = _settle(MAIN, PRIMED, [(0.5, 4.0, "Deepak Rao with Kodavendra Tamarau")])
    assert asked and [c.text for c in cues] == ["Deepak Rao Kodavendra Tamarau"]
    # a re-hearing that loops leaves the name standing (it is bleeped)
    cues, asked = _settle(MAIN, PRIMED, VerificationError("loop", reason="repetition_loop"))
    assert asked and [c.text for c in cues] == ["Deepak Rao Kodavendra Tamarau"]


@pytest.mark.parametrize("main", [
    [(0.5, 4.0, "Deepak Rao will call Theplencaiden vendor")],   # a word the transcript wrote as a name
    [(0.5, 4.0, "Deepak Rao will call jamal the vendor")],       # a first name, even in lower case
    [(0.5, 4.0, "Deepak Rao will thank bhavesh ye vendor")],     # an unknown word after a cue only people take
    [(0.5, 4.0, "Deepak Rao will Kodavendra Tamarau")],          # both decodes found it there
    [(0.5, 1.5, "Deepak Rao")],                                  # the transcript heard nothing there
])
def test_no_dispute_where_the_transcript_did_not_hear_ordinary_words(main: list[tuple[float, float, str]]) -> None:
    cues, asked = _settle(main, PRIMED, MAIN)
    assert not asked and [c.text for c in cues] == ["Deepak Rao Kodavendra Tamarau"]


def test_in_a_release_a_span_is_taken_less_its_ends_in_a_bleep() -> None:
    """In a release, Deepak Rao is bleeped (silent in what the decode hears) and the primed
    decode times the mishearing after it from the bleep's start: over the transcript's
    finding. Less the silent part, it lies where the transcript heard ordinary words."""
    main_cues = script_cues(MAIN)
    transcript = transcript_of(main_cues, _find(main_cues))
    cues = script_cues([(0.4, 4.0, "Kodavendra Tamarau")])
    again = script_cues([(1.6, 4.0, "will call the vendor tomorrow")])
    assert settle(cues, _find(cues), transcript, lambda a, b: again, _find, ["deepak rao"]) == cues
    out = settle(cues, _find(cues), transcript, lambda a, b: again, _find, ["deepak rao"], quiet=[(0.35, 1.65)])
    assert out == again


@pytest.mark.parametrize("primed", ["Deepak Rao Grant Tamarau",   # a first name
                                    "Deepak Rao Rao Tamarau"])    # a piece of a known value
def test_no_dispute_over_a_name_word_or_a_known_value(primed: str) -> None:
    names = {**NAMES, primed.split(maxsplit=2)[2]: "PERSON"}
    main_cues, cues = script_cues(MAIN), script_cues([(0.5, 4.0, primed)])
    asked: list[float] = []

    def rehear(start: float, end: float) -> list[Cue]:
        asked.append(start)
        return script_cues(MAIN)

    out = settle(cues, _find(cues, names), transcript_of(main_cues, _find(main_cues, names)), rehear,
                 lambda c: _find(c, names), ["deepak rao"])
    assert not asked and out == cues


# -- through the guard: the hearing of the original and the release's verification -------------

POLICY = bleep_policy("disputes-1", ["PERSON"])


class _Ears(FakeTranscriber):
    """Main decode: its script. Verification decode: ``primed`` with a prompt, ``plain``
    without, each line heard only where the audio under it is still the source's."""

    def __init__(self, source: np.ndarray, primed: list[tuple[float, float, str]],
                 plain: list[tuple[float, float, str]]) -> None:
        super().__init__(MAIN)
        self.source, self.primed, self.plain = source, primed, plain
        self.unprompted = 0

    def transcribe(self, samples: np.ndarray, **kw: object) -> list:  # type: ignore[override]
        if kw.get("variant", "main") != "verify":
            return super().transcribe(samples, **kw)  # type: ignore[arg-type]
        self.unprompted += kw.get("prompt") is None
        lines = self.plain if kw.get("prompt") is None else self.primed
        return script_cues(lines_still_heard(self.source, samples, float(kw.get("offset", 0.0)), lines))  # type: ignore[arg-type]


def _guard(tmp_path: Path, plain: list[tuple[float, float, str]]) -> tuple[Guard, _Ears, Path, np.ndarray]:
    (tmp_path / "policy.yaml").write_text(POLICY, encoding="utf-8")
    path = tmp_path / "rec.wav"
    t = np.arange(int(5.0 * 16000)) / 16000
    src = (np.sin(2 * np.pi * 220 * t) * 8000).astype(np.int16)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(src.tobytes())
    # what the verification decode hears: "Deepak Rao" and the rest as separate lines, so the
    # rest is still heard in the release once Deepak Rao is bleeped
    primed = [(0.5, 1.5, "Deepak Rao"), (2.0, 4.0, "Kodavendra Tamarau")]
    ears = _Ears(src, primed, plain)
    guard = Guard(tmp_path / "policy.yaml", GuardOptions(), transcriber=ears, audit=MemoryAuditSink(),
                  detector=FakeDetector(NAMES))
    return guard, ears, path, src


def test_the_guard_keeps_words_only_the_primed_decode_heard_as_a_name(tmp_path: Path) -> None:
    guard, ears, path, src = _guard(tmp_path, [(0.5, 1.5, "Deepak Rao"), (2.0, 4.0, "call the vendor tomorrow")])
    result = guard.process_sync(Meeting.from_files(audio=path, attendees=["p-alice"]), "summarization",
                                "summarizer", verify=True)
    assert result.decision == "release"
    text, changed = released(result, src)
    assert re.fullmatch(rf"{_TOKEN} will call the vendor tomorrow", text)
    assert changed.min() >= 0.5 - 0.15 - 0.01 and changed.max() <= 1.5 + 0.15 + 0.01   # Deepak Rao only
    assert ears.unprompted >= 2      # the original's and the release's hearings both settled


def test_the_guard_bleeps_a_name_the_unprompted_decode_hears_too(tmp_path: Path) -> None:
    guard, _ears, path, src = _guard(tmp_path, [(0.5, 1.5, "Deepak Rao"), (2.0, 4.0, "Kodavendra Tamarau")])
    result = guard.process_sync(Meeting.from_files(audio=path, attendees=["p-alice"]), "summarization",
                                "summarizer", verify=True)
    assert result.decision == "release"
    text, changed = released(result, src)
    assert "vendor" not in text and "Kodavendra" not in text
    assert changed.max() >= 3.9


# -- a value in a word ASR fused with other words (audio.second.other_windows) -----------------

def _cue(words: list[tuple[str, float, float]]) -> Cue:
    from meetguard._model import Word

    text = "".join(w for w, _a, _b in words)
    return Cue(index=0, start=words[0][1], end=words[-1][2], speaker=None, text=text,
               words=tuple(Word(w.strip(), a, b) for w, a, b in words))


def _approx(a: float, b: float) -> list[tuple[object, object]]:
    return [(pytest.approx(a), pytest.approx(b))]


def test_a_fused_words_edge_is_the_transcripts_edge_of_the_same_value() -> None:
    from meetguard.audio.second import Hearing, other_windows

    # the verification decode fused "or call 212" into one timed token: ".okol212" 3.78-5.42
    heard = _cue([("Fabricam", 2.28, 2.84), (".example", 2.84, 3.78), (".okol212", 3.78, 5.42),
                  ("-555", 5.42, 7.24), ("-0167.", 7.24, 9.30)])
    s = heard.text.index("212")
    phone = Finding(s, heard.text.index(".", s + 8), "PHONE_NUMBER", 0.9, "2125550167")
    hearing = Hearing([heard], [[phone]], frozenset({"2125550167"}))
    main = _cue([("or", 3.86, 4.38), (" call", 4.38, 4.70), (" 212", 4.70, 5.34), ("-555", 5.34, 6.96),
                 ("-0167.", 6.96, 9.18)])
    m = main.text.index("212")
    mine = [[Finding(m, len(main.text) - 1, "PHONE_NUMBER", 0.9, "2125550167")]]
    assert other_windows(hearing, [main], mine, 0.15) == _approx(4.55, 9.45)   # "call" is kept
    # the transcript did not place that value there: the whole fused word is bleeped
    elsewhere = [[Finding(0, 2, "PHONE_NUMBER", 0.9, "5550199")]]
    assert other_windows(hearing, [main], elsewhere, 0.15) == _approx(3.63, 9.45)
    # a finding that is a word of its own keeps its own times
    whole = Finding(heard.text.index("-555"), len(heard.text) - 1, "PHONE_NUMBER", 0.9, "2125550167")
    assert other_windows(Hearing([heard], [[whole]], frozenset()), [main], mine, 0.15) == _approx(5.27, 9.45)


def test_a_place_only_the_primed_decode_heard_past_a_neighbours_edge_is_disputed() -> None:
    """name_grant (espeak-us): base wrote "approved" as "Approved," (a LOCATION), its start
    0.02 s inside tiny.en's finding "Rant Bish": word edges of two decodes, no overlap of values."""
    main = _cue([("Rant", 0.0, 0.72), (" Bish", 0.72, 1.06), (" have", 1.06, 1.26), (" approved", 1.26, 1.68),
                 (" the", 1.68, 1.94), (" budget", 1.94, 2.22)])
    primed = _cue([("Rent,", 0.0, 0.58), (" Wish,", 0.70, 0.94), (" Approved,", 1.04, 1.62), (" the", 1.68, 1.78),
                   (" budget", 1.78, 2.06)])
    s = primed.text.index("Approved")
    place = [[Finding(s, s + 8, "LOCATION", 0.7, "approved")]]
    transcript = transcript_of([main], [[Finding(0, 9, "PERSON", 0.8, "rant bish")]])
    again = script_cues([(0.0, 2.2, "grant bishop have approved the budget")])
    assert settle([primed], place, transcript, lambda a, b: again, lambda c: [[] for _ in c], []) == again
    # a street (a spoken address) is no guess of the NER: never disputed
    road = _cue([("Rent,", 0.0, 0.58), (" Wish,", 0.70, 0.94), (" Approved", 1.04, 1.40), (" Road,", 1.40, 1.62)])
    s = road.text.index("Approved")
    street = [[Finding(s, s + 13, "LOCATION", 0.7, "approved road")]]
    assert settle([road], street, transcript, lambda a, b: again, lambda c: [[] for _ in c], []) == [road]


def test_a_hearing_that_is_the_prompts_names_is_heard_again_unprompted() -> None:
    """base heard mixed_email_phone's release (mostly bleeps) as its prompt's names: a cue of
    roster names only, two members or more, is disputed whole; the unprompted hearing decides."""
    echo = script_cues([(0.0, 9.0, "Ingrid Solberg, Priya Nair, Marta Lind.")])
    found = [[Finding(0, 14, "PERSON", 1.0, "ingrid solberg", "ingrid"), Finding(16, 26, "PERSON", 1.0, "priya nair", "priya"),
              Finding(28, 38, "PERSON", 1.0, "marta lind", "marta")]]
    main_cues = script_cues(MAIN)
    transcript = transcript_of(main_cues, _find(main_cues))
    plain = script_cues([(0.0, 9.0, "Email at or call")])
    assert settle(echo, found, transcript, lambda a, b: plain, _find, []) == plain
    heard = script_cues([(0.0, 9.0, "Email Kodavendra Tamarau at or call")])
    assert settle(echo, found, transcript, lambda a, b: heard, _find, []) == echo     # a name heard: it stands
    # one member's name, or names among other words, is no echo
    one = script_cues([(0.0, 9.0, "Ingrid Solberg.")])
    assert settle(one, [found[0][:1]], transcript, lambda a, b: plain, _find, []) == one
    said = script_cues([(0.0, 9.0, "Ingrid Solberg, Priya Nair, Marta Lind will call")])
    assert settle(said, found, transcript, lambda a, b: plain, _find, []) == said


# -- the unit the release check reads (mixed_email_phone, kokoro-kumo) ---------------------------

_ROSTER = {"Ingrid Solberg": "ingrid", "Priya Nair": "priya"}


def _context_detect(texts: list[str]) -> list[list[Finding]]:
    """A detector that reads context as the NER does: a roster member's name, and a capitalised
    word after "I'm" (base's unprompted "I'm" / "Occult" for "or call", a PERSON only once joined)."""
    out = []
    for text in texts:
        found = [Finding(m.start(), m.end(), "PERSON", 1.0, m.group().casefold(), pid)
                 for name, pid in _ROSTER.items() for m in re.finditer(re.escape(name), text)]
        found += [Finding(m.start(1), m.end(1), "PERSON", 0.85, m.group(1).casefold())
                  for m in re.finditer(r"\bI'm ([A-Z][a-z]+)", text)]
        out.append(sorted(found, key=lambda f: f.start))
    return out


def _wav(path: Path, seconds: float = 5.0) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(np.zeros(int(seconds * 16000), dtype=np.int16).tobytes())
    return path


@pytest.mark.parametrize(("before", "plain", "stands"), [
    ([], [(1.2, 1.8, "I'm"), (2.0, 3.6, "Occult.")], True),      # a name in the joined text: it stands
    ([(0.0, 0.5, "I'm")], [(2.0, 3.6, "Occult.")], True),        # "I'm" in the cue before it
    ([], [(1.2, 1.8, "I'm"), (2.0, 3.6, "on call.")], False),    # no name anywhere: the re-hearing replaces it
])
def test_the_release_is_settled_on_the_text_its_check_reads(
        tmp_path: Path, before: list[tuple[float, float, str]], plain: list[tuple[float, float, str]],
        stands: bool) -> None:
    """base heard mixed_email_phone's release (mostly bleeps) as its prompt's names, and unprompted as
    "I'm" / "Occult": no name in either cue alone, a PERSON in the joined text the release check reads.
    Settled cue by cue, the re-hearing replaced the names and the check then refused the release; the
    settling now reads that same text, so what it leaves is what the check finds (or not)."""
    from meetguard.audio.disputes import release_settler

    main_cues = script_cues(MAIN)
    transcript = transcript_of(main_cues, _find(main_cues))
    ears = FakeTranscriber(verify_script=before + plain)
    settled = release_settler(transcript, ears, "verify", _context_detect, lambda f: True, [])
    cues = script_cues([*before, (1.0, 3.8, "Ingrid Solberg, Priya Nair.")])
    out = settled(cues, _wav(tmp_path / "heard.wav"), [])
    assert (out == cues) is stands
    if not stands:
        assert [c.text for c in out] == [t for _a, _b, t in before + plain]
    # the check reads the one joined text: a name there only where the settling let one stand
    assert bool(_context_detect([" ".join(c.text for c in out)])[0]) is stands


def test_joined_findings_are_split_onto_their_cues() -> None:
    from meetguard.audio.disputes import joined_findings

    cues = script_cues([(0.0, 1.0, "so I'm"), (1.0, 2.0, "Occult here")])
    found = joined_findings(cues, _context_detect)
    assert [[(f.start, f.end) for f in unit] for unit in found] == [[], [(0, 6)]]
    assert cues[1].text[found[1][0].start:found[1][0].end] == "Occult"
    across = joined_findings(script_cues([(0.0, 1.0, "Ingrid"), (1.0, 2.0, "Solberg, hi")]), _context_detect)
    assert [[(f.start, f.end) for f in unit] for unit in across] == [[(0, 6)], [(0, 7)]]


def test_a_sure_lower_case_dictionary_word_that_is_also_a_surname_is_ordinary() -> None:
    """phone_direct (espeak-us-f3): base heard the release's "My direct line" as "My name is
    Clylin." over tiny.en's "line" (0.99), also a surname in name_words.txt: the name was
    never disputed and the repair took "direct line". A dictionary word the transcript's
    decode wrote in lower case, sure of it, is that word; capitalised or unsure it is not."""
    said = [(0.5, 4.0, "Deepak Rao will call the line tomorrow")]
    cues, asked = _settle(said, PRIMED, said)
    assert asked == [(0.5, 4.0)] and [c.text for c in cues] == ["Deepak Rao will call the line tomorrow"]
    cues, asked = _settle([(0.5, 4.0, "Deepak Rao will call the Line tomorrow")], PRIMED, said)
    assert not asked and [c.text for c in cues] == ["Deepak Rao Kodavendra Tamarau"]
    main_cues = script_cues(said)
    unsure = [dataclasses.replace(main_cues[0], words=tuple(
        dataclasses.replace(w, probability=0.3 if w.text == "line" else 1.0) for w in main_cues[0].words))]
    asked2: list[float] = []
    primed = script_cues(PRIMED)

    def rehear(start: float, end: float) -> list[Cue]:
        asked2.append(start)
        return main_cues

    out = settle(primed, _find(primed), transcript_of(unsure, _find(unsure)), rehear, _find, ["deepak rao"])
    assert not asked2 and out == primed
