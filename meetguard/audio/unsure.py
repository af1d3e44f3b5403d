"""A value both decodes garble (#23): the words a decode was unsure of after a value's cue.

The bleeps are the union of what two decodes found (:mod:`.second`), and the release is
checked by what the verification decode hears in it. Both only know the values some decode
*wrote as a value*. A dictated value that both checkpoints garble is found by neither: in
email_twoword_domain (espeak-gb-rp) "The invoice goes to nadia dot perez at adventure works
dot example." came back from tiny.en as "... to R01 for Ingridorted numbers.." or "... Ingrid
Nair to adventure work started nampl." (its sampled fallback varies from run to run) and from
base as "Did invoice go to Ardya not for a matter of adventure work started mumble.": no
email in either, nothing bleeped, "adventure work" audible in the release.

What such a hearing still shows is *where* a value was said and that the decode did not
understand it: the words that introduce a value ("send ... to", "at", "is", "dot", "email",
"number", ...) followed by words Whisper gave a low probability. In every decode of that
clip the words after "to" sit between 0.00 and 0.60; the ordinary words of the corpus's
sentences mostly between 0.85 and 1.00; and even a value both decodes *did* write as one
is heard unsure ("Solberg" 0.28, "at" 0.07, "Litware" 0.41).

So the words of a hearing are **distrusted** after such a cue (:data:`CUE_WORDS`, or the end
of a value the rules redact) when the first or second word after it is unsure (probability
under :data:`UNSURE`), from that first unsure word through the last unsure word of that sentence, stopping
before :data:`SURE_RUN` sure words in a row (the sentence going on: "... on the thread,
please"), when the stretch holds at least :data:`MIN_UNSURE` unsure words. A distrusted
stretch is bleeped like a value (padded) and goes from the transcript with it
(:mod:`meetguard.redaction.bleeped`). Both decodes of the original are read this way (the
union), and so is the verification decode's hearing of the release (:func:`unsure_windows`
in the repair rounds, :mod:`meetguard.release`): a stretch it hears outside every bleep is
repaired, and refused when it is still heard after the last round. A stretch whose words lie
inside the bleeps is not: the decode heard it in silence.

**A hearing that loops is distrusted too**, with or without word probabilities: a unit of
one to :data:`~meetguard.audio.grid.LOOP_WORDS` words said :data:`~meetguard.audio.grid.LOOP_TIMES`
times or more in a row (the grid's rule for a hearing that cannot stand for the release) is
not what was said but what the model fell into, and what was said there is unknown. In
card_master (espeak-us-f3) "Charge it to five five five five, ... four four four four." came
back from tiny.en as "Charge it to fine fine ... (17 times) 4, 4, 4, 4, 4", sure of most of
the "fine"s, and from base as "... time time ... (13 times) 4444.": no card in either, and the
transcript released the card's last digits. Such a cue is distrusted from the loop's first
word to its own last word (the digits after a loop are the value's end, "until the digits
stop"), in every hearing read here, so the loop is bleeped and gone from the transcript, and
a verification decode that still hears a loop outside the bleeps repairs or refuses.

**Words both decodes heard alike, up to a value.** Where the other decode of the same samples
(tiny.en's hearing for base's, base's for tiny.en's: :class:`Other`) heard the stretch's first
unsure word as the same plain word at an overlapping time, and every word from the cue on is
such a word or a sure one up to a value the rules redact (found by either decode), no stretch
follows that cue: "The number for support is three zero three, ..." lost "support" (both
decodes unsure of "for support is", both heard those words) though the number after "is" was
found and bleeped, and its end anchors whatever follows it. A plain word here: letters only, in
lower case (unless first in its sentence), a dictionary or stop word, no name word (first
names, surnames, places), no digit word nor a digit homophone ("for", "to"), no spoken glue of
an address or a number ("dot", "at", "dash", ...), none of the pieces (every value's words of
either decode and the roster's names: the same test as
:func:`~meetguard.audio.fragments.plain_word`), and the other decode's word no part of a value
it found. Why it is safe: two checkpoints trained apart agreeing on a dictionary word says what
was said there, and the value that made them unsure is the one found after it (bleeped, and
its pieces checked in the release). A stretch that meets a word the two heard differently, or
ends its sentence, before any value is distrusted as before: a value both garbled (the
email_twoword_domain case) has no finding to reach. Two decodes' words are the same word also
an inflection's ending apart ("support" / "supporting": s, es, d, ed, ing, after a stem of four
letters or more).

**Words both decodes heard alike after a value.** After a found value's last word (one that is
no cue word), past the value's first :data:`LEAD` words, a word both decodes heard alike (as
above) counts as sure: "Let's ask Carlos Mendes to join the call on Thursday." lost "join" and
"call" (both decodes unsure of "to" and "call" after the name, both heard "to join the call").
The value is bleeped as before; the first two words after it, where the rest of a garbled value
(a surname heard as "men days") would be, count as before, and so does "to" anywhere (a digit
homophone). After a cue word nothing changes: no value was found there.

What this costs: ordinary words Whisper is unsure of right after a cue, in a sentence it
heard badly (a hard accent, noise). A backend that gives no word probabilities (``None``)
is never distrusted this way.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from .._model import Cue, Finding, Word
from .fragments import SURE, everyday, ordinary_piece, spoken_glue
from .grid import loop_start

__all__ = ["CUE_WORDS", "MIN_UNSURE", "SURE_RUN", "UNSURE", "Other", "distrusted", "heard_alike", "looping",
           "other_hearing", "unsure_windows"]

Window = tuple[float, float]

UNSURE = SURE       # a word Whisper gave a lower probability (0.5) is one it was unsure of
SURE_RUN = 4        # this many sure words in a row end a distrusted stretch (the sentence goes on)
MIN_UNSURE = 2      # a stretch needs this many unsure words (one unsure word is one misheard word)
LEAD = 2            # the stretch's first unsure word is at most this many words after the cue
# Words that introduce a dictated value: an email ("send it to", "at", "dot", "email"), a
# number ("my number is", "line", "call", "card"), an address.
CUE_WORDS = frozenset({
    "to", "at", "is", "dot", "email", "mail", "address", "number", "line", "phone", "call", "dial",
    "card", "mobile", "cell", "extension",
})
_LETTERS = re.compile(r"[^a-z]+")
_PLAIN = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?")
_NOT_WORD = re.compile(r"[^\w']+")
_SENTENCE_END = (".", "!", "?")


def _unsure(word: Word) -> bool:
    return word.probability is not None and word.probability < UNSURE


@dataclass(frozen=True)
class Other:
    """The other decode's hearing of the same samples (module doc): its words outside the values
    it found, those values' time spans, and ``pieces``, the casefolded words no agreement keeps
    (every value's words of both decodes, the roster's name words)."""

    words: tuple[Word, ...]
    values: tuple[Window, ...]
    pieces: frozenset[str]


def _valued(cues: Sequence[Cue], findings: Sequence[Sequence[Finding]] | None) -> set[int]:
    """Indexes (into ``cues``' words read as one run) of the words inside a finding; every word of
    a cue whose text its words do not spell (its values' words cannot be told)."""
    out: set[int] = set()
    base = 0
    for k, cue in enumerate(cues):
        unit = findings[k] if findings is not None and k < len(findings) else ()
        if unit:
            try:
                spans = cue.word_offsets()
            except ValueError:
                spans = [(0, len(cue.text))] * len(cue.words)
            out |= {base + i for i, (a, b) in enumerate(spans) if any(a < f.end and b > f.start for f in unit)}
        base += len(cue.words)
    return out


def other_hearing(cues: Sequence[Cue], findings: Sequence[Sequence[Finding]] | None,
                  pieces: frozenset[str]) -> Other:
    """``cues`` (a decode's hearing, ``findings`` per cue) as the other hearing of :func:`unsure_windows`."""
    words = [w for c in cues for w in c.words]
    valued = _valued(cues, findings)
    return Other(tuple(w for k, w in enumerate(words) if k not in valued),
                 tuple((w.start, w.end) for k, w in enumerate(words) if k in valued), pieces)


def _bare(text: str) -> str:
    return text.strip(" .,;:!?\"'()").casefold()


STEP = 0.02   # one step of Whisper's word times: two decodes' words touching at one time overlap


_ENDINGS = ("s", "es", "d", "ed", "ing")   # an inflection: "support" / "supporting", "send" / "sends"
_STEM = 4                                  # letters a word needs before its inflection counts


def _inflected(a: str, b: str) -> bool:
    """``a`` and ``b`` (casefolded) are one word, one of them with an inflection's ending added."""
    short, long_ = sorted((a, b), key=len)
    return len(short) >= _STEM and long_.startswith(short) and long_[len(short):] in _ENDINGS


def heard_alike(word: Word, other: Other, inflection: bool = False) -> bool:
    """The other decode heard ``word`` as the same word (case and punctuation aside; with
    ``inflection``, also one of the two with an inflection's ending: "support" / "supporting") at an
    overlapping time (within :data:`STEP`), outside every value it found."""
    bare = _bare(word.text)
    return bool(bare) and any((_bare(o.text) == bare or (inflection and _inflected(_bare(o.text), bare)))
                              and o.start < word.end + STEP and o.end > word.start - STEP
                              for o in other.words)


def _agreed(words: Sequence[Word], k: int, other: Other) -> bool:
    """``words[k]``, a word the decode was unsure of, is a plain word the other decode heard as the
    same word at an overlapping time (module doc)."""
    from ..detection._namewords import english, name_word

    w = words[k]
    bare = w.text.strip(" .,;:!?\"()")
    low = bare.casefold()
    first = k == 0 or _ends_sentence(words[k - 1])
    if not _unsure(w) or not _PLAIN.fullmatch(bare) or not (bare.islower() or (first and bare[1:].islower())):
        return False
    if name_word(low) or spoken_glue(low) or not (english(low) or everyday(low)) or not ordinary_piece(low, other.pieces):
        return False
    return heard_alike(w, other, inflection=True)


def _alike_to_value(words: Sequence[Word], first: int, agreed: set[int], valued: set[int]) -> bool:
    """From ``first`` on, every word is sure or heard alike by both decodes up to a word of a value
    the rules redact, within the sentence."""
    for k in range(first, len(words)):
        if k in valued:
            return True
        if (_unsure(words[k]) and k not in agreed) or _ends_sentence(words[k]):
            return False
    return False


def _ends_sentence(word: Word) -> bool:
    return word.text.rstrip("\"')”’").endswith(_SENTENCE_END)


def _stretch(words: Sequence[Word], anchor: int, agreed: set[int] | None = None,
             valued: set[int] | None = None, value_end: bool = False) -> tuple[int, int] | None:
    """The words (first, last index) distrusted after the cue or value ending at ``anchor``:
    from the first unsure word (a sure word between the cue and it is left, and the bleep's
    padding does not reach back into the cue: "My mobile is 312-55-7781" lost "mobile").
    ``agreed``/``valued``: the words both decodes heard alike, the words of values (module doc).
    ``value_end``: ``anchor`` is a found value's last word (no cue word): past its first
    :data:`LEAD` words, a word both decodes heard alike counts as sure (module doc)."""
    if _ends_sentence(words[anchor]):
        return None
    first = anchor + 1
    lead = [k for k in range(first, min(first + LEAD, len(words))) if _unsure(words[k])]
    if not lead:
        return None
    if agreed and lead[0] in agreed and _alike_to_value(words, first, agreed, valued or set()):
        return None
    last, sure, unsure = lead[0], 0, 0
    for k in range(first, len(words)):
        if _unsure(words[k]) and not (value_end and agreed and k >= first + LEAD and k in agreed):
            last, sure, unsure = k, 0, unsure + 1
        else:
            sure += 1
            if sure >= SURE_RUN:
                break
        if _ends_sentence(words[k]):
            break
    return (lead[0], last) if unsure >= MIN_UNSURE else None


def _anchors(cue: Cue, values: Sequence[Finding]) -> set[int]:
    """Indexes of ``cue``'s words a stretch may follow: cue words, and each value's last word."""
    return _cue_words(cue) | _value_ends(cue, values)


def _cue_words(cue: Cue) -> set[int]:
    return {k for k, w in enumerate(cue.words) if _LETTERS.sub("", w.text.casefold()) in CUE_WORDS}


def _value_ends(cue: Cue, values: Sequence[Finding]) -> set[int]:
    """Indexes of ``cue``'s words that end one of ``values``."""
    anchors: set[int] = set()
    if values:
        try:
            spans = cue.word_offsets()
        except ValueError:
            spans = []
        for f in values:
            hit = [k for k, (s, e) in enumerate(spans) if s < f.end and e > f.start]
            if hit:
                anchors.add(hit[-1])
    return anchors


def _stretches(words: Sequence[Word], anchors: set[int], agreed: set[int] | None = None,
               valued: set[int] | None = None, ends: set[int] | None = None) -> list[tuple[int, int]]:
    out = []
    for anchor in sorted(anchors):
        span = _stretch(words, anchor, agreed, valued, anchor in (ends or ())) if anchor + 1 < len(words) else None
        if span is not None:
            out.append(span)
    return out


def looping(cue: Cue) -> tuple[int, int] | None:
    """The words (first, last index) of ``cue`` distrusted because its hearing loops (module
    doc): from the loop's first word to the cue's last; ``None`` when it does not loop."""
    start = loop_start([_NOT_WORD.sub("", w.text.casefold()) for w in cue.words])
    return None if start is None else (start, len(cue.words) - 1)


def distrusted(cue: Cue, values: Sequence[Finding] = ()) -> list[tuple[int, int]]:
    """Index ranges (first, last, inclusive) of ``cue``'s words distrusted (module doc):
    after each cue word, after the last word of each of ``values`` (findings the rules
    redact in ``cue.text``), and where its hearing loops."""
    loop = looping(cue)
    return sorted(_stretches(cue.words, _anchors(cue, values)) + ([loop] if loop else []))


def unsure_windows(cues: Sequence[Cue], findings: Sequence[Sequence[Finding]] | None = None,
                   pad: float = 0.15, outside: Sequence[Window] = (), other: Other | None = None) -> list[Window]:
    """The time spans (padded by ``pad``) of every distrusted stretch of a hearing's
    ``cues`` (a loop: within its own cue), read as one run of words (a pause may put a cue's end between "to" and the
    value; a sentence's end still stops a stretch); ``findings``: per cue, the values the
    rules redact in it. With ``outside`` (bleep windows), only a stretch's words whose
    middle lies outside all of them count: the release's decode heard the rest in silence.
    ``other``: the other decode's hearing of the same samples; words both heard alike up to a
    value start no stretch (module doc)."""
    words: list[Word] = []
    anchors: set[int] = set()
    ends: set[int] = set()      # a value's last word that is no cue word
    loops: list[tuple[int, int]] = []
    for k, cue in enumerate(cues):
        values = findings[k] if findings is not None and k < len(findings) else ()
        cued = _cue_words(cue)
        ended = _value_ends(cue, values)
        anchors |= {len(words) + a for a in cued | ended}
        ends |= {len(words) + a for a in ended - cued}
        loop = looping(cue)
        if loop is not None:
            loops.append((len(words) + loop[0], len(words) + loop[1]))
        words.extend(cue.words)
    agreed: set[int] = set()
    valued: set[int] = set()
    if other is not None:
        agreed = {k for k in range(len(words)) if _agreed(words, k, other)}
        valued = _valued(cues, findings) | {k for k, w in enumerate(words)
                                            if any(a <= (w.start + w.end) / 2 <= b for a, b in other.values)}
    out: list[Window] = []
    for a, b in _stretches(words, anchors, agreed, valued, ends) + loops:
        heard = [w for w in words[a:b + 1] if not any(s <= (w.start + w.end) / 2 <= e for s, e in outside)]
        if heard:
            out.append((heard[0].start - pad, heard[-1].end + pad))
    return out
