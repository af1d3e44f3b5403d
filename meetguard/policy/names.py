"""Matching people in content to policy participants (policy-v1.md "Matching people").

A speaker is matched by its label or one of its aliases, after normalising
both sides ("Doe, Jane [NA]" -> "jane doe"). A platform id never matches a
name. Speakers that match no participant are unknown speakers, numbered
``unknown-1``, ``unknown-2``, ... by first appearance; never named.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

from .._model import ChatMessage, Meeting, MessageKind, Speaker
from ._confusables import FOLD

if TYPE_CHECKING:
    from .model import Policy

__all__ = ["Attribution", "NameIndex", "attribute", "normalize_name", "speakers_in_order"]

_TRAILING_TAG = re.compile(r"\s*(?:\([^()]*\)|\[[^\[\]]*\])\s*\Z")
_QUOTES = "\"'`\u2018\u2019\u201c\u201d\u00ab\u00bb"


# Decorations people do not read as part of a name: emoji and other symbols, modifier
# symbols (skin tones), enclosing and combining marks (accents, strike-through
# overlays), format characters (zero-width joiners, bidi marks), private use.
_DECORATION = frozenset({"So", "Sk", "Me", "Mn", "Cf", "Co", "Cs", "Cn"})


def _as_seen(s: str) -> str:
    """NFKC, decorations dropped (after NFD, so accents go too), back to NFC."""
    t = unicodedata.normalize("NFD", unicodedata.normalize("NFKC", s))
    t = "".join(c for c in t if unicodedata.category(c) not in _DECORATION)
    return unicodedata.normalize("NFC", t)


def normalize_name(s: str) -> str:
    """Normal form of a person's name for matching, as people see it.

    NFKC; emoji, symbols, accents and invisible characters dropped; strips
    surrounding quotes and a leading "@", drops trailing tags such as
    "(Guest)", "(External)", "[NW]", turns "Family, Given" into "Given Family",
    case-folds, folds confusable letters (Cyrillic "а", Greek "ο"...) to the
    ASCII letter they look like (UTS #39 confusables, ``_confusables.py``) and
    collapses whitespace. "Carla Nunes 🌴" and "Cаrla Nunes" both give "carla nunes".
    """
    t = _as_seen(s)
    t = " ".join(t.split())
    prev = None
    while prev != t:
        prev = t
        t = t.strip().strip(_QUOTES).strip()
        t = t.lstrip("@").strip()
        t = _TRAILING_TAG.sub("", t)
    if t.count(",") == 1:
        family, given = (part.strip() for part in t.split(","))
        if family and given:
            t = f"{given} {family}"
        else:
            t = family or given
    return " ".join(t.casefold().translate(FOLD).split())


class NameIndex:
    """Normalised participant names -> participant id."""

    def __init__(self, policy: Policy) -> None:
        self._by_name: dict[str, str] = {}
        for p in policy.participants:
            for n in p.names:
                norm = normalize_name(n)
                if norm:
                    self._by_name.setdefault(norm, p.id)

    def match_name(self, name: str) -> str | None:
        norm = normalize_name(name)
        return self._by_name.get(norm) if norm else None

    def match(self, speaker: Speaker) -> str | None:
        """The participant id for a speaker (label first, then aliases), or None."""
        for name in speaker.all_names():
            pid = self.match_name(name)
            if pid is not None:
                return pid
        return None


class Attribution(Mapping[Speaker, str]):
    """Every speaker in a meeting -> a participant id or ``unknown-n`` (immutable)."""

    def __init__(self, mapping: Mapping[Speaker, str], unknown_count: int) -> None:
        self._map = dict(mapping)
        self.unknown_count = unknown_count

    def __getitem__(self, key: Speaker) -> str:
        return self._map[key]

    def __iter__(self) -> Iterator[Speaker]:
        return iter(self._map)

    def __len__(self) -> int:
        return len(self._map)

    def __repr__(self) -> str:  # ids only; labels may be personal values
        return f"Attribution({len(self._map)} speakers, {self.unknown_count} unknown)"

    @property
    def ids(self) -> frozenset[str]:
        return frozenset(self._map.values())


def speakers_in_order(meeting: Meeting) -> Iterator[tuple[Speaker, bool]]:
    """Every speaker reference in order of appearance, with whether it is a bot.

    Documents in order, items in order; per chat message: the sender, then its
    recipients, then its mentions; per cue: the speaker.
    """
    for doc in meeting.documents:
        for item in doc.items:
            if isinstance(item, ChatMessage):
                if item.sender is not None:
                    yield item.sender, item.kind is MessageKind.BOT
                for r in item.recipients:
                    yield r, False
                for m in item.mentions:
                    yield m.speaker, False
            elif item.speaker is not None:
                yield item.speaker, False


def _turn_emails(meeting: Meeting) -> dict[Speaker, str | None]:
    """The speakers of recordings' turns (``--speakers``), each with its platform email."""
    out: dict[Speaker, str | None] = {}
    for rec in meeting.audio:
        for turn in rec.turns or ():
            if turn.speaker not in out or out[turn.speaker] is None:
                out[turn.speaker] = turn.email
    return out


def _identity(idx: NameIndex, by_email: Mapping[str, str], speaker: Speaker,
              email: str | None) -> str | None:
    """A turn's speaker as a track's owner is matched (docs/deploy.md): an email given must
    be a policy participant's; a name given must not name somebody else."""
    found: set[str] = set()
    if email:
        pid = by_email.get(email.strip().lower())
        if pid is None:
            return None              # an identity given and not known: an unknown speaker
        found.add(pid)
    pid = idx.match(speaker) if speaker.label.strip() else None
    if pid is None and not found:
        return None
    if pid is not None:
        found.add(pid)
    return found.pop() if len(found) == 1 else None


def _unknown_key(speaker: Speaker) -> str:
    norm = normalize_name(speaker.label)
    if norm:
        return "name:" + norm
    if speaker.platform_id:
        return "id:" + speaker.platform_id
    return "anon:"


def attribute(meeting: Meeting, policy: Policy, index: NameIndex | None = None) -> Attribution:
    """Attribute every speaker appearing in the meeting.

    Bot senders are always unknown speakers (even when named like a person).
    Different Speaker objects that normalise to the same unknown name share
    one ``unknown-n``.
    """
    idx = index or NameIndex(policy)
    refs = list(speakers_in_order(meeting))
    bots = {s for s, is_bot in refs if is_bot}
    emails = _turn_emails(meeting)
    refs += [(sp, False) for sp in emails]
    by_email = {e: p.id for p in policy.participants for e in p.emails}
    result: dict[Speaker, str] = {}
    unknown: dict[str, str] = {}
    for speaker, _ in refs:
        if speaker in result:
            continue
        if speaker in emails:
            pid = _identity(idx, by_email, speaker, emails[speaker])
        else:
            pid = None if speaker in bots else idx.match(speaker)
        if pid is None:
            key = _unknown_key(speaker)
            pid = unknown.get(key)
            if pid is None:
                pid = f"unknown-{len(unknown) + 1}"
                unknown[key] = pid
        result[speaker] = pid
    return Attribution(result, len(unknown))
