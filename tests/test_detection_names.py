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
