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
from ._namewords import (
    PERSON_CUE,
    PERSON_VERB_AFTER,
    PERSONAL_TITLE_CUE,
    modal_verb,
    name_word,
    role_only,
    titled,
)
from ._ner import _IMPERATIVES, _LOWER_CUE, _PARTICLES, FOREIGN_WORDS, NOT_NAMES
from ._patterns import _FILE_EXTS
from ._phones import NEG_CUE
from ._places import place_phrase, place_word, portuguese_i
from ._roster import EVERYDAY
from ._stopwords import stop_words

__all__ = ["AFTER", "BEFORE", "NER_TYPES", "RULES", "drop_calendar", "floor_piece_kept", "is_caps", "ner_floor_hit", "ner_rule", "pattern_rule"]

RULES: dict[str, str] = {
    "weak-uncued": "Presidio's weak US patterns (driver licence, passport, bank number, ITIN/SSN without "
                   "separators) match any short code ('C4', 'Q3') or 9-digit number: such a result counts "
                   "with one of the recognizer's own context words nearby, a document number's shape (a "
                   "letter and 7+ digits) or as a run of 8+ digits nothing marks as an order, ticket or amount",
    "clock-or-version": "a clock time ('10:30', '9.15 am') or a version ('2.3.1') read as DATE_TIME is no date",
    "no-digit-id": "an identifier pattern (plates, tax, passport, licence ids) that matched letters only "
                   "('especially', 'Government' as IN_PAN) names no document",
    "words-as-plate": "a plate or registration pattern that matched ordinary lower-case words around a number "
                      "('is up 15', 'C4 and', 'est de 40': function words of en, fr, de, es, it) is a sentence, "
                      "not a plate",
    "labelled-number": "a bare number or phone-shaped number that a label before it names as something else "
                       "('ticket 88213', 'order 123456789', 'build 555-123-456-7', '$300'), or a bare number "
                       "with a currency after it ('20000$', '300 euros'), is no postcode, identity number, "
                       "phone or date",
    "file-name": "a URL result that is a bare file name ('notes.md', 'main.py': .md and .py are also "
                 "top-level domains) with no scheme, www or path",
    "ellipsis": "a URL result that opens with an ellipsis (ASR's '...remend' read as '...re'): no host name "
                "opens with a dot",
    "calendar-word": "weekdays, months, parts of the day, relative dates and clock times ('next Tuesday', "
                     "'jeudi', 'this morning', 'what day of the week') identify no one; dates with a day or year "
                     "number stay",
    "chat-word": "a NER span made only of chat, label and everyday words ('Thanks', 'Agenda', 'Webinar ID', "
                 "'SSN') or of a number or code ('C4', 'JIRA-4521', 'port 8080', '$40') is no name, place, "
                 "organisation or date",
    "leading-verb": "a chat verb that opens a PERSON span ('Ping Dana Whitfield', 'ping lena andersson', "
                    "'Ping' alone) is the sentence's verb, not part of the name: the span keeps the words after it",
    "uncased-unknown": "a PERSON or ORGANIZATION span in a text without case to read (written in lower case, or a "
                       "line in capitals) none of whose words is a name word (name_words.txt: first names, "
                       "surnames and places no English dictionary writes in lower case) and with no cue only "
                       "people take before it ('ask', 'with', 'to'): spaCy's small model guesses such spans from "
                       "position alone ('grafana shows', 'cancel alarm', 'current news', 'IS STILL BLOCKED'); "
                       "meetguard's own lower-case name finders apply the same test",
    "foreign-word": "lower-case function words of another language at a NER span's ends (or left of it beside "
                    "meetguard's own finding) are cut: the English model reads 'Lyon le', 'Madrid el' as names; "
                    "'eu' with Portuguese words beside it ('eu também', 'que eu') is the pronoun 'I', no EU",
    "number-as-date": "spaCy's DATE over groups of digits split by spaces alone ('1111 1112'), none of them a "
                      "year, or over a bare number below 100 ('forty two', '42'), is a number read as a date; "
                      "the number's own recognizers decide on it",
    "role-title": "a PERSON span made only of titles and roles ('Mr President', 'Madam Chair', 'Commissioner') "
                  "addresses an office in a formal meeting, no one by name; 'President Obama', 'Dr Smith' stay",
    "dateless": "a DATE_TIME with no digit and no number word in any meeting language ('a hectic day', 'the "
                "best day', 'new year', 'an earth day') names no date: a date that identifies needs a day or a "
                "year number ('the ninth of august', 'nineteen eighty eight', 'le trois mars' stay)",
    "duration": "a length of time ('five years', 'two weeks') after 'for', 'in', 'within', 'over', ... or "
                "before 'ago', 'later', ... is no date; an age ('78 years old', 'aged five years') stays",
    "modal-verb": "a PERSON or ORGANIZATION span in a text without case right after a subject and a modal "
                  "('a woodchuck could chuck wood', 'i will bill you') is the verb, whatever first name it "
                  "also is; a name there is only a vocative, which ends the utterance ('yes i will jack' stays)",
}

