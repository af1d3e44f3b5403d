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

from ._hits import RANK_CUED, RANK_FLOOR, RANK_STRUCTURED, Hit
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
    floor: bool = False     # taken whole at RANK_FLOOR: no rule of ours reads its results
    chunk: int = 0          # texts per call (0: the whole batch in one call)


# Presidio's recognizers that meetguard read before the floor was built (issue #10): their
# weak results pass the rule "weak-uncued" (docs/detection.md), the others are the floor.
_LEGACY_DIGITS = ("CreditCardRecognizer", "UsBankRecognizer", "UsLicenseRecognizer", "UsItinRecognizer",
                  "UsPassportRecognizer", "UsSsnRecognizer", "NhsRecognizer", "DateRecognizer",
                  "MedicalLicenseRecognizer", "IbanRecognizer")
# phonenumbers' matcher gives up after 65,535 candidates per call: a bounded slice per call.
_PHONE_CHUNK = 64


def _recognizers(language: str = "en") -> list[_Rec]:
    from presidio_analyzer import predefined_recognizers as pr

    out = [_Rec(getattr(pr, name)(), _digits) for name in _LEGACY_DIGITS]
    out.append(_Rec(pr.MacAddressRecognizer(), _hexpairs))
    out.append(_Rec(pr.CryptoRecognizer(), _crypto))
    have = {type(r.recognizer).__name__ for r in out}
    for rec in floor_recognizers(language):
        if type(rec).__name__ in have or _is_phone(rec):
            continue   # the phone recognizers run on the gaps only (PhoneFloor)
        out.append(_Rec(rec, _pattern_filter(rec), floor=True))
    return out


def floor_recognizers(language: str) -> list[Any]:
    """Every recognizer ``presidio_analyzer.predefined_recognizers`` defines that works on the
    text alone (pattern recognizers, country ones included, and the phone recognizers), for
    ``language``; the NER wrappers are read from the shared spaCy pass instead (_floor).

    Every language runs them all, each set to ``language``: a French meeting carries Spanish,
    Italian, German or Korean ids as an English one does, and their patterns and checksums do
    not depend on the language around them. Their false readings of ordinary words ("est de
    40" as a German plate, "la facture 20931" as a postcode) are left out by the floor's named
    rules (words-as-plate, labelled-number) in every language."""
    import inspect

    from presidio_analyzer import PatternRecognizer
    from presidio_analyzer import predefined_recognizers as pr

    out: list[Any] = []
    for name in sorted(dir(pr)):
        cls = getattr(pr, name)
        if not inspect.isclass(cls) or not (issubclass(cls, PatternRecognizer) or _is_phone(cls)):
            continue
        if name == "EmailRecognizer":
            cls = _offline_email()
        try:
            out.append(cls(supported_language=language))
        except Exception:  # noqa: BLE001, S112  (a recognizer that needs extras this install lacks)
            continue
    return out


def _is_phone(obj: Any) -> bool:
    from presidio_analyzer import predefined_recognizers as pr

    cls = obj if isinstance(obj, type) else type(obj)
    return issubclass(cls, pr.PhoneRecognizer)


def _offline_email() -> Any:
    """Presidio's EmailRecognizer checking the domain with the bundled suffix list (never fetched)."""
    from presidio_analyzer import predefined_recognizers as pr

    from ._patterns import _TLD

    class OfflineEmailRecognizer(pr.EmailRecognizer):
        def validate_result(self, pattern_text: str) -> bool:
            return bool(_TLD(pattern_text).fqdn)

    return OfflineEmailRecognizer


def _pattern_filter(rec: Any) -> Callable[[str], bool]:
    from ._prefilter import prefilter

    rx = prefilter([p.regex for p in rec.patterns] + [re.escape(w) for w in (rec.deny_list or ())])
    if rx is None:
        return _always
    search = rx.search
    return lambda text: search(text) is not None


def _always(_text: str) -> bool:
    return True


