"""Inputs of detection: the texts to scan and the meeting's roster."""

from __future__ import annotations

from dataclasses import dataclass

from .._vocabulary import ENTITY_TYPES

__all__ = ["BASE_ENTITY_TYPES", "Roster", "RosterMember", "TextUnit"]

BASE_ENTITY_TYPES: frozenset[str] = ENTITY_TYPES     # one home: meetguard/_vocabulary.py


@dataclass(frozen=True, slots=True)
class TextUnit:
    """One text to scan.

    ``spoken`` marks ASR/transcript text: roster names match in any case and
    spoken forms ("five five five ...", "john dot smith at ...") are resolved.
    ``skip`` spans (start, end) are structural markup: no finding touches them.
    """

    text: str
    spoken: bool = False
    skip: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True, slots=True)
class RosterMember:
    """A participant: ``key`` is the policy participant id or ``unknown-n``."""

    key: str
    names: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Roster:
    """Who the meeting knows, and where its phone numbers come from:
    ``regions`` are the policy's ``detection.regions`` (empty: every region)."""

    members: tuple[RosterMember, ...] = ()
    regions: tuple[str, ...] = ()


def masked(unit: TextUnit) -> str:
    """The text with skip spans blanked: offsets kept, nothing inside matches."""
    if not unit.skip:
        return unit.text
    chars = list(unit.text)
    for s, e in unit.skip:
        for i in range(s, e):
            if chars[i] != "\n":
                chars[i] = " "
    return "".join(chars)
