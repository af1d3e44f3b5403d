"""Structured values found by regular expressions plus a check each.

Each finder takes the (skip-masked) text and returns hits. Cheap guards
(``"@" in text``, a digit count) keep them from running where they cannot
match; see docs/performance.md.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable

import tldextract

from ._hits import RANK_CUED, RANK_JOIN_URL, RANK_NER, RANK_STRUCTURED, Hit
from ._literals import may_hold

RANK_NER_DATE = RANK_NER - 3  # spaCy's own (often longer) date wins

# The bundled public-suffix snapshot only: no download, no cache writes.
_TLD = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, fallback_to_snapshot=True)

# Reserved / internal TLDs that public lists do not know but meetings use.
_PRIVATE_TLDS = frozenset({"example", "internal", "local", "corp", "test", "lan", "home", "intranet"})
# Bare domains (no scheme, no www.) only count with a TLD people type in chat:
# "main.py" or "notes.md" are file names far more often than links.
_BARE_TLDS = frozenset(
    {"com", "org", "net", "edu", "gov", "io", "co", "uk", "de", "fr", "eu", "us", "ca", "au",
     "nl", "se", "ch", "es", "it", "jp", "in", "info", "biz", "app", "dev", "ai", "cloud"}
) | _PRIVATE_TLDS

# Names that end like a domain but are files far more often ("notes.md", "main.py").
_FILE_EXTS = frozenset(
    ["py", "md", "txt", "js", "ts", "json", "yaml", "yml", "csv", "tsv", "pdf", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "png", "jpg", "jpeg", "gif", "svg", "zip", "gz", "tar", "log", "sh", "rs", "go", "java", "c", "h", "cpp", "hpp", "html", "htm", "css", "xml", "toml", "ini", "cfg", "conf", "sql", "mp3", "mp4", "wav", "flac", "mov", "exe", "dll", "so", "bin", "lock", "env", "rb", "php", "kt", "swift", "dart", "vue", "jsx", "tsx", "ipynb", "pkl", "parquet", "bak", "tmp", "key", "pem", "crt", "sig", "whl", "jar", "war", "ps1", "bat", "cmd", "mk", "out", "pm", "scala", "lua", "ex", "exs", "erl", "hs", "ml", "fs", "cs", "vb"]
)

_TRAIL = ".,;:!?'\"*"


def _strip_tail(text: str, start: int, end: int) -> int:
    """Drop trailing punctuation and an unbalanced closing bracket."""
    while end > start:
        ch = text[end - 1]
        if ch in _TRAIL or ch in ")]}" and text.count("([{"[")]}".index(ch)], start, end) < text.count(ch, start, end):
            end -= 1
        else:
            break
    return end


# --- email -----------------------------------------------------------------
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
EMAIL_RE = re.compile(
    r"(?<![\w.+%-])[^\W_][\w.%+-]{0,63}@" + _LABEL + r"(?:\." + _LABEL + r")*\.[A-Za-z]{2,24}(?![\w-])"
)


def find_emails(text: str) -> list[Hit]:
    if "@" not in text:
        return []
    return [
        Hit(m.start(), m.end(), "EMAIL_ADDRESS", 1.0, m.group().lower(), RANK_STRUCTURED)
        for m in EMAIL_RE.finditer(text)
    ]


# --- join links and URLs -----------------------------------------------------
_URLCH = r"[^\s<>\"'`]"
JOIN_RE = re.compile(
    r"(?:https?://(?:[\w-]+\.)*zoom(?:gov)?\.us/(?:j|w|s|my|wc|meeting)/" + _URLCH + r"+"
    r"|zoommtg://" + _URLCH + r"+"
    r"|https?://teams\.microsoft\.com/l/meetup-join/" + _URLCH + r"+"
    r"|https?://teams\.live\.com/meet/" + _URLCH + r"+"
    r"|(?:https?://)?meet\.google\.com/[a-z]{3}-[a-z]{4}-[a-z]{3}(?:[?#/]" + _URLCH + r"*)?"
    r"|https?://(?:[\w-]+\.)*webex\.com/" + _URLCH + r"+)",
    re.IGNORECASE,
)
URL_RE = re.compile(r"(?:\b(?:https?|ftp)://|\bwww\.)" + _URLCH + r"+", re.IGNORECASE)
BARE_RE = re.compile(
    r"(?<![\w@./-])(?:[A-Za-z0-9-]+\.)+([A-Za-z]{2,24})(?::\d{2,5})?(?:/" + _URLCH + r"*)?(?![\w@-])"
)


def find_links(text: str) -> list[Hit]:
    hits: list[Hit] = []
    if "://" in text or "meet.google" in text.lower():
        for m in JOIN_RE.finditer(text):
            end = _strip_tail(text, m.start(), m.end())
            hits.append(Hit(m.start(), end, "JOIN_URL", 1.0, text[m.start():end].lower(), RANK_JOIN_URL))
    if "://" in text or "www." in text.lower():
        for m in URL_RE.finditer(text):
            end = _strip_tail(text, m.start(), m.end())
            if end - m.start() > 8:
                hits.append(Hit(m.start(), end, "URL", 0.9, text[m.start():end].lower(), RANK_STRUCTURED))
    if "." in text:
        for m in BARE_RE.finditer(text):
            tld = m.group(1).lower()
            end = _strip_tail(text, m.start(), m.end())
            value = text[m.start():end].lower()
            if tld in _BARE_TLDS or (tld not in _FILE_EXTS and _TLD(value.split("/")[0]).suffix):
                hits.append(Hit(m.start(), end, "URL", 0.7, value, RANK_STRUCTURED))
    return hits


# --- numbers ---------------------------------------------------------------
def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def ssn_ok(digits: str) -> bool:
    area, group, serial = digits[:3], digits[3:5], digits[5:]
    return area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000"


def iban_ok(value: str) -> bool:
    v = value.upper()
    if not (15 <= len(v) <= 34 and v[:2].isalpha() and v[2:4].isdigit()):
        return False
    moved = v[4:] + v[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


_DIGIT = re.compile(r"\d")
CARD_RE = re.compile(r"(?<![\d-])\d{4}(?:[ -]?\d{2,6}){2,4}(?![\d])")
SSN_RE = re.compile(r"(?<![\d.-])(\d{3})([-. ]?)(\d{2})\2(\d{4})(?![\d-]|\.\d)")
SSN_CUE = re.compile(r"(?i)\b(?:ssn|social\s+security(?:\s+(?:number|no\.?|#))?|tax\s+id)\b\W{0,3}(?:\w+\W+){0,3}$")
IBAN_RE = re.compile(r"\b[A-Za-z]{2}\d{2}(?: ?[A-Za-z0-9]{4}){2,7}(?: ?[A-Za-z0-9]{1,3})?\b")
IPV4_RE = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d]|\.\d)")
IPV6_RE = re.compile(r"(?<![\w:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?:%\w+)?(?![\w:])")
PHONE_RES = (
    # +CC forms: +44 20 7946 0958, +1 (415) 555-0142, 0049 30 1234567
    re.compile(r"(?<![\w+])(?:\+|00)\d{1,3}(?:[ .-]?\(?\d{1,5}\)?){1,6}(?:\s?(?:x|ext\.?)\s?\d{1,6})?(?!\w)"),
    # North American: (415) 555-0142, 415-555-0142, 415.555.0142, 1-415-555-0142
    re.compile(
        r"(?<![\w+-])(?:1[ .-]?)?(?:\(\d{3}\)[ ]?|\d{3}[ .-])\d{3}[ .-]\d{4}(?:\s?(?:x|ext\.?)\s?\d{1,6})?(?![\w-])"
    ),
    # bare ten digits
    re.compile(r"(?<![\w.+-])[2-9]\d{9}(?![\w-])"),
)
MEETING_ID_RE = re.compile(r"(?<![\w-])\d{3}(?:[ -]?\d{3,4}){2}(?![\w-])|(?<![\w-])\d{9,11}(?![\w-])")
MEETING_CUE = re.compile(
    r"(?i)\b(?:meeting|webinar|conference|zoom|teams|bridge|event)\s*(?:id|number|no\.?|#|code)\b"
    r"|\bID\b|\bwebinar\b"
)
MEETING_CONTEXT = re.compile(r"(?i)\b(?:zoom|meeting|webinar|join|dial[- ]in|teams|webex|call)\b")
PASSCODE_RE = re.compile(
    r"(?i)\b(?:passcode|pass\s+code|password|passwd|pwd|pin(?:\s+code)?|access\s+code)"
    r"(?:\s+(?:is|was))?\s*[:=#-]?\s*([A-Za-z0-9!@#$%^&*_+=.~-]{3,32})"
)


def _digits(s: str) -> str:
    return "".join(_DIGIT.findall(s))


def _sub_runs(groups: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Contiguous runs of whole groups, longest first, then leftmost."""
    n = len(groups)
    return [(groups[i][0], groups[i + k - 1][1]) for k in range(n, 0, -1) for i in range(n - k + 1)]


