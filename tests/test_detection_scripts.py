"""Digits of every script and one token per value (issue #24 items 3 and 4).

Registry-only checks (no spaCy) plus one real-model check through the Detector.
"""

from __future__ import annotations

import pytest

from meetguard.detection import Detector, Roster, RosterMember, TextUnit
from meetguard.detection._defaults import default_registry
from meetguard.detection._fold import fold

_REGISTRY = default_registry()
_ROSTER = Roster(members=(RosterMember("p-alice", ("Alice Martin",)),))


def _found(text: str, roster: Roster = _ROSTER) -> list[tuple[str, str]]:
    [fs] = _REGISTRY.findings([TextUnit(text)], roster)
    return [(f.entity_type, text[f.start:f.end]) for f in fs]


def test_fold_keeps_length_and_reads_every_digit_script() -> None:
    for text, want in [("４１１１ １１１１", "4111 1111"), ("٠١٢٣٤٥٦٧٨٩", "0123456789"),
                       ("۰۱۲۳", "0123"), ("०१२३", "0123"), ("ｊｏｈｎ＠ｅｘａｍｐｌｅ．ｃｏｍ", "john@example.com"),
                       ("a\u3000b", "a b"), ("plain ascii 12", "plain ascii 12"), ("ﬁ½", "ﬁ½")]:
        out = fold(text)
        assert out == want and len(out) == len(text)


@pytest.mark.parametrize(("text", "value", "etype"), [
    ("card ４１１１ １１１１ １１１１ １１１１ please", "４１１１ １１１１ １１１１ １１１１", "CREDIT_CARD"),
    ("card ٤١١١ ١١١١ ١١١١ ١١١١ please", "٤١١١ ١١١١ ١١١١ ١١١١", "CREDIT_CARD"),
    ("card ۴۱۱۱۱۱۱۱۱۱۱۱۱۱۱۱ please", "۴۱۱۱۱۱۱۱۱۱۱۱۱۱۱۱", "CREDIT_CARD"),
    ("call ０２０ ７９４６ ０９５８ today", "０２０ ７９４６ ０９５８", "PHONE_NUMBER"),
    ("call +٤٤ ٢٠ ٧٩٤٦ ٠٩٥٨ today", "+٤٤ ٢٠ ٧٩٤٦ ٠٩٥٨", "PHONE_NUMBER"),
    ("ssn ٠٧٨-٠٥-١١٢٣ ok", "٠٧٨-٠٥-١١٢٣", "US_SSN"),
    ("iban ＡＴ６１ １９０４ ３００２ ３４５７ ３２０１ ok", "ＡＴ６１ １９０４ ３００２ ３４５７ ３２０１", "IBAN_CODE"),
    ("mail ｂｏｂ＠ｅｘａｍｐｌｅ．ｃｏｍ now", "ｂｏｂ＠ｅｘａｍｐｌｅ．ｃｏｍ", "EMAIL_ADDRESS"),
])
def test_values_in_other_digit_scripts_are_found_at_their_own_offsets(text: str, value: str, etype: str) -> None:
    assert (etype, value) in _found(text)


def test_the_same_value_in_ascii_and_full_width_normalises_alike() -> None:
    [a, b] = _REGISTRY.findings([TextUnit("card 4111 1111 1111 1111"), TextUnit("card ４１１１ １１１１ １１１１ １１１１")])
    assert [f.normalized for f in a] == [f.normalized for f in b] == ["4111111111111111"]


@pytest.mark.parametrize(("text", "value", "etype"), [
    ("send comments to alice.martin@northwind.example by noon", "alice.martin@northwind.example", "EMAIL_ADDRESS"),
    ("write to Alice.Martin@northwind.example", "Alice.Martin@northwind.example", "EMAIL_ADDRESS"),
    ("profile https://northwind.example/people/alice-martin here", "https://northwind.example/people/alice-martin",
     "URL"),
    ("mail martin.alice@contoso.com", "martin.alice@contoso.com", "EMAIL_ADDRESS"),
])
def test_one_value_one_finding_even_with_a_roster_name_inside(text: str, value: str, etype: str) -> None:
    found = _found(text)
    assert (etype, value) in found
    inside = [f for f in found if f[1] != value and f[1] in value]
    assert inside == []


def test_the_name_outside_the_address_is_still_a_person() -> None:
    found = _found("Alice Martin (alice.martin@northwind.example) joined")
    assert ("PERSON", "Alice Martin") in found
    assert ("EMAIL_ADDRESS", "alice.martin@northwind.example") in found


@pytest.mark.models
def test_detector_reads_other_scripts_and_keeps_one_token() -> None:
    det = Detector(plugins=False)
    try:
        texts = ["my card is ４１１１ １１１１ １１１１ １１１１, mail alice.martin@northwind.example",
                 "رقم البطاقة ٤١١١١١١١١١١١١١١١ والهاتف +٩٧١ ٥٠ ١٢٣ ٤٥٦٧"]
        a, b = det.detect([TextUnit(t) for t in texts], _ROSTER)
        assert {(f.entity_type, texts[0][f.start:f.end]) for f in a} >= {
            ("CREDIT_CARD", "４１１１ １１１１ １１１１ １１１１"), ("EMAIL_ADDRESS", "alice.martin@northwind.example")}
        assert not any(f.entity_type == "PERSON" for f in a)
        got = {(f.entity_type, texts[1][f.start:f.end]) for f in b}
        assert ("CREDIT_CARD", "٤١١١١١١١١١١١١١١١") in got and ("PHONE_NUMBER", "+٩٧١ ٥٠ ١٢٣ ٤٥٦٧") in got
    finally:
        det.close()
