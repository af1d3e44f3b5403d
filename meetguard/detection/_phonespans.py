"""Where Presidio's phone recognizers can report a span: the clusters of a text.

Every span phonenumbers' ``PhoneNumberMatcher`` reports (Presidio's PhoneRecognizer and the
South African ones run it) lies inside one match M of the matcher's candidate pattern
(``phonenumbermatcher._PATTERN``: the candidate, trimmed, or a group inside it). M starts at an
opening bracket, a plus or a digit, ends at a digit or '#', and holds only the pattern's own
characters: digits, its punctuation, plus signs, brackets, the extension's separators and its
labels. As M starts and ends at no letter, a run of letters that touches M lies wholly inside
it, where it is either up to four of the letters the punctuation allows ('x', 'ー') or one
extension label ("ext", "extension", "anexo", "int", ...). So

- a character outside the pattern's alphabet, and
- a run of letters that is no such form ("also", "from", "traffic"),

are barriers no reported span crosses; and a span holds at least 4 digits (the shortest valid
number of any region). A *cluster*, from the first bracket, plus or digit of a stretch between
barriers to its last digit, where the stretch holds 4 digits or more, holds every letter and
digit of every span the recognizers can report there. The alphabet is read off the pattern
itself (its parse tree), with its flags (IGNORECASE: 'X', 'EXT', and 'ſ' for 's', as
phonenumbers reads them); tests/test_detection_phonespans.py checks the claim against the
recognizers on adversarial texts.
"""

from __future__ import annotations

import functools
import re
from typing import Any

__all__ = ["clusters"]

_MIN_PHONE_DIGITS = 4
_FIRST = re.compile(r"[(\[\uFF08\uFF3B+\uFF0B]|\d")   # the pattern's lead class, or a digit
_DIGIT = re.compile(r"\d")
_LETTER_RUN = re.compile(r"[^\W\d_](?:[^\W\d_]|\u0301)*")   # U+0301: "extensio\u0301n" is a label
# phonenumbers' extension labels (_create_extn_pattern: explicit, then ambiguous); checked
# against the pattern it builds, so another version of phonenumbers cannot pass unnoticed
_EXTENSION_LABELS = (
    "(?:e?xt(?:ensi(?:o\u0301?|\u00F3))?n?|\uFF45?\uFF58\uFF54\uFF4E?|\u0434\u043E\u0431|anexo)",
    "(?:[x\uFF58#\uFF03~\uFF5E]|int|\uFF49\uFF4E\uFF54)",
)


def _chars(pattern: str, flags: int = 0) -> str:
    """Every character ``pattern`` names (literals and class members; ``\\d`` left out)."""
    import re._parser as c

    out: set[str] = set()

    def walk(seq: Any) -> None:
        for op, av in seq:
            if op is c.LITERAL:
                out.add(chr(av))
            elif op is c.IN:
                for iop, iav in av:
                    if iop is c.LITERAL:
                        out.add(chr(iav))
                    elif iop is c.RANGE:
                        out.update(chr(x) for x in range(iav[0], iav[1] + 1))
                    elif not (iop is c.CATEGORY and iav is c.CATEGORY_DIGIT):
                        raise ValueError(f"phone pattern class item {iop} not read")
            elif op in (c.MAX_REPEAT, c.MIN_REPEAT):
                walk(av[2])
            elif op is c.SUBPATTERN:
                walk(av[-1])
            elif op is c.BRANCH:
                for alt in av[1]:
                    walk(alt)
            elif not (op is c.CATEGORY and av is c.CATEGORY_DIGIT):
                raise ValueError(f"phone pattern item {op} not read")

    walk(c.parse(pattern, flags & re.VERBOSE))
    return "".join(sorted(out))


@functools.cache
def _alphabet() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """(one character no span holds, a run of letters a span may hold), with the pattern's flags."""
    from phonenumbers.phonenumbermatcher import _PATTERN
    from phonenumbers.phonenumberutil import _EXTN_PATTERNS_FOR_MATCHING, _VALID_PUNCTUATION

    if not all(label in _EXTN_PATTERNS_FOR_MATCHING for label in _EXTENSION_LABELS):
        raise ValueError("phonenumbers' extension labels are not those _phonespans reads")
    known = "".join(re.escape(ch) for ch in _chars(_PATTERN.pattern, _PATTERN.flags))
    barrier = re.compile(r"(?![^\W\d_])(?!\d)[^" + known + "]", _PATTERN.flags)
    punct_letters = "".join(ch for ch in _chars("[" + _VALID_PUNCTUATION + "]") if ch.isalpha())
    run = re.compile("(?:[" + re.escape(punct_letters) + "]{1,4}|" + "|".join(_EXTENSION_LABELS) + ")",
                     _PATTERN.flags)
    return barrier, run


def warm() -> None:
    _alphabet()


def clusters(text: str) -> list[tuple[int, int]]:
    """(start, end) of each cluster of ``text`` (module doc): every letter and digit of every
    span the phone recognizers can report lies in one."""
    if len(_DIGIT.findall(text)) < _MIN_PHONE_DIGITS:   # a cluster holds that many digits of the text
        return []
    barrier, run = _alphabet()
    cuts = [m.start() for m in barrier.finditer(text)]
    cuts += [m.start() for m in _LETTER_RUN.finditer(text) if run.fullmatch(m.group()) is None]
    out: list[tuple[int, int]] = []
    pos = 0
    for cut in [*sorted(cuts), len(text)]:
        digits = [m.start() for m in _DIGIT.finditer(text, pos, cut)]
        if len(digits) >= _MIN_PHONE_DIGITS:
            first = _FIRST.search(text, pos, cut)
            assert first is not None   # a digit is there
            out.append((first.start(), digits[-1] + 1))
        pos = cut + 1
    return out
