"""A name only the verification decode heard, where the transcript heard ordinary words (#23).

The bleeps are the union of both decodes' findings (:mod:`.second`). Base, primed with the
roster's names, sometimes hears ordinary speech as a name: in name_deepak (kokoro-alpha) "will
call the vendor tomorrow" came back as "with Kodavendra Tamarau", a PERSON to the detector, and
the union bleeped the whole clip. The two decodes then disagree about whether a name was said
there at all. A finding of the verification decode is **disputed** when all of these hold:

- it is a PERSON or a LOCATION (what the NER guesses from the words' shape: in name_grant base
  wrote "approved" as "Approved," and it became a place), of no roster member (no
  ``participant_id``), with no digit and no street type (a spoken address is no guess), none of
  its words a first name, a surname or a place's word (``name_words.txt``:
  :func:`~meetguard.detection._namewords.name_word`) nor a piece of a value either decode's pass
  redacted (:mod:`.fragments`);
- no finding of the transcript's decode overlaps its time span (unpadded word times) by more
  than the bleeps' padding (two decodes' word edges differ by tens of milliseconds: in name_grant
  base's "Approved," began 0.02 s before tiny.en's "Bish" ended);
- the transcript's decode heard words in that span (their middles in it), every one of them ordinary (letters only,
  written in lower case unless first in its sentence or a calendar word, no name word), none of them right after a
  cue only people take ("with", "thanks", "call": ``PERSON_CUE``) unless a stop word ("call the").

A cue that is only a list of roster members' names (two or more; :func:`_echo`) is disputed as
a whole: Whisper writes its prompt back over audio it cannot make out (a release that is mostly
bleeps). It is settled the same way, confirmed by anything the re-hearing finds in the cue.

A cue with a disputed finding is heard a third time (:func:`settle`): by the same model and
search, **without the roster prompt**, over the cue's own time span (plus
:data:`MARGIN`). When that hearing finds, within the disputed span (padded like a bleep),
anything the run's rules redact or a piece of a known value, other than a value the
transcript's decode found at that time (already bleeped), the name stands and is bleeped.
Otherwise the new hearing replaces the cue, and its own findings (if any, elsewhere in the
cue) are bleeped like any other: two hearings, the transcript's and the verification model's own
without the roster, heard no name there, against one primed to hear names. A re-hearing that
fails (a decode loop) leaves the name standing.

The release is judged by the same rule (:func:`release_settler`): the windows the verification
decode hears again in the release are settled the same way before they are checked, the
disputed cue heard again from the release (its bleeps silent). A finding's span there is taken
less its ends inside a bleep (silent: nothing is heard there; base times a word said after a
bleep from the bleep's start, so "Kodavendra" was timed 0.0-2.28 s over the bleeped "Deepak
Rao" in name_deepak's release). So a mishearing the union did
not bleep does not refuse the release, while a name both hearings of the release hear still
fails it (or is repaired), as before. A value truly audible where the transcript heard ordinary
words is thus missed only when base, unprompted, also hears no name there.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from .._errors import VerificationError
from .._model import Cue, Finding
from .backend import SAMPLE_RATE, DecodeVariant, Transcriber, accepts_variant
from .fragments import Fragments, fragment_spans, fragments_of
from .second import Hearing, findings_of, hearing_of
from .unsure import UNSURE

__all__ = ["MARGIN", "Transcript", "joined_findings", "rehear_from", "release_settler", "settle", "settle_hearing",
           "transcript_of"]

Window = tuple[float, float]
Rehear = Callable[[float, float], list[Cue]]           # cues heard, unprompted, in [start, end] s
Detect = Callable[[list[str]], list[list[Finding]]]
MARGIN = 0.3            # seconds of audio heard before and after a disputed cue
_PAD = 0.15             # the bleeps' padding (redaction.audio.PAD): a confirmation this near counts
_ORDINARY = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?")
_SENTENCE_END = (".", "!", "?")
# what the NER guesses from the words' shape and place (never a pattern's email, number, ...)
_GUESSED = frozenset({"PERSON", "LOCATION"})


@dataclass(frozen=True)
class TranscriptWord:
    start: float
    end: float
    ordinary: bool      # letters only, lower case unless first in its sentence, no name word (but a sure
                        # lower-case dictionary word)
    cued: bool          # right after a cue only people take, and no stop word ("call the")


@dataclass(frozen=True)
class Transcript:
    """The transcript decode's words and its findings' unpadded time spans."""

    words: tuple[TranscriptWord, ...]
    found: tuple[Window, ...]


def _ordinary(word: str, first: bool, probability: float | None = None) -> bool:
    from .._wordlists import words
    from ..detection._namewords import english, name_word

    bare = word.strip(".,;:!?\"()")
    if not _ORDINARY.fullmatch(bare):
        return False
    if name_word(bare):
        # a dictionary word the decode wrote in lower case, sure of it, is that word: "line" and
        # "rick" are also surnames, but "My direct line" is heard as a line (a name is capitalised)
        return bare.islower() and english(bare) and probability is not None and probability >= UNSURE
    return bare[0].islower() or first or bare.casefold() in words("calendar_words")   # "on Monday"


def _spans(cue: Cue, unit: Iterable[Finding]) -> list[tuple[Finding, Window]]:
    try:
        offsets = cue.word_offsets()
    except ValueError:
        return []
    out = []
    for f in unit:
        hit = [w for w, (s, e) in zip(cue.words, offsets, strict=True) if s < f.end and e > f.start]
        if hit:
            out.append((f, (min(w.start for w in hit), max(w.end for w in hit))))
    return out


def transcript_of(cues: Sequence[Cue], findings: Sequence[Sequence[Finding]]) -> Transcript:
    """The transcript decode's words (ordinary or not, cued or not) and findings, timed."""
    from ..detection._namewords import PERSON_CUE
    from ..detection._stopwords import stop_words

    stop = stop_words("en")
    words: list[TranscriptWord] = []
    found: list[Window] = []
    for cue, unit in zip(cues, findings, strict=True):
        found += [span for _f, span in _spans(cue, unit)]
        try:
            offsets = cue.word_offsets()
        except ValueError:
            continue
        for k, (w, (s, _e)) in enumerate(zip(cue.words, offsets, strict=True)):
            before = cue.text[max(0, s - 24):s]
            first = k == 0 or before.rstrip().endswith(_SENTENCE_END)
            cued = PERSON_CUE.search(before) is not None and w.text.strip(".,;:!?").casefold() not in stop
            words.append(TranscriptWord(w.start, w.end, _ordinary(w.text, first, w.probability), cued))
    return Transcript(tuple(words), tuple(found))


