"""French finders: phones, NIR, SIREN/SIRET, IBAN, identity documents, dates, addresses.

Each value is checked before it is kept: the NIR by its key (97 minus the number
mod 97, Corsica's 2A/2B read as 19/18), SIREN and SIRET by Luhn (La Poste's
SIRETs by their digit sum), the IBAN by mod 97. Numbers that a checksum cannot
tell from any other number (a 9-digit SIREN, an identity card or passport
number) need a French cue word before them ("SIREN", "RCS", "carte
d'identité", "passeport", ...). :func:`french_hits` runs them all; the engine
adds it to a French document's scan, beside the language-neutral finders.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Callable

from .._wordlists import words
from ._finders import ScanContext, TextFinder
from ._hits import RANK_CUED, RANK_NER, RANK_STRUCTURED, Hit
from ._ner import ner_hits, title_name
from ._patterns import iban_ok, luhn_ok

__all__ = ["FR_ENTITY_TYPES", "drop_everyday", "fr_everyday", "french_finder", "french_hits", "french_ner_hit", "nir_ok", "siret_ok"]

FR_ENTITY_TYPES = frozenset({"PHONE_NUMBER", "FR_NIR", "FR_SIREN", "FR_SIRET", "IBAN_CODE", "ID_NUMBER",
                             "DATE_TIME", "LOCATION"})

_SEP = r"[ .\-\u00a0]?"
PHONE_RE = re.compile(
    r"(?<![\w+])(?:(?:\+|00)33" + _SEP + r"(?:\(0\)" + _SEP + r")?|0)[1-9](?:" + _SEP + r"\d{2}){4}(?![\w])"
)
NIR_RE = re.compile(
    r"(?<![\w])([1-478])" + _SEP + r"(\d{2})" + _SEP + r"(\d{2})" + _SEP + r"(\d{2}|2[ABab])" + _SEP
    + r"(\d{3})" + _SEP + r"(\d{3})" + _SEP + r"(\d{2})(?![\w])"
)
SIRET_RE = re.compile(r"(?<![\w])\d{3}" + _SEP + r"\d{3}" + _SEP + r"\d{3}" + _SEP + r"\d{5}(?![\w])")
SIREN_RE = re.compile(r"(?<![\w])\d{3}" + _SEP + r"\d{3}" + _SEP + r"\d{3}(?![\w])")
SIREN_CUE = re.compile(r"(?i)\b(?:siren|siret|rcs(?:\s+\w+)?|n°\s*tva|entreprise|société|societe)\W{0,4}$")
IBAN_RE = re.compile(r"(?i)(?<![\w])FR\d{2}(?:" + _SEP + r"[0-9A-Z]{4}){5}" + _SEP + r"[0-9A-Z]{3}(?![\w])")
ID_CUE = re.compile(
    r"(?i)\b(?:carte\s+(?:nationale\s+)?d['’]\s?identit[ée]|cni|pi[èe]ce\s+d['’]\s?identit[ée]|"
    r"passeport|titre\s+de\s+s[ée]jour)\b(?:\s+(?:n°|no\.?|num[ée]ro|:|est|le|du|de|ma|mon))*\W{0,3}\s*"
    r"((?=[0-9A-Z]*\d)[0-9A-Z]{9}|\d{12})(?![\w])"
)
_MONTHS = (r"janvier|f[ée]vrier|mars|avril|mai|juin|juillet|ao[ûu]t|septembre|octobre|novembre|"
           r"d[ée]cembre|janv\.?|f[ée]vr?\.?|avr\.?|juil\.?|sept\.?|oct\.?|nov\.?|d[ée]c\.?")
_DAYS = r"lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche"
DATE_RE = re.compile(
    r"(?i)(?<![\w])(?:(?:" + _DAYS + r")\s+)?(?:1er|[12]\d|3[01]|0?[1-9])\s+(?:" + _MONTHS + r")(?:\s+(?:19|20)\d{2})?(?![\w])"
)
DAY_RE = re.compile(r"(?i)(?<![\w])(?:" + _DAYS + r")(?:\s+(?:matin|midi|soir|apr[èe]s-midi))?(?![\w])")
_WAY = (r"rue|avenue|av\.|boulevard|bd|place|all[ée]e|impasse|chemin|quai|route|cours|square|passage|"
        r"villa|faubourg|rond-point|esplanade|parvis|sentier|voie|cit[ée]|r[ée]sidence|lotissement")
_PART = r"(?:de\s+la|de\s+l['’]|du|des|de|d['’]|la|le|les|l['’]|aux|au|et|sur|en)"
_CAP = r"[A-ZÀ-ÖØ-Þ][\w'’.-]*"
ADDRESS_RE = re.compile(
    r"(?<![\w])\d{1,4}(?:\s?(?:bis|ter|quater|[a-d]))?,?\s+(?i:" + _WAY + r")\s+"
    r"(?:(?i:" + _PART + r")\s*)?[^\W\d_][\w'’.-]*(?:\s+(?:(?i:" + _PART + r")\s*)?" + _CAP + r"){0,4}"
    r"(?:,?\s+\d{5}(?:\s+" + _CAP + r"(?:[ -]" + _CAP + r"){0,3})?)?"
)


def nir_ok(groups: tuple[str, ...]) -> bool:
    """The NIR's key: 97 minus its first 13 digits mod 97 (2A is 19, 2B is 18)."""
    sex, year, month, dept, commune, order, key = groups
    m = int(month)
    if not (1 <= m <= 12 or 20 <= m <= 42 or 50 <= m <= 99):
        return False
    dept = dept.upper()
    if dept in ("2A", "2B"):
        dept = "19" if dept == "2A" else "18"
    elif dept == "00":
        return False
    body = int(sex + year + month + dept + commune + order)
    return 97 - body % 97 == int(key)


