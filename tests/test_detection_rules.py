"""The named rules that may leave out a span of Presidio's floor (docs/detection.md):
each holds the true values it must never remove, and leaves out what it names."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from meetguard.detection import TextUnit
from meetguard.detection._defaults import default_registry
from meetguard.detection._floor import RULES, ner_rule, pattern_rule

DOC = Path(__file__).resolve().parent.parent / "docs" / "detection.md"
_REGISTRY = default_registry()


def _found(text: str) -> set[str]:
    [fs] = _REGISTRY.findings([TextUnit(text)])
    return {text[f.start:f.end] for f in fs}


def test_the_docs_table_names_every_rule_and_no_other() -> None:
    rows = re.findall(r"^\| `([a-z-]+)` \|", DOC.read_text(encoding="utf-8"), re.MULTILINE)
    assert sorted(rows) == sorted(RULES)


@pytest.mark.parametrize(("text", "value"), [
    ("driver license D1234567", "D1234567"), ("H12234567", "H12234567"),
    ("passport number 912803456", "912803456"), ("id 1234567890 only", "1234567890"),
])
def test_weak_uncued_keeps_cued_shaped_and_long_values(text: str, value: str) -> None:
    assert value in _found(text)


def test_weak_uncued_leaves_short_codes() -> None:
    assert _found("the C4 deck for Q3") == set()


@pytest.mark.parametrize(("text", "value", "etype"), [
    ("Today is 21.5.21", "21.5.21", "DATE_TIME"), ("at 2015-12-22 04:34:22", "04:34:22", "DATE_TIME"),
    ("AAASA1111R", "AAASA1111R", "IN_PAN"), ("MORGA607054SM9IJ", "MORGA607054SM9IJ", "UK_DRIVING_LICENCE"),
    ("AB51 ABC", "AB51 ABC", "UK_VEHICLE_REGISTRATION"), ("34 abc 1234", "34 abc 1234", "TR_LICENSE_PLATE"),
    ("aa02 aaa", "aa02 aaa", "UK_VEHICLE_REGISTRATION"), ("app-456cv", "app-456cv", "NG_VEHICLE_REGISTRATION"),
    ("06 A 123", "06 A 123", "TR_LICENSE_PLATE"), ("PLZ 10115", "10115", "DE_PLZ"),
    ("10115 Berlin", "10115", "DE_PLZ"), ("123456789", "123456789", "DE_BSNR"),
    ("www.notes.md", "www.notes.md", "URL"), ("https://main.py/x", "https://main.py/x", "URL"),
    ("contoso.com", "contoso.com", "URL"), ("MY CAR IS AB51 ABC", "AB51 ABC", "UK_VEHICLE_REGISTRATION"),
    ("copy jamal at wingtip...example", "wingtip...example", "URL"),
    ("07 AB 123", "07 AB 123", "TR_LICENSE_PLATE"),
    ("call 555-123-4567", "555-123-4567", "PHONE_NUMBER"),
    ("my card # 503890547220 for", "503890547220", "US_BANK_NUMBER"), ("phone: 030 1234567", "030 1234567", "PHONE_NUMBER"),
])
def test_pattern_rules_keep_true_values(text: str, value: str, etype: str) -> None:
    s = text.index(value)
    assert pattern_rule(text, s, s + len(value), etype) is None


@pytest.mark.parametrize(("text", "value", "etype", "rule"), [
    ("meet at 10:30", "10:30", "DATE_TIME", "clock-or-version"), ("on 2.3.1 now", "2.3.1", "DATE_TIME",
                                                                  "clock-or-version"),
    ("especially", "especially", "IN_PAN", "no-digit-id"), ("it is up 15", "is up 15", "DE_KFZ", "words-as-plate"),
    ("C4 and", "C4 and", "UK_VEHICLE_REGISTRATION", "words-as-plate"),
    ("at 09:15 ssn 649-64-8669", "15 ssn", "TR_LICENSE_PLATE", "words-as-plate"),
    ("at 09:15 NHS 089 911 8941", "15 NHS", "TR_LICENSE_PLATE", "words-as-plate"),
    ("la latence est de 40 ms", "est de 40", "DE_KFZ", "words-as-plate"),
    ("la facture 20931 est payée", "20931", "DE_PLZ", "labelled-number"),
    ("ont dérobé 20000$", "20000", "DE_PLZ", "labelled-number"), ("il y a 300 personnes", "y a 300", "DE_KFZ",
                                                                  "words-as-plate"),
    ("ticket 88213", "88213", "DE_PLZ", "labelled-number"), ("order 123456789", "123456789", "DE_BSNR",
                                                               "labelled-number"),
    ("see notes.md", "notes.md", "URL", "file-name"),
    ("...remend the remote.", "...re", "URL", "ellipsis"), ("so ...it is", "...it", "URL", "ellipsis"),
    ("CONVERSION IS UP 15", "IS UP 15", "DE_KFZ", "words-as-plate"),
    ("build 555-123-456-7 passed", "555-123-456-7", "PHONE_NUMBER", "labelled-number"),
])
def test_pattern_rules_leave_out_what_they_name(text: str, value: str, etype: str, rule: str) -> None:
    s = text.index(value)
    assert pattern_rule(text, s, s + len(value), etype) == rule


@pytest.mark.parametrize(("value", "ptype"), [
    ("3 janvier 2001", "DATE_TIME"), ("March 3, 1998", "DATE_TIME"), ("1988", "DATE_TIME"),
    ("78 years", "DATE_TIME"), ("Mark Evans", "PERSON"), ("Grace Liu", "PERSON"), ("Will Smith", "PERSON"),
    ("Hellendoorn", "LOCATION"), ("Northwind Traders", "ORGANIZATION"), ("21072", "DATE_TIME"),
    ("12 2001", "DATE_TIME"), ("dorothy", "PERSON"), ("bill malinda", "PERSON"), ("Le Goff", "PERSON"),
    ("Van Dijk", "PERSON"), ("De Luca", "PERSON"), ("IBM", "ORGANIZATION"), ("paris", "LOCATION"),
    ("Agatha Á", "ORGANIZATION"), ("CO Uruguay 64677", "ORGANIZATION"), ("ec 76634", "ORGANIZATION"),
    ("remove finlee's", "PERSON"), ("the first of May", "DATE_TIME"), ("march twenty first", "DATE_TIME"),
    ("the year two thousand", "DATE_TIME"), ("Novo mesto Country Club", "ORGANIZATION"), ("Quinta de São Tiago", "ORGANIZATION"),
])
def test_ner_rules_keep_true_values(value: str, ptype: str) -> None:
    assert ner_rule(value, ptype) is None


@pytest.mark.parametrize(("value", "ptype", "before", "caps"), [
    ("jack", "PERSON", "quick reply to ", False), ("smith", "PERSON", "a call with ", False),
    ("al", "PERSON", "meeting with ", False),
    ("NINA VAN DIJK", "PERSON", "PING ", True), ("PARIS", "LOCATION", "", True),
    ("wyatt", "PERSON", "play ", False), ("obama", "PERSON", "what did ", False),
    ("jaipur", "ORGANIZATION", "weather in ", False), ("ben", "PERSON", "did ", False),
    ("OBAMA", "PERSON", "", True),
])
def test_uncased_spans_keep_cued_and_known_names(value: str, ptype: str, before: str, caps: bool) -> None:
    assert ner_rule(value, ptype, before, caps) is None


@pytest.mark.parametrize(("value", "ptype", "rule"), [
    ("next Tuesday", "DATE_TIME", "calendar-word"), ("jeudi", "DATE_TIME", "calendar-word"),
    ("this morning", "DATE_TIME", "calendar-word"), ("10:30 am", "DATE_TIME", "calendar-word"),
    ("Thanks", "PERSON", "chat-word"), ("Agenda", "ORGANIZATION", "chat-word"), ("C4", "ORGANIZATION", "chat-word"),
    ("Webinar ID", "ORGANIZATION", "chat-word"), ("JIRA-4521", "PERSON", "chat-word"),
    ("1111 1112", "DATE_TIME", "number-as-date"), ("node 18.19.0", "PERSON", "chat-word"),
    ("DEA number", "PERSON", "chat-word"), ("Ping", "PERSON", "leading-verb"),
    ("grafana", "PERSON", "uncased-unknown"), ("nos vemos", "PERSON", "uncased-unknown"),
    ("cancel alarm", "PERSON", "uncased-unknown"), ("moon", "PERSON", "uncased-unknown"),
    ("current news", "ORGANIZATION", "uncased-unknown"), ("sun and moon", "ORGANIZATION", "uncased-unknown"),
    ("what day of the week", "DATE_TIME", "calendar-word"), ("what year", "DATE_TIME", "calendar-word"),
    ("4417829", "DATE_TIME", "labelled-number"),
    ("PORT 8080", "DATE_TIME", "chat-word"),
])
def test_ner_rules_leave_out_what_they_name(value: str, ptype: str, rule: str) -> None:
    assert ner_rule(value, ptype, "order " if rule == "labelled-number" else "") == rule


@pytest.mark.parametrize(("value", "before", "after"), [
    ("78 years", "aged ", ""), ("five years", "is ", " old"), ("five years", "for ", " old"),
    ("two months", "turned ", ""), ("forty two", "is ", " old"), ("forty two", "", " years old"),
    ("the ninth of august", "on ", ""), ("nineteen eighty eight", "in ", ""), ("two thousand and seventeen", "in ", ""),
    ("twenty twenty", "", ""), ("le trois mars", "", ""), ("einundzwanzigsten März", "am ", ""),
    ("el quince de mayo", "", ""), ("il ventuno aprile", "", ""), ("1988", "in ", ""), ("the 21st", "on ", ""),
    ("five years from may", "for ", ""), ("june the fourth", "", ""), ("my birthday on the fifth", "", ""),
])
def test_date_rules_keep_dates_with_numbers_and_ages(value: str, before: str, after: str) -> None:
    """dateless, duration, number-as-date: a date with a day or year number, and an age, stay."""
    assert ner_rule(value, "DATE_TIME", before, after=after) is None


@pytest.mark.parametrize(("value", "before", "after", "rule"), [
    ("a hectic day", "got ", " ahead", "dateless"), ("new year", "happy ", "", "dateless"),
    ("the best day", "what's ", " next", "dateless"), ("an earth day", "is ", "", "dateless"),
    ("five years", "be in ", "", "duration"), ("two weeks", "", " later", "duration"),
    ("three days", "for ", "", "duration"), ("forty two", "root of ", "", "number-as-date"),
    ("eight pm", "at ", "", "calendar-word"), ("half past six pm", "at ", "", "calendar-word"),
])
def test_date_rules_leave_out_what_names_no_date(value: str, before: str, after: str, rule: str) -> None:
    assert ner_rule(value, "DATE_TIME", before, after=after) == rule


@pytest.mark.parametrize("value", ["President Obama", "Dr Smith", "Judge Judy", "Lady Gaga", "Captain Marvel",
                                   "Mr Richards", "Madam Curie"])
def test_role_title_keeps_a_name_after_a_title(value: str) -> None:
    assert ner_rule(value, "PERSON", "thanks ") is None


@pytest.mark.parametrize("value", ["Mr President", "Madam Chair", "Commissioner", "mr chairman", "Madam President"])
def test_role_title_leaves_out_an_office_addressed(value: str) -> None:
    assert ner_rule(value, "PERSON", "Thank you, ") == "role-title"
    assert not _found(f"Thank you, {value}.") & {value}


def test_an_everyday_word_after_a_weak_cue_needs_a_name_word() -> None:
    # "and", "is", "for" stand before anything: a word after them counts only as a name word
    assert ner_rule("moon", "PERSON", "between sun and ") == "uncased-unknown"
    assert ner_rule("wyatt", "PERSON", "between sun and ") is None
    assert ner_rule("al", "PERSON", "a meeting with ") is None   # a cue only people take


def test_a_line_in_capitals_has_no_case_to_read() -> None:
    assert ner_rule("BUDGET", "ORGANIZATION", "", caps=True) == "uncased-unknown"
    assert ner_rule("BUDGET", "ORGANIZATION", "", caps=False) is None


def test_a_leading_verb_is_cut_from_the_floor_span() -> None:
    from meetguard.detection._floor import ner_floor_hit

    text = "Ping Dana Whitfield at the desk"
    hit = ner_floor_hit(text, "PERSON", 0, len("Ping Dana Whitfield"))
    assert hit is not None and text[hit.start:hit.end] == "Dana Whitfield"


@pytest.mark.parametrize(("text", "span", "kept"), [
    ("Oui, on se voit à Lyon le 14 juillet.", "Lyon le", "Lyon"), ("nos vemos en Madrid el 12", "Madrid el", "Madrid"),
    ("Where: Novo mesto Country Club.", "Novo mesto Country Club", "Novo mesto Country Club"),
    ("Agatha Á Ottarsdóttir", "Agatha Á", "Agatha Á"), ("it is Le Goff", "Le Goff", "Le Goff"),
])
def test_foreign_function_words_are_cut_from_the_ends(text: str, span: str, kept: str) -> None:
    from meetguard.detection._floor import ner_floor_hit

    s = text.index(span)
    hit = ner_floor_hit(text, "GPE", s, s + len(span))
    assert hit is not None and text[hit.start:hit.end] == kept


def test_the_rest_of_a_floor_name_keeps_its_particles_but_not_chat() -> None:
    from meetguard.detection._floor import floor_piece_kept

    text = "Maika van de Noort"
    assert floor_piece_kept(text, 6, 12, "PERSON")                  # "van de"
    text = "Webinar ID: 987-6543-2101"
    assert not floor_piece_kept(text, 0, 10, "ORGANIZATION")         # "Webinar ID"
    text = "Toronto, ON Canada"
    assert floor_piece_kept(text, 9, 11, "ORGANIZATION")             # "ON" (Ontario)


def test_calendar_words_are_kept_from_every_finder_but_dates_are_not() -> None:
    assert _found("on en reparle à la réunion de jeudi") == set()
    assert _found("let's meet next Tuesday") == set()
    assert any("1998" in v for v in _found("she was born on March 3, 1998"))


# Lower-case places (meetguard/data/place_names.txt, _places.place_phrase): spaCy's small model reads
# "eu" as a PERSON and "the european union" as an ORGANIZATION in lower-case speech, and "eu" is a
# Portuguese "I": rules chat-word and uncased-unknown never leave out a place so read.
@pytest.mark.parametrize(("value", "ptype", "before"), [
    ("eu", "PERSON", "what the "), ("the european union", "ORGANIZATION", "in "), ("european union", "ORGANIZATION", ""),
    ("this european union", "ORGANIZATION", "faith for "), ("full eu", "PERSON", "conclude "), ("eu nations", "PERSON", ""),
    ("the balkans", "ORGANIZATION", "in "), ("france", "PERSON", ""), ("syria", "ORGANIZATION", "crisis in "),
    ("the uk research community", "ORGANIZATION", ""), ("new york", "PERSON", ""), ("berlin", "PERSON", "and "),
    ("turkey", "PERSON", "situation in "), ("china", "ORGANIZATION", "exports to "), ("nice", "LOCATION", "from "),
    ("jordan", "PERSON", "refugees in "), ("EU", "PERSON", ""),
])
def test_places_read_without_case_are_kept(value: str, ptype: str, before: str) -> None:
    assert ner_rule(value, ptype, before) is None


@pytest.mark.parametrize(("value", "ptype", "before", "rule"), [
    ("turkey", "PERSON", "how to cook ", "uncased-unknown"), ("china", "ORGANIZATION", "the good ", "uncased-unknown"),
    ("nice", "LOCATION", "that is ", "chat-word"), ("us", "LOCATION", "between ", "chat-word"),
    ("member states", "ORGANIZATION", "the ", "uncased-unknown"), ("reading", "PERSON", "i love ", "uncased-unknown"),
])
def test_everyday_words_that_name_places_need_a_place_cue(value: str, ptype: str, before: str, rule: str) -> None:
    """"turkey", "china", "nice" are everyday words before they are places: only after "in",
    "to", "from", ... (or as spaCy's GPE, which no rule leaves out unless a chat word)."""
    assert ner_rule(value, ptype, before) == rule


@pytest.mark.parametrize(("text", "span", "label", "kept", "etype"), [
    ("we are simplifying controls on intra eu transfers", "intra eu", "PERSON", "intra eu", "PERSON"),
    ("they do not understand what the eu is doing", "eu", "PERSON", "eu", "LOCATION"),
    ("the european union must act", "the european union", "ORG", "the european union", "LOCATION"),
    ("i met paris yesterday", "paris", "PERSON", "paris", "PERSON"),
    ("we flew to paris yesterday", "paris", "PERSON", "paris", "LOCATION"),
])
def test_a_place_read_as_a_name_is_a_location(text: str, span: str, label: str, kept: str, etype: str) -> None:
    """A lower-case PERSON or ORGANIZATION span that is a place is a LOCATION ("the eu"); a given
    name that is also a town stays a person without a place's cue ("i met paris")."""
    from meetguard.detection._floor import ner_floor_hit

    s = text.index(span)
    hit = ner_floor_hit(text, label, s, s + len(span))
    assert hit is not None and (text[hit.start:hit.end], hit.entity_type) == (kept, etype)


@pytest.mark.parametrize(("text", "places"), [
    ("the situation in ukraine and zimbabwe is grave", {"ukraine", "zimbabwe"}),
    ("the euro area and the eurozone", {"euro area", "eurozone"}),
    ("what the eu is doing in the western balkans", {"eu", "western balkans"}),
    ("refugees in turkey and jordan", {"turkey"}),
    ("we flew to paris and then new york", {"paris", "new york"}),
    ("i love turkey with cranberry sauce", set()),
    ("the member states must act, nice work", set()),
    ("that is a good china set, reading it now", set()),
])
def test_lower_case_places_are_found_everyday_words_are_not(text: str, places: set[str]) -> None:
    """Without case, a place of place_names.txt that is no everyday word is a LOCATION; one that
    is ("turkey", "paris", "china") only after "in", "to", "from", ...; "member states" never."""
    from meetguard.detection._places import find_places

    assert {text[h.start:h.end] for h in find_places(text) if h.entity_type == "LOCATION"} == places


def test_the_rest_of_an_uncased_floor_name_beside_a_place_needs_a_name_word() -> None:
    """Rule uncased-unknown on the rest: once "eu" is a place, "need" of spaCy's PERSON "need eu"
    is left out; a name word stays ("mary" of "mary eu"), and so does a possessive's "s"."""
    from meetguard.detection._floor import floor_piece_kept

    text = "we need eu rules"
    assert not floor_piece_kept(text, 3, 8, "PERSON")               # "need "
    text = "ask mary eu rules"
    assert floor_piece_kept(text, 4, 9, "PERSON")                   # "mary "
    text = "a meeting for paul's retirement"
    assert floor_piece_kept(text, 18, 20, "ORGANIZATION")            # "'s"


@pytest.mark.parametrize(("value", "before", "after"), [
    ("jack", "yes i will ", ""), ("jack", "could ", " come to the party"), ("dale", "when can ", " join us"),
    ("bill", "i will ask ", " today"), ("mary", "will ", " come"), ("Chuck Wood", "a woodchuck could ", " now"),
    ("obama", "i think obama could ", ""),
])
def test_modal_verb_keeps_names_that_are_no_verb_after_a_subject(value: str, before: str, after: str) -> None:
    """Rule modal-verb: a vocative ends the utterance, a question puts the name after the
    modal with no subject before it, and a cased line has case to read."""
    assert ner_rule(value, "PERSON", before, after=after) is None


@pytest.mark.parametrize(("value", "ptype", "before", "after"), [
    ("chuck wood", "PERSON", "if a woodchuck could ", ""), ("bill", "PERSON", "i will ", " you tomorrow"),
    ("mark", "PERSON", "we must ", " this as done"), ("rob", "ORGANIZATION", "you should ", " a bank"),
])
def test_modal_verb_leaves_out_the_verb_after_a_subject(value: str, ptype: str, before: str, after: str) -> None:
    assert ner_rule(value, ptype, before, after=after) == "modal-verb"


@pytest.mark.parametrize(("value", "ptype", "before"), [
    ("juncker", "PERSON", "in july president "), ("medvedev talked", "PERSON", "president "),
    ("gaddafi", "PERSON", "supplied by colonel "), ("designate malmstrm", "PERSON", "commissioner "),
    ("president medvedev", "PERSON", "raised with the "), ("macron", "PERSON", "agreement and president "), ("snchez presedo", "ORGANIZATION", "i congratulate mr "),
    ("van rompuy", "PERSON", "what mr "),
])
def test_uncased_unknown_keeps_a_name_after_a_title(value: str, ptype: str, before: str) -> None:
    """"president juncker", "mr van rompuy": no name word, but a title before (or opening) it."""
    assert ner_rule(value, ptype, before) is None


@pytest.mark.parametrize(("value", "ptype", "before", "rule"), [
    ("president", "PERSON", "thank you mr ", "role-title"), ("madam chair", "PERSON", "", "role-title"),
    ("ladies", "ORGANIZATION", "commissioner ", "uncased-unknown"), ("grafana", "PERSON", "the ", "uncased-unknown"),
])
def test_a_title_makes_no_name_of_a_role_nor_an_org_after_an_office(value: str, ptype: str, before: str,
                                                                    rule: str) -> None:
    assert ner_rule(value, ptype, before) == rule
