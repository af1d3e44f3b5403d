"""Re-identification: tolerant, exact restore; the streaming hold-back (issue #15)."""

from __future__ import annotations

import json

import pytest

from meetguard.reidentify import Restorer, StreamRestorer

MAP = {"<PERSON_1>": "Carla Diaz", "<PERSON_2>": "Bo Li", "<PERSON_12>": "Ann Wu",
       "<EMAIL_ADDRESS_1>": "carla@example.com"}
NAMES = ("Carla Diaz", "Bo Li", "Ann Wu", "carla@example.com")


@pytest.mark.parametrize("written", ["<PERSON_1>", "PERSON_1", "[PERSON_1]", "<person_1>", "Person 1"])
def test_tolerant_forms_restore_the_same_person(written: str) -> None:
    text, n = Restorer(MAP).restore(f"Ask {written} today.")
    assert (text, n) == ("Ask Carla Diaz today.", 1)


@pytest.mark.parametrize("written", ["PERSON_3", "<PERSON_01>", "PERSONS_1", "XPERSON_1", "PERSON_1x",
                                     "<LOCATION_1>", "PERSON_123"])
def test_type_and_number_must_match_exactly(written: str) -> None:
    text, n = Restorer(MAP).restore(f"Ask {written} today.")
    assert (text, n) == (f"Ask {written} today.", 0)


def test_twelve_is_not_one_and_multiword_types() -> None:
    text, n = Restorer(MAP).restore("PERSON_12 and <PERSON_1> mail Email Address 1.")
    assert text == "Ann Wu and Carla Diaz mail carla@example.com."
    assert n == 3


SOURCE = "Hi <PERSON_1>, PERSON_12 [PERSON_2] wrote Person 1 and <EMAIL_ADDRESS_1>; PERSON_3 stays."
WANT = Restorer(MAP).restore(SOURCE)[0]


def _stream(pieces: list[str]) -> tuple[str, list[str]]:
    s = StreamRestorer(Restorer(MAP))
    emitted = [s.feed(p) for p in pieces]
    emitted.append(s.flush())
    return "".join(emitted), emitted


def test_every_split_in_two_restores_whole_and_never_emits_a_token_part() -> None:
    for cut in range(len(SOURCE) + 1):
        out, emitted = _stream([SOURCE[:cut], SOURCE[cut:]])
        assert out == WANT, cut
        for piece in emitted:
            assert "PERSON_1" not in piece and "<PERSON" not in piece.replace("<PERSON_3", "")


def test_every_split_in_three_restores_whole() -> None:
    token = "<PERSON_12>"
    text = f"x {token} y"
    for a in range(len(text) + 1):
        for b in range(a, len(text) + 1):
            out, emitted = _stream([text[:a], text[a:b], text[b:]])
            assert out == "x Ann Wu y", (a, b)
            assert not any("PERSON" in e or "ERSON" in e for e in emitted)


def test_partial_token_is_held_then_released_when_it_cannot_be_one() -> None:
    s = StreamRestorer(Restorer(MAP))
    assert s.feed("Dear PER") == "Dear "
    assert s.holding == "PER"
    assert s.feed("U is a country") == "PERU is a country"
    assert s.feed(" PERSON_1") == " "           # could still become PERSON_12
    assert s.feed("2") == ""
    assert s.feed(".") == "Ann Wu."
    assert s.flush() == ""
    assert s.restored == 1


def test_one_char_chunks_and_json_escaping_for_arguments() -> None:
    r = Restorer({"<PERSON_1>": 'Carla "CD" Diaz'})
    s = StreamRestorer(r, escape=lambda v: json.dumps(v)[1:-1])
    args = '{"to": "<PERSON_1>"}'
    out = "".join(s.feed(c) for c in args) + s.flush()
    assert json.loads(out) == {"to": 'Carla "CD" Diaz'}
