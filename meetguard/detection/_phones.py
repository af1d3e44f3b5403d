"""Phone numbers in any country's national or international format.

Candidates are runs of digit groups ("020 7946 0958", "+81 90-1234-5678",
"(02) 1234 5678"); each run, and when it fails, each shorter run of whole
groups inside it, is checked with ``phonenumbers`` against the region list
(international forms need no region). A cheap screen (national prefix and the
region's number pattern) picks the few regions worth a real parse, and every
verdict is cached by its digits. Dates, times, amounts, versions, IP
addresses, years, ticket and order numbers are not candidates.
"""

from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers
from phonenumbers import NumberParseException, PhoneMetadata

from ._hits import RANK_STRUCTURED, Hit

DEFAULT_REGIONS: tuple[str, ...] = tuple(sorted(phonenumbers.SUPPORTED_REGIONS))

# One run: optional +/00, then digit groups joined by one separator each.
_RUN = re.compile(
    r"(?<![\w+#$€£¥./:,-])(?:\+\s?|00)?(?:\(\d{1,5}\)\s?)?\d+(?:(?:[ .\-]|\s?\(\d{1,5}\)\s?| - )\d+)*"
    r"(?:\s?(?:x|ext\.?)\s?\d{1,6})?"
)
_GROUP = re.compile(r"\d+")
_AFTER_BAD = re.compile(r"^(?:\s?%|[.,]\d|\w|:\d|/\d)")
NEG_CUE = re.compile(
    r"(?i)(?:\b(?:order|ticket|invoice|pr|issue|build|version|v|room|port|ref|case|po|sku|item|"
    r"tracking|page|row|line|release|sprint|bug|job|run|commit|batch|lot|serial|"
    r"total|sum|cost|price|budget|amount|eur|usd|gbp|chf|jpy|step|years?|between|"
    r"facture|commande|salle|montant|prix|co[uû]t|ligne|dossier|[ée]tape|billet|r[ée]f[ée]rence|ann[ée]e)"
    r"\s*(?:no\.?|n°|num[ée]ro|number|#|:)?\s*|[#$€£¥])$"
)
_PHONE_CUE = re.compile(
    r"(?i)\b(?:phone|tel|telephone|call|calling|mobile|cell|cellphone|number|whatsapp|text|sms|reach|dial|fax|"
    r"landline|ring|contact|handy|móvil|movil|teléfono|téléphone|portable|numéro)\b"
)
_DATE = re.compile(r"(\d{1,4})([./-])(\d{1,2})\2(\d{1,4})")
_YEAR = re.compile(r"(?:19|20)\d\d")


def warm() -> None:
    """Load every region's metadata now, not on the first national number, and
    keep phonenumbers' compiled metadata patterns: over every region they are
    more than ``re``'s own cache holds, so without this each parse recompiles."""
    keep = getattr(phonenumbers, "enable_pattern_cache", None)   # phonenumbers >= 9.0.x
    if keep is not None:
        keep()
    _screens()


_TYPES = ("fixed_line", "mobile", "toll_free", "premium_rate", "shared_cost", "personal_number", "voip",
          "pager", "uan", "voicemail")


def _typed_pattern(code: int) -> str:
    """Every number-type pattern of every region that shares the country code
    (a number parsed for US may be valid as CA's): no type matches, no valid number."""
    parts = []
    for region in phonenumbers.region_codes_for_country_code(code):
        md = PhoneMetadata.metadata_for_region(region)
        for name in _TYPES:
            desc = getattr(md, name, None) if md is not None else None
            if desc is not None and desc.national_number_pattern:
                parts.append(f"(?:{desc.national_number_pattern})")
    return "|".join(parts)


@lru_cache(maxsize=1)
def _screens() -> dict[str, tuple[str, re.Pattern[str]]]:
    """Per region: its national prefix and a pattern every valid national
    number matches. Regions whose prefix parsing rewrites digits (a transform
    rule, a parsing prefix other than the plain one) keep the broad general
    pattern, so the screen never rejects what ``phonenumbers`` would accept."""
    out: dict[str, tuple[str, re.Pattern[str]]] = {}
    for region in DEFAULT_REGIONS:
        md = PhoneMetadata.metadata_for_region(region)
        if md is None or md.general_desc is None or not md.general_desc.national_number_pattern:
            continue
        pattern = md.general_desc.national_number_pattern
        plain = not md.national_prefix_transform_rule and md.national_prefix_for_parsing in (None, md.national_prefix)
        typed = _typed_pattern(md.country_code) if plain and md.country_code else ""
        out[region] = (md.national_prefix or "", re.compile(typed or pattern))
    return out


