"""Pieces of redacted values that must not be heard or read again (#23).

A value is removed whole or it leaks: "Send the contract to Ingrid." gives away the
first word of ``ingrid.solberg@litware.example``, a transcript holding ``202`` gives
away the area code of a phone number. So a redacted value is also checked by its
pieces:

- its **words**: each name word, each word of an email's local part and domain
  (case-folded; the spoken glue "dot", "at", "underscore", top-level domains and
  number words are not pieces). A piece that is also an everyday word ("will",
  "grant") counts only where it is heard capitalised, as a name is written;
- its **digits**: any 3 consecutive digits of a number value (3+ digits, few
  letters), heard as numerals or digit words, inside any run of number tokens.

:func:`fragment_spans` gives the character spans of such pieces in a text (so they
can be placed on the time line and bleeped too); :func:`heard_fragment` says whether
a text holds any.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from .._model import Word
from ..detection._spoken import STREET_TYPES

__all__ = ["SPELLED", "SURE", "Fragments", "everyday", "fragment_spans", "fragments_of", "heard_fragment", "ordinary_piece", "plain_word",
           "spelled_runs", "spoken_glue"]

_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?|\d+")
_DIGIT_WORDS = {
    "zero": "0", "oh": "0", "o": "0", "one": "1", "two": "2", "three": "3", "four": "4",
    "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9",
}
_DOUBLE = {"double": 2, "triple": 3}
# Spoken glue of addresses and numbers, and top-level domains: never a piece by itself.
_GLUE = frozenset({
    "dot", "at", "underscore", "dash", "hyphen", "period", "point", "com", "org", "net", "edu", "gov",
    "io", "co", "uk", "de", "fr", "example", "mail", "email", "www", "http", "https", "and", "the", "of",
    "to", "in", "on", "a", "an", "my", "is", "street", "road", "avenue", "lane", "drive", "st", "rd",
    "hundred", "thousand", "double", "triple", "plus", "extension", "ext",
}) | STREET_TYPES
# A surname's particles ("van der Berg"): bleeped with the name, no piece of it alone ("the van").
_PARTICLES = frozenset({"van", "von", "de", "der", "den", "del", "della", "di", "da", "du", "dos", "das", "le",
                        "la", "ter", "ten", "bin", "ibn", "al", "el", "op", "het"})
# The labels of an address's unit ("apartment 3B", "suite 400"): glue, like a street type.
_UNIT_LABELS = frozenset({"apartment", "apt", "unit", "suite", "ste", "flat", "floor", "fl", "room", "rm", "number",
                          "no"})
_NO_PIECE = _PARTICLES | _UNIT_LABELS
_MIN_DIGITS = 3
SURE = 0.5     # a word Whisper gave this probability or more is one it was sure of (audio/unsure.py: UNSURE)


@dataclass(frozen=True)
class Fragments:
    """The words and the digit strings of a set of redacted values."""

    words: frozenset[str]
    numbers: tuple[str, ...]

    def __bool__(self) -> bool:
        return bool(self.words or self.numbers)


def _is_number(value: str) -> bool:
    digits = sum(c.isdigit() for c in value)
    return digits >= _MIN_DIGITS and sum(c.isalpha() for c in value) <= 2


def _spoken_digits(value: str) -> str:
    """The digits a value says, numerals or English digit words ("two zero two" -> "202")."""
    out = []
    for tok in _WORD.findall(value.casefold()):
        if tok.isdigit():
            out.append(tok)
        elif tok in _DIGIT_WORDS and tok != "o":
            out.append(_DIGIT_WORDS[tok])
    return "".join(out)


def fragments_of(values: Iterable[str]) -> Fragments:
    words: set[str] = set()
    numbers: list[str] = []
    for value in values:
        if not value or not value.strip():
            continue
        digits = "".join(c for c in value if c.isdigit()) if _is_number(value) else _spoken_digits(value)
        french = _french_digits(value)
        if french is not None and len(french) > len(digits):
            digits = french
        if len(digits) >= _MIN_DIGITS and digits not in numbers:
            numbers.append(digits)
        if french is not None:
            continue            # a number said in French words: its pieces are its digits, not its words
        for tok in _WORD.findall(value.casefold()):
            if tok.isdigit() or tok in _DIGIT_WORDS or tok in _GLUE or tok in _NO_PIECE or len(tok) < 2:
                continue
            words.add(tok)
    return Fragments(frozenset(words), tuple(numbers))


def _french_digits(value: str) -> str | None:
    """The digits of a value that is a number said in French words ("zéro six douze"
    -> "0612"), else None: such a value's words ("six", "douze") are no pieces of it."""
    if _is_number(value) or not any(c.isalpha() for c in value):
        return None
    from text_to_num import alpha2digit

    form = str(alpha2digit(value, "fr", 0.0))
    return "".join(c for c in form if c.isdigit()) if _is_number(form) else None