def siret_ok(digits: str) -> bool:
    """Luhn over the 14 digits; La Poste's SIRETs (SIREN 356000000) sum to a multiple of 5."""
    if digits.startswith("356000000"):
        return sum(int(c) for c in digits) % 5 == 0
    return luhn_ok(digits)


def _digits(value: str) -> str:
    return "".join(c for c in value if c.isdigit())


def find_phones(text: str) -> list[Hit]:
    out = []
    for m in PHONE_RE.finditer(text):
        d = _digits(m.group())
        national = "0" + d[2:] if d.startswith("33") else "0" + d[4:] if d.startswith("0033") else d
        if len(national) == 10:
            out.append(Hit(m.start(), m.end(), "PHONE_NUMBER", 0.9, "33" + national[1:], RANK_STRUCTURED + 1))
    return out


def find_nir(text: str) -> list[Hit]:
    return [Hit(m.start(), m.end(), "FR_NIR", 1.0, "".join(m.groups()).upper(), RANK_STRUCTURED + 3)
            for m in NIR_RE.finditer(text) if nir_ok(m.groups())]


def find_companies(text: str) -> list[Hit]:
    out = []
    for m in SIRET_RE.finditer(text):
        d = _digits(m.group())
        if siret_ok(d):
            out.append(Hit(m.start(), m.end(), "FR_SIRET", 0.9, d, RANK_STRUCTURED + 2))
    for m in SIREN_RE.finditer(text):
        d = _digits(m.group())
        if luhn_ok(d) and SIREN_CUE.search(text[max(0, m.start() - 40):m.start()]):
            out.append(Hit(m.start(), m.end(), "FR_SIREN", 0.85, d, RANK_STRUCTURED + 1))
    return out


def find_iban(text: str) -> list[Hit]:
    out = []
    for m in IBAN_RE.finditer(text):
        value = "".join(c for c in m.group() if c.isalnum()).upper()
        if iban_ok(value):
            out.append(Hit(m.start(), m.end(), "IBAN_CODE", 1.0, value, RANK_STRUCTURED + 2))
    return out


def find_id_numbers(text: str) -> list[Hit]:
    return [Hit(m.start(1), m.end(1), "ID_NUMBER", 0.8, m.group(1).upper(), RANK_STRUCTURED)
            for m in ID_CUE.finditer(text)]


def find_dates(text: str) -> list[Hit]:
    hits = [Hit(m.start(), m.end(), "DATE_TIME", 0.7, " ".join(m.group().casefold().split()), RANK_CUED)
            for m in DATE_RE.finditer(text)] if any(map(str.isdigit, text)) else []
    hits.extend(Hit(m.start(), m.end(), "DATE_TIME", 0.5, m.group().casefold(), RANK_CUED - 1)
                for m in DAY_RE.finditer(text))
    return hits


def find_addresses(text: str) -> list[Hit]:
    out = []
    for m in ADDRESS_RE.finditer(text):
        end = m.end()
        # never end on a particle ("12 rue de la Paix et ..." stops at Paix)
        while True:
            tail = re.search(r"\s+" + _PART + r"\s*$", text[m.start():end], re.IGNORECASE)
            if tail is None:
                break
            end = m.start() + tail.start()
        end = _lower_tail(text, m.group(), m.start(), end)
        out.append(Hit(m.start(), end, "LOCATION", 0.85, " ".join(text[m.start():end].casefold().split()),
                       RANK_STRUCTURED))
    return out


def _lower_tail(text: str, found: str, start: int, end: int) -> int:
    """A street typed in lower case ("84 chemin tristan fischer") runs on over one more
    lower-case word, when it is no everyday or function word."""
    if end != start + len(found) or not found.split()[-1].islower():
        return end
    nxt = re.match(r"\s+([^\W\d_]{2,})(?![\w'’-])", text[end:])
    if nxt is None or not nxt.group(1).islower():
        return end
    word = nxt.group(1).casefold()
    if word in fr_everyday() or word in _fr_stop_words() or re.fullmatch(_PART, word):
        return end
    return end + nxt.end()


