"""Roster names: every form of a participant's name, matched as whole words.

Forms: each name as given, "Last, First [TAG]" / "(Guest)" reduced to
"Last, First" and "First Last", and the given and family names of multi-word
names on their own. Full names match in any case. A single given or family
name matches in any case too ("henrik", in chat as in ASR text), except a name
that is also an everyday word ("will", "may", "mark", an English stop word),
which needs its capital letter in chat and in ASR text alike, so "I will send
it" does not name Will.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ._handles import handle_forms
from ._hits import RANK_ROSTER, Hit
from ._stopwords import stop_words
from ._types import Roster

STOP_WORDS = stop_words("en")      # spaCy's list, without importing spaCy

_TAGS = re.compile(r"\s*(?:\[[^\]]*\]|\([^)]*\)|<[^>]*>)\s*")
_WORD = re.compile(r"[^\W\d_](?:[^\W\d_]|['’.-](?=[^\W\d_]))*")
_MIN_PART = 2
# Given names that are everyday words: in ASR text they still need a capital
# ("I will send it" is not Will), like single names in chat.
_COMMON_WORDS = frozenset(
    ["will", "may", "mark", "bill", "pat", "grace", "hope", "faith", "joy", "rose", "june", "april", "august", "summer", "art", "sue", "rob", "jack", "frank", "max", "ray", "dawn", "guy", "gene", "miles", "chase", "lance", "drew", "sky", "amber", "iris", "ruby", "pearl", "holly", "penny", "sandy", "rich", "dean", "chip", "hunter", "mason", "carter", "page", "baker", "cook", "young", "long", "white", "brown", "green", "black"]
)


EVERYDAY = _COMMON_WORDS | frozenset(STOP_WORDS)
_EVERYDAY = EVERYDAY


def name_forms(name: str) -> set[str]:
    """Every written form of one name (whitespace-normalised, original case)."""
    base = " ".join(_TAGS.sub(" ", name).split())
    forms: set[str] = set()
    if not base:
        return forms
    forms.add(base)
    variants = [base]
    if "," in base:
        last, _, first = base.partition(",")
        last, first = last.strip(), first.strip()
        if last and first:
            variants.append(f"{first} {last}")
            forms.add(f"{first} {last}")
            forms.add(f"{last}, {first}")
    for v in variants:
        words = [w for w in v.replace(",", " ").split() if _WORD.fullmatch(w)]
        if len(words) >= 2:
            forms.add(" ".join(words))
            for part in (words[0], words[-1], " ".join(words[:-1]), " ".join(words[1:])):
                if len(part) >= _MIN_PART:
                    forms.add(part)
    # keep only forms made of letters (an @handle or an id is not a name to find in prose)
    return {f for f in forms if any(c.isalpha() for c in f)}


@dataclass(frozen=True)
class RosterMatcher:
    pattern: re.Pattern[str] | None
    owner: dict[str, str]          # casefolded form -> member key
    multiword: frozenset[str]      # casefolded forms of two words or more

    @classmethod
    def build(cls, roster: Roster) -> RosterMatcher:
        owner: dict[str, str] = {}
        for member in roster.members:
            for name in member.names:
                for form in name_forms(name) | handle_forms(name):
                    owner.setdefault(" ".join(form.casefold().replace(",", " , ").split()), member.key)
        if not owner:
            return cls(None, {}, frozenset())
        alts = []
        for key in sorted(owner, key=len, reverse=True):
            parts = [re.escape(p) for p in key.split()]
            alts.append(r"\s*".join(parts) if "," in key else r"\s+".join(parts))
        # Tidy comma handling: "martin , alice" -> "martin\s*,\s*alice"
        alts = [a.replace(r"\s+,\s+", r"\s*,\s*").replace(r"\s*,\s*", r"\s*,\s*") for a in alts]
        # "@micah" is Micah too: a leading "@" belongs to the match (never inside an address)
        pattern = re.compile(r"(?<![\w@])@?(?:" + "|".join(alts) + r")(?!\w|@\w)", re.IGNORECASE)
        multi = frozenset(k for k in owner if len(k.replace(",", " ").split()) >= 2)
        return cls(pattern, owner, multi)

    def find(self, text: str, spoken: bool) -> list[Hit]:
        if self.pattern is None:
            return []
        hits: list[Hit] = []
        for m in self.pattern.finditer(text):
            matched = m.group()
            handle = matched.startswith("@")
            key = " ".join(matched.removeprefix("@").casefold().replace(",", " , ").split())
            member = self.owner.get(key)
            if member is None:
                continue
            if key in _EVERYDAY and key not in self.multiword and not matched[0].isupper() and not handle:
                continue
            normalized = " ".join(matched.casefold().split())
            hits.append(Hit(m.start(), m.end(), "PERSON", 1.0, normalized, RANK_ROSTER, member))
        return hits
