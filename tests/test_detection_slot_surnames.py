"""A surname that is also a dictionary word, after a first name in a question or relation slot
("who is tom hanks"): the lower-case name finder took only "tom" (issue #24, item 2)."""

from __future__ import annotations

import pytest

from meetguard.detection._names import lower_names


@pytest.mark.parametrize(("text", "name"), [
    ("who is tom hanks", "tom hanks"),
    ("who was john smith, the explorer", "john smith"),
    ("who is tom hanks's wife", "tom hanks"),
    ("who is tom going with", "tom"),        # a verb goes on: no surname
    ("who is tom now", "tom"),               # a stop word
    ("how old is jack exactly", None),       # an adverb ends it; "jack" alone is no known name here
    ("who is tom there", "tom"),
    ("who is tom paris", "tom"),             # a place is no surname
])
def test_a_dictionary_word_ending_a_question_after_a_first_name_is_its_surname(text: str, name: str | None) -> None:
    got = {text[h.start:h.end] for h in lower_names(text)}
    assert (name in got) if name else not any(" " in g for g in got), got
    assert not any(g not in ("tom hanks", "john smith") and " " in g for g in got), got


@pytest.mark.models
def test_the_detector_gives_the_whole_name_one_token() -> None:
    from meetguard.detection import Detector, Roster, TextUnit

    texts = ["who is tom hanks", "how old is tom hanks", "who is tom going with"]
    with Detector(plugins=False) as det:
        found = det.detect([TextUnit(t, spoken=True) for t in texts], Roster())
    got = [[(f.entity_type, t[f.start:f.end]) for f in fs] for t, fs in zip(texts, found, strict=True)]
    assert got == [[("PERSON", "tom hanks")], [("PERSON", "tom hanks")], [("PERSON", "tom")]]