def _audible(span: Window, quiet: Sequence[Window]) -> Window:
    """``span`` less the ends of it that lie in ``quiet`` windows (a release's bleeps, silent
    in what the verification decode hears: a word heard after one is timed from its start)."""
    a, b = span
    for x, y in sorted(quiet):
        if x <= a < y:
            a = min(y, b)
    for x, y in sorted(quiet, reverse=True):
        if x < b <= y:
            b = max(x, a)
    return a, b


def _disputed(cue: Cue, f: Finding, span: Window, main: Transcript, frags: Fragments) -> bool:
    from ..detection._namewords import name_word
    from ..detection._spoken import STREET_TYPES

    if f.entity_type not in _GUESSED or f.participant_id is not None:
        return False
    said = cue.text[f.start:f.end]
    words = [w.strip(".,;:!?").casefold() for w in said.split()]
    if any(c.isdigit() for c in said) or any(w in STREET_TYPES or name_word(w) for w in words):
        return False
    if fragment_spans(said, frags):
        return False
    if any(min(b, span[1]) - max(a, span[0]) > _PAD for a, b in main.found):
        return False
    under = [w for w in main.words if span[0] <= (w.start + w.end) / 2 <= span[1]]
    return bool(under) and all(w.ordinary and not w.cued for w in under)


_PROMPT_LEAD = frozenset({"meeting", "with", "and"})


def _echo(cue: Cue, unit: Sequence[Finding]) -> bool:
    """``cue`` is roster members' names (two members or more) and nothing else but the
    prompt's lead: Whisper writing its prompt back over audio it cannot make out (base
    heard mixed_email_phone's release, mostly bleeps, as "Ingrid Solberg, Priya Nair, Marta Lind.")."""
    own = [(f.start, f.end) for f in unit if f.participant_id is not None]
    if len({f.participant_id for f in unit if f.participant_id is not None}) < 2:
        return False
    return all(m.group().casefold() in _PROMPT_LEAD or any(a <= m.start() and m.end() <= b for a, b in own)
               for m in re.finditer(r"[^\W\d_]+", cue.text))


def joined_findings(cues: Sequence[Cue], find: Callable[[list[str]], list[list[Finding]]]) -> list[list[Finding]]:
    """``find`` over the cues' texts joined by single spaces (the one text the release check
    reads, :func:`meetguard.release.check_heard`), each finding split onto the cues it lies in
    (a name heard across two cues, "I'm" / "Occult", is a piece of it in each)."""
    out: list[list[Finding]] = [[] for _ in cues]
    if not cues:
        return out
    found = find([" ".join(c.text for c in cues)])[0]
    pos = 0
    for k, cue in enumerate(cues):
        a, b = pos, pos + len(cue.text)
        out[k] = [replace(f, start=max(f.start, a) - a, end=min(f.end, b) - a)
                  for f in found if f.start < b and f.end > a]
        pos = b + 1
    return out


