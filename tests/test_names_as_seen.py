"""Names compared as people see them (issue #19, finding 12): a display name with an
emoji, a Cyrillic look-alike letter, full-width letters or invisible characters is still
the participant, for the policy's names and for labels in content alike."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path

import pytest

from meetguard import ChatMessage, Document, Meeting, Speaker
from meetguard.policy import NameIndex, decide, load_policy, normalize_name

POLICY = load_policy(Path(__file__).parent / "conf" / "policies" / "good_dev.yaml")
AT = datetime(2026, 11, 28, tzinfo=UTC)
VARIANTS = [
    "Carla Nunes 🌴",
    "C\u0430rla Nunes",               # Cyrillic а
    "\u0421arla Nun\u0435s",          # Cyrillic С and е
    "C\u03bfrla Nunes".replace("\u03bf", "a").replace("a", "\u0251", 1),   # Latin alpha ɑ
    "Carla\u200d Nunes\u200b",         # zero-width joiner / space
    "C\u0336arla Nunes",              # combining strike-through overlay
    "ＣＡＲＬＡ ＮＵＮＥＳ",
    "★ Carla Nunes ★",
    "Carla Nunes 👩🏽\u200d💻 (Guest)",
    "Nunes, C\u0430rla [NW]",
]


@pytest.mark.parametrize("label", VARIANTS)
def test_a_display_name_variant_is_the_participant(label: str) -> None:
    assert normalize_name(label) == "carla nunes"
    assert NameIndex(POLICY).match(Speaker(label)) == "p-carla"


def test_the_policy_names_are_folded_too() -> None:
    carla = next(p for p in POLICY.participants if p.id == "p-carla")
    odd = dataclasses.replace(carla, names=("Cаrla Nunes 🌴",))          # Cyrillic а in the policy
    policy = dataclasses.replace(POLICY, participants=tuple(odd if p.id == "p-carla" else p
                                                            for p in POLICY.participants))
    assert NameIndex(policy).match(Speaker("Carla Nunes")) == "p-carla"


@pytest.mark.parametrize("label", VARIANTS)
def test_a_refusing_participant_is_not_released_under_a_variant_name(label: str) -> None:
    """Under unknown_speakers: consenting an unmatched label would be released."""
    policy = dataclasses.replace(POLICY, unknown_speakers="consenting")
    chat = Document("c.txt", "zoom", "chat", (
        ChatMessage(0, "10:00", Speaker(label), "my private note"),
        ChatMessage(1, "10:01", Speaker("Alice Martin"), "hello"),
    ))
    decision = decide(policy, Meeting((chat,)), "summarization", "summarizer", AT, ())
    assert decision.excluded_participants == ("p-carla",)
    assert (0, 0) in decision.dropped_items and (0, 1) not in decision.dropped_items