def everyday(word: str) -> bool:
    """An everyday word (a stop word), never alone a piece of a value."""
    from spacy.lang.en.stop_words import STOP_WORDS

    return word in STOP_WORDS


# What ASR writes for a digit word it misheard ("two zero two" -> "too zero to"): read as
# digits only where ``homophones`` is asked (a run touching a number value).
_HOMOPHONES = {"to": "2", "too": "2", "for": "4", "won": "1", "ate": "8", "fine": "5"}


def _said_digit(word: str) -> str | None:
    """The digit a digit word or a numeral starts with, else None."""
    low = word.casefold()
    if low in _DIGIT_WORDS and low != "o":
        return _DIGIT_WORDS[low]
    return word[0] if word.isdigit() else None


def _number_tokens(text: str, homophones: bool = False) -> list[tuple[int, int, str]]:
    """(start, end, digits) of each token that says digits; "double five" -> "55"."""
    toks = [(m.start(), m.end(), m.group()) for m in _WORD.finditer(text)]
    out: list[tuple[int, int, str]] = []
    i = 0
    while i < len(toks):
        s, e, w = toks[i]
        low = w.casefold()
        said = _said_digit(toks[i + 1][2]) if low in _DOUBLE and i + 1 < len(toks) else None
        if said is not None:      # "double five", "double 5", "double-5-3912" (its first digit)
            nxt = toks[i + 1][2]
            out.append((s, toks[i + 1][1], said * _DOUBLE[low] + (nxt[1:] if nxt.isdigit() else "")))
            i += 2
            continue
        if w.isdigit():
            out.append((s, e, w))
        elif low in _DIGIT_WORDS and (low != "o" or (out and out[-1][1] >= s - 3)):
            out.append((s, e, _DIGIT_WORDS[low]))
        elif homophones and low in _HOMOPHONES:
            out.append((s, e, "h" + _HOMOPHONES[low]))
        i += 1
    return _spelled_neighbours(text, out)


