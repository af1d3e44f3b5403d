"""A spoken value is removed whole, in the transcript and in the sound (#23).

Detection works on one cue's text at a time, and ASR cuts a value it heard with
pauses: "My direct line is 202." / "555-0143." The number's area code then stands
alone in its own cue and is neither a phone number nor redacted. After detection,
each transcript document is completed here:

1. **numbers run on**: a run of digits (numerals or digit words, "double five")
   right before or after a number finding, with nothing but spaces and punctuation
   between (also across the end of one cue and the start of the next) becomes part
   of that value, until the digits stop;
   a number run (3+ digits, or a numeral fused with letters, "250C") right beside a
   value that is no number (a name, a place) joins it (:mod:`meetguard.audio.digits`);
2. **pieces of redacted values**: every word and 3+ digit piece of a value the
   run's rules redact (:mod:`meetguard.audio.fragments`) found elsewhere in the
   document is redacted as that value too: "Send the contract to Ingrid." after
   ``ingrid.solberg@…`` was found in a later cue.

New findings never overlap existing ones; each unit's list stays sorted.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from .._model import Finding
from ..detection._spoken import STREET_TYPES
from .digits import join_beside
from .fragments import _digit_runs, fragment_spans, fragments_of, spelled_runs

__all__ = ["NUMBER_TYPES", "complete_document"]

# Entity types read out as digits: a run of digits next to one of them is part of it.
NUMBER_TYPES = frozenset({"PHONE_NUMBER", "CREDIT_CARD", "US_SSN", "MEETING_ID", "IBAN_CODE",
                          "US_BANK_NUMBER", "US_ITIN", "US_PASSPORT", "US_DRIVER_LICENSE", "ID_NUMBER",
                          "FR_NIR", "FR_SIREN", "FR_SIRET", "UK_NHS"})


def _clear(text: str) -> bool:
    return not any(c.isalnum() for c in text)


def _free(found: Sequence[Finding], start: int, end: int) -> bool:
    return all(f.end <= start or f.start >= end for f in found)


# A phone's extension, said after it ("…0174, extension four two one", "ext. 421", "x421"):
# the label between the number and the digits after it is glue, the digits are the phone's.
_EXTENSION = re.compile(r"(?i)[\W_]*\b(?:extension|ext|x)\b[\W_]*")


def _after_ok(gap: str, f: Finding) -> bool:
    """What lies between a number finding ``f`` and a digit run after it lets them be one
    value: spaces and punctuation, or for a phone its extension's label."""
    return _clear(gap) or (f.entity_type == "PHONE_NUMBER" and _EXTENSION.fullmatch(gap) is not None)


def _clear_between(text: str, run: tuple[int, int], f: Finding) -> bool:
    """The run overlaps the finding, or only spaces and punctuation lie between them (after a
    phone, also the label of its extension)."""
    s, e = run
    if s < f.end and e > f.start:
        return True
    return _clear(text[e:f.start]) if e <= f.start else _after_ok(text[f.end:s], f)


def _run_on(texts: Sequence[str], found: list[list[Finding]], redacts: Callable[[Finding], bool]) -> bool:
    """One pass of step 1; True when a finding was added or widened."""
    changed = False
    for k, text in enumerate(texts):
        for f in [f for f in found[k] if f.entity_type in NUMBER_TYPES and redacts(f)]:
            for s, e, digits in _digit_runs(text, homophones=True):
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
                runs = _digit_runs(texts[j], homophones=True)
                if not runs:
                    continue
                s, e, digits = runs[-1] if j < k else runs[0]
                outside = texts[j][e:] if j < k else texts[j][:s]
                if len(digits) >= 2 and (_clear(outside) if j < k else _after_ok(outside, f)) and _free(found[j], s, e):
                    found[j].append(Finding(s, e, f.entity_type, f.score, f.normalized, f.participant_id))
                    changed = True
    return changed


_STREET = re.compile(r"(?i)\b(?:street|st|road|rd|avenue|ave|lane|drive|way|boulevard|court|place|square)\W*$")
_YEAR = re.compile(r"(?:19|20)\d\d")


