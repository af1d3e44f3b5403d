"""A spoken value is removed whole, in the transcript and in the sound (#23).

Detection works on one cue's text at a time, and ASR cuts a value it heard with
pauses: "My direct line is 202." / "555-0143." The number's area code then stands
alone in its own cue and is neither a phone number nor redacted. After detection,
each transcript document is completed here:

1. **numbers run on**: a run of digits (numerals or digit words, "double five")
   right before or after a number finding, with nothing but spaces and punctuation
   between (also across the end of one cue and the start of the next) becomes part
   of that value, until the digits stop;
2. **pieces of redacted values**: every word and 3+ digit piece of a value the
   run's rules redact (:mod:`meetguard.audio.fragments`) found elsewhere in the
   document is redacted as that value too: "Send the contract to Ingrid." after
   ``ingrid.solberg@…`` was found in a later cue.

New findings never overlap existing ones; each unit's list stays sorted.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from .._model import Finding
from .fragments import _digit_runs, fragment_spans, fragments_of

__all__ = ["NUMBER_TYPES", "complete_document"]

# Entity types read out as digits: a run of digits next to one of them is part of it.
NUMBER_TYPES = frozenset({"PHONE_NUMBER", "CREDIT_CARD", "US_SSN", "MEETING_ID", "IBAN_CODE",
                          "US_BANK_NUMBER", "US_ITIN", "US_PASSPORT", "US_DRIVER_LICENSE", "ID_NUMBER",
                          "FR_NIR", "FR_SIREN", "FR_SIRET", "UK_NHS"})


def _clear(text: str) -> bool:
    return not any(c.isalnum() for c in text)


def _free(found: Sequence[Finding], start: int, end: int) -> bool:
    return all(f.end <= start or f.start >= end for f in found)


def _clear_between(text: str, run: tuple[int, int], f: Finding) -> bool:
    """The run overlaps the finding, or only spaces and punctuation lie between them."""
    s, e = run
    if s < f.end and e > f.start:
        return True
    return _clear(text[e:f.start]) if e <= f.start else _clear(text[f.end:s])


def _run_on(texts: Sequence[str], found: list[list[Finding]], redacts: Callable[[Finding], bool]) -> bool:
    """One pass of step 1; True when a finding was added or widened."""
    changed = False
    for k, text in enumerate(texts):
        for f in [f for f in found[k] if f.entity_type in NUMBER_TYPES and redacts(f)]:
            for s, e, digits in _digit_runs(text):
                lo, hi = min(s, f.start), max(e, f.end)
                if len(digits) < 2 or (lo, hi) == (f.start, f.end) or not _clear_between(text, (s, e), f):
                    continue
                others = [g for g in found[k] if g is not f]
                if _free(others, lo, hi):   # the run and the finding become one value
                    found[k] = [*others, Finding(lo, hi, f.entity_type, f.score, f.normalized, f.participant_id)]
                    return True
            for j, at_edge in ((k - 1, _clear(text[:f.start])), (k + 1, _clear(text[f.end:]))):
                if not at_edge or not 0 <= j < len(texts):
                    continue
                runs = _digit_runs(texts[j])
                if not runs:
                    continue
                s, e, digits = runs[-1] if j < k else runs[0]
                outside = texts[j][e:] if j < k else texts[j][:s]
                if len(digits) >= 2 and _clear(outside) and _free(found[j], s, e):
                    found[j].append(Finding(s, e, f.entity_type, f.score, f.normalized, f.participant_id))
                    changed = True
    return changed


def complete_document(texts: Sequence[str], findings: Sequence[Sequence[Finding]],
                      redacts: Callable[[Finding], bool]) -> list[list[Finding]]:
    """``findings`` of one transcript's units (``texts``, in order) made whole (module doc);
    ``redacts`` tells the findings the run's rules remove (only those are completed)."""
    found = [list(f) for f in findings]
    for _ in range(32):   # a number in up to 32 pieces
        if not _run_on(texts, found, redacts):
            break
    values: dict[str, tuple[Finding, set[str]]] = {}
    for k, unit in enumerate(found):
        for f in unit:
            if redacts(f):
                values.setdefault(f.normalized, (f, set()))[1].update((f.normalized, texts[k][f.start:f.end]))
    for source, said in values.values():
        frags = fragments_of(said)
        for k, text in enumerate(texts):
            for s, e in fragment_spans(text, frags):
                if _free(found[k], s, e):
                    found[k].append(Finding(s, e, source.entity_type, source.score, source.normalized,
                                            source.participant_id))
    return [sorted(unit, key=lambda f: (f.start, f.end)) for unit in found]