def _whole_groups(text: str, m: re.Match[str], ok: Callable[[str], bool]) -> tuple[int, int] | None:
    """The longest run of whole groups in the match that passes ``ok``: a card
    followed by its expiry or CVV, an IBAN followed by a short word."""
    groups = [(g.start() + m.start(), g.end() + m.start()) for g in _CHUNK.finditer(m.group())]
    if len(groups) > 12:
        groups = groups[:12]
    for a, b in _sub_runs(groups):
        if ok(text[a:b]):
            return a, b
    return None


_CHUNK = re.compile(r"[A-Za-z0-9]+")


def _card_ok(value: str) -> bool:
    d = _digits(value)
    return value[:1].isdigit() and 13 <= len(d) <= 19 and len(d) == sum(c.isalnum() for c in value) and luhn_ok(d)


def _iban_ok(value: str) -> bool:
    return iban_ok(value.replace(" ", ""))


def _cards(text: str) -> list[Hit]:
    hits = []
    for m in CARD_RE.finditer(text):
        span = _whole_groups(text, m, _card_ok)
        if span is not None:
            hits.append(Hit(span[0], span[1], "CREDIT_CARD", 1.0, _digits(text[span[0]:span[1]]), RANK_STRUCTURED + 2))
    return hits


def _ibans(text: str) -> list[Hit]:
    hits = []
    for m in IBAN_RE.finditer(text):
        span = _whole_groups(text, m, _iban_ok)
        if span is not None and text[span[0]:span[0] + 2].isalpha():
            value = text[span[0]:span[1]].replace(" ", "").upper()
            hits.append(Hit(span[0], span[1], "IBAN_CODE", 1.0, value, RANK_STRUCTURED + 2))
    return hits