@functools.cache
def _fr_stop_words() -> frozenset[str]:
    from ._stopwords import stop_words

    return stop_words("fr")


_NAME = r"[A-ZÀ-ÖØ-Þ][a-zß-öø-ÿ]+(?:-[A-ZÀ-ÖØ-Þ][a-zß-öø-ÿ]+)?"
CUED_NAME_RE = re.compile(
    r"(?<![\w])(?i:bonjour|bonsoir|salut|coucou|merci(?:\s+à)?|bravo|demande(?:z)?\s+à|"
    r"(?:je\s+)?m['’]appelle|c['’]est|avec|pour|de\s+la\s+part\s+de|cc|chère?|madame|monsieur|mme|m\.)"
    r"[\s,]+(" + _NAME + r"(?:\s+(?:(?:de|du|des|d['’]|de\s+la|le|la|van|von)\s*)?" + _NAME + r"){0,2})"
)


def find_cued_names(text: str) -> list[Hit]:
    """"Merci François", "Bonjour Anne-Sophie de Villeneuve": a capitalised name after a greeting."""
    every = fr_everyday()
    out = []
    for m in CUED_NAME_RE.finditer(text):
        value = m.group(1)
        if value.split()[0].casefold() in every:
            continue
        out.append(Hit(m.start(1), m.end(1), "PERSON", 0.8, " ".join(value.casefold().split()), RANK_CUED))
    return out


_FINDERS: tuple[Callable[[str], list[Hit]], ...] = (
    find_phones, find_nir, find_companies, find_iban, find_id_numbers, find_dates, find_addresses,
    find_cued_names,
)


def french_hits(text: str) -> list[Hit]:
    """Every French finder's candidates in one text."""
    if not any(c.isalnum() for c in text):
        return []
    out: list[Hit] = []
    for finder in _FINDERS:
        out.extend(finder(text))
    return out


def french_finder() -> TextFinder:
    """The registry's finder of French values (added for French documents)."""
    return TextFinder("french", FR_ENTITY_TYPES | {"PERSON"}, _french)


def _french(text: str, _ctx: ScanContext) -> list[Hit]:
    return french_hits(text)


def fr_everyday() -> frozenset[str]:
    """French words the small French model may tag but that name no one ("Bonjour", "Tu")."""
    return words("fr_everyday")


def drop_everyday(text: str, hits: list[Hit]) -> list[Hit]:
    """A French document's name and place candidates lose their everyday words at either
    end, and go when nothing else is left ("Bonjour", "Tu" read as names by the
    English-shaped finders; "Bonjour Anne" becomes "Anne")."""
    out: list[Hit] = []
    for h in hits:
        if h.entity_type not in ("PERSON", "LOCATION") or h.participant_id is not None:
            out.append(h)
            continue
        start, end = _strip_everyday(text, h.start, h.end)
        if start < end:
            out.append(h if (start, end) == (h.start, h.end) else dataclasses.replace(h, start=start, end=end))
    return out


def _strip_everyday(text: str, start: int, end: int) -> tuple[int, int]:
    """Drop everyday words at either end of a span ("Bonjour Anne" -> "Anne")."""
    every = fr_everyday()
    for m in re.finditer(r"[\w'’-]+", text[start:end]):
        if m.group().casefold() not in every or _name_article(text, start + m.start(), m.group(), end):
            start += m.start()
            break
    else:
        return start, start
    while end > start:
        last = re.search(r"[\w'’-]+\W*$", text[start:end])
        if last is None or last.group().rstrip().strip(".,;:!?").casefold() not in every or last.start() == 0:
            break
        end = start + last.start()
    while end > start and not text[end - 1].isalnum():
        end -= 1
    return start, end


_ARTICLES = frozenset({"le", "la", "les", "du", "de", "des"})


def _name_article(text: str, at: int, word: str, end: int) -> bool:
    """A capitalised article inside a span, before a capitalised word ("Le Goff",
    "La Rochelle"): part of the name, not everyday French, unless it opens the text."""
    if word.casefold() not in _ARTICLES or not word[:1].isupper() or word.isupper() or at == 0:
        return False
    rest = text[at + len(word):end].lstrip()
    return rest[:1].isupper()