BEFORE = 24   # characters before a span the rules read ("a woodchuck could ", "commissioner designate ")
AFTER = 24    # and after it (" was sentenced", " you tomorrow")

# Presidio's own mapping of spaCy labels (NerModelConfiguration's default).
NER_TYPES: dict[str, str] = {"PERSON": "PERSON", "PER": "PERSON", "LOC": "LOCATION", "GPE": "LOCATION",
                             "ORG": "ORGANIZATION", "DATE": "DATE_TIME", "TIME": "DATE_TIME", "NORP": "NRP"}

_KEEP_LETTERS = frozenset({"EMAIL_ADDRESS", "URL", "MAC_ADDRESS", "CRYPTO", "IP_ADDRESS", "DATE_TIME",
                           "UUID", "PHONE_NUMBER"})
_PLATES = frozenset({"DE_KFZ", "UK_VEHICLE_REGISTRATION", "TR_LICENSE_PLATE", "IN_VEHICLE_REGISTRATION",
                     "NG_VEHICLE_REGISTRATION", "ZA_LICENSE_PLATE"})
_CLOCK = re.compile(r"(?i)^\d{1,2}[:.h]\d{2}(?:[:.]\d{2})?(?:\s*[ap]\.?m\.?)?$")
_VERSION = re.compile(r"^\d{1,2}\.\d{1,2}\.\d{1,3}$")


# function words of the languages meetings are held in: "est de 40" is French, not a German plate
_FUNCTION = frozenset(STOP_WORDS).union(*(stop_words(lang) for lang in ("fr", "de", "es", "it")))
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
    if _CLOCK.match(value) and not _DATE_BEFORE.search(text[max(0, s - 12):s]):
        return "clock-or-version"   # "09h15" read as a TR plate
    if (value.isdigit() or etype == "PHONE_NUMBER") and etype not in ("CREDIT_CARD", "IBAN_CODE") \
            and (_labelled(text[max(0, s - 40):s]) or (value.isdigit() and _AMOUNT_AFTER.match(text[e:e + 12]))):
        return "labelled-number"
    if etype == "URL" and "/" not in value and "www" not in value.lower() \
            and value.rsplit(".", 1)[-1].lower() in _FILE_EXTS and value.count(".") == 1:
        return "file-name"
    if etype == "URL" and value.startswith(".."):
        return "ellipsis"   # ASR's "...remend" read as "...re": no host name opens with a dot
    caps = is_caps(text)   # a line in capitals: "IS UP 15" as in "is up 15"
    parts = re.split(r"[\s\-]+", value)
    if etype in _PLATES and (any(_plate_word(w, caps) for w in parts)
                             or sum(w.islower() and w in _FUNCTION for w in parts) >= 2):   # "y a 300"
        return "words-as-plate"
    return None