def _ssns(text: str) -> list[Hit]:
    hits = []
    for m in SSN_RE.finditer(text):
        d = _digits(m.group())
        if not ssn_ok(d):
            continue
        if m.group(2) in ("-", ".", " ") or SSN_CUE.search(text[max(0, m.start() - 40):m.start()]):
            hits.append(Hit(m.start(), m.end(), "US_SSN", 0.9, d, RANK_STRUCTURED + 1))
    return hits


def _meeting_ids(text: str) -> list[Hit]:
    hits = []
    for m in MEETING_ID_RE.finditer(text):
        d = _digits(m.group())
        if not 9 <= len(d) <= 11:
            continue
        before = text[max(0, m.start() - 30):m.start()]
        before = re.split(r"\d", before)[-1]  # the cue must label this number, not an earlier one
        cued = MEETING_CUE.search(before) is not None
        if cued or (len(d) >= 10 and " " not in m.group() and "-" not in m.group()
                    and MEETING_CONTEXT.search(text) and not re.search(r"(?i)phone|call me|cell|mobile|tel", before)):
            hits.append(Hit(m.start(), m.end(), "MEETING_ID", 0.9, d, RANK_STRUCTURED + (2 if cued else 0)))
    return hits


def _ipv4(text: str) -> list[Hit]:
    hits = []
    for m in IPV4_RE.finditer(text):
        try:
            ipaddress.IPv4Address(m.group())
        except ValueError:
            continue
        hits.append(Hit(m.start(), m.end(), "IP_ADDRESS", 0.95, m.group(), RANK_STRUCTURED + 1))
    return hits


def find_numbers(text: str) -> list[Hit]:
    hits: list[Hit] = []
    n_digits = len(_DIGIT.findall(text))
    if n_digits < 4:
        return hits
    if n_digits >= 13:
        hits.extend(_cards(text))
    if n_digits >= 9:
        hits.extend(_ssns(text))
        hits.extend(_meeting_ids(text))
        for rx in PHONE_RES:
            for m in rx.finditer(text):
                end = _strip_tail(text, m.start(), m.end())
                d = _digits(text[m.start():end])
                if 8 <= len(d) <= 15 + 6:
                    hits.append(Hit(m.start(), end, "PHONE_NUMBER", 0.8, d, RANK_STRUCTURED))
        if any(c.isalpha() for c in text):
            hits.extend(_ibans(text))
    if text.count(".") >= 3:
        hits.extend(_ipv4(text))
    return hits


AGE_RE = re.compile(
    r"(?i)\b(?:(?:aged?|age\s+of)\s+(\d{1,3})\b|(\d{1,3})[\s-]*(?:years?|yrs?)[\s-]*old\b|(\d{1,3})\s*(?:y/o|yo)\b)"
)


def find_ages(text: str) -> list[Hit]:
    low = text.lower()
    if "old" not in low and "age" not in low and "y" not in low:
        return []
    hits = []
    for m in AGE_RE.finditer(text):
        g = next(i for i in (1, 2, 3) if m.group(i))
        if int(m.group(g)) <= 130:
            hits.append(Hit(m.start(), m.end(), "AGE", 0.7, m.group(g), RANK_STRUCTURED))
    return hits


