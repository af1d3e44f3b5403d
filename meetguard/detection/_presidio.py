"""Presidio's own pattern recognizers and validators, called in batches.

Plain Presidio runs each recognizer once per text. Here each runs once per
*batch*: the texts that pass its cheap prefilter are joined with a separator
no pattern crosses, scanned in one call, and the results mapped back. The
recognizers' regexes and validators (Luhn, IBAN, crypto and NHS checksums,
SSN and DEA rules) are Presidio's; what meetguard adds is the reading of the
weak ones: Presidio's defaults (threshold 0) report every short code ("C4",
"Q3") as a driver licence and every 9-digit number as a passport, so a weak
result counts only with one of the recognizer's own context words nearby, or
when it is a long run of digits that nothing marks as an order, ticket, date
or amount.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ._hits import RANK_CUED, RANK_STRUCTURED, Hit
from ._phones import NEG_CUE

_SEP = "\n\x00\n"
_WEAK = 0.3  # below this, a Presidio result needs a cue (see module doc)

# Types whose patterns are specific or validated: taken as Presidio gives them.
_STRONG = frozenset({"CREDIT_CARD", "IBAN_CODE", "CRYPTO", "UK_NHS", "MEDICAL_LICENSE", "MAC_ADDRESS",
                     "IP_ADDRESS"})
_MEDIUM = frozenset({"US_SSN", "US_ITIN"})  # strong in their delimited forms (Presidio's score 0.5)
_RANKS = {"CREDIT_CARD": RANK_STRUCTURED + 2, "IBAN_CODE": RANK_STRUCTURED + 2, "US_SSN": RANK_STRUCTURED + 1,
          "US_ITIN": RANK_STRUCTURED + 2, "DATE_TIME": RANK_CUED}
_DATEISH = re.compile(r"(?:19|20)\d\d(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])|\d{1,2}:\d{2}")
_CLOCK = re.compile(r"(?i)^\d{1,2}[:.]\d{2}(?:[:.]\d{2})?(?:\s*[ap]\.?m\.?)?$")
_VERSIONISH = re.compile(r"^\d{1,2}\.\d{1,2}\.\d{1,3}$")


_DIGIT = re.compile(r"\d")


def _digits(text: str) -> bool:
    return _DIGIT.search(text) is not None


def _hexpairs(text: str) -> bool:
    return text.count(":") >= 5 or text.count("-") >= 5 or text.count(".") >= 2


def _crypto(text: str) -> bool:
    return len(text) >= 26 and _digits(text)


@dataclass(frozen=True)
class _Rec:
    recognizer: Any
    prefilter: Callable[[str], bool]


def _recognizers() -> list[_Rec]:
    from presidio_analyzer import predefined_recognizers as pr

    digit_recs = ("CreditCardRecognizer", "UsBankRecognizer", "UsLicenseRecognizer", "UsItinRecognizer",
                  "UsPassportRecognizer", "UsSsnRecognizer", "NhsRecognizer", "DateRecognizer",
                  "MedicalLicenseRecognizer", "IbanRecognizer")
    out = [_Rec(getattr(pr, name)(), _digits) for name in digit_recs]
    out.append(_Rec(pr.MacAddressRecognizer(), _hexpairs))
    out.append(_Rec(pr.CryptoRecognizer(), _crypto))
    return out


class PresidioPatterns:
    """Presidio's pattern recognizers over a batch of texts (a Finder)."""

    name = "presidio-patterns"

    def __init__(self) -> None:
        self._recs = _recognizers()
        self.entity_types = frozenset(e for r in self._recs for e in r.recognizer.supported_entities)

    def find_batch(self, texts: Sequence[str]) -> list[list[Hit]]:
        out: list[list[Hit]] = [[] for _ in texts]
        for rec in self._recs:
            idx = [i for i, t in enumerate(texts) if rec.prefilter(t) and "\x00" not in t]
            if idx:
                self._run(rec.recognizer, [texts[i] for i in idx], idx, out)
        return out

    def _run(self, recognizer: Any, texts: list[str], idx: list[int], out: list[list[Hit]]) -> None:
        starts, pos = [], 0
        for t in texts:
            starts.append(pos)
            pos += len(t) + len(_SEP)
        joined = _SEP.join(texts)
        context = [w.lower() for w in (recognizer.context or ())]
        for r in recognizer.analyze(joined, recognizer.supported_entities, None) or ():
            k = bisect.bisect_right(starts, r.start) - 1
            base = starts[k]
            text = texts[k]
            s, e = r.start - base, r.end - base
            if e > len(text):
                continue  # crossed a separator
            hit = _accept(text, s, e, r.entity_type, float(r.score), context)
            if hit is not None:
                out[idx[k]].append(hit)


def _cued(text: str, s: int, e: int, context: Sequence[str]) -> bool:
    window = re.findall(r"[\w#]+", text[max(0, s - 48):s].lower())[-6:]
    window += re.findall(r"[\w#]+", text[e:e + 24].lower())[:3]
    return any(w in context or w.rstrip("#") in context for w in window)


def _accept(text: str, s: int, e: int, etype: str, score: float, context: Sequence[str]) -> Hit | None:
    value = text[s:e]
    norm = "".join(c for c in value if c.isalnum()).upper()
    rank = _RANKS.get(etype, RANK_STRUCTURED)
    if etype == "DATE_TIME":
        if _CLOCK.match(value) or _VERSIONISH.match(value):
            return None
        return Hit(s, e, etype, score, " ".join(value.casefold().split()), rank)
    cued = _cued(text, s, e, context)
    if etype in _STRONG or (etype in _MEDIUM and score >= 0.5):
        # its own context word ("nhs number ...") makes it outrank a phone reading of the same digits
        return Hit(s, e, etype, max(score, 0.5), norm, max(rank, RANK_STRUCTURED + 1) if cued else rank)
    if cued:
        return Hit(s, e, etype, max(score, 0.5), norm, RANK_STRUCTURED + 2)
    shaped = score >= _WEAK and not value.isdigit() and sum(c.isdigit() for c in value) >= 7
    if shaped or _long_bare(text, s, value):
        # a letter and seven or more digits (a document number's shape), or a long bare number
        return Hit(s, e, etype, max(score, 0.4), norm, RANK_STRUCTURED - 2)
    return None


def _long_bare(text: str, s: int, value: str) -> bool:
    """A run of 8+ digits that no neighbour marks as something else."""
    if not value.isdigit() or len(value) < 8 or _DATEISH.fullmatch(value):
        return False
    before = text[max(0, s - 40):s]
    return NEG_CUE.search(before) is None and NEG_CUE.search(before.rstrip()) is None
