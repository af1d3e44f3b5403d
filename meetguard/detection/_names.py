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
chat or calendar word is taken as the surname ("bill malinda"). The same verbs count after a
clause opener too ("tell me if dorothy has sent it").

A surname or a first name of ``name_words.txt`` that is no place of the gazetteer is a name
where only people stand: after a title of office ("president macron", "senator warren"), in
"who is obama", "how old is merkel", "the wife of obama", as a possessive ("obama's net
worth"), before a verb only people do ("obama said"), or after a cue only people take
("i met jones"). A month that is also a given name ("june", "april", "july", "august", "may")
is a person only as the subject of a verb only people do, at a sentence's or clause's start
("June is out today", "tell me if july has sent me anything"); "in june", "june is hot" stay.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from spacy.lang.en.stop_words import STOP_WORDS

from .._wordlists import words
from ._hits import RANK_NER, Hit
from ._namewords import ROLE_WORDS, english, modal_verb, name_word
from ._ner import _IMPERATIVES, FOREIGN_WORDS, NOT_NAMES
from ._places import is_place, place_word
from ._roster import EVERYDAY

__all__ = ["lower_names", "warm"]

_NOUN_TO_CUES = r"e-?mail|mail|message|text|note|reminder|letter|invite|invitation|gift|card"
_NOUN_TO = re.compile(rf"\b(?:{_NOUN_TO_CUES})\s+to\s+$")
_CUE = (r"(?:reply|replies|talk|talking|speak|speaking|write|send\s+(?:it|this|that)|say\s+hi|reach\s+out|"
        rf"{_NOUN_TO_CUES})\s+to|"
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
# "mr van rompuy", "mr de gucht", "mr al assad": the particles are part of the surname
_PARTICLE = r"(?:van|von|de|der|den|del|della|di|da|du|dos|das|le|la|al|el|bin|ibn|ter|ten|st)\s+"
_TITLED = re.compile(rf"\b{_TITLE}\s+((?:{_PARTICLE})*({_WORD}))\b")
_OPENER = r"\b(?:if|that|whether|when|because|but|unless|once|while|so)\s+"
_OPENED = re.compile(rf"{_OPENER}({_WORD})(?:\s+({_WORD}))?\s+(?:{_VERB})\b")
# verbs a month never does: "june is coming", "may will be" are the month's or the modal's
_PERSON_VERB = (r"needs|said|says|wants|wanted|asked|asks|texted|emailed|sent|replied|thinks|told|called|"
                r"is\s+(?:out(?!\s+of)|off|sick|on\s+leave|calling|joining|presenting)|will\s+(?:call|join|send)|"
                r"has\s+(?:sent|called|asked|emailed|replied|texted)")
_MONTH_NAMES = frozenset(["january", "april", "may", "june", "july", "august"])
_MONTH_PERSON = re.compile(rf"(?:^|(?<=[.!?,;:]\s)|{_OPENER})({'|'.join(sorted(_MONTH_NAMES))})\s+(?:{_PERSON_VERB})\b")
_OFFICE = (r"president|senator|governor|minister|premier|chancellor|king|queen|prince|princess|pope|judge|justice|"
           r"mayor|ambassador|congressman|congresswoman|sheriff|coach|captain|colonel|sergeant|commissioner|"
           r"secretary|general")
_PERSON_SLOT = re.compile(
    rf"\b(?:(?:{_OFFICE})|who\s+(?:is|was)|how\s+(?:old|tall|rich)\s+is|(?:wife|husband|son|daughter|mother|"
    rf"father|brother|sister|children|kids|girlfriend|boyfriend|partner)\s+of|married\s+to|"
    rf"(?:ask|tell|told|met|meet|invite|email|text|call|ping|remind|thank|message)|"
    rf"(?:reply|talk|speak)\s+to)\s+({_WORD})\b")
_SURNAME_FIRST = re.compile(rf"(?:^|(?<=[.!?,;:]\s)|{_OPENER})({_WORD})\s+(?:{_PERSON_VERB})\b")
# "moe's diner", "domino's pizza": a shop named after its owner is the shop's name
_ANY_POSSESSIVE = re.compile(rf"\b({_WORD})['’]s\s+(?!(?:diner|restaurant|pizza|pizzeria|bar|grill|cafe|café|pub|"
                             r"shop|store|bakery|kitchen|deli|burgers?|tavern|steakhouse|inn|place|club|chicken)\b)[a-z]")


def _common() -> frozenset[str]:
    return frozenset(STOP_WORDS) | EVERYDAY | FOREIGN_WORDS | NOT_NAMES | words("calendar_words")


_NOT_SURNAME: frozenset[str] | None = None


_KIN = frozenset(["mom", "mum", "mommy", "dad", "daddy", "mother", "father", "sister", "brother", "sis", "bro",
                  "wife", "husband", "son", "daughter", "grandma", "grandpa", "granny", "nana", "aunt", "auntie",
                  "uncle", "baby", "babe", "honey", "boss", "team", "everyone", "guys", "buddy", "doc", "sir"])


def _is_first(word: str) -> bool:
    return word in words("first_names") and name_word(word) and word not in STOP_WORDS and word not in NOT_NAMES \
        and word not in _KIN and word not in words("calendar_words")


def warm() -> None:
    """Load the word lists the finder reads (the first names: ~15 ms), not on the first
    lower-case name of the first request."""
    global _NOT_SURNAME
    words("first_names")
    words("calendar_words")
    if _NOT_SURNAME is None:
        _NOT_SURNAME = _common()


def _surname(word: str | None) -> bool:
    global _NOT_SURNAME
    if _NOT_SURNAME is None:
        _NOT_SURNAME = _common()
    return word is not None and len(word) >= 3 and word not in _NOT_SURNAME


def _known_name(word: str) -> bool:
    """A first name or surname of name_words.txt that is no everyday word and no place."""
    word = word[:-2] if word.endswith(_POSSESSIVE_S) else word
    return name_word(word) and _surname(word) and word not in _KIN and not is_place(word.title())


# A title of office, then a surname no dictionary holds ("president juncker", "commissioner
# barnier", "our president hans gert pttering", "commissioner de gucht"); after "the", "a", "this"
# the title is a common noun ("the president said")
_OFFICES = (r"president|senator|governor|minister|premier|chancellor|king|queen|prince|princess|pope|mayor|"
            r"ambassador|congressman|congresswoman|sheriff|colonel|lieutenant|admiral|sergeant|commissioner|"
            r"chairman|chairwoman|rapporteur|rapporteurs|presidents|commissioners|emperor|sultan|sheikh|cardinal|"
            r"archbishop|bishop|taoiseach")
_OFFICE_NAME = re.compile(
    rf"(?<![a-z])(?:(the|a|an|this|that|every|each|any|no)\s+)?(?:vice[\s-]+)?(?:{_OFFICES})\s+"
    rf"(?:(?:elect|designate)\s+)?((?:{_PARTICLE})*({_WORD}))(?:\s+({_WORD}))?(?:\s+({_WORD}))?\b")


# Early exits that cannot miss: every match of _TITLED holds one of its titles, of _MONTH_PERSON a
# month, of _OFFICE_NAME an office, of _POSSESSIVE and _ANY_POSSESSIVE an "'s", written as here (the
# patterns read the lower-cased text); a text without any of them as a substring has no match to
# look for (tests/test_detection_finders_cost.py)
_TITLE_WORDS = ("mr", "ms", "miss", "dr", "prof", "sir", "madam", "mister", "doctor")
_POSSESSIVE_S = ("'s", "’s")
_OFFICE_WORDS = tuple(_OFFICES.split("|"))


def _holds(low: str, literals: Iterable[str]) -> bool:
    return any(map(low.__contains__, literals))


def _unknown(word: str | None) -> bool:
    """A word no dictionary, stop, role, calendar or place list holds: after a title, a surname."""
    return word is not None and word.isalpha() and _surname(word) and word not in ROLE_WORDS \
        and not english(word) and not is_place(word.title())


def _office_names(text: str, low: str) -> list[Hit]:
    hits = []
    for m in _OFFICE_NAME.finditer(low):
        if m.group(1) or not (_unknown(m.group(3)) or _known_name(m.group(3))):
            continue
        end = m.end(2)
        for g in (4, 5):   # "hans gert pttering", "herranz garca"
            if not (_unknown(m.group(g)) or _known_name(m.group(g) or "")):
                break
            end = m.end(g)
        hits.append(_hit(text, m.start(2), end))
    return hits


def _hit(text: str, start: int, end: int) -> Hit:
    return Hit(start, end, "PERSON", 0.5, " ".join(text[start:end].casefold().split()), RANK_NER - 3)


def lower_names(text: str) -> list[Hit]:
    """Names written in lower case (chat typed fast, ASR text) where only people stand."""
    low = text.lower()
    if low != text and text[1:] != text[1:].lower():
        return []   # capitalised text: spaCy and the capitalised-name finders read it
    hits: list[Hit] = []
    apostrophe = _holds(low, _POSSESSIVE_S)
    for rx in (_CUED, _BEFORE_VERB):
        for m in rx.finditer(low):
            if not _is_first(m.group(1)) or (m.group(1) in EVERYDAY and (
                    rx is _BEFORE_VERB or _NOUN_TO.search(low[max(0, m.start(1) - 24):m.start(1)]))):
                continue   # "an email to guy selling the boat": after a noun's "to", an everyday word is one
            end = m.end(2) if m.group(2) and _surname(m.group(2)) and m.group(2) not in _IMPERATIVES else m.end(1)
            hits.append(_hit(text, m.start(1), end))
    for m in _POSSESSIVE.finditer(low) if apostrophe else ():
        if _is_first(m.group(1)) and m.group(1) not in EVERYDAY:
            hits.append(_hit(text, m.start(1), m.end(1)))
    for m in _TITLED.finditer(low) if _holds(low, _TITLE_WORDS) else ():
        if _surname(m.group(2)) and m.group(2) not in ROLE_WORDS:
            hits.append(_hit(text, m.start(1), m.end(1)))
    for m in _OPENED.finditer(low):
        if _is_first(m.group(1)) and m.group(1) not in EVERYDAY:
            end = m.end(2) if m.group(2) and _surname(m.group(2)) and m.group(2) not in _IMPERATIVES else m.end(1)
            hits.append(_hit(text, m.start(1), end))
    if _holds(low, _MONTH_NAMES):
        hits += [_hit(text, m.start(1), m.end(1)) for m in _MONTH_PERSON.finditer(low)]
    found = hits + _known_names(text, low, apostrophe)
    if _holds(low, _OFFICE_WORDS):
        found += _office_names(text, low)
    found += _full_names(text, low)
    # rule modal-verb: "a woodchuck could chuck wood", "i will bill you" are verbs
    return [h for h in found
            if not modal_verb(low[h.start:h.end], low[max(0, h.start - 24):h.start], low[h.end:h.end + 12])]


def _surname_after(word: str | None) -> bool:
    """A word after a first name that is its surname: a name word or a word no dictionary holds
    ("tom hanks" aside: "hanks" is a dictionary word), never a place ("austin texas")."""
    word = word[:-2] if word is not None and word.endswith(_POSSESSIVE_S) else word
    return word is not None and word.isalpha() and _surname(word) and word not in ROLE_WORDS \
        and (_known_name(word) or not english(word)) and not is_place(word.title()) and not place_word(word)


# a first name then its surname, anywhere in lower case ("justin bieber", "jennifer lopez")
_FULL_NAME = re.compile(rf"(?<![a-z'’-])({_WORD})\s+({_WORD})(?![a-z'’-])")


def _full_names(text: str, low: str) -> list[Hit]:
    hits = []
    for m in _FULL_NAME.finditer(low):
        first, last = m.group(1), m.group(2)
        if _is_first(first) and first not in EVERYDAY and not is_place(first.title()) and not place_word(first) \
                and _surname_after(last):
            hits.append(_hit(text, m.start(1), m.end(2) - 2 * last.endswith(_POSSESSIVE_S)))
    return hits


def _known_names(text: str, low: str, apostrophe: bool = True) -> list[Hit]:
    """Surnames and first names of name_words.txt where only people stand ("who is obama");
    ``apostrophe``: ``low`` holds "'s" or "’s" (else no possessive can match)."""
    return [_hit(text, m.start(1), _slot_surname(low, m) if rx is _PERSON_SLOT else
                 m.end(1) - 2 * m.group(1).endswith(_POSSESSIVE_S))
            for rx in ((_PERSON_SLOT, _SURNAME_FIRST, _ANY_POSSESSIVE) if apostrophe else (_PERSON_SLOT, _SURNAME_FIRST))
            for m in rx.finditer(low) if _known_name(m.group(1))]


# "who is tom hanks", "how old is bill gates?", "the wife of will smith's": after a question or
# relation slot, a first name and one more word that ends the utterance (or a possessive, or a
# clause) is the surname, whatever dictionary also holds it; "who is tom going with", "how old is
# jack exactly", "who is tom now" keep the first name alone
_QUESTION_SLOT = re.compile(r"(?:who\s+(?:is|was)|how\s+(?:old|tall|rich)\s+is|\s+of|married\s+to)\s+$")
_LAST_WORD = re.compile(rf"\s+({_WORD})(?:['’]s\b|(?=\s*(?:[?.!,;:]|$)))")


def _slot_surname(low: str, m: re.Match[str]) -> int:
    """Where the name of a _PERSON_SLOT match ends: the first name's end, or its surname's."""
    end = m.end(1) - 2 * m.group(1).endswith(_POSSESSIVE_S)
    if end != m.end(1) or not _is_first(m.group(1)) or not _QUESTION_SLOT.search(low, 0, m.start(1)):
        return end
    nxt = _LAST_WORD.match(low, end)
    if nxt is None or nxt.group(1).endswith(("ly", "ing", "ed")) or not _surname_after_slot(nxt.group(1)):
        return end
    return nxt.end(1)


def _surname_after_slot(word: str) -> bool:
    return _surname(word) and word not in ROLE_WORDS and word not in _KIN and word not in _IMPERATIVES \
        and not is_place(word.title()) and not place_word(word)