def find_ipv6(text: str) -> list[Hit]:
    if text.count(":") < 2:
        return []
    hits = []
    for m in IPV6_RE.finditer(text):
        value = m.group()
        try:
            ipaddress.IPv6Address(value)
        except ValueError:
            continue
        hits.append(Hit(m.start(), m.end(), "IP_ADDRESS", 0.95, value.lower(), RANK_STRUCTURED + 1))
    return hits


_PASS_STOP = frozenset({"is", "was", "the", "for", "and", "below", "above", "here", "there", "in", "on",
                        "reset", "protected", "manager", "required", "same", "again", "please", "change"})


def find_passcodes(text: str) -> list[Hit]:
    low = text.lower()
    if not any(k in low for k in ("pass", "pwd", "pin", "access code")):
        return []
    hits = []
    for m in PASSCODE_RE.finditer(text):
        start, end = m.span(1)
        end = _strip_tail(text, start, end)
        value = text[start:end]
        if len(value) < 3 or value.lower() in _PASS_STOP:
            continue
        # A passcode has a digit or mixed case; a plain word after "password"
        # is prose ("the password is below"), unless written as "password: X".
        sep = text[m.end(0) - len(m.group(1)) - 2:start]
        if not (any(c.isdigit() for c in value) or (value != value.lower() and value != value.capitalize())
                or ":" in sep or "=" in sep):
            continue
        hits.append(Hit(start, end, "MEETING_PASSCODE", 0.9, value, RANK_STRUCTURED))
    return hits


FINDERS: tuple[Callable[[str], list[Hit]], ...] = (find_emails, find_links, find_numbers, find_ipv6, find_passcodes)


# --- dates -------------------------------------------------------------------
_MONTHS = r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|jun(?:e)?|jul(?:y)?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
DATE_RE = re.compile(
    r"(?i)\b(?:\d{4}-\d{2}-\d{2}|\d{1,2}/\d{1,2}/\d{2,4}|"
    + _MONTHS + r"\.?\s+\d{1,2}(?:st|nd|rd|th)?(?:,?\s+\d{4})?|\d{1,2}(?:st|nd|rd|th)?\s+" + _MONTHS + r"(?:\s+\d{4})?)\b"
)


# Day words spaCy would tag DATE, found without it (texts without a capital
# letter skip spaCy altogether; see docs/performance.md).
_WEEKDAY = r"(?:mon|tues|wednes|thurs|fri|satur|sun)day"
DAY_RE = re.compile(
    r"(?i)\b(?:(?:next|last|this|coming|every)\s+(?:" + _WEEKDAY + r"|week|month|year|quarter|weekend)"
    r"|" + _WEEKDAY + r"s?(?:\s+(?:morning|afternoon|evening|night))?"
    r"|tomorrow|yesterday|today|tonight|(?:in|within)\s+(?:\d+|a|one|two|three|four|five|six)\s+(?:days?|weeks?|months?)"
    r"|(?:\d+|a|one|two|three|four|five|six)\s+(?:days?|weeks?|months?)\s+ago)\b"
)


# Every match of DAY_RE holds one of these words, in any case (_literals.may_hold).
DAY_WORDS = ("day", "week", "month", "year", "quarter", "tomorrow", "tonight")


def find_dates(text: str) -> list[Hit]:
    hits = [
        Hit(m.start(), m.end(), "DATE_TIME", 0.6, m.group().casefold(), RANK_CUED)
        for m in DATE_RE.finditer(text)
    ] if any(map(str.isdigit, text)) else []
    if may_hold(text, DAY_WORDS):
        hits.extend(
            Hit(m.start(), m.end(), "DATE_TIME", 0.5, " ".join(m.group().casefold().split()), RANK_NER_DATE)
            for m in DAY_RE.finditer(text)
        )
    return hits


# Words that make a spaCy DATE/TIME a real date rather than a bare number.
DATE_WORD = re.compile(
    r"(?i)\b(?:" + _MONTHS + r"|mon|tue|wed|thu|fri|sat|sun|\w+day|week\w*|month\w*|year\w*|tomorrow|today|"
    r"tonight|yesterday|morning|afternoon|evening|night|noon|midnight|weekend|quarter|q[1-4]\s+\d{4}|"
    r"(?:19|20)\d{2}|\d{1,4}[/-]\d{1,2}[/-]\d{2,4}|ago|season|spring|summer|autumn|fall|winter|hour\w*|minute\w*)\b"
)