def _number_across_cues(texts: Sequence[str], found: list[list[Finding]]) -> None:
    """Digits said with pauses that ASR cut into cues of their own ("My mobile is 312." /
    "555." / "7781."): a chain of digit runs meeting at cue ends, none found yet, with 7
    or more digits in all, is a phone number (a card when it passes Luhn's check)."""
    k = 0
    while k < len(texts):
        chain: list[tuple[int, int, int, str]] = []
        j = k
        while j < len(texts):
            runs = _digit_runs(texts[j])
            if not runs:
                break
            s, e, digits = runs[0] if chain else runs[-1]
            if chain and not _clear(texts[j][:s]):
                break
            if not _free(found[j], s, e) or _YEAR.fullmatch(digits):
                break
            chain.append((j, s, e, digits))
            if not _clear(texts[j][e:]) or len(runs) > 1:
                break
            j += 1
        digits = "".join(c[3] for c in chain)
        if len(chain) > 1 and len(digits) >= 7:
            from ..detection._patterns import luhn_ok

            etype = "CREDIT_CARD" if 13 <= len(digits) <= 19 and luhn_ok(digits) else "PHONE_NUMBER"
            for j, s, e, _ in chain:
                found[j].append(Finding(s, e, etype, 0.7, digits))
        k = max(k + 1, j)


def _street_numbers(texts: Sequence[str], found: list[list[Finding]]) -> None:
    """A house number right before a street found as a name or place ("120 Harbor Road")."""
    for k, text in enumerate(texts):
        for f in list(found[k]):
            if f.entity_type not in ("PERSON", "LOCATION") or not _STREET.search(text[f.start:f.end]):
                continue
            for s, e, _digits in _digit_runs(text):
                if e <= f.start and not text[e:f.start].strip() and _free(found[k], s, e):
                    found[k].remove(f)
                    found[k].append(Finding(s, f.end, "LOCATION", f.score, f.normalized, f.participant_id))


# "Tove and Anselm Brekke": a first name joined by "and" to a full name shares its surname; the
# detector, reading names by their shape, may find the full name and not the lone first one.
_FIRST_AND = re.compile(r"(?<![\w'’-])([A-Z][a-z]+(?:['’-][A-Za-z]+)?)\s+(?:and|&)\s+$")


def _a_first_name(word: str) -> bool:
    """A capitalised word that is a name word, or no dictionary word at all; never a stop word."""
    from ..detection._namewords import english, name_word
    from .fragments import everyday

    low = word.casefold()
    return not everyday(low) and (name_word(low) or not english(low))


def _names_sharing_a_surname(texts: Sequence[str], found: list[list[Finding]],
                             redacts: Callable[[Finding], bool]) -> None:
    """A first name right before "and" and a redacted full name (two or more words) is a name
    of its own ("Tove and Anselm Brekke", "Lena & Omar Haddad"), same rules, its own pseudonym."""
    for k, text in enumerate(texts):
        for f in list(found[k]):
            words = text[f.start:f.end].split()
            if f.entity_type != "PERSON" or len(words) < 2 or not redacts(f):
                continue
            m = _FIRST_AND.search(text, max(0, f.start - 60), f.start)
            if m is None or not _a_first_name(m.group(1)) or not _free(found[k], m.start(1), m.end(1)):
                continue
            named = Finding(m.start(1), m.end(1), "PERSON", f.score, f"{m.group(1)} {words[-1]}".casefold())
            if redacts(named):
                found[k].append(named)


# The unit after a street address ("314 Birchwood Terrace, apartment 3B", "…, suite four hundred",
# "…, unit twelve A", "…, flat 2"): part of the address, which picks one home out of the building.
_NUMBER_WORD = (r"(?:zero|oh|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen"
                r"|fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty"
                r"|ninety|hundred|double|triple)")
_UNIT = re.compile(
    r"(?i),?\s+(?:(?:apartment|apt|unit|suite|ste|flat|floor|fl|room|rm|number|no)\b\.?|#)\s*"
    r"(?:\d+(?:-?[a-z](?![\w'’]))?|[a-z](?:-?\d+)?(?![\w'’])|" + _NUMBER_WORD + r"(?:[\s-]+" + _NUMBER_WORD
    + r")*(?:[\s-]+[a-z](?![\w'’]))?)")


def _street_address(said: str) -> bool:
    """A place said as a street address: a number in it or a street type ending it."""
    words = re.findall(r"[a-z]+", said.casefold())
    return any(c.isdigit() for c in said) or bool(words and words[-1] in STREET_TYPES) or any(
        re.fullmatch(_NUMBER_WORD, w) for w in words)


def _street_units(texts: Sequence[str], found: list[list[Finding]], redacts: Callable[[Finding], bool]) -> None:
    """A redacted street address runs on over the unit said right after it."""
    for k, text in enumerate(texts):
        for f in list(found[k]):
            if f.entity_type != "LOCATION" or not redacts(f) or not _street_address(text[f.start:f.end]):
                continue
            m = _UNIT.match(text, f.end)
            if m is None or not _free([g for g in found[k] if g is not f], f.end, m.end()):
                continue
            found[k].remove(f)
            found[k].append(Finding(f.start, m.end(), f.entity_type, f.score, f.normalized, f.participant_id))


