"""One value, one token (#24 item 4): overlapping readings resolve to the outermost value of the
strongest type; a structured identifier is not cut by a phone, date or name reading of a part."""

from __future__ import annotations

from meetguard.detection._floor import floor_piece_kept
from meetguard.detection._hits import RANK_FLOOR, RANK_NER, RANK_STRUCTURED, Hit, resolve


def _spans(text: str, hits: list[Hit]) -> list[tuple[str, str]]:
    return [(text[f.start:f.end], f.entity_type) for f in resolve(text, hits, (), floor_piece_kept)]


def _hit(text: str, value: str, etype: str, rank: int) -> Hit:
    s = text.index(value)
    return Hit(s, s + len(value), etype, 0.5, value, rank)


def test_a_nino_is_not_cut_by_a_phone_and_a_name_reading() -> None:
    text = "Here is my National Insurance Number YZ 61 48 68 B"
    hits = [_hit(text, "National Insurance Number YZ", "ORGANIZATION", RANK_FLOOR),
            _hit(text, "61 48 68", "PHONE_NUMBER", RANK_STRUCTURED),
            _hit(text, "YZ 61 48 68 B", "UK_NINO", RANK_FLOOR)]
    # the label left of it is no organisation (rule chat-word on the rest of a floor span)
    assert _spans(text, hits) == [("YZ 61 48 68 B", "UK_NINO")]


def test_an_iban_read_as_speech_is_not_cut_by_a_spoken_number() -> None:
    text = "IBAN: DE89 3704 0044 0532 0130 00"
    hits = [_hit(text, "DE89 3704 0044 0532 0130 00", "IBAN_CODE", RANK_STRUCTURED + 2),
            _hit(text, "89 3704 0044 0532 0130 00", "PHONE_NUMBER", RANK_STRUCTURED + 3)]
    assert _spans(text, hits) == [("DE89 3704 0044 0532 0130 00", "IBAN_CODE")]


def test_a_bare_run_of_digits_does_not_outrank_a_phone() -> None:
    # Presidio's IT_VAT_CODE pattern reads any 11 digits (and a trailing space): the phone stays
    text = "call 020 7946 0958 today"
    hits = [_hit(text, "020 7946 0958 ", "IT_VAT_CODE", RANK_FLOOR),
            _hit(text, "020 7946 0958", "PHONE_NUMBER", RANK_STRUCTURED)]
    assert _spans(text, hits) == [("020 7946 0958", "PHONE_NUMBER")]


def test_a_name_holding_the_identifier_whole_keeps_it_and_a_roster_name_is_never_cut() -> None:
    text = "Ship to Flat 2, 10 Baker Street, London NW1 6XE"
    hits = [_hit(text, "Baker Street, London NW1 6XE", "LOCATION", RANK_NER),
            _hit(text, "NW1 6XE", "UK_POSTCODE", RANK_FLOOR)]
    assert _spans(text, hits) == [("Baker Street, London NW1 6XE", "LOCATION")]
    text = "ask Zoe AB 12 34 56 C"
    roster = Hit(4, 7, "PERSON", 1.0, "zoe", 50, "p1")
    assert _spans(text, [roster, _hit(text, "AB 12 34 56 C", "UK_NINO", RANK_FLOOR)]) == [
        ("Zoe", "PERSON"), ("AB 12 34 56 C", "UK_NINO")]


def test_a_name_takes_its_possessive_from_a_reading_it_beat() -> None:
    """"Maite Lemmens's" read as an ORGANIZATION by the floor and as a PERSON: one PERSON over
    "Maite Lemmens's", in the name's normal form (its pseudonym is the name's), no finding "s"."""
    for apostrophe in ("'", "’"):
        text = f"Maite Lemmens{apostrophe}s killers sentenced to life in prison"
        hits = [_hit(text, f"Maite Lemmens{apostrophe}s", "ORGANIZATION", RANK_FLOOR),
                _hit(text, "Maite Lemmens", "PERSON", RANK_NER)]
        found = resolve(text, hits, (), floor_piece_kept)
        assert [(text[f.start:f.end], f.entity_type, f.normalized) for f in found] == [
            (f"Maite Lemmens{apostrophe}s", "PERSON", "Maite Lemmens")]


def test_a_possessive_is_taken_only_beside_the_value_and_never_over_a_skip() -> None:
    # a name reading that lost nothing but a lone "s" (not the floor's) leaves "<PERSON_1>'s"
    text = "it's fine, Anna's here"
    hits = [_hit(text, "Anna's", "LOCATION", RANK_NER), _hit(text, "Anna", "PERSON", RANK_NER + 5)]
    assert _spans(text, hits) == [("Anna", "PERSON")]
    # "s" that goes on as a word, or with no value right before its apostrophe, stays what it was
    text = "Maite Lemmens'sx budget"
    hits = [_hit(text, "Maite Lemmens'sx", "ORGANIZATION", RANK_FLOOR), _hit(text, "Maite Lemmens", "PERSON", RANK_NER)]
    assert _spans(text, hits) == [("Maite Lemmens", "PERSON"), ("sx", "ORGANIZATION")]
    text = "ask Maite Lemmens's team"
    hits = [_hit(text, "Maite Lemmens's", "ORGANIZATION", RANK_FLOOR), _hit(text, "Maite", "PERSON", RANK_NER)]
    assert _spans(text, hits) == [("Maite", "PERSON"), ("Lemmens's", "ORGANIZATION")]
    # the apostrophe inside a skip span (an @mention's) is never taken
    text = "Maite Lemmens's budget"
    hits = [_hit(text, "Maite Lemmens's", "ORGANIZATION", RANK_FLOOR), _hit(text, "Maite Lemmens", "PERSON", RANK_NER)]
    found = resolve(text, hits, ((13, 14),), floor_piece_kept)
    assert all(f.end <= 13 or f.start >= 14 for f in found)