def _spelled_neighbours(text: str, toks: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """Keep a homophone ("h"-marked) only next to a digit word said as a word ("too zero to"),
    never next to numerals alone ("talk to 555")."""
    def spelled(k: int) -> bool:
        return 0 <= k < len(toks) and not toks[k][2].startswith("h") and not text[toks[k][0]].isdigit()

    def touching(a: int, b: int) -> bool:
        return not any(c.isalnum() for c in text[toks[a][1]:toks[b][0]])

    out = []
    for k, (s, e, d) in enumerate(toks):
        if not d.startswith("h"):
            out.append((s, e, d))
        elif (spelled(k - 1) and touching(k - 1, k)) or (spelled(k + 1) and touching(k, k + 1)):
            out.append((s, e, d[1:]))
    return out


def _digit_runs(text: str, homophones: bool = False) -> list[tuple[int, int, str]]:
    """Consecutive number tokens (only spaces and punctuation between) as one run."""
    runs: list[tuple[int, int, str]] = []
    for s, e, d in _number_tokens(text, homophones):
        gap = text[runs[-1][1]:s] if runs else "x"
        if runs and not any(c.isalnum() for c in gap):
            runs[-1] = (runs[-1][0], e, runs[-1][2] + d)
        else:
            runs.append((s, e, d))
    return runs


def _shares_digits(run: str, numbers: Iterable[str]) -> bool:
    pieces = {run[i:i + _MIN_DIGITS] for i in range(len(run) - _MIN_DIGITS + 1)}
    return any(p in n for n in numbers for p in pieces)


# A word spelled out letter by letter, as ASR writes it: "V-A-N-D-E-R", "V A N D E R", "V. A. N.".
SPELLED = re.compile(r"(?<![\w'’])[A-Za-z](?:(?:[ ,.-]|\.\s){1,3}[A-Za-z](?![\w'’])){2,}")


def _spelled_piece(letters: str, words: frozenset[str]) -> bool:
    """The letters spell one of ``words`` or a part of one of 4+ letters ("V A N D E R" of
    "vandermeer"), or hold one ("T H E A V O S S")."""
    return any(letters == w or (len(letters) >= 4 and letters in w) or (len(w) >= 4 and w in letters)
               for w in words)


def spelled_runs(text: str) -> list[tuple[int, int, str]]:
    """(start, end, letters casefolded) of each word spelled out letter by letter."""
    return [(m.start(), m.end(), "".join(c for c in m.group() if c.isalpha()).casefold())
            for m in SPELLED.finditer(text)]


def fragment_spans(text: str, frags: Fragments) -> list[tuple[int, int]]:
    """Character spans in ``text`` of the pieces of ``frags`` (see the module doc); a piece
    spelled out letter by letter counts too."""
    spans: list[tuple[int, int]] = []
    if frags.words:
        spans += [(s, e) for s, e, letters in spelled_runs(text) if _spelled_piece(letters, frags.words)]
        for m in _WORD.finditer(text):
            low = m.group().casefold()
            if low in frags.words and (m.group()[0].isupper() or not everyday(low)):
                spans.append((m.start(), m.end()))
    if frags.numbers:
        spans += [(s, e) for s, e, run in _digit_runs(text) if _shares_digits(run, frags.numbers)]
    return sorted(spans)


def heard_fragment(text: str, frags: Fragments) -> bool:
    return bool(fragment_spans(text, frags))


_LETTERS_ONLY = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?")


def plain_word(word: Word, first: bool, pieces: frozenset[str]) -> bool:
    """A word the transcript's decode heard as an ordinary word, and no piece of a value: it was
    sure of it (probability :data:`SURE`, :data:`~meetguard.audio.unsure.UNSURE`, or more), letters only, in
    lower case unless first in its sentence, a dictionary or stop word, no digit word nor what ASR
    writes for one ("to", "fine"), and none of ``pieces`` (casefolded value words and the roster's
    name words), nor sharing its first four letters with one ("harbour" / "harbor"), nor inside one
    or holding one ("lit" / "litware"). A name word (first names, surnames, places: "line", "rose"
    are both) counts only written in lower case and in the dictionary: "My direct line" is heard as
    a line, a name is capitalised (as the disputes read it, :mod:`.disputes`)."""
    from ..detection._namewords import english, name_word

    bare = word.text.strip(" .,;:!?\"()")
    low = bare.casefold()
    if word.probability is None or word.probability < SURE or not _LETTERS_ONLY.fullmatch(bare):
        return False
    if not (bare.islower() or (first and bare[1:].islower())) or not (english(low) or everyday(low)):
        return False
    if name_word(low) and not (bare.islower() and english(low)):
        return False
    return ordinary_piece(low, pieces)


_STOP_GLUE = frozenset({"and", "the", "of", "in", "on", "a", "an", "my", "is"})


def spoken_glue(low: str) -> bool:
    """``low`` (casefolded) is what joins a dictated value's pieces ("dot", "at", "dash"), a
    top-level domain or a street type: common words ("the", "is") aside."""
    return low in _GLUE and low not in _STOP_GLUE


def ordinary_piece(low: str, pieces: frozenset[str]) -> bool:
    """``low`` (a casefolded word) is no digit word nor what ASR writes for one, and none of
    ``pieces``, nor sharing its first four letters with one, nor inside one or holding one."""
    if low in _DIGIT_WORDS or low in _HOMOPHONES or low in _DOUBLE:
        return False
    return not any(low == p or (len(low) >= 4 and p[:4] == low[:4]) or (len(low) >= 3 and low in p)
                   or (len(p) >= 3 and p in low) for p in pieces)
