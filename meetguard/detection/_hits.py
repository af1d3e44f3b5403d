"""Candidate hits and the overlap resolution that turns them into findings."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from .._model import Finding

# Who wins an overlap: roster names, then meeting links, then structured
# values (checksums, formats), then context-cued names, then plain NER.
RANK_ROSTER = 50
RANK_JOIN_URL = 40
RANK_STRUCTURED = 30
RANK_PLUGIN = 25
RANK_CUED = 20
RANK_NER = 10
RANK_FLOOR = 1   # Presidio's own findings (the floor): they fill only what nothing above covers


@dataclass(frozen=True, slots=True)
class Hit:
    start: int
    end: int
    entity_type: str
    score: float
    normalized: str
    rank: int
    participant_id: str | None = None


def _residue(text: str, h: Hit, lo: int, hi: int) -> Hit | None:
    while lo < hi and not text[lo].isalnum():
        lo += 1
    while hi > lo and not text[hi - 1].isalnum():
        hi -= 1
    if lo >= hi:
        return None
    piece = text[lo:hi]
    if h.rank == RANK_FLOOR:   # the floor leaves no character Presidio covers in clear
        return Hit(lo, hi, h.entity_type, h.score, " ".join(piece.casefold().split()), h.rank, h.participant_id)
    if h.entity_type == "DATE_TIME" and _DATE_PIECE.search(piece) is None:
        return None  # "and" left over from "and 2001" is no date
    if h.entity_type in _DIGIT_TYPES:
        normalized = "".join(c for c in piece if c.isdigit())
        if len(normalized) < 4:
            return None
    else:
        normalized = " ".join(piece.casefold().split())
    return Hit(lo, hi, h.entity_type, h.score, normalized, h.rank, h.participant_id)


_DATE_PIECE = re.compile(
    r"(?i)\d|\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|mon|tue|wed|thu|fri|sat|sun)[a-z]*\b|"
    r"\b(?:today|tomorrow|yesterday|tonight|week|month|year|morning|evening|afternoon|night)"
)
_DIGIT_TYPES = frozenset({"PHONE_NUMBER", "CREDIT_CARD", "US_SSN", "MEETING_ID"})


# Values that hold others: "alice.martin@northwind.example" is one EMAIL_ADDRESS, never
# "<PERSON_1>.<EMAIL_ADDRESS_1>" (the name inside would tell the reader whose address it is).
CONTAINERS = frozenset({"EMAIL_ADDRESS", "URL", "JOIN_URL"})


# Readings a structured identifier may hold or cut: a phone or date read in its digits, a
# name or place the model read in its letters ("YZ 61 48 68 B" after "National Insurance
# Number" was an ORGANIZATION "... Number YZ", a phone "61 48 68" and a UK_NINO "B").
_WEAK_READINGS = frozenset({"PHONE_NUMBER", "DATE_TIME", "PERSON", "LOCATION", "ORGANIZATION", "NRP"})
_NER_READINGS = frozenset({"PERSON", "LOCATION", "ORGANIZATION", "NRP"})
_CHECKED = frozenset({"CREDIT_CARD", "IBAN_CODE"})   # checksummed: stronger than any reading of a part


def _cuts(h: Hit, x: Hit) -> bool:
    """``x`` is a weak reading inside identifier ``h`` (strictly), or a name reading that
    crosses one of its ends."""
    if x.participant_id is not None or x.rank >= RANK_JOIN_URL or not (h.start < x.end and x.start < h.end):
        return False
    inside = h.start <= x.start and x.end <= h.end and (x.end - x.start) < (h.end - h.start)
    crosses = x.entity_type in _NER_READINGS and not (x.start <= h.start and h.end <= x.end) and not inside
    return inside or crosses


def one_value(hits: Sequence[Hit]) -> list[Hit]:
    """One value, one token: a structured identifier with letters in it, or a card or IBAN
    (any type but the weak readings and the containers), outranks the phone, date or name readings it holds or that cut it, so it comes
    out whole ("YZ 61 48 68 B" one UK_NINO; "GB29 NWBK 6016 1331 9268 19" one IBAN_CODE when
    read as speech); what a name reading has outside it stays."""
    out = list(hits)
    for i, h in enumerate(out):
        if h.entity_type in _WEAK_READINGS or h.entity_type in CONTAINERS or not (
                h.entity_type in _CHECKED or any(map(str.isalpha, h.normalized))):
            continue   # a bare run of digits ("020 7946 0958" as IT_VAT_CODE) is no stronger than a phone
        rivals = [x for x in out if x is not h and x.entity_type in _WEAK_READINGS and _cuts(h, x)]
        top = max((x.rank for x in rivals), default=-1)
        if top >= h.rank:
            out[i] = Hit(h.start, h.end, h.entity_type, h.score, h.normalized, top + 1, h.participant_id)
    return out


def _precedence(h: Hit) -> tuple[int, int, int, int, str]:
    """Containers first (by rank, then the longer), then by rank, then the longer."""
    return (0 if h.entity_type in CONTAINERS else 1, -h.rank, -(h.end - h.start), h.start, h.entity_type)


def resolve(text: str, hits: Iterable[Hit], skip: Sequence[tuple[int, int]],
            floor_kept: Callable[[str, int, int, str], bool] | None = None) -> list[Finding]:
    """Non-overlapping findings, sorted; a container (email, URL) wins over what it
    holds, then higher rank, then longer, wins.

    A hit that loses only part of its span keeps the rest: "Alice" (a roster
    name) inside "Alice Cooper" (a name spaCy found) leaves "Cooper" a PERSON,
    never an unredacted remainder. The same holds around skip spans.
    """
    candidates = list(hits)
    if not candidates:
        return []
    chosen: list[Hit] = []
    order = sorted(one_value(candidates), key=_precedence)
    for h in order:
        if h.end <= h.start:
            continue
        rivals = [c for c in chosen if h.start < c.end and c.start < h.end]
        in_skip = [(s, e) for s, e in skip if h.start < e and s < h.end]
        if rivals and not in_skip and h.entity_type != "PERSON" and h.rank != RANK_FLOOR and all(
            c.entity_type == h.entity_type and c.participant_id is None and h.start <= c.start and c.end <= h.end
            for c in rivals
        ):
            # Same type, wholly inside: the longer reading wins ("Heard Island"
            # and "McDonald Islands" inside "Heard Island and McDonald Islands").
            chosen = [c for c in chosen if c not in rivals]
            rivals = []
        blocked = sorted([(c.start, c.end) for c in rivals] + in_skip)
        if not blocked:
            chosen.append(h)
            continue
        pos = h.start
        for s, e in blocked + [(h.end, h.end)]:
            if s > pos:
                piece = _residue(text, h, pos, min(s, h.end))
                if piece is not None and h.rank == RANK_FLOOR and floor_kept is not None \
                        and not floor_kept(text, piece.start, piece.end, piece.entity_type):
                    piece = None   # the rest of a floor hit passes the named rules again
                if piece is not None and ((piece.end - piece.start) >= 2 or h.rank == RANK_FLOOR) \
                        and not _possessive(text, piece, chosen, skip):
                    chosen.append(piece)
            pos = max(pos, e)
    chosen.sort(key=lambda h: h.start)
    owners = [h for h in order if h.participant_id is not None]
    return [
        Finding(h.start, h.end, h.entity_type, h.score, h.normalized, h.participant_id or _owner(h, owners))
        for h in chosen
    ]


def _possessive(text: str, piece: Hit, chosen: list[Hit], skip: Sequence[tuple[int, int]]) -> bool:
    """The "s" of "Maite Lemmens's" left of a reading ("Maite Lemmens's" an ORGANIZATION) that
    a value just before the "'s" beat: that value takes the "'s" (one value, one token: never
    "<PERSON_1>'<ORGANIZATION_1>"), keeping its type and normal form, so its pseudonym is the
    one of the name without it. True when a value took it."""
    s = piece.start
    if piece.end - s != 1 or text[s] not in "sS" or s < 2 or text[s - 1] not in "'’" \
            or text[piece.end:piece.end + 1].isalnum() \
            or any(a < s and s - 1 < b for a, b in [*skip, *((c.start, c.end) for c in chosen)]):
        return False   # the apostrophe is some other span's, or a skip span's
    for k, c in enumerate(chosen):
        if c.end == s - 1:
            chosen[k] = Hit(c.start, piece.end, c.entity_type, c.score, c.normalized, c.rank, c.participant_id)
            return True
    return False


def _owner(h: Hit, owners: Sequence[Hit]) -> str | None:
    """The participant a container names: "micah.stubbs@acme.example" or
    ".../in/micah-stubbs" hold Micah's handle, so the address is his name too
    (removed wherever his name is, #31), while it stays one value."""
    if h.entity_type not in CONTAINERS:
        return None
    return next((o.participant_id for o in owners if h.start <= o.start and o.end <= h.end), None)
