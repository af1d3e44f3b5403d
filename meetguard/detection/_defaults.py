"""meetguard's own finders, in one registry."""

from __future__ import annotations

from ._finders import BatchFinder, FinderRegistry, ScanContext, TextFinder
from ._handles import find_handles
from ._hits import Hit
from ._names import lower_names
from ._names import warm as warm_names
from ._ner import FOREIGN_WORDS, NOT_NAMES, cued_names, lower_cued_names, title_pairs
from ._patterns import (
    find_ages,
    find_dates,
    find_emails,
    find_ipv6,
    find_links,
    find_numbers,
    find_passcodes,
)
from ._phones import find_phones
from ._places import find_cued_places, find_places
from ._presidio import PresidioPatterns
from ._roster import EVERYDAY
from ._spoken import find_card_tails, find_spoken_addresses, find_spoken_emails, find_spoken_numbers

_NUMBERS = frozenset({"CREDIT_CARD", "US_SSN", "IBAN_CODE", "IP_ADDRESS", "MEETING_ID", "PHONE_NUMBER"})


# Words that end a cued place name ("flying to Paris next week").
_PLACE_END = EVERYDAY | FOREIGN_WORDS | NOT_NAMES | frozenset({"week", "month", "year", "asap", "soon", "later"})


def _roster(text: str, ctx: ScanContext) -> list[Hit]:
    return ctx.roster.find(text, ctx.spoken)


def _spoken(text: str, ctx: ScanContext) -> list[Hit]:
    hits = find_spoken_numbers(text, asr=ctx.spoken) + find_spoken_emails(text, asr=ctx.spoken)
    return hits + find_spoken_addresses(text) + find_card_tails(text) if ctx.spoken else hits


def _names(text: str, ctx: ScanContext) -> list[Hit]:
    return cued_names(text) + title_pairs(text) + lower_cued_names(text) + lower_names(text)


def default_registry(language: str = "en") -> FinderRegistry:
    """Roster, patterns with their checks, phones, spoken forms, names, places,
    and Presidio's pattern recognizers for ``language`` (batched)."""
    presidio = PresidioPatterns(language)
    return FinderRegistry([
        TextFinder("roster", frozenset({"PERSON"}), _roster),
        TextFinder("emails", frozenset({"EMAIL_ADDRESS"}), lambda t, _c: find_emails(t)),
        TextFinder("links", frozenset({"URL", "JOIN_URL"}), lambda t, _c: find_links(t)),
        TextFinder("numbers", _NUMBERS, lambda t, _c: find_numbers(t)),
        TextFinder("ipv6", frozenset({"IP_ADDRESS"}), lambda t, _c: find_ipv6(t)),
        TextFinder("passcodes", frozenset({"MEETING_PASSCODE"}), lambda t, _c: find_passcodes(t)),
        TextFinder("phones", frozenset({"PHONE_NUMBER"}), lambda t, ctx: find_phones(t, ctx.regions)),
        TextFinder("dates", frozenset({"DATE_TIME"}), lambda t, _c: find_dates(t)),
        TextFinder("ages", frozenset({"AGE"}), lambda t, _c: find_ages(t)),
        TextFinder("spoken", frozenset({"PHONE_NUMBER", "EMAIL_ADDRESS", "CREDIT_CARD", "US_SSN", "MEETING_ID",
                                          "LOCATION"}),
                   _spoken),
        TextFinder("names", frozenset({"PERSON"}), _names, warm_names),
        TextFinder("handles", frozenset({"PERSON"}), lambda t, _c: find_handles(t)),
        TextFinder("places", frozenset({"LOCATION"}), lambda t, _c: find_places(t) + find_cued_places(t, _PLACE_END)),
        BatchFinder(presidio.name, presidio.entity_types, presidio.find_batch, presidio.warm),
    ])