@lru_cache(maxsize=65536)
def _valid_intl(digits: str) -> bool:
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse("+" + digits, None))
    except NumberParseException:
        return False


@lru_cache(maxsize=65536)
def _valid_national(value: str, digits: str, regions: tuple[str, ...]) -> bool:
    screens = _screens()
    for region in regions:
        screen = screens.get(region)
        if screen is None:
            continue
        prefix, pattern = screen
        nsn = digits[len(prefix):] if prefix and digits.startswith(prefix) else digits
        if not pattern.fullmatch(nsn) and (nsn is digits or not pattern.fullmatch(digits)):
            continue
        try:
            if phonenumbers.is_valid_number(phonenumbers.parse(value, region)):
                return True
        except NumberParseException:
            continue
    return False


def _looks_like_other(value: str, digits: str) -> bool:
    """Dates, years, IP addresses, decimals: numbers that are no phone."""
    m = _DATE.fullmatch(value)
    if m is not None:
        a, b = int(m.group(1)), int(m.group(3))
        if (1 <= b <= 12 and (1 <= a <= 31 or 1900 <= a <= 2100)) or (1 <= a <= 12 and 1 <= b <= 31):
            return len(digits) <= 8
    groups = _GROUP.findall(value)
    if len(groups) >= 2 and all(len(g) == 4 and _YEAR.fullmatch(g) for g in groups):
        return True
    if value.count(".") == 3 and len(groups) == 4 and all(len(g) <= 3 for g in groups):
        return True
    return len(groups) == 2 and "." in value and " " not in value


def _accept(text: str, start: int, end: int, regions: tuple[str, ...]) -> bool:
    value = text[start:end]
    digits = "".join(_GROUP.findall(value.split("x")[0].split("ext")[0]))
    intl = value.startswith("+") or (value.startswith("00") and len(digits) >= 10)
    if intl:
        d = digits[2:] if value.startswith("00") else digits
        return 7 <= len(d) <= 15 and _valid_intl(d)
    if not 6 <= len(digits) <= 13 or _looks_like_other(value, digits):
        return False
    before = text[max(0, start - 40):start]
    if NEG_CUE.search(before.rstrip(" ")) or NEG_CUE.search(before):
        return False
    single = value.isdigit()
    if single and not (len(digits) >= 10 or (digits[0] == "0" and len(digits) >= 9)
                       or _PHONE_CUE.search(before)):
        return False
    if len(digits) < 8 and not _PHONE_CUE.search(before):
        return False
    return _valid_national(value, digits, regions)


def _spans(text: str, m: re.Match[str]) -> list[tuple[int, int]]:
    """The run, then shorter runs of whole groups inside it, longest first.
    A last group glued to what follows ("12/25", "3.5%") is never part of one."""
    s = m.start()
    groups = [(g.start() + s, g.end() + s) for g in _GROUP.finditer(m.group())]
    if _AFTER_BAD.match(text[m.end():m.end() + 2]):
        groups = groups[:-1]
    n = len(groups)
    if n == 0 or n > 12:
        return []
    if n >= 4 and all(b - a == 4 for a, b in groups[:4]) and not m.group().startswith("+"):
        return []  # card-shaped (4111 1111 1111 1112): a card or a typo of one, no phone

    def head(i: int) -> int:
        if i == 0:
            return s
        a = groups[i][0]
        return a - 1 if text[a - 1] == "(" else a

    return [(head(i), groups[i + length - 1][1]) for length in range(n, 0, -1) for i in range(n - length + 1)]


def find_phones(text: str, regions: tuple[str, ...] = DEFAULT_REGIONS) -> list[Hit]:
    if sum(map(str.isdigit, text)) < 6:
        return []
    hits: list[Hit] = []
    for m in _RUN.finditer(text):
        taken: list[tuple[int, int]] = []
        for a, b in _spans(text, m):
            if any(a < te and ts < b for ts, te in taken):
                continue
            if _accept(text, a, b, regions):
                taken.append((a, b))
                digits = "".join(_GROUP.findall(text[a:b]))
                hits.append(Hit(a, b, "PHONE_NUMBER", 0.8, digits, RANK_STRUCTURED))
    return hits
