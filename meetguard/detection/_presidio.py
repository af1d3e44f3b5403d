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
import dataclasses
import re
from collections.abc import Collection, Sequence
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


_DIGITS = (re.compile(r"\d"),)
# five ':' or '-', or two '.' (a MAC address holds them)
_HEXPAIRS = (re.compile(r"^(?:[^:]*:){5}|^(?:[^-]*-){5}|^(?:[^.]*\.){2}"),)
_CRYPTO = (re.compile(r"(?s)^.{26}"), re.compile(r"\d"))   # 26+ characters, a digit


@dataclass(frozen=True)
class _Rec:
    recognizer: Any
    prefilter: tuple[re.Pattern[str], ...]   # each must find something in a text it may match
    floor: bool = False     # taken whole at RANK_FLOOR: no rule of ours reads its results
    chunk: int = 0          # texts per call (0: the whole batch in one call)
    digits: int = 0         # decimal digits in a row every text it may match holds (_prefilter.digit_run)


# Presidio's recognizers that meetguard read before the floor was built (issue #10): their
# weak results pass the rule "weak-uncued" (docs/detection.md), the others are the floor.
_LEGACY_DIGITS = ("CreditCardRecognizer", "UsBankRecognizer", "UsLicenseRecognizer", "UsItinRecognizer",
                  "UsPassportRecognizer", "UsSsnRecognizer", "NhsRecognizer", "DateRecognizer",
                  "MedicalLicenseRecognizer", "IbanRecognizer")
# phonenumbers' matcher gives up after 65,535 candidates per call: a bounded slice per call.
_PHONE_CHUNK = 64


def _recognizers(language: str = "en") -> list[_Rec]:
    from presidio_analyzer import predefined_recognizers as pr

    out = [_Rec(rec, _pattern_filter(rec) or _DIGITS) for rec in (getattr(pr, name)() for name in _LEGACY_DIGITS)]
    out.append(_Rec(pr.MacAddressRecognizer(), _HEXPAIRS))
    out.append(_Rec(pr.CryptoRecognizer(), _CRYPTO))
    have = {type(r.recognizer).__name__ for r in out}
    for rec in floor_recognizers(language):
        if type(rec).__name__ in have or _is_phone(rec):
            continue   # the phone recognizers run on the gaps only (PhoneFloor)
        out.append(_Rec(rec, _pattern_filter(rec), floor=True))
    return [dataclasses.replace(r, chunk=r.chunk if _joinable(r.recognizer) else 1, digits=_digit_run(r.prefilter))
            for r in out]


def _digit_run(prefilter: Sequence[re.Pattern[str]]) -> int:
    """The longest run of decimal digits one of the prefilters proves a passing text holds."""
    from ._prefilter import digit_run

    return max((digit_run(rx.pattern, rx.flags) for rx in prefilter), default=0)


def _joinable(rec: Any) -> bool:
    """Its patterns match alike in a text alone and in texts joined by ``_SEP`` (a lookaround
    that can see into the separator, as ``(?=.*?[0-9]{4})`` can, reads each text alone)."""
    from ._prefilter import joinable

    return all(joinable(p.regex, _SEP, rec.global_regex_flags or 0) for p in rec.patterns)


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


def _pattern_filter(rec: Any) -> tuple[re.Pattern[str], ...]:
    """Tests no text holding a match of the recognizer fails (``_prefilter``): one character of
    the class every pattern needs, then a match of the factor every match holds."""
    from ._prefilter import factor_filter, prefilter

    sources = [p.regex for p in rec.patterns] + [re.escape(w) for w in (rec.deny_list or ())]
    return tuple(rx for rx in (prefilter(sources), factor_filter(sources, rec.global_regex_flags or 0))
                 if rx is not None)


_ALWAYS: tuple[re.Pattern[str], ...] = ()


_DIGIT_RUNS = re.compile(r"\d+")   # \d: Unicode's Nd, as str.isdecimal


def digit_runs(texts: Sequence[str]) -> list[int]:
    """Each text's longest run of decimal digits."""
    return [max(map(len, _DIGIT_RUNS.findall(t)), default=0) for t in texts]


