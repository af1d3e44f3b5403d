"""Lower-case and spoken names beyond Presidio: "quick reply to jack", "dorothy needs to talk
to me", "show john's contact information", "send invite bill malinda", "mr richards".

A word is a name here when it is a first name of ``meetguard/data/first_names.txt`` (the
top 1,000 first names of 30 countries in names-dataset 3.3.1, a maintained list on PyPI; one
that is also a dictionary word only when English speakers give it: "jack", not "moon",
``_namewords.name_word``) and
it stands where only people stand: after a cue people take ("reply to", "talk to", "invite",
"text", "meeting with", "named"), before a verb only people do ("needs", "said", "wants"), or
as a possessive before a person's attribute ("john's contact", "terry's birthday"); after a
title ("mr", "ms", "dr") any plain word is a surname. Stop words, chat and calendar words
never are ("will", "may", "lately", "information"). A following word that is no everyday,
chat or calendar word is taken as the surname ("bill malinda").
"""

from __future__ import annotations

import re

from spacy.lang.en.stop_words import STOP_WORDS

from .._wordlists import words
from ._hits import RANK_NER, Hit
from ._namewords import name_word
from ._ner import FOREIGN_WORDS, NOT_NAMES
from ._roster import EVERYDAY

__all__ = ["lower_names"]

_CUE = (r"(?:reply|replies|talk|talking|speak|speaking|write|send\s+(?:it|this|that)|say\s+hi|reach\s+out)\s+to|"
        r"(?:meeting|meet|lunch|dinner|call|chat|sync|coffee|appointment|date)\s+with|"
        r"invite|invited|inviting|text|texts|texted|email|emailed|message|messaged|ping|pinged|ask|asked|tell|"
        r"told|remind|call|called|named|contact|cc|thank|thanks|meet|met|visit|hug|from|for|and|with|add")
_VERB = (r"needs|need|said|says|wants|wanted|asked|asks|called|calls|texted|emailed|sent|replied|thinks|told|"
         r"is\s+(?:calling|coming|here|late|out|off|sick|joining|presenting)|will\s+(?:call|join|send|be)|"
         r"has\s+(?:sent|called|asked)|and\s+i\b")
_ATTRIBUTE = (r"contact|number|phone|email|e-mail|address|birthday|calendar|schedule|meeting|appointment|"
              r"messages?|texts?|emails?|calls?|info|information|details|profile|wife|husband|mom|dad|son|"
              r"daughter|house|place|office|account|car|flight|party")
_TITLE = r"(?:mr|mrs|ms|miss|dr|prof|sir|madam|mister|doctor)\.?"
_WORD = r"[a-z][a-z'’-]*[a-z]"
_CUED = re.compile(rf"\b(?:{_CUE})\s+(?=({_WORD})\b(?:\s+({_WORD})\b)?)")
_BEFORE_VERB = re.compile(rf"(?:^|(?<=[.!?,;:]\s)|(?<=^\s))({_WORD})(?:\s+({_WORD}))?\s+(?:{_VERB})\b")
_POSSESSIVE = re.compile(rf"\b({_WORD})['’]s\s+(?:new\s+|old\s+|work\s+|home\s+|cell\s+|mobile\s+)?(?:{_ATTRIBUTE})\b")
_TITLED = re.compile(rf"\b{_TITLE}\s+({_WORD})\b")


def _common() -> frozenset[str]:
    return frozenset(STOP_WORDS) | EVERYDAY | FOREIGN_WORDS | NOT_NAMES | words("calendar_words")


_NOT_SURNAME: frozenset[str] | None = None


_KIN = frozenset(["mom", "mum", "mommy", "dad", "daddy", "mother", "father", "sister", "brother", "sis", "bro",
                  "wife", "husband", "son", "daughter", "grandma", "grandpa", "granny", "nana", "aunt", "auntie",
                  "uncle", "baby", "babe", "honey", "boss", "team", "everyone", "guys", "buddy", "doc", "sir"])


def _is_first(word: str) -> bool:
    return word in words("first_names") and name_word(word) and word not in STOP_WORDS and word not in NOT_NAMES \
        and word not in _KIN and word not in words("calendar_words")


def _surname(word: str | None) -> bool:
    global _NOT_SURNAME
    if _NOT_SURNAME is None:
        _NOT_SURNAME = _common()
    return word is not None and len(word) >= 3 and word not in _NOT_SURNAME


def _hit(text: str, start: int, end: int) -> Hit:
    return Hit(start, end, "PERSON", 0.5, " ".join(text[start:end].casefold().split()), RANK_NER - 3)


def lower_names(text: str) -> list[Hit]:
    """Names written in lower case (chat typed fast, ASR text) where only people stand."""
    low = text.lower()
    if low != text and text[1:] != text[1:].lower():
        return []   # capitalised text: spaCy and the capitalised-name finders read it
    hits: list[Hit] = []
    for rx in (_CUED, _BEFORE_VERB):
        for m in rx.finditer(low):
            if not _is_first(m.group(1)) or (rx is _BEFORE_VERB and m.group(1) in EVERYDAY):
                continue
            end = m.end(2) if m.group(2) and _surname(m.group(2)) else m.end(1)
            hits.append(_hit(text, m.start(1), end))
    for m in _POSSESSIVE.finditer(low):
        if _is_first(m.group(1)) and m.group(1) not in EVERYDAY:
            hits.append(_hit(text, m.start(1), m.end(1)))
    for m in _TITLED.finditer(low):
        if _surname(m.group(1)):
            hits.append(_hit(text, m.start(1), m.end(1)))
    return hits
