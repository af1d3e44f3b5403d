"""A number said right beside a value belongs to it (#23).

"The new site is at two fifty Cedar Avenue in Portland.": tiny.en heard the house number and
the street as "250C, the Ramanu", base as "250 cd."; the name was found and bleeped, and "250C"
stayed in the released transcript and the sound ("Partial digit runs that belong to a value are
never released in text or sound"). A number beside a redacted name or place is what a house
number is in speech ("I live at 4200 Elm", "the office at 1200 Harbor"), a postcode after a town,
a flat number ("12B"): part of that value. So, for a **number run**: a numeral of 3+ digits, digit
or number words that say 3+ digits ("two five oh", "two fifty", "one twenty"), or a numeral fused
with letters ("250C", "12B": ASR's fusion of a number with the word after it; not an ordinal,
"21st", a decade, "1990s", nor a time, "3pm"):

- **in the text** (:func:`join_beside`, each decode's hearing made whole, :mod:`.whole`): a run
  right before a redacted value that is no number (a name, a place, an address: numbers run on
  by their own rule), with only spaces and punctuation between or one article ("the", "a", "an":
  what ASR writes inside a garbled street name, as "250C, the Ramanu"), or right after one with
  only spaces and punctuation between ("Portland 97201"), joins that value (same type, same
  pseudonym). A preposition between ("300 in Portland", "2024 at Contoso") marks a quantity or a
  date, not a house number: kept in the text (the sound is the next rule's);
- **in time** (:func:`beside_bleeps`, the release's bleep windows): a run heard by either decode
  of the original whose words touch or overlap a bleep window (the padded window, within one
  step of the word times) is bleeped too and gone from the transcript, and its text becomes a
  value the verification checks (3+ digits of it heard again in the release fail or are
  repaired): the decodes' words differ, and what one heard as "250C, the Ramanu" the other heard
  as "250 cd." with no value at all; only the time line says the two are one.

Kept: a number of one or two digits ("at 3 with Alice", "room 12, Alice"), a year set apart from
the value by a comma or a full stop ("in 2024, Alice said": a plain numeral 1900-2099, or its
decade), a number not touching a value in text or time.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from .._model import Cue, Finding
from ..detection._spoken import _TEENS, _TENS, _UNITS

__all__ = ["beside_bleeps", "join_beside", "number_runs"]

_TOKEN = re.compile(r"\d+[^\W\d_]*|[^\W\d_]+(?:'[^\W\d_]+)?")
_NOT_FUSED = re.compile(r"(?i)\d+(?:st|nd|rd|th|s|am|pm|a|p)")     # an ordinal, a decade, a time
_YEAR = re.compile(r"(?:19|20)\d\d")
_JOINED = re.compile(r"(?i)[\W_]*(?:and[\W_]+)?")   # between two number words of one run ("and" after hundred)
_ARTICLES = frozenset({"the", "a", "an"})
_MIN_DIGITS = 3

Window = tuple[float, float]


def _said(low: str, nxt: str) -> str | None:
    """The digits a word says (a numeral's own; "fifty" before "five" says "5")."""
    if low[0].isdigit():
        return "".join(c for c in low if c.isdigit())
    if low in _UNITS and low != "o":
        return str(_UNITS[low])
    if low in _TEENS:
        return str(_TEENS[low])
    if low in _TENS:
        return str(_TENS[low])[0] if nxt in _UNITS and _UNITS[nxt] > 0 else str(_TENS[low])
    if low in ("hundred", "thousand"):
        return "00" if low == "hundred" else "000"
    return None


def number_runs(text: str) -> list[tuple[int, int, str, bool]]:
    """(start, end, digits, fused) of each run of number words and numerals in ``text``, only
    spaces, punctuation or an "and" between number words inside it, that is a **number run** (the
    module doc): 3+ digits, or a numeral fused with letters (``fused``)."""
    toks = [(m.start(), m.end(), m.group()) for m in _TOKEN.finditer(text)]
    runs: list[tuple[int, int, str, bool]] = []
    cur: list[tuple[int, int, str, bool]] = []

    def flush() -> None:
        if cur:
            digits, fused = "".join(c[2] for c in cur), any(c[3] for c in cur)
            if len(digits) >= _MIN_DIGITS or fused:
                runs.append((cur[0][0], cur[-1][1], digits, fused))
            cur.clear()

    for i, (s, e, word) in enumerate(toks):
        low = word.casefold()
        nxt = toks[i + 1][2].casefold() if i + 1 < len(toks) else ""
        said = _said(low, nxt)
        if said is None:
            if not (low == "and" and cur and text[cur[-1][0]:cur[-1][1]].casefold() in ("hundred", "thousand")
                    and _said(nxt, "") is not None):
                flush()         # else "four hundred and five": the run goes on
            continue
        if cur and not _JOINED.fullmatch(text[cur[-1][1]:s]):
            flush()
        marked = _NOT_FUSED.fullmatch(low) is not None      # "21st", "1990s", "3pm": a number of its own
        if marked:
            flush()
        cur.append((s, e, said, low[0].isdigit() and not low.isdigit() and not marked))
        if marked:
            flush()
    flush()
    return runs


def _a_year(digits: str, fused: bool) -> bool:
    return not fused and _YEAR.fullmatch(digits) is not None


def _gap_before(text: str, e: int, start: int, year: bool) -> bool:
    """What lies between a run ending at ``e`` and a value starting at ``start`` lets them be one."""
    gap = text[e:start]
    if year and any(c in ",.;" for c in gap):
        return False
    words = re.findall(r"[^\W_]+", gap)
    return not words or (len(words) == 1 and words[0].casefold() in _ARTICLES)


def _gap_after(text: str, end: int, s: int, year: bool) -> bool:
    gap = text[end:s]
    return not any(c.isalnum() for c in gap) and not (year and any(c in ",.;" for c in gap))


def join_beside(texts: Sequence[str], found: list[list[Finding]], redacts: Callable[[Finding], bool],
                numbers: frozenset[str]) -> None:
    """A number run right before or after a redacted value that is no number (``numbers``: the
    entity types read out as digits, whose runs join by their own rule) joins it, in place."""
    for k, text in enumerate(texts):
        changed = True
        while changed:
            changed = False
            for f in [f for f in found[k] if f.entity_type not in numbers and redacts(f)]:
                for s, e, digits, fused in number_runs(text):
                    year = _a_year(digits, fused)
                    if e <= f.start and _gap_before(text, e, f.start, year):
                        lo, hi = s, f.end
                    elif s >= f.end and _gap_after(text, f.end, s, year):
                        lo, hi = f.start, e
                    else:
                        continue
                    others = [g for g in found[k] if g is not f]
                    if all(g.end <= lo or g.start >= hi for g in others):
                        found[k] = [*others, Finding(lo, hi, f.entity_type, f.score, f.normalized, f.participant_id)]
                        changed = True
                        break
                if changed:
                    break


def _timed_runs(cues: Sequence[Cue], findings: Sequence[Sequence[Finding]]) -> list[tuple[float, float, str]]:
    """(start, end, text) of each number run of ``cues`` that is no part of one of its cue's
    ``findings`` (a value's own digits are bleeped as that value, by its own edges), by its words'
    times; a run whose cue's words do not spell its text is timed by its cue (fail closed)."""
    out: list[tuple[float, float, str]] = []
    for cue, unit in zip(cues, findings, strict=True):
        runs = [r for r in number_runs(cue.text) if all(f.end <= r[0] or f.start >= r[1] for f in unit)]
        if not runs:
            continue
        try:
            spans = cue.word_offsets()
        except ValueError:
            out += [(cue.start, cue.end, cue.text[s:e]) for s, e, _d, _f in runs]
            continue
        for s, e, digits, fused in runs:
            hit = [w for w, (a, b) in zip(cue.words, spans, strict=True) if a < e and b > s]
            if hit and not (_a_year(digits, fused) and (cue.text[e:e + 1] in (",", ".", ";")
                                                         or cue.text[max(0, s - 2):s].strip() == ",")):
                out.append((min(w.start for w in hit), max(w.end for w in hit), cue.text[s:e]))
    return out


def beside_bleeps(windows: Sequence[Window],
                  hearings: Sequence[tuple[Sequence[Cue], Sequence[Sequence[Finding]]]], pad: float,
                  touch: float) -> tuple[list[list[Window]], list[str]]:
    """The number runs of ``hearings`` (each decode's cues of the original and their findings), no
    part of a value found there, whose words touch
    one of ``windows`` (the padded bleep windows; within ``touch`` seconds) or one of the runs
    taken so far: their spans (unpadded), one list per hearing, and their texts (values the
    verification checks)."""
    runs = [(h, *r) for h, (cues, found) in enumerate(hearings) for r in _timed_runs(cues, found)]
    near = [(a - touch, b + touch) for a, b in windows]
    taken: list[tuple[int, float, float, str]] = []
    grew = True
    while grew:
        grew = False
        for run in runs:
            _h, t0, t1, _text = run
            if run not in taken and any(t0 <= b and t1 >= a for a, b in near):
                taken.append(run)
                near.append((t0 - pad - touch, t1 + pad + touch))
                grew = True
    return [[(a, b) for h, a, b, _t in taken if h == k] for k in range(len(hearings))], [t for *_r, t in taken]
