"""A people is no person (#23, clean speech refused): "And so my fellow Americans asked
not" is jfk.flac as base hears it, and "Americans" before "asked" read as a name (a
capitalised word before a verb only people do) was bleeped in every loop of the speech,
its pieces heard again in the release. Nationality words (meetguard/data/demonyms.txt)
are no person's name alone; they stay what spaCy calls them (NRP); names still are."""

from __future__ import annotations

import pytest

from meetguard.detection import TextUnit
from meetguard.detection._defaults import default_registry
from meetguard.detection._ner import person_ok, title_name

_REGISTRY = default_registry()


def _found(text: str) -> dict[str, str]:
    [fs] = _REGISTRY.findings([TextUnit(text)])
    return {text[f.start:f.end]: f.entity_type for f in fs}


@pytest.mark.parametrize("text", [
    "And so my fellow Americans asked not.",
    "And so my fellow Americans ask not, what your country can do for you",
    "The Germans said yes to the plan.",
    "Canadians asked for the slides.",
])
def test_a_nationality_before_a_verb_is_no_name(text: str) -> None:
    found = _found(text)
    assert "PERSON" not in found.values(), found


@pytest.mark.parametrize(("text", "name"), [
    ("Jordan asked about the budget.", "Jordan"),
    ("Scott said the deck is ready.", "Scott"),
    ("Ask French about the invoice.", "French"),
])
def test_names_that_are_also_places_or_peoples_stay_names(text: str, name: str) -> None:
    assert _found(text).get(name) == "PERSON"


def test_the_word_list_reads_peoples_only() -> None:
    assert not person_ok("Americans") and not person_ok("Sri Lankans") and not title_name("Sri Lankans")
    assert person_ok("Ingrid Solberg") and person_ok("Jordan") and title_name("Nicola Phillips")