# A surname's particles ("Jan van der Berg", "Rosa de la Cruz"): the detector may find the name's
# ends and leave "van der" in clear between them, a piece of the name that is heard.
_PARTICLE_TAIL = re.compile(r"(?:\s+(?:van|von|de|der|den|del|della|di|da|du|dos|das|le|la|ter|ten|bin|ibn|al|el"
                            r"|op|het|'t)){1,3}\s+[A-Z][\w'’-]+")


def _names_with_particles(texts: Sequence[str], found: list[list[Finding]],
                          redacts: Callable[[Finding], bool]) -> None:
    """A redacted name, lower-case particles and a capitalised word after them are one name."""
    for k, text in enumerate(texts):
        for f in sorted(found[k], key=lambda g: g.start):
            if f not in found[k] or f.entity_type != "PERSON" or not redacts(f):
                continue
            m = _PARTICLE_TAIL.match(text, f.end)
            if m is None:
                continue
            inside = [g for g in found[k] if g is not f and g.start < m.end() and g.end > f.end]
            if any(g.entity_type != "PERSON" for g in inside):
                continue
            found[k] = [g for g in found[k] if g is not f and g not in inside]
            found[k].append(Finding(f.start, m.end(), "PERSON", f.score, text[f.start:m.end()].casefold(),
                                    f.participant_id))


# A name spelled out after it is said ("Vandermeer, that's V-A-N-D-E-R-M-E-E-R"): ASR may mishear
# a letter, so the letters need not spell the name back; the cue and the name before it tie them.
_SPELL_CUE = re.compile(r"(?i)\b(?:spelled|spelt|spell(?:ing)?(?:\s+(?:it|that))?|that's|that\s+is|it's)"
                        r"(?:\s+(?:with|as))?[\s:,]*$")
_SPELLABLE = frozenset({"PERSON", "EMAIL_ADDRESS", "LOCATION"})


def _spelled_out(text: str, s: int, e: int, letters: str) -> bool:
    """A word spelled out to be written down: 4+ letters after a spelling cue, or 5+ capitals
    joined by hyphens or dots ("V-A-N-D-E-R-M-E-E-R"), as ASR writes spelling, not an acronym."""
    if len(letters) >= 4 and _SPELL_CUE.search(text, max(0, s - 40), s) is not None:
        return True
    said = text[s:e]
    return len(letters) >= 5 and said.isupper() and not any(c.isspace() for c in said.replace(". ", "."))


def _spelled_after_a_value(texts: Sequence[str], found: list[list[Finding]],
                           redacts: Callable[[Finding], bool]) -> None:
    """A word spelled out (:func:`_spelled_out`) in the cue that said a redacted name, address or
    place or in the next one is that value (the last one said); with no such value it is a name of
    its own: people spell out names, addresses and codes, and ASR may have misheard the name said
    before it ("the eventour mirror. That's V-A-N-D-E-R-M-E-E-R.")."""
    for k, text in enumerate(texts):
        for s, e, letters in spelled_runs(text):
            if not _spelled_out(text, s, e, letters) or not _free(found[k], s, e):
                continue
            before = [f for f in found[k] if f.end <= s and f.entity_type in _SPELLABLE and redacts(f)]
            if not before and k > 0:
                before = [f for f in found[k - 1] if f.entity_type in _SPELLABLE and redacts(f)]
            if before:
                f = max(before, key=lambda g: g.end)
                found[k].append(Finding(s, e, f.entity_type, f.score, f.normalized, f.participant_id))
                continue
            own = Finding(s, e, "PERSON", 0.7, letters)
            if redacts(own):
                found[k].append(own)


def complete_document(texts: Sequence[str], findings: Sequence[Sequence[Finding]],
                      redacts: Callable[[Finding], bool]) -> list[list[Finding]]:
    """``findings`` of one transcript's units (``texts``, in order) made whole (module doc);
    ``redacts`` tells the findings the run's rules remove (only those are completed)."""
    found = [list(f) for f in findings]
    _number_across_cues(texts, found)
    _street_numbers(texts, found)
    for _ in range(32):   # a number in up to 32 pieces
        if not _run_on(texts, found, redacts):
            break
    join_beside(texts, found, redacts, NUMBER_TYPES)   # a house number beside its street or place
    _street_units(texts, found, redacts)
    _names_with_particles(texts, found, redacts)
    _names_sharing_a_surname(texts, found, redacts)
    _spelled_after_a_value(texts, found, redacts)
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