_AMOUNT_AFTER = re.compile(r"(?i)\s?(?:[$€£¥%]|(?:euros?|dollars?|eur|usd|gbp|chf|k€|k\$)\b)")


def _plate_word(word: str, caps: bool) -> bool:
    """A word no plate holds: a function word of en, fr, de, es, it in lower case (in a line in
    capitals, an English one, or another language's of 3+ letters: "07 AB 123" is a plate, German
    "ab" aside), or a label ("15 ssn", "15 NHS" of "09:15 ssn ...")."""
    w = word.casefold()
    if not word.isalpha() or len(word) < 2:
        return False
    if word.islower() and (w in _FUNCTION or w in _LABEL_WORDS):
        return True
    if caps and (w in STOP_WORDS or (len(w) >= 3 and w in _FUNCTION)):
        return True
    return len(w) >= 3 and w in _LABEL_WORDS


# "card # 503890547220": a "#" after a personal value's own label is no order or ticket number
_VALUE_HASH = re.compile(r"(?i)\b(?:card|account|acct|iban|passport|licen[cs]e|id|ssn|phone|tel|mobile|member|"
                         r"policy|patient|tax|insurance)\s*#\s*$")


def _labelled(before: str) -> bool:
    """A label just before a number names it as something else ("ticket", "order", "$")."""
    if _VALUE_HASH.search(before):
        return False
    return NEG_CUE.search(before) is not None or NEG_CUE.search(before.rstrip()) is not None


_CALENDAR = words("calendar_words")
_CLOCKISH = re.compile(r"(?i)^\d{1,2}(?:(?:[:.h]\d{2})(?:[ap]\.?m\.?)?|[ap]\.?m\.?)$")


# function words that may stand around calendar words ("what day of the week", "the next day");
# spaCy's English stop words hold number words too ("first", "twenty"): those are a date's own
_NUMBER_WORDS = frozenset(["one", "two", "three", "four", "five", "six", "eight", "nine", "ten", "eleven", "twelve",
                           "fifteen", "twenty", "forty", "fifty", "sixty", "hundred", "first", "third", "once"])
_FILLERS = frozenset(STOP_WORDS) - _NUMBER_WORDS