def settle(cues: Sequence[Cue], findings: Sequence[Sequence[Finding]], main: Transcript, rehear: Rehear,
           find: Callable[[list[Cue]], list[list[Finding]]], known: Iterable[str],
           quiet: Sequence[Window] = (), joined: bool = False) -> list[Cue]:
    """``cues`` (a verification hearing, with its ``findings``), each cue with a disputed
    finding heard again by ``rehear`` and replaced by that hearing unless it confirms the
    name (``find``: a hearing's findings; the module doc). ``quiet``: windows silent in
    what was heard (a release's bleeps), no part of any finding's span. ``joined``: ``find``
    reads all the cues as one text (the release check's unit): a re-hearing is then judged
    in its place among the other cues, the settled ones before it and the rest after it."""
    frags = fragments_of(known)
    out: list[Cue] = []
    found = list(findings)
    for k, cue in enumerate(cues):
        unit = found[k]
        echo = _echo(cue, unit)
        audible = [(f, _audible(span, quiet)) for f, span in _spans(cue, unit)]
        spans = [(cue.start, cue.end)] if echo else [
            span for f, span in audible if span[0] < span[1] and _disputed(cue, f, span, main, frags)]
        if not spans:
            out.append(cue)
            continue
        try:
            again = rehear(cue.start, cue.end)
        except VerificationError:      # its decode looped: the name stands
            out.append(cue)
            continue
        whole = find([*out, *again, *cues[k + 1:]]) if joined else []
        heard = whole[len(out):len(out) + len(again)] if joined else find(again)
        names = [(a, b) for c, unit2 in zip(again, heard, strict=True) for _f, (a, b) in _spans(c, unit2)
                 if echo or not any(x < b and a < y for x, y in main.found)]   # not a value the transcript has
        confirmed = any(a - _PAD < span[1] and span[0] < b + _PAD for a, b in names for span in spans)
        out.extend([cue] if confirmed else again)
        if joined and not confirmed:        # the cues after it are read after the new hearing now
            found[k + 1:] = whole[len(out):]
    return out


def settle_hearing(hearing: Hearing, main: Transcript, rehear: Rehear, detect: Detect,
                   redacts: Callable[[Finding], bool], known: Iterable[str]) -> Hearing:
    """The verification decode's hearing of the original with its disputes settled."""
    known = list(known)

    def find(cues: list[Cue]) -> list[list[Finding]]:
        return hearing_of(cues, detect, redacts, known).findings

    cues = settle(hearing.cues, hearing.findings, main, rehear, find, known)
    if cues == hearing.cues:
        return hearing
    return hearing_of(cues, detect, redacts, known)


def rehear_from(path: Path, transcriber: Transcriber, variant: DecodeVariant) -> Rehear:
    """A :data:`Rehear` of the recording at ``path``: ``transcriber``'s ``variant`` decode,
    no prompt, over the span widened by :data:`MARGIN`."""
    def hear(start: float, end: float) -> list[Cue]:
        from .grid import cut

        lo, hi = round(max(0.0, start - MARGIN) * SAMPLE_RATE), round((end + MARGIN) * SAMPLE_RATE)
        samples = cut(Path(path), [(lo, hi)])[0]
        if accepts_variant(transcriber):
            return transcriber.transcribe(samples, prompt=None, offset=lo / SAMPLE_RATE, variant=variant)
        return transcriber.transcribe(samples, prompt=None, offset=lo / SAMPLE_RATE)
    return hear


def release_settler(main: Transcript, transcriber: Transcriber, variant: DecodeVariant, detect: Detect,
                    redacts: Callable[[Finding], bool],
                    known: Sequence[str]) -> Callable[[list[Cue], Path, Sequence[Window]], list[Cue]]:
    """What the release's verification applies to the cues it heard in ``path`` (the
    release's hearing copy, silent in the bleep windows ``quiet``): the same settling, the
    re-hearing taken from ``path``."""
    heard: dict[tuple[object, ...], list[Cue]] = {}

    def find(cues: list[Cue]) -> list[list[Finding]]:
        return joined_findings(cues, lambda texts: findings_of(texts, detect, redacts, known))

    def settled(cues: list[Cue], path: Path, quiet: Sequence[Window]) -> list[Cue]:
        if not cues:
            return cues
        plain = rehear_from(path, transcriber, variant)

        def rehear(start: float, end: float) -> list[Cue]:
            # the hearing copy's samples there depend only on the bleeps near: heard once per repair state
            near = tuple(w for w in quiet if w[0] < end + MARGIN and w[1] > start - MARGIN)
            key = (start, end, near)
            if key not in heard:
                heard[key] = plain(start, end)
            return heard[key]
        return settle(cues, find(cues), main, rehear, find, known, quiet, joined=True)
    return settled
