"""Presidio as the floor, by construction, and the named rules that may lower it.

Every recognizer Presidio predefines (``_presidio.floor_recognizers``: pattern recognizers,
country ones included, and the phone recognizers) and Presidio's spaCy entity mapping
(``NerModelConfiguration``: PERSON/PER, LOC/GPE, ORG, DATE/TIME, NORP) run over the same
text as meetguard's own finders; each span they report becomes a hit at ``RANK_FLOOR``,
below every finder of ours, so it is kept wherever nothing of ours already covers it.
A span is left out only by one of the rules in :data:`RULES` (docs/detection.md holds the
same table; tests/test_detection_rules.py holds true values each rule must never remove).
"""

from __future__ import annotations

import re

from spacy.lang.en.stop_words import STOP_WORDS

from .._wordlists import words
from ._hits import RANK_FLOOR, Hit
from ._ner import FOREIGN_WORDS, NOT_NAMES
from ._patterns import _FILE_EXTS
from ._phones import NEG_CUE
from ._roster import EVERYDAY

__all__ = ["NER_TYPES", "RULES", "drop_calendar", "floor_piece_kept", "ner_floor_hit", "ner_rule", "pattern_rule"]

RULES: dict[str, str] = {
    "weak-uncued": "Presidio's weak US patterns (driver licence, passport, bank number, ITIN/SSN without "
                   "separators) match any short code ('C4', 'Q3') or 9-digit number: such a result counts "
                   "with one of the recognizer's own context words nearby, a document number's shape (a "
                   "letter and 7+ digits) or as a run of 8+ digits nothing marks as an order, ticket or amount",
    "clock-or-version": "a clock time ('10:30', '9.15 am') or a version ('2.3.1') read as DATE_TIME is no date",
    "no-digit-id": "an identifier pattern (plates, tax, passport, licence ids) that matched letters only "
                   "('especially', 'Government' as IN_PAN) names no document",
    "words-as-plate": "a plate or registration pattern that matched ordinary lower-case words around a number "
                      "('is up 15', 'C4 and') is a sentence, not a plate",
    "labelled-number": "a bare number that a label before it names as something else ('ticket 88213', "
                       "'order 123456789', 'port 8080', '$300') is no postcode or identity number",
    "file-name": "a URL result that is a bare file name ('notes.md', 'main.py': .md and .py are also "
                 "top-level domains) with no scheme, www or path",
    "calendar-word": "weekdays, months, parts of the day, relative dates and clock times ('next Tuesday', "
                     "'jeudi', 'this morning') identify no one; dates with a day or year number stay",
    "chat-word": "a NER span made only of chat, label and everyday words ('Thanks', 'Agenda', 'Webinar ID', "
                 "'SSN') or of a number or code ('C4', 'JIRA-4521', 'port 8080', '$40') is no name, place, "
                 "organisation or date",
    "number-as-date": "spaCy's DATE over groups of digits split by spaces alone ('1111 1112'), none of them a "
                      "year, is a number read as a date; the number's own recognizers decide on it",
}

# Presidio's own mapping of spaCy labels (NerModelConfiguration's default).
NER_TYPES: dict[str, str] = {"PERSON": "PERSON", "PER": "PERSON", "LOC": "LOCATION", "GPE": "LOCATION",
                             "ORG": "ORGANIZATION", "DATE": "DATE_TIME", "TIME": "DATE_TIME", "NORP": "NRP"}

_KEEP_LETTERS = frozenset({"EMAIL_ADDRESS", "URL", "MAC_ADDRESS", "CRYPTO", "IP_ADDRESS", "DATE_TIME",
                           "UUID", "PHONE_NUMBER"})
_PLATES = frozenset({"DE_KFZ", "UK_VEHICLE_REGISTRATION", "TR_LICENSE_PLATE", "IN_VEHICLE_REGISTRATION",
                     "NG_VEHICLE_REGISTRATION", "ZA_LICENSE_PLATE"})
_CLOCK = re.compile(r"(?i)^\d{1,2}[:.]\d{2}(?:[:.]\d{2})?(?:\s*[ap]\.?m\.?)?$")
_VERSION = re.compile(r"^\d{1,2}\.\d{1,2}\.\d{1,3}$")


_DATE_BEFORE = re.compile(r"\d[-/.]\d{1,4}[T ,]{1,2}$")


def _version(value: str) -> bool:
    """"2.3.1", "10.14.2": no day.month.year reading ("21.5.21" is a date)."""
    if not _VERSION.match(value):
        return False
    day, month, _year = (int(x) for x in value.split("."))
    return not (1 <= day <= 31 and 1 <= month <= 12 and len(value.rsplit(".", 1)[1]) >= 2)