_EN_NUMBERS = frozenset(
    ["zero", "oh", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty", "thirty", "forty", "fourty", "fifty", "sixty", "seventy", "eighty", "ninety", "hundred", "thousand", "million", "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth", "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth", "seventeenth", "eighteenth", "nineteenth", "twentieth", "thirtieth", "fortieth", "fiftieth", "sixtieth", "seventieth", "eightieth", "ninetieth", "hundredth", "thousandth", "twenties", "thirties", "forties", "fifties", "sixties", "seventies", "eighties", "nineties", "noughties", "dozen", "score", "couple", "once", "twice"])
# number words of fr, de, es, it, pt: the stems of 4+ letters anywhere in a word ("einundzwanzigsten",
# "quatorzième"), the shorter ones as whole words only ("un", "tre", "elf")
_STEMS = re.compile(
    r"deux|trois|quatre|cinq|sept|huit|neuf|onze|douze|treize|quatorz|quinze|seize|vingt|trente|quarante|"
    r"cinquante|soixante|cent|mill|premi|secon|ième|eins|zwei|drei|vier|fünf|sechs|sieb|acht|neun|zehn|zwölf|"
    r"zwanzig|ßig|hundert|tausend|erste|dritt|cuatro|cinco|seis|siete|ocho|nueve|diez|doce|trece|catorce|"
    r"dieci|veint|treinta|cuarenta|cincuenta|sesenta|setenta|ochenta|noventa|cien|primer|segund|tercer|"
    r"cuart|quint|quattro|cinque|sette|otto|nove|undici|dodici|tredici|venti|trenta|quaranta|cento|primo|"
    r"prima|terzo|esimo|esima|ventuno|ventotto|quince|dois|três|quatro|oito|vinte")
_SHORT_NUMBERS = frozenset(["un", "une", "dix", "six", "ein", "elf", "uno", "una", "dos", "tres", "mil", "due", "tre", "sei", "tré"])


def _numbered(value: str) -> bool:
    """A digit or a number word of en, fr, de, es, it, pt in ``value``: a date that can name a day."""
    if any(c.isdigit() for c in value):
        return True
    for w in re.findall(r"[^\W\d_]+", value.casefold()):
        if w in _EN_NUMBERS or w in _SHORT_NUMBERS or _STEMS.search(w):
            return True
    return False


_UNITS_EN = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
_TENS_EN = ["twenty", "thirty", "forty", "fourty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_TEENS_EN = ["ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"]
_SMALL = re.compile(rf"(?i)^(?:(?:{'|'.join(_TENS_EN)})(?:[\s-]+(?:{'|'.join(_UNITS_EN)}))?|"
                    rf"{'|'.join(_UNITS_EN + _TEENS_EN)})$")
_HOUR = "one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve"
_SPOKEN_CLOCK = re.compile(
    rf"(?i)^(?:(?:half|quarter|(?:{'|'.join(_TENS_EN[:4])})(?:[\s-]+(?:{'|'.join(_UNITS_EN)}))?|"
    rf"{'|'.join(_UNITS_EN + _TEENS_EN)})\s+(?:minutes\s+)?(?:past|to|after|before)\s+)?(?:{_HOUR})"
    rf"(?:\s+(?:oh\s+)?(?:(?:{'|'.join(_TENS_EN[:4])})(?:[\s-]+(?:{'|'.join(_UNITS_EN)}))?|"
    rf"{'|'.join(_UNITS_EN + _TEENS_EN)}))?\s*(?:[ap]\.?\s?m\.?|o['’]?\s?clock)$")   # "eight pm", "half past six pm"
_DURATION = re.compile(
    r"(?i)^(?:(?:a|an|the|about|around|nearly|almost|over|under|just|another|more\s+than|less\s+than)\s+)*"
    r"(?:[\w-]+\s+){0,3}?(?:seconds?|minutes?|hours?|days?|nights?|weeks?|fortnights?|months?|years?|decades?|"
    r"centuries|century)$")
_DURATION_BEFORE = re.compile(r"(?i)\b(?:for|in|within|over|after|during|every|each|per|than|lasts?|lasted|"
                              r"spent|takes?|took|wait|waited|another)\s+$")
_DURATION_AFTER = re.compile(r"(?i)^\s*(?:ago|later|earlier|from\s+now|long|in\s+a\s+row|to\s+go)\b")
_AGE_AROUND = re.compile(r"(?i)^\s*(?:(?:years?|months?|weeks?|days?)[\s-]+)?(?:old|of\s+age|young|older|younger|"
                         r"of\s+life)\b")
_AGE_BEFORE = re.compile(r"(?i)\b(?:age|aged|ages|born|birth|birthday|turned|turns|turning|is|was|am|i'm|he's|she's)\s+$")


def _duration(value: str, before: str, after: str) -> bool:
    """Rule duration: a length of time named as one ("for five years", "two weeks later"), no age."""
    if not _DURATION.match(value) or _AGE_AROUND.match(after) or _AGE_BEFORE.search(before):
        return False
    words = value.casefold().split()
    if any(w in _CALENDAR and w not in ("day", "days", "week", "weeks", "month", "months", "year", "years",
                                        "hour", "hours", "minute", "minutes", "second", "seconds", "night",
                                        "couple", "few", "half", "the", "a", "an", "in", "of", "past", "last",
                                        "next", "coming", "previous")
           for w in words):
        return False   # "five years from may": a month or weekday in it
    return bool(_DURATION_BEFORE.search(before) or _DURATION_AFTER.match(after))


def _date_rule(value: str, stripped: str, before: str, after: str) -> str | None:
    """The rules for a DATE_TIME span (pattern or NER, any finder)."""
    if _DIGIT_GROUPS.match(stripped) and not any(_YEAR.match(g) for g in stripped.split()):
        return "number-as-date"
    if _DATE_BEFORE.search(before):
        return None   # the time of a timestamp
    if _calendar_only(value) or _CLOCK.match(value) or _SPOKEN_CLOCK.match(stripped):
        return "calendar-word"
    if _SMALL.match(stripped) and not _AGE_AROUND.match(after) and not _AGE_BEFORE.search(before):
        return "number-as-date"
    if not _numbered(stripped):
        return "dateless"
    return "duration" if _duration(stripped, before, after) else None


def _calendar_only(value: str) -> bool:
    words = [w.strip(".") for w in re.findall(r"[\w'’:.]+", value.casefold())]
    return any(w in _CALENDAR or _CLOCKISH.match(w) for w in words) and all(
        w in _CALENDAR or w in _FILLERS or _CLOCKISH.match(w) for w in words)


_NO_HARM = re.compile(r"(?i)^(?:[a-z]{1,3}\d{1,3}|[a-z]{2,10}-\d{1,6}|\d+(?:[.:,]\d+)*%?|[$€£]\s?\d[\d,.]*\w*|"
                      r"(?:room|port|version|v|ext|ticket|issue|pr|build)\s*#?[\d.]+)$")
_LABEL_WORDS = frozenset(
    ["webinar", "id", "ids", "passcode", "password", "pin", "dial", "link", "room", "chat", "recording", "ssn",
     "iban", "nhs", "dob", "hr", "it", "ip", "card", "cvv", "cvc", "exp", "expiry", "sort", "code", "account",
     "acct", "swift", "bic", "tel", "phone", "mobile", "cell", "fax", "email", "e-mail", "mail", "ref", "ticket",
     "order", "invoice", "number", "no", "nr", "itin", "ein", "vat", "tin", "passport", "licence", "license",
     "postcode", "zip", "mac", "url", "wifi", "vpn", "sso", "otp", "2fa", "mfa", "dea", "taxpayer", "driver",
     "driver's", "drivers", "medical", "social", "security", "national", "insurance", "numbers", "profile", "site", "port", "siren", "siret",
     "nir", "rcs", "tva", "numéro", "info"])
_LABELLED = re.compile(r"(?i)^(?:room|port|version|v|ext|ticket|issue|pr|build)\s*#?[\d.]+$")
_TOOL_VERSION = re.compile(r"(?i)^[a-z][\w-]*\s+v?(\d+\.\d+\.\d+)(?:[-+][\w.]+)?$")   # "node 18.19.0"
_DIGIT_GROUPS = re.compile(r"^\d+(?: +\d+)+$")
_YEAR = re.compile(r"^(?:19|20)\d\d$")


def ner_rule(value: str, ptype: str, before: str = "", caps: bool = False, after: str = "") -> str | None:
    """The rule that leaves out Presidio's NER span ``value`` of Presidio type ``ptype``
    (``before``, ``after``: the text just around it; ``caps``: the text is written in capitals), if any."""
    stripped = value.strip(" .,;:!?'\"()[]")
    label = (before.split() or [""])[-1] + " " + stripped
    if not stripped or (ptype != "DATE_TIME" and _NO_HARM.match(stripped)) or _NO_HARM.match(label) \
            or _LABELLED.match(stripped):   # "PORT 8080" read as a date
        return "chat-word"
    tool = _TOOL_VERSION.match(stripped)
    if tool is not None and _version(tool.group(1)):
        return "chat-word"
    if stripped.isdigit() and _labelled(before):
        return "labelled-number"   # "order 4417829" read as a date
    if ptype == "DATE_TIME":
        return _date_rule(value, stripped, before, after)
    raw = [w.strip(".,;:!?'\"()[]") for w in stripped.split()]
    raw = [w[:-2] if w.endswith(("'s", "’s")) else w for w in raw]
    words = [w.casefold() for w in raw]
    if ptype in ("PERSON", "ORGANIZATION", "LOCATION") and portuguese_i(words, before, after):
        return "foreign-word"   # "eu também", "que eu": the Portuguese "I", no EU and no one's name
    if ptype in ("PERSON", "ORGANIZATION", "LOCATION") and place_phrase(stripped, before):
        return None   # "the eu", "european union", "in turkey": a place read without case (place-name)
    cued = _LOWER_CUE.search(before) is not None   # "a meeting with al": a name, whatever else "al" is
    if all(_chat(w, caps, cued) for w in raw if w):
        return "chat-word"
    if ptype in ("PERSON", "ORGANIZATION") and any(c.isdigit() for c in stripped):
        return None   # "ec 76634", "madeira 1": the number is the value
    possessive = stripped.endswith(("'s", "’s"))   # "remove finlee's": an owner
    if ptype in ("PERSON", "ORGANIZATION") and (stripped.islower() or caps) and modal_verb(stripped, before, after):
        return "modal-verb"
    return None if possessive else _name_rule(stripped, ptype, words, before, caps, after)


def _chat(word: str, caps: bool, cued: bool) -> bool:
    """A chat, label, stop or other-language everyday word; written in capitals inside a line
    that is not, only a label or chat word counts ("ON", "CO", "NI" of an address are states)."""
    w = word.casefold()
    if place_word(w):
        return False   # "eu" is a Portuguese "I" too
    if w in NOT_NAMES or w in _LABEL_WORDS:
        return True
    if word.isupper() and not caps and len(word) <= 3:
        return False
    if cued and word.islower() and w not in STOP_WORDS:
        return False
    return (w in EVERYDAY and w in STOP_WORDS) or w in FOREIGN_WORDS


def _foreign(word: str) -> bool:
    return word in FOREIGN_WORDS and word not in STOP_WORDS and word not in _PARTICLES


def _foreign_edges(text: str, start: int, end: int) -> tuple[int, int]:
    """Rule foreign-word: lower-case function words of another language cut from a span's ends
    ("Lyon le" -> "Lyon", "Madrid el" -> "Madrid"); a name particle may not open the rest."""
    words = list(re.finditer(r"\S+", text[start:end]))
    while len(words) > 1 and words[-1].group().islower() and words[-1].group() in FOREIGN_WORDS \
            and words[-1].group() not in STOP_WORDS and not place_word(words[-1].group()):
        words.pop()
    while len(words) > 1 and words[0].group().islower() and _foreign(words[0].group()) \
            and not place_word(words[0].group()):
        words.pop(0)
    return start + words[0].start(), start + words[-1].end()


def _name_rule(value: str, ptype: str, ws: list[str], before: str, caps: bool, after: str = "") -> str | None:
    """Rules leading-verb, role-title and uncased-unknown (names, places, organisations)."""
    if ptype == "PERSON" and len(ws) == 1 and ws[0] in _IMPERATIVES:
        return "leading-verb"
    if ptype == "PERSON" and role_only(value):
        return "role-title"
    if ptype in ("PERSON", "ORGANIZATION") and (value.islower() or caps) \
            and not any(w not in NOT_NAMES and (name_word(w) or place_word(w)) for w in ws) \
            and not PERSON_CUE.search(before) \
            and not ((ptype == "PERSON" or PERSONAL_TITLE_CUE.search(before)) and titled(value, before)) \
            and not (ptype == "PERSON" and PERSON_VERB_AFTER.match(after)):
        # "president juncker", "mr van rompuy": a title makes the next word a name; "shakespeare said"
        return "uncased-unknown"
    return None


def ner_floor_hit(text: str, label: str, start: int, end: int) -> Hit | None:
    """Presidio's reading of one spaCy entity as a floor hit, unless a rule leaves it out."""
    ptype = NER_TYPES.get(label)
    if ptype is None:
        return None
    first, _, rest = text[start:end].partition(" ")
    if ptype == "PERSON" and rest and first.casefold() in _IMPERATIVES:   # rule leading-verb
        start += len(first) + 1
    if ptype != "DATE_TIME":
        start, end = _foreign_edges(text, start, end)
    value = text[start:end]
    before = text[max(0, start - BEFORE):start]
    if ner_rule(value, ptype, before, is_caps(text), text[end:end + AFTER]) is not None:
        return None
    if ptype in ("PERSON", "ORGANIZATION") and value.islower() and place_phrase(value, before):
        ptype = "LOCATION"   # "the eu", "syria" read as a name without case: a place
    norm = " ".join(value.casefold().split())
    return Hit(start, end, ptype, 0.85, norm, RANK_FLOOR)


def drop_calendar(text: str, hits: list[Hit]) -> list[Hit]:
    """Every DATE_TIME hit, from any finder, that rule calendar-word leaves out, left out."""
    return [h for h in hits if h.entity_type != "DATE_TIME"
            or ner_rule(text[h.start:h.end], "DATE_TIME", text[max(0, h.start - 12):h.start],
                        after=text[h.end:h.end + 12]) is None]


_NER_PTYPES = frozenset(NER_TYPES.values())


def is_caps(text: str) -> bool:
    """A text written in capitals: no case to read names by."""
    return text.isupper()


def floor_piece_kept(text: str, start: int, end: int, etype: str) -> bool:
    """What is left of a NER floor hit beside meetguard's own findings passes the same rules
    ("Webinar ID" left of "Webinar ID: 987-6543-2101" once the meeting id is taken)."""
    piece = text[start:end]
    if any(c.isdigit() for c in piece):   # "1903" of "Rua Diadema 1903" stays
        return True
    caps = is_caps(text)
    words = [w.strip(".,;:!?'\"()[]") for w in piece.split()]
    chat = all(_rest_word(w, caps) for w in words if w)
    if chat and words and words[-1].casefold() in _PARTICLES and text[end:].lstrip()[:1].isupper():
        chat = False   # "van de" of "Maika van de Noort": particles before a name are the name
    if etype in ("PERSON", "ORGANIZATION") and piece.islower() and not chat and _whole_words(text, *_trimmed(piece, start)) \
            and not any(w.casefold() not in NOT_NAMES and (name_word(w) or place_word(w)) for w in words if w):
        return False   # rule uncased-unknown on the rest: "need" of "need eu" once the place is taken
    if etype in _NER_PTYPES:
        return not chat
    # rule no-digit-id: "mac" left of "mac 8a" (a UK plate) once the MAC address is taken; a pattern
    # value's rest attached to it ("Z" of "Y8063915-Z") or a letter of it ("B" of "YZ 61 48 68 B") stays
    return etype in _KEEP_LETTERS or not chat or not _whole_words(text, start, end)


def _rest_word(word: str, caps: bool) -> bool:
    """A word a floor hit's rest may be left out for: label, chat, stop, a chat verb, a lower-case
    word of another language; a short word in capitals in a line that is not ("ON", "CO") only
    as a label or chat word."""
    w = word.casefold()
    if place_word(w):
        return False   # "eu" (a Portuguese "I") beside meetguard's finding is the EU
    if w in NOT_NAMES or w in _LABEL_WORDS or w in _IMPERATIVES:
        return True
    if word.isupper() and not caps and len(word) <= 3:
        return False
    return w in STOP_WORDS or _foreign(w) or (word.islower() and w in FOREIGN_WORDS)


def _trimmed(piece: str, start: int) -> tuple[int, int]:
    """The piece's bounds without the spaces at its ends."""
    lead = len(piece) - len(piece.lstrip())
    return start + lead, start + len(piece.rstrip())


def _whole_words(text: str, start: int, end: int) -> bool:
    """``text[start:end]`` stands apart from its neighbours (spaces or the text's ends)."""
    return (start == 0 or text[start - 1].isspace()) and (end == len(text) or text[end].isspace())
