"""What is bleeped in the sound is gone from the transcript too (#23).

The released recording is bleeped where either decode found a value (the union), and
again where the verification decode still heard a piece of one in the release (the
repair). Those extra bleeps come from the other decode's words and times: the
transcript (the main decode's words) may still hold what they cover ("one 20-harbour
road" stayed in address_harbor's transcript after its sound was bleeped). So after the
recording is final, every transcript word whose middle lies inside a bleep window is
replaced as well: consecutive such words by one ``[REDACTED]`` token (in the run's token
form; ``*`` per letter and digit under the mask operator). Words already replaced by a
token are left as they are. The speech under a bleep is gone from the release, so no
word of it is left to read.

A repair of a value the verification decode heard again in the release (``spared``) is the
exception: the release is heard in a context the original never had, and base then hears
names over plain speech ("Bye bye, Rick." over "My direct"; its prompt written back over a
mostly bleeped release). The sound there is bleeped all the same, but a transcript word under
such a repair alone goes only when ``plain`` (:func:`meetguard.audio.fragments.plain_word`)
does not say that it cannot carry the value: a plain word the main decode was sure of, no
name word, no digit word, no piece of the values heard there. Without ``plain``, every word
under a spared window goes.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence

from .._model import Cue, Document, Word
from .tokens import DEFAULT_TOKEN_FORM, wrap

__all__ = ["BLEEPED", "Plain", "Spared", "unsay_bleeped"]

BLEEPED = "REDACTED"
_TOKEN_INSIDE = re.compile(r"<[A-Z][A-Z0-9_]*>|\[[A-Z][A-Z0-9_]*\]")
_ALNUM = re.compile(r"\w(?:.*\w)?", re.DOTALL)

Window = tuple[float, float]


Spared = tuple[Window, frozenset[str]]          # a repair window, and the value words heard in it
Plain = Callable[[Word, bool, frozenset[str]], bool]   # (word, first in its sentence, value words) -> kept


def _bleeped(word: Word, windows: Sequence[Window]) -> bool:
    mid = (word.start + word.end) / 2
    return any(a <= mid <= b for a, b in windows) and _TOKEN_INSIDE.search(word.text) is None \
        and any(c.isalnum() for c in word.text)


def _hits(cue: Cue, windows: Sequence[Window], spared: Sequence[Spared], plain: Plain | None) -> list[bool]:
    """Which of ``cue``'s words go: under a window, or under a spared window and not plain there."""
    out = []
    for k, w in enumerate(cue.words):
        hit = _bleeped(w, windows)
        if not hit and spared:
            first = k == 0 or cue.words[k - 1].text.rstrip("\"')").endswith((".", "!", "?"))
            hit = any(_bleeped(w, [win]) and (plain is None or not plain(w, first, pieces)) for win, pieces in spared)
        out.append(hit)
    return out


def _replacement(value: str, form: str | None) -> str:
    return "".join("*" if c.isalnum() else c for c in value) if form is None else wrap(BLEEPED, form)


def _cue(cue: Cue, windows: Sequence[Window], form: str | None, spared: Sequence[Spared] = (),
         plain: Plain | None = None) -> Cue:
    hit = _hits(cue, windows, spared, plain)
    if not any(hit):
        return cue
    try:
        spans = cue.word_offsets()
    except ValueError:   # not built from its words: replace the whole text if any word is bleeped
        return dataclasses.replace(cue, text=_replacement(cue.text, form), words=())
    text, words, pos, k = [], [], 0, 0
    while k < len(cue.words):
        if not hit[k]:
            text.append(cue.text[pos:spans[k][1]])
            words.append(cue.words[k])
            pos, k = spans[k][1], k + 1
            continue
        first = k
        while k + 1 < len(cue.words) and hit[k + 1]:
            k += 1
        lo, hi = spans[first][0], spans[k][1]
        core = _ALNUM.search(cue.text, lo, hi)
        a, b = (core.start(), core.end()) if core else (lo, hi)
        piece = cue.text[lo:a] + _replacement(cue.text[a:b], form) + cue.text[b:hi]
        text.append(cue.text[pos:lo] + piece)
        words.append(Word(piece, cue.words[first].start, cue.words[k].end, None))
        pos, k = hi, k + 1
    text.append(cue.text[pos:])
    return dataclasses.replace(cue, text="".join(text), words=tuple(words))


def unsay_bleeped(doc: Document, windows: Sequence[Window], form: str | None = DEFAULT_TOKEN_FORM,
                  spared: Sequence[Spared] = (), plain: Plain | None = None) -> Document:
    """``doc`` (a redacted transcript) with every word whose middle lies in one of
    ``windows`` (seconds) replaced (module doc); ``form``: the token form, or None to
    mask. ``spared``: repair windows over a value heard only in the release, each with the
    value words heard there; a word under one goes unless ``plain`` keeps it (module doc).
    Cues without timed words are kept as they are."""
    if not windows and not spared:
        return doc
    items = tuple(_cue(item, windows, form, spared, plain) if isinstance(item, Cue) and item.words else item
                  for item in doc.items)
    return dataclasses.replace(doc, items=items)
