"""French spoken forms in ASR text, mapped back to exact character spans.

"zéro six douze trente-quatre cinquante-six soixante-dix-huit" -> PHONE_NUMBER
33612345678; "zéro six, un deux, ..." (digit by digit), "plus trente-trois six
..." (+33) and "un quatre-vingt-cinq zéro cinq deux A ..." (a NIR, Corsica
included) likewise; "anne tiret sophie point martin arobase exemple point fr" ->
EMAIL_ADDRESS anne-sophie.martin@exemple.fr.

The number words are read by ``text2num`` (French mode) over our own tokens,
so each number it finds is a range of tokens and so a range of characters in
the original text: the span covers the whole spoken value, and the audio bleep
with it. A run of numbers (pairs or digits, "," "." "-" between them, numerals
mixed in) becomes one digit string, checked by the French validators of
``_fr`` (phone, NIR, SIRET, SIREN after a cue) or Luhn (a card); an unchecked
run of ten digits or more is still taken as a phone number (fail closed).
Quantities stay what they are: a number of 1000 or more ("deux mille
vingt-quatre") ends a run, and a run needs nine digits at least, so "à quinze
heures", "trois personnes" and "vingt pour cent" are never values.
Only ASR text (``asr=True``) is read this way; written French has ``_fr``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from ._finders import ScanContext, TextFinder
from ._fr import SIREN_CUE, find_companies, find_nir, find_phones
from ._hits import RANK_STRUCTURED, Hit
from ._patterns import luhn_ok
from ._spoken import dictated_emails, joiner, spoken_email_re

__all__ = ["FR_SPOKEN_TYPES", "find_french_spoken", "find_french_spoken_emails", "find_french_spoken_numbers",
           "french_spoken_finder"]

FR_SPOKEN_TYPES = frozenset({"PHONE_NUMBER", "FR_NIR", "FR_SIRET", "FR_SIREN", "CREDIT_CARD", "EMAIL_ADDRESS"})

_WORD = re.compile(r"[^\W\d_]+|\d+|[^\w\s]")
_HINT = re.compile(
    r"(?i)\b(?:z[ée]ro|un|une|deux|trois|quatre|cinq|six|sept|huit|neuf|dix|onze|douze|treize|quatorze|"
    r"quinze|seize|vingts?|trente|quarante|cinquante|soixante|septante|huitante|octante|nonante)\b"
)
_JOINERS = frozenset({",", ".", "-"})
_RANK = RANK_STRUCTURED + 4   # over the English reading of the same words ("six" ...)


@dataclass(frozen=True, slots=True)
class _Token:
    """A token as ``text2num`` reads it (its Token protocol)."""

    word: str

    def text(self) -> str:
        return self.word

    def nt_separated(self, previous: _Token) -> bool:
        return False

    def not_a_number_part(self) -> bool:
        return False


@dataclass
class _Run:
    start: int
    end: int
    digits: str
    spoken: bool


def _numbers(words: Sequence[str]) -> dict[int, tuple[int, str]]:
    """Token index -> (end index, digits) for each number text2num reads there."""
    from text_to_num import find_numbers

    out: dict[int, tuple[int, str]] = {}
    for occ in find_numbers([_Token(w) for w in words], "fr", 0.0):
        if not occ.is_ordinal and occ.text.isdigit():
            out[occ.start] = (occ.end, occ.text)
    return out


def _runs(text: str) -> list[_Run]:
    """Runs of spoken numbers (and numerals) in ``text``; "plus" before one is kept as "+"."""
    toks = list(_WORD.finditer(text))
    numbers = _numbers([m.group() for m in toks])
    runs: list[_Run] = []
    cur: _Run | None = None
    i = 0
    while i < len(toks):
        word = toks[i].group()
        if i in numbers and len(numbers[i][1].lstrip("0")) <= 3:
            end, digits = numbers[i]
            if cur is None:
                plus = i > 0 and toks[i - 1].group().lower() == "plus"
                cur = _Run(toks[i - 1].start() if plus else toks[i].start(), 0, "+" if plus else "", False)
            cur.digits += digits
            cur.end, cur.spoken = toks[end - 1].end(), True
            i = end
            continue
        if cur is not None and (word.isdigit() or _corsica(cur, word, i + 1 in numbers)):
            cur.digits += word.upper()
            cur.end = toks[i].end()
        elif not (cur is not None and word in _JOINERS and i + 1 < len(toks)
                  and (i + 1 in numbers or toks[i + 1].group().isdigit())):
            if cur is not None:
                runs.append(cur)
            cur = None
        i += 1
    if cur is not None:
        runs.append(cur)
    return runs


def _corsica(run: _Run, word: str, number_next: bool) -> bool:
    """"deux A" / "deux B" inside a run: Corsica's department in a NIR."""
    return word in ("a", "A", "b", "B") and run.digits.endswith("2") and number_next


