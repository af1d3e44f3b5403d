"""The Portuguese "eu" ("I") is no place and no name; the EU stays a place (rule foreign-word,
docs/detection.md). A short Portuguese line in an English meeting takes the meeting's language,
so the English detector reads it: "eu também" was redacted as a LOCATION."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from meetguard.detection import Detector, Roster, TextUnit
from meetguard.detection._floor import ner_floor_hit, ner_rule
from meetguard.detection._places import find_places, portuguese_i

PRONOUN = ["eu também", "eu acho que sim", "eu não sei", "sim eu também", "que eu saiba", "Eu também, obrigado"]
UNION = ["the eu must act", "eu citizens deserve better", "in the eu today", "the eu sim card rules",
         "the eu um will act now", "we need eu rules", "what the eu is doing in the western balkans"]


@pytest.mark.parametrize("text", PRONOUN)
def test_the_lower_case_place_finder_leaves_the_portuguese_i(text: str) -> None:
    assert not [h for h in find_places(text.lower()) if text.lower()[h.start:h.end] == "eu"]


@pytest.mark.parametrize("text", UNION)
def test_the_lower_case_place_finder_keeps_the_eu(text: str) -> None:
    assert [h for h in find_places(text) if text[h.start:h.end] == "eu"]


def test_the_floor_rule_needs_portuguese_beside_eu() -> None:
    """Presidio reads "eu também" as a PERSON: rule foreign-word leaves it; "eu" alone in English
    stays (a place), and so does a span with any word that is not Portuguese."""
    assert ner_rule("eu também", "PERSON", "", False, "") == "foreign-word"
    assert ner_floor_hit("eu também", "PERSON", 0, 9) is None
    assert ner_floor_hit("que eu saiba", "PERSON", 0, 6) is None
    assert ner_rule("eu", "PERSON", "the ", False, " must act") is None
    assert ner_floor_hit("the eu must act", "PERSON", 4, 6) is not None
    assert not portuguese_i(["eu", "citizens"]) and not portuguese_i(["the", "eu"]) and not portuguese_i(["eu"])
    assert portuguese_i(["eu"], "", " não sei") and portuguese_i(["que", "eu"])


@pytest.fixture(scope="module")
def detector() -> Iterator[Detector]:
    det = Detector(plugins=False)
    yield det
    det.close()


@pytest.mark.models
def test_the_detector_keeps_the_eu_and_leaves_the_portuguese_i(detector: Detector) -> None:
    texts = PRONOUN + UNION
    found = detector.detect([TextUnit(t) for t in texts], Roster())
    for text, fs in zip(texts, found, strict=True):
        eu = [f for f in fs if text[f.start:f.end].casefold() == "eu"]
        if text in PRONOUN:
            assert fs == [], (text, fs)
        else:
            assert [f.entity_type for f in eu] == ["LOCATION"], (text, fs)


@pytest.mark.models
def test_the_detector_reads_the_union_as_the_eu_in_a_speech_on_the_eu(detector: Detector) -> None:
    texts = ["this clearly is a central challenge for the union and for the european investment bank",
             "the union rep said we strike friday"]
    a, b = detector.detect([TextUnit(t, spoken=True) for t in texts], Roster())
    assert any(f.entity_type == "LOCATION" and f.start <= texts[0].index("union") < f.end for f in a), a
    assert not any("union" in texts[1][f.start:f.end] for f in b), b

@pytest.mark.parametrize(("text", "union"), [
    ("the objectives of the union and of the eu", True),
    ("the union is for example supporting member states", True),
    ("fraud against the union's financial interests, the commission said", True),
    ("in the union. brussels must act", True),
    ("the union rep said we strike friday", False),
    ("the state of the union address in europe", False),
    ("the unions of europe", False),
    ("the union-wide rules of the eu", False),
    ("we met the union and the city council", False),
])
def test_the_union_is_the_eu_only_where_the_text_speaks_of_the_eu(text: str, union: bool) -> None:
    """'the union' in a text naming the EU's own words is the EU; a trade union is no place."""
    got = [text[h.start:h.end] for h in find_places(text)]
    assert ("union" in got) is union