def pattern_rule(text: str, s: int, e: int, etype: str) -> str | None:
    """The rule that leaves out Presidio's pattern result ``text[s:e]`` of ``etype``, if any."""
    value = text[s:e]
    if etype == "DATE_TIME":
        if _DATE_BEFORE.search(text[max(0, s - 12):s]):
            return None   # "2015-12-22 04:34:22": the time of a timestamp is part of its value
        return "clock-or-version" if _CLOCK.match(value) or _version(value) else None
    if etype not in _KEEP_LETTERS and not any(c.isdigit() for c in value):
        return "no-digit-id"
    if value.isdigit() and etype not in ("PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE") and (
            NEG_CUE.search(text[max(0, s - 40):s]) or NEG_CUE.search(text[max(0, s - 40):s].rstrip())):
        return "labelled-number"
    if etype == "URL" and "/" not in value and "www" not in value.lower() \
            and value.rsplit(".", 1)[-1].lower() in _FILE_EXTS and value.count(".") == 1:
        return "file-name"
    if etype in _PLATES and any(w.isalpha() and len(w) >= 2 and w.islower() and w in STOP_WORDS
                                for w in re.split(r"[\s\-]+", value)):
        return "words-as-plate"
    return None


_CALENDAR = words("calendar_words")
_CLOCKISH = re.compile(r"(?i)^\d{1,2}(?:(?:[:.h]\d{2})(?:[ap]\.?m\.?)?|[ap]\.?m\.?)$")


def _calendar_only(value: str) -> bool:
    words = re.findall(r"[\w'’:.]+", value.casefold())
    return bool(words) and all(w.strip(".") in _CALENDAR or _CLOCKISH.match(w) for w in words)


_NO_HARM = re.compile(r"(?i)^(?:[a-z]{1,3}\d{1,3}|[a-z]{2,10}-\d{1,6}|\d+(?:[.:,]\d+)*%?|[$€£]\s?\d[\d,.]*\w*|"
                      r"(?:room|port|version|v|ext|ticket|issue|pr|build)\s*#?[\d.]+)$")
_LABEL_WORDS = frozenset(
    ["webinar", "id", "ids", "passcode", "password", "pin", "dial", "link", "room", "chat", "recording", "ssn",
     "iban", "nhs", "dob", "hr", "it", "ip", "card", "cvv", "cvc", "exp", "expiry", "sort", "code", "account",
     "acct", "swift", "bic", "tel", "phone", "mobile", "cell", "fax", "email", "e-mail", "mail", "ref", "ticket",
     "order", "invoice", "number", "no", "nr", "itin", "ein", "vat", "tin", "passport", "licence", "license",
     "postcode", "zip", "mac", "url", "wifi", "vpn", "sso", "otp", "2fa", "mfa"])
_DIGIT_GROUPS = re.compile(r"^\d+(?: +\d+)+$")
_YEAR = re.compile(r"^(?:19|20)\d\d$")


def ner_rule(value: str, ptype: str, before: str = "") -> str | None:
    """The rule that leaves out Presidio's NER span ``value`` of Presidio type ``ptype``
    (``before``: the text just before it), if any."""
    stripped = value.strip(" .,;:!?'\"()[]")
    label = (before.split() or [""])[-1] + " " + stripped
    if not stripped or (ptype != "DATE_TIME" and _NO_HARM.match(stripped)) or _NO_HARM.match(label):
        return "chat-word"
    if ptype == "DATE_TIME":
        if _DIGIT_GROUPS.match(stripped) and not any(_YEAR.match(g) for g in stripped.split()):
            return "number-as-date"
        if _DATE_BEFORE.search(before):
            return None   # the time of a timestamp
        return "calendar-word" if _calendar_only(value) or _CLOCK.match(value) else None
    words = [w.strip(".,;:!?'\"()[]").casefold() for w in stripped.split()]
    words = [w[:-2] if w.endswith(("'s", "’s")) else w for w in words]
    if all(w in NOT_NAMES or (w in EVERYDAY and w in STOP_WORDS) or w in FOREIGN_WORDS or w in _LABEL_WORDS
           for w in words if w):
        return "chat-word"
    return None


def ner_floor_hit(text: str, label: str, start: int, end: int) -> Hit | None:
    """Presidio's reading of one spaCy entity as a floor hit, unless a rule leaves it out."""
    ptype = NER_TYPES.get(label)
    if ptype is None:
        return None
    value = text[start:end]
    if ner_rule(value, ptype, text[max(0, start - 12):start]) is not None:
        return None
    norm = " ".join(value.casefold().split())
    return Hit(start, end, ptype, 0.85, norm, RANK_FLOOR)


def drop_calendar(text: str, hits: list[Hit]) -> list[Hit]:
    """Every DATE_TIME hit, from any finder, that rule calendar-word leaves out, left out."""
    return [h for h in hits if h.entity_type != "DATE_TIME"
            or ner_rule(text[h.start:h.end], "DATE_TIME", text[max(0, h.start - 12):h.start]) is None]


_NER_PTYPES = frozenset(NER_TYPES.values())


def floor_piece_kept(text: str, start: int, end: int, etype: str) -> bool:
    """What is left of a NER floor hit beside meetguard's own findings passes the same rules
    ("Webinar ID" left of "Webinar ID: 987-6543-2101" once the meeting id is taken)."""
    piece = text[start:end]
    if etype in _NER_PTYPES and not any(c.isdigit() for c in piece):   # "1903" of "Rua Diadema 1903" stays
        words = [w.strip(".,;:!?'\"()[]").casefold() for w in piece.split()]
        return not all(w in _LABEL_WORDS or w in NOT_NAMES or w in STOP_WORDS for w in words if w)
    return True   # a pattern value's rest ("Z" of "Y8063915-Z") is part of that value