def _whole(hits: list[Hit], value: str) -> Hit | None:
    """The finder's hit that covers all of ``value``, if any."""
    return next((h for h in hits if h.start == 0 and h.end == len(value)), None)


def _classify(digits: str, before: str) -> tuple[str, str] | None:
    """(entity type, normalised value) of a run's digits, or None."""
    for finder in (find_phones, find_nir, find_companies):
        hit = _whole(finder(digits), digits)
        if hit is not None:
            return hit.entity_type, hit.normalized
    plain = digits.lstrip("+")
    if not plain.isdigit():
        return None
    if len(plain) == 9 and luhn_ok(plain) and SIREN_CUE.search(before):
        return "FR_SIREN", plain
    if 13 <= len(plain) <= 19 and luhn_ok(plain):
        return "CREDIT_CARD", plain
    if len(plain) >= 10:
        return "PHONE_NUMBER", plain
    return None


def find_french_spoken_numbers(text: str, *, asr: bool = False) -> list[Hit]:
    """Phone numbers, NIR, SIRET/SIREN and cards read aloud in French ASR text (``asr``)."""
    if not asr or _HINT.search(text) is None:
        return []
    hits = []
    for run in _runs(text):
        if not run.spoken or sum(c.isalnum() for c in run.digits) < 9:
            continue
        found = _classify(run.digits, text[max(0, run.start - 40):run.start])
        if found is not None:
            hits.append(Hit(run.start, run.end, found[0], 0.8, found[1], _RANK))
    return hits


_PART = r"[^\W_]+(?:[._'-][^\W_]+)*"
_SEP_WORD = {"point": ".", "tiret": "-", "trait d'union": "-", "tiret bas": "_", "tiret du huit": "_",
             "underscore": "_", "souligné": "_"}
_AT = r"arobase|arobas|arrobase|at|@"
SPOKEN_EMAIL_FR = spoken_email_re(_PART, _SEP_WORD, _AT, "point")
_SPOKEN = re.compile(r"(?i)\s(?:point|arobase|arobas|arrobase)\s")
_LOCAL_STOP = frozenset({"est", "c'est", "moi", "mon", "ma", "mail", "e-mail", "adresse", "courriel", "écrire",
                         "écrivez", "et", "ou", "de", "le", "la", "les", "un", "une", "vous", "nous", "lui",
                         "elle", "il", "à", "sur", "chez"})
_join = joiner(_SEP_WORD)


def _ascii(value: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", value) if not unicodedata.combining(c))


def find_french_spoken_emails(text: str, *, asr: bool = False) -> list[Hit]:
    """Addresses dictated in French ("arobase", "point", "tiret") in ASR text (``asr``)."""
    low = text.lower()
    if not asr or not any(w in low for w in (" arobas", " arrobase", " at ", " @ ")):
        return []
    hits = dictated_emails(text, SPOKEN_EMAIL_FR, _join, _LOCAL_STOP, _SPOKEN)
    return [Hit(h.start, h.end, h.entity_type, h.score, _ascii(h.normalized), h.rank + 1) for h in hits]


def find_french_spoken(text: str, *, asr: bool = False) -> list[Hit]:
    """Every French spoken value in ASR text: numbers read aloud and dictated addresses.

    Spans are character offsets into ``text`` covering the whole spoken value;
    ``asr=False`` (written text) finds nothing.
    """
    return find_french_spoken_numbers(text, asr=asr) + find_french_spoken_emails(text, asr=asr)


def french_spoken_finder() -> TextFinder:
    """The registry's finder of French spoken values (added for French documents;
    it reads spoken texts only, ``ctx.spoken``)."""
    return TextFinder("french_spoken", FR_SPOKEN_TYPES, _french_spoken)


def _french_spoken(text: str, ctx: ScanContext) -> list[Hit]:
    return find_french_spoken(text, asr=ctx.spoken)