def french_ner_hit(text: str, label: str, start: int, end: int) -> Hit | None:
    """fr_core_news_sm's PER, LOC, ORG and MISC, read like the English labels.

    PER is a name and LOC a place (everyday words trimmed off: the model calls
    "Bonjour" a place); ORG, as in English, is kept only as a name when it reads
    as one. MISC (events, works, products, nationalities) is not personal by
    itself and is dropped, unless it is two or three capitalised words, which in
    a meeting is a person ("Marie-Claire Dubois" tagged MISC).
    """
    start, end = _strip_everyday(text, start, end)
    if start >= end:
        return None
    value = text[start:end]
    if label == "MISC":
        if not _fr_title_name(value):
            return _cued_inside(text, start, value)
        return Hit(start, end, "PERSON", 0.55, " ".join(value.casefold().split()), RANK_NER - 1)
    mapped = {"PER": "PERSON", "LOC": "LOCATION", "ORG": "ORG"}.get(label)
    hit = None if mapped is None else ner_hits(text, mapped, start, end, name_words=False)
    if hit is None and label == "PER" and _uncased_name(text, start, value):
        hit = Hit(start, end, "PERSON", 0.7, value.casefold(), RANK_NER)
    if hit is None and label == "ORG":
        hit = _cued_inside(text, start, value)
    return hit


def _cued_inside(text: str, start: int, value: str) -> Hit | None:
    """The first capitalised word of an ORG or MISC span that follows a French cue, the
    span's own words included ("bureau de Ruiz", "Grondin 42" after "habite à")."""
    for m in re.finditer(r"[^\s,;:!?()]+", value):
        hit = _cued_org(text, start + m.start(), m.group())
        if hit is not None:
            return hit
    return None


_ORG_CUE = re.compile(r"(?i)\b(?:(à|au|aux|en|vers|depuis|de|du)|avec|pour|chez|par|ajoute|invite)\s+$")

_SHOUT_CUE = re.compile(
    r"(?i)\b(?:((?:je\s+)?pars\s+(?:à|au|en)|habite\s+(?:à|au|en)|vit\s+à|bureau\s+(?:de|d['’])|agence\s+de|"
    r"site\s+de|ville\s+de)|vient\s+de|de\s+la\s+part\s+de|ajoute|invite|chez|(?:parlé|voyez|voir)\s+avec|"
    r"demande\s+(?:\w+\s+){0,2}à|merci)\s+$")


def _cued_org(text: str, start: int, value: str) -> Hit | None:
    """One capitalised word the model calls ORG after a French cue: a place after a
    locative ("à GillesVille", "le bureau de Pereira"), else a name ("avec Vidal")."""
    shouting = value.isupper() and text.isupper() and len(value) > 2   # "LE BUREAU DE PARENT"
    if not re.fullmatch(r"[A-ZÀ-ÖØ-Þ][^\W\d_]*(?:-[^\W\d_]+)*", value) or (value.isupper() and not shouting) \
            or value.casefold() in fr_everyday() or (shouting and value.casefold() in _fr_stop_words()):
        return None
    # In capitals the model calls many nouns ORG ("BUG DE CONNEXION", "EN RECETTE"):
    # only a cue that asks for a place or a person reads it as one.
    cue = (_SHOUT_CUE if shouting else _ORG_CUE).search(text[max(0, start - 24):start])
    if cue is None:
        return None
    etype = "LOCATION" if cue.group(1) else "PERSON"
    return Hit(start, start + len(value), etype, 0.5, value.casefold(), RANK_NER - 1)


def _uncased_name(text: str, start: int, value: str) -> bool:
    """One uncased word the model calls a person, hyphenated ("françoise-martine") or after
    a French cue ("demande à alain"), and no everyday word."""
    if re.fullmatch(r"[^\W\d_]+(?:[-'’][^\W\d_]+)*", value) is None or value.casefold() in fr_everyday():
        return False
    return "-" in value or _LOWER_NAME_CUE.search(text[max(0, start - 24):start]) is not None


_LOWER_NAME_CUE = re.compile(
    r"(?i)\b(?:à|avec|de|pour|par|et|merci|bonjour|salut|coucou|cc|appelle|demande|voir\s+avec|"
    r"parlé\s+(?:à|avec)|ajoute|invite)\s+$")
_FR_PARTICLES = frozenset({"de", "du", "des", "d'", "d’", "la", "le"})


def _fr_title_name(value: str) -> bool:
    """Two to four capitalised words (every part of a hyphenated one, accents allowed:
    "Noémi-Thierry Ruiz"), particles between them; never all lower or upper case
    ("bug de connexion", "PARTIE CE MATIN" are no names)."""
    words = value.split()
    if not 2 <= len(words) <= 4 or value.islower() or value.isupper() or words[0].casefold() in fr_everyday():
        return False
    if title_name(value):
        return True
    for i, w in enumerate(words):
        if 0 < i < len(words) - 1 and w.casefold() in _FR_PARTICLES:
            continue
        if not all(p[:1].isupper() and p[1:].islower() and p.isalpha() for p in re.split(r"[-'’]", w)):
            return False
    return True