class PresidioPatterns:
    """Presidio's pattern recognizers over a batch of texts (a Finder)."""

    name = "presidio-patterns"

    def __init__(self, language: str = "en") -> None:
        self._recs = _recognizers(language)
        self.entity_types = frozenset(e for r in self._recs for e in r.recognizer.supported_entities)

    def find_batch(self, texts: Sequence[str]) -> list[list[Hit]]:
        out: list[list[Hit]] = [[] for _ in texts]
        for rec in self._recs:
            idx = [i for i, t in enumerate(texts) if rec.prefilter(t)]
            step = rec.chunk or len(idx) or 1
            for lo in range(0, len(idx), step):
                part = idx[lo:lo + step]
                PresidioPatterns._run(rec, [texts[i] for i in part], part, out)
        return out

    @staticmethod
    def _run(rec: _Rec, texts: list[str], idx: list[int], out: list[list[Hit]]) -> None:
        recognizer = rec.recognizer
        starts, pos = [], 0
        for t in texts:
            starts.append(pos)
            pos += len(t) + len(_SEP)
        joined = _SEP.join(texts)
        context = [w.lower() for w in (recognizer.context or ())]
        again: set[int] = set()
        found: list[tuple[int, Any]] = []
        for r in recognizer.analyze(joined, recognizer.supported_entities, None) or ():
            k = bisect.bisect_right(starts, r.start) - 1
            if r.end - starts[k] > len(texts[k]) or "\x00" in joined[r.start:r.end]:
                # a match across the separator may hide one in either text: read them alone
                last = bisect.bisect_right(starts, max(r.start, r.end - 1)) - 1
                again.update(range(k, last + 1))
                continue
            found.append((k, r))
        for k in sorted(again):
            found = [(j, r) for j, r in found if j != k]
            found += [(k, r) for r in recognizer.analyze(texts[k], recognizer.supported_entities, None) or ()]
        for k, r in found:
            base = 0 if k in again else starts[k]
            s, e = r.start - base, r.end - base
            hit = _floor_hit(texts[k], s, e, r) if rec.floor else \
                _accept(texts[k], s, e, r.entity_type, float(r.score), context)
            if hit is not None:
                out[idx[k]].append(hit)


def _floor_hit(text: str, s: int, e: int, r: Any) -> Hit | None:
    from ._floor import pattern_rule

    if pattern_rule(text, s, e, r.entity_type) is not None:
        return None
    value = text[s:e]
    norm = value.casefold() if r.entity_type in ("EMAIL_ADDRESS", "URL", "DATE_TIME") else \
        "".join(c for c in value if c.isalnum()).upper()
    return Hit(s, e, r.entity_type, float(r.score), norm, RANK_FLOOR)


# A letter-free stretch (digits, spaces, punctuation): phonenumbers' matcher finds numbers
# only inside one (its digit blocks are joined by punctuation alone), and a valid number of
# any region has at least 4 digits (the shortest possible length in its metadata).
_LETTER_FREE = re.compile(r"[^\W\d_]+")
_MIN_PHONE_DIGITS = 4


def _uncovered_number(text: str, hits: Sequence[Hit]) -> bool:
    pos = 0
    for m in [*_LETTER_FREE.finditer(text), None]:
        end = m.start() if m is not None else len(text)
        digits = [i for i in range(pos, end) if text[i].isdigit()]
        if len(digits) >= _MIN_PHONE_DIGITS and any(
                not any(h.start <= i < h.end for h in hits) for i in digits):
            return True
        pos = m.end() if m is not None else end
    return False


class PhoneFloor:
    """Presidio's phone recognizers (PhoneRecognizer and the South African ones), run where
    a number may still be left uncovered: a text whose every candidate stretch of 4+ digits
    is already covered by a finding cannot gain coverage from them, so it is skipped."""

    def __init__(self, language: str = "en") -> None:
        self._recs = [_Rec(r, _always, floor=True, chunk=_PHONE_CHUNK)
                      for r in floor_recognizers(language) if _is_phone(r)]

    def fill(self, texts: Sequence[str], hits: list[list[Hit]]) -> None:
        idx = [i for i, t in enumerate(texts) if sum(c.isdigit() for c in t) >= _MIN_PHONE_DIGITS
               and _uncovered_number(t, hits[i])]
        if not idx:
            return
        out: list[list[Hit]] = [[] for _ in texts]
        for rec in self._recs:
            for lo in range(0, len(idx), _PHONE_CHUNK):
                part = idx[lo:lo + _PHONE_CHUNK]
                PresidioPatterns._run(rec, [texts[i] for i in part], part, out)
        for i in idx:
            hits[i].extend(out[i])


def _cued(text: str, s: int, e: int, context: Sequence[str]) -> bool:
    window = re.findall(r"[\w#]+", text[max(0, s - 48):s].lower())[-6:]
    window += re.findall(r"[\w#]+", text[e:e + 24].lower())[:3]
    return any(w in context or w.rstrip("#") in context for w in window)


def _accept(text: str, s: int, e: int, etype: str, score: float, context: Sequence[str]) -> Hit | None:
    value = text[s:e]
    norm = "".join(c for c in value if c.isalnum()).upper()
    rank = _RANKS.get(etype, RANK_STRUCTURED)
    if etype == "DATE_TIME":
        from ._floor import pattern_rule

        if pattern_rule(text, s, e, etype) is not None:   # rule clock-or-version
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
