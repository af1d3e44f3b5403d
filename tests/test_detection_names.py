"""Names beyond Presidio (issue #24 item 2): lower-case and spoken names, possessives, names
after titles, from the first-names list and the roster; ordinary words after a cue stay."""

from __future__ import annotations

import pytest

from meetguard.detection import TextUnit
from meetguard.detection._defaults import default_registry

_REGISTRY = default_registry()


def _people(text: str) -> set[str]:
    [fs] = _REGISTRY.findings([TextUnit(text)])
    return {text[f.start:f.end] for f in fs if f.entity_type == "PERSON"}


@pytest.mark.parametrize(("text", "name"), [
    ("quick reply to jack", "jack"), ("dorothy needs to talk to me", "dorothy"),
    ("show john's contact information", "john"), ("send invite bill malinda", "bill malinda"),
    ("mr richards called", "richards"), ("ms palmer is here", "palmer"),
    ("what mr van rompuy should be doing", "van rompuy"), ("i agree with mr de gucht on this", "de gucht"),
    ("commissioner hahn presented it", "hahn"),
    ("open the contact named john", "john"), ("meeting with sarah tomorrow", "sarah"),
])
def test_lower_case_names_where_people_stand(text: str, name: str) -> None:
    assert name in _people(text)


@pytest.mark.parametrize("text", [
    "I have been busy lately", "open derek's contact information please", "please add it to my contact list",
    "google find the new email address for the team", "greg's email stating that his idea is fantastic",
    "call mom back", "i will talk to my friend about the account", "set an alarm for will",
    "tell me the weather", "call person a for meeting",
])
def test_ordinary_words_after_a_cue_are_no_names(text: str) -> None:
    assert not (_people(text) & {"lately", "information", "list", "address", "stating", "mom", "friend",
                                 "account", "will", "weather", "person", "named"})


@pytest.mark.parametrize(("text", "name"), [
    ("who is the wife of obama", "obama"), ("how old is merkel", "merkel"), ("obama said no", "obama"),
    ("what is obama's net worth", "obama"), ("i met jones yesterday", "jones"),
    ("tell me if dorothy has sent the file", "dorothy"),
])
def test_surnames_from_the_names_list_where_people_stand(text: str, name: str) -> None:
    """A surname of name_words.txt that spaCy does not tag in lower case ("obama") is a name
    after "who is", "wife of", a title of office, a person cue, as a possessive or the subject
    of a verb only people do."""
    assert name in _people(text)


@pytest.mark.parametrize(("text", "words"), [
    ("what is the weather in jaipur", {"jaipur"}), ("what is london's population", {"london"}),
    ("the general idea is fine", {"idea"}), ("who is the president of france", {"france"}),
    ("the service at moe's diner is terrible", {"moe"}), ("who is on the call", {"on"}),
])
def test_places_shops_and_words_in_those_slots_are_no_surnames(text: str, words: set[str]) -> None:
    assert not (_people(text) & words)


@pytest.mark.parametrize(("text", "name"), [
    ("June is out today", "June"), ("june is out today", "june"), ("please tell me if july has sent me any emails", "july"),
    ("april said she would join", "april"), ("ok. august has called twice", "august"),
])
def test_a_month_that_names_a_person_is_one_as_the_subject_of_a_person_verb(text: str, name: str) -> None:
    assert name in _people(text)


@pytest.mark.parametrize("text", [
    "in june it rains", "june is hot", "june is coming", "may will be busy", "see you in april",
    "august is out of the question for the launch", "the report for july", "may i ask a question",
])
def test_a_month_stays_a_month(text: str) -> None:
    assert not (_people(text) & {"june", "may", "april", "august", "july"})


@pytest.mark.parametrize(("text", "role"), [
    ("thank you mr president", "president"), ("madam chair i would like to thank the rapporteur", "chair"),
    ("mr commissioner ladies and gentlemen", "commissioner"), ("thank you mr chairman", "chairman"),
    ("thank you madam president commissioner colleagues", "president"),
])
def test_a_title_before_a_role_addresses_the_role(text: str, role: str) -> None:
    """A formal meeting's "mr president", "madam chair" name no one; "dr smith" still does."""
    assert role not in _people(text)
    assert "smith" in _people("dr smith will see you")


@pytest.mark.parametrize(("text", "name"), [
    ("in july president juncker made clear", "juncker"), ("i support what commissioner moscovici has just said", "moscovici"),
    ("as commissioner de gucht said", "de gucht"), ("we thank our rapporteur herranz garca", "herranz garca"),
    ("the nominee was president elect buzek", "buzek"),
])
def test_a_surname_no_dictionary_holds_after_a_title_of_office(text: str, name: str) -> None:
    """"president juncker": a title of office, then a word of no dictionary (english_words.txt)."""
    assert name in _people(text)


@pytest.mark.parametrize("text", [
    "thank you president ladies and gentlemen", "the president said that", "commissioner responsible for trade",
    "premier league results", "the secretary general said", "mr president commissioner colleagues",
    "the president juncker", "a commissioner barnier",
])
def test_a_title_of_office_before_a_word_in_use_or_after_the_names_no_one(text: str) -> None:
    assert _people(text) == set()


@pytest.mark.parametrize(("text", "name"), [
    ("who is arnold schwarzenegger", "arnold schwarzenegger"), ("where is justin bieber's home base", "justin bieber"),
    ("send email to marissa", "marissa"), ("write an email to chelsea please", "chelsea"),
    ("send an email to jerry ask what time he is home", "jerry"), ("how old is tom hanks", "tom hanks"),
])
def test_full_names_and_names_after_a_message_to(text: str, name: str) -> None:
    """A first name then a surname no dictionary holds is a name anywhere in lower case; "an
    email to", "a message to" are cues only people take."""
    assert name in _people(text)


@pytest.mark.parametrize(("text", "words"), [
    ("olly email my appointments to reschedule", {"olly email", "email"}), ("austin texas weather", {"austin texas"}),
    ("send an email to guy selling the boat", {"guy", "guy selling"}), ("send an email to jerry ask what time", {"jerry ask"}),
    ("georgia tech won", {"georgia tech"}), ("i love tom hanks movies", {"tom hanks"}),
])
def test_a_first_name_before_a_word_in_use_or_a_place_is_no_full_name(text: str, words: set[str]) -> None:
    """"email" (a word Webster's 2nd could not hold: _namewords._MODERN), "texas" (a place),
    "selling" and "ask" (words in use) are no surnames; "hanks" is a dictionary word, so outside
    a question slot ("who is tom hanks": tests/test_detection_slot_surnames.py) it is none."""
    assert not (_people(text) & words)
