"""The benchmark corpus (benchmarks/corpus.py) and a property over it:
whatever the text, findings stay sorted, disjoint and clear of skip spans."""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meetguard.detection import Detector, Roster, RosterMember, TextUnit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import itertools

from corpus import ENTITY_TYPES, generate

NO_HARM = ("C4", "S3", "Q3", "JIRA-4521", "port 8080", "version 2.4.1", "room 204", "10:30", "15%", "$300")


def test_corpus_is_seeded_complete_and_exact() -> None:
    msgs = generate(2000, 5)
    assert len(msgs) == 2000
    assert generate(50, 5) == msgs[:50] and generate(50, 6) != msgs[:50]
    kinds = Counter(g.entity_type for m in msgs for g in m.gold)
    assert set(kinds) == set(ENTITY_TYPES) and min(kinds.values()) >= 50
    for m in msgs:
        for g in m.gold:
            assert m.text[g.start:g.end] == g.value
    free = [m.text for m in msgs if m.pii_free]
    assert len(free) >= 400
    assert all(any(tok in t for t in free) for tok in NO_HARM)
    assert any(m.spoken for m in msgs)


@pytest.fixture(scope="module")
def detector() -> Iterator[Detector]:
    det = Detector(plugins=False)
    det.warm()
    yield det
    det.close()


_WORDS = st.sampled_from([
    "Alice", "alice", "Martin,", "Carla's", "five", "oh", "double", "dot", "at", "example", "415-555-0142",
    "4111", "1111", "meeting", "ID", "812", "3456", "7890", "passcode", "4kT9zQ", "https://zoom.us/j/81234567890",
    "jo@x.example", "Berlin", "Friday", "Hannah", "Weiss", "the", "to", "C4", "2.4.1", ",", ".", "<@U1>",
])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(words=st.lists(_WORDS, min_size=1, max_size=25), spoken=st.booleans(), data=st.data())
@pytest.mark.models
def test_findings_are_sorted_disjoint_and_clear_of_skips(
    detector: Detector, words: list[str], spoken: bool, data: st.DataObject
) -> None:
    text = " ".join(words)
    a = data.draw(st.integers(0, len(text)))
    b = data.draw(st.integers(a, len(text)))
    roster = Roster((RosterMember("p-alice", ("Alice Martin",)),))
    [found] = detector.detect([TextUnit(text, spoken, ((a, b),))], roster)
    for f in found:
        assert 0 <= f.start < f.end <= len(text)
        assert not (f.start < b and a < f.end)
        assert f.normalized
    for x, y in itertools.pairwise(found):
        assert x.end <= y.start
