"""A number said right beside a value belongs to it (#23, meetguard/audio/digits.py): a house
number before a name or place, fused ("250C"), as a numeral or as number words, is redacted with
the value and bleeped; a number either decode heard touching a bleep is bleeped and gone from the
transcript. Kept: numbers of one or two digits, a year set apart by a comma, a time, a number not
touching a value. Fakes only (no models)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from meetguard._model import Finding
from meetguard.audio.digits import beside_bleeps, number_runs
from meetguard.audio.whole import complete_document
from meetguard.testing import (
    StillHeardEars,
    bleep_policy,
    script_cues,
    tone_wav,
)

from .conftest import fake_release

_TOKEN = r"[<\[][A-Z_]+(?:_\d+)?[>\]]"


def _joined(text: str, value: str, etype: str = "PERSON") -> list[str]:
    s = text.index(value)
    found = complete_document([text], [[Finding(s, s + len(value), etype, 0.8, value.casefold())]], lambda f: True)
    return [text[f.start:f.end] for f in found[0]]


@pytest.mark.parametrize(("text", "value", "said"), [
    # tiny.en's hearing of "two fifty Cedar Avenue" (espeak-gb-rp): fused, then an article
    ("The new site in at 250C, the Ramanu in Portland.", "Ramanu", "250C, the Ramanu"),
    ("The flat is 12B Baker, top floor.", "Baker", "12B Baker"),                          # fused, 2 digits
    ("I live at 4200 Elm now.", "Elm", "4200 Elm"),                                        # a numeral
    ("The office at two fifty Cedar is new.", "Cedar", "two fifty Cedar"),                 # number words
    ("The office at four hundred and five Harbor is new.", "Harbor", "four hundred and five Harbor"),
    ("Ship it to two five oh, Cedar.", "Cedar", "two five oh, Cedar"),                     # digit words
    ("It goes to Portland 97201 by Friday.", "Portland", "Portland 97201"),                # after: a postcode
])
def test_a_number_run_right_beside_a_name_or_place_joins_it(text: str, value: str, said: str) -> None:
    assert _joined(text, value, "LOCATION") == [said]


@pytest.mark.parametrize(("text", "value"), [
    ("I live at 42 Elm now.", "Elm"),                 # one or two digits: not identifying alone
    ("In 2024, Alice said it works.", "Alice"),       # a year set apart by a comma
    ("That was Alice, 2024.", "Alice"),
    ("We sold 300 in Portland last year.", "Portland"),   # a preposition between: a quantity
    ("See you at 3pm Alice.", "Alice"),               # a time
    ("On the 21st, Alice called.", "Alice"),          # an ordinal
    ("Alice said we need 500 more.", "Alice"),        # not touching the value
])
def test_a_number_that_is_no_part_of_the_value_stays(text: str, value: str) -> None:
    assert _joined(text, value) == [value]


def test_the_joined_number_is_a_piece_of_the_value_elsewhere() -> None:
    """Its digits are a piece of the value: heard again elsewhere they go as that value."""
    texts = ["The new site in at 250C, the Ramanu.", "Yes, 250 it is."]
    s = texts[0].index("Ramanu")
    found = complete_document(texts, [[Finding(s, s + 6, "PERSON", 0.8, "ramanu")], []], lambda f: True)
    assert [[t[f.start:f.end] for f in unit] for t, unit in zip(texts, found, strict=True)] == [
        ["250C, the Ramanu"], ["250"]]


def test_number_runs() -> None:
    assert [r[2:] for r in number_runs("at 250C, then two fifty and one twenty five")] == [
        ("250", True), ("250", False), ("125", False)]
    text = "at 3 pm, in the 1990s, on the 21st, 42 people"
    assert number_runs(text) == [(text.index("1990s"), text.index("1990s") + 5, "1990", False)]


def test_a_number_touching_a_bleep_in_time_is_taken_with_what_touches_it() -> None:
    """Either decode's number run that touches a bleep window (padded) is taken, and so is one of
    the other decode that touches a taken run; one further away, or a year set off by a comma, is not."""
    tiny = script_cues([(0.0, 1.0, "new site at"), (1.5, 2.25, "250C,"), (2.25, 3.0, "the Ramanu")])
    base = script_cues([(0.0, 1.2, "a new site"), (1.2, 1.7, "250"), (1.7, 2.2, "cd.")])
    none: list[list[Finding]] = [[], [], []]
    window = [(2.24, 3.2)]                       # "Ramanu" bleeped, padded
    spans, texts = beside_bleeps(window, [(tiny, none), (base, none)], 0.15, 0.02)
    assert spans == [[(1.5, 2.25)], [(1.2, 1.7)]]
    assert sorted(texts) == ["250", "250C"]
    far = script_cues([(0.0, 1.0, "we sold 300"), (2.0, 3.0, "Ramanu")])
    assert beside_bleeps([(1.85, 3.15)], [(far, [[], []])], 0.15, 0.02) == ([[]], [])
    year = script_cues([(0.0, 1.0, "in 2024,"), (1.0, 2.0, "Alice said")])
    assert beside_bleeps([(0.85, 1.65)], [(year, [[], []])], 0.15, 0.02) == ([[]], [])
    # a run that is a value's own digits is bleeped by that value's edges, not taken again
    found = [[], [Finding(0, 4, "FRAGMENT", 1.0, "250")], []]
    assert beside_bleeps(window, [(tiny, none), (base, found)], 0.15, 0.02)[0] == [[(1.5, 2.25)], []]


_Ears = StillHeardEars


def _release(tmp_path: Path, main: list[tuple[float, float, str]], heard: list[tuple[float, float, str]],
             values: dict[str, str]) -> tuple[str, np.ndarray]:
    (tmp_path / "policy.yaml").write_text(bleep_policy("digits-1", ["LOCATION", "PERSON"]), encoding="utf-8")
    src = tone_wav(tmp_path / "rec.wav", 5.0)
    return fake_release(tmp_path / "policy.yaml", tmp_path / "rec.wav", _Ears(src, main, heard), values, src)


def test_a_house_number_only_the_time_line_ties_to_the_value_is_bleeped_and_gone(tmp_path: Path) -> None:
    """The main decode heard the street as plain words after the number ("250 cd avenue"), the
    verification decode heard the street alone: its value is bleeped (the union), and the main
    decode's "250", touching that bleep, is bleeped and gone from the transcript too."""
    main = [(0.0, 1.5, "the new site is"), (1.5, 2.4, "at 250"), (2.4, 4.0, "cd avenue today")]
    heard = [(0.0, 1.5, "the new site is"), (1.5, 2.0, "at"), (2.4, 3.6, "cedar avenue"), (3.6, 4.0, "today")]
    text, changed = _release(tmp_path, main, heard, {"cedar avenue": "LOCATION"})
    assert "250" not in text and "cd" not in text, text
    assert text.startswith("the new site is at ") and text.endswith(" today"), text
    assert changed.min() <= 1.95 + 0.01                       # "250" (1.95-2.4 s) bleeped, padded


def test_a_number_away_from_the_value_is_kept(tmp_path: Path) -> None:
    """A number not touching any bleep (in text or time) stays, in the transcript and the sound."""
    main = [(0.0, 1.5, "we sold 300 units"), (2.5, 4.0, "to cedar avenue")]
    text, changed = _release(tmp_path, main, main, {"cedar avenue": "LOCATION"})
    assert re.fullmatch(rf"we sold 300 units to {_TOKEN}", text), text
    assert changed.min() > 1.5