def _passing(rec: _Rec, texts: Sequence[str], seen: dict[re.Pattern[str], list[bool]],
             runs: Sequence[int]) -> list[int]:
    """Indices of the texts that pass every prefilter of ``rec`` (a filter shared by several
    recognizers, the first of each, is read once per batch: ``seen``). A text whose longest
    run of digits (``runs``) is shorter than the run a prefilter needs (``rec.digits``) cannot
    pass it, and is not searched."""
    idx: list[int] = list(range(len(texts)))
    for k, rx in enumerate(rec.prefilter):
        if k == 0:
            ok = seen.get(rx)
            if ok is None:
                ok = seen[rx] = [m is not None for m in map(rx.search, texts)]
            idx = [i for i in idx if ok[i]]
            if rec.digits:
                idx = [i for i in idx if runs[i] >= rec.digits]
        else:
            idx = [i for i, m in zip(idx, map(rx.search, [texts[i] for i in idx])) if m is not None]
    return idx


class PresidioPatterns:
    """Presidio's pattern recognizers over a batch of texts (a Finder)."""

    name = "presidio-patterns"

    def __init__(self, language: str = "en") -> None:
        self._recs = _recognizers(language)
        self.entity_types = frozenset(e for r in self._recs for e in r.recognizer.supported_entities)

    def warm(self) -> None:
        """Compile every pattern now (Presidio compiles each on its first ``analyze``; the
        prefilters leave many for later texts, so the first batches would pay for it)."""
        _warm(self._recs)

    def find_batch(self, texts: Sequence[str]) -> list[list[Hit]]:
        out: list[list[Hit]] = [[] for _ in texts]
        seen: dict[re.Pattern[str], list[bool]] = {}
        runs = digit_runs(texts)
        for rec in self._recs:
            idx = _passing(rec, texts, seen, runs)
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


def _warm(recs: Sequence[_Rec]) -> None:
    for rec in recs:
        rec.recognizer.analyze("", rec.recognizer.supported_entities, None)


def _floor_hit(text: str, s: int, e: int, r: Any) -> Hit | None:
    from ._floor import pattern_rule

    if pattern_rule(text, s, e, r.entity_type) is not None:
        return None
    value = text[s:e]
    norm = value.casefold() if r.entity_type in ("EMAIL_ADDRESS", "URL", "DATE_TIME") else \
        "".join(c for c in value if c.isalnum()).upper()
    return Hit(s, e, r.entity_type, float(r.score), norm, RANK_FLOOR)


# Where the phone recognizers can report something: the clusters of ``_phonespans`` (a
# cluster holds every letter and digit of every span they can report there).


def _may_add(text: str, hits: Sequence[Hit], readings: Collection[tuple[str, tuple[tuple[int, int], ...]]]) -> bool:
    """False only when the phone recognizers' spans on ``text`` cannot change the findings.

    A phone span is a floor hit: ``resolve`` takes it after every container and every hit above
    the floor, and it adds only the letters and digits of its span that those left uncovered
    (a floor hit never displaces one). So when, for each way the text is resolved (``readings``:
    the unit's own text, which ``text`` is the folded form of, and its skip spans), every letter
    and digit of every cluster is covered by what ``resolve`` makes of those hits alone, the
    phone spans add nothing and the recognizers need not run."""
    from ._phonespans import clusters as phone_clusters

    clusters = phone_clusters(text)
    if not clusters:
        return False
    from ._floor import floor_piece_kept
    from ._hits import CONTAINERS, resolve

    above = [h for h in hits if h.rank > RANK_FLOOR or h.entity_type in CONTAINERS]
    for original, skip in readings:
        covered = bytearray(len(original))
        for f in resolve(original, above, skip, floor_piece_kept):
            covered[f.start:f.end] = b"\x01" * (f.end - f.start)
        if any(original[i].isalnum() and not covered[i] for a, b in clusters for i in range(a, b)):
            return True
    return False


class PhoneFloor:
    """Presidio's phone recognizers (PhoneRecognizer and the South African ones), run where
    they can change the findings (:func:`_may_add`); a text they cannot change is skipped."""

    def __init__(self, language: str = "en") -> None:
        self._recs = [_Rec(r, _ALWAYS, floor=True, chunk=_PHONE_CHUNK)
                      for r in floor_recognizers(language) if _is_phone(r)]

    def warm(self) -> None:
        from ._phonespans import warm

        _warm(self._recs)
        warm()

    def fill(self, texts: Sequence[str], hits: list[list[Hit]],
             readings: Sequence[Collection[tuple[str, tuple[tuple[int, int], ...]]]] | None = None) -> None:
        """Add the phone spans to ``hits``; call it last, after every other hit is in (and
        after the filters that drop hits): what is there decides where it runs. ``readings``:
        per text, each (unit text, skip spans) it is resolved with (default: itself, no skip)."""
        idx = [i for i, t in enumerate(texts)
               if _may_add(t, hits[i], readings[i] if readings is not None else ((t, ()),))]
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
