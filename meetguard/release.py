"""The release gate: redacted content -> the bytes that leave meetguard.

Nothing else in meetguard turns content into bytes to release. Each text input
comes back under its own name and in its own format; an audio input gives
``<stem>.transcript.vtt``, ``<stem>.transcript.json`` and (when the policy
releases audio) ``<stem>.redacted.wav``, verified when asked; the OpenAI
pass-through's texts come back as ``message-<n>``.
"""

from __future__ import annotations

import dataclasses
import mmap
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Literal

from ._errors import MeetguardError, VerificationError
from ._model import AudioInput, Cue, Document, Finding
from .formats import get_format, write_document

if TYPE_CHECKING:
    from .audio.backend import Transcriber
    from .audio.second import Hearing
    from .audio.unsure import Other
    from .redaction.bleeped import Spared

_LETTER_RUN = re.compile(r"[^\W\d_]+")

__all__ = ["AudioCheck", "build_message_outputs", "build_redacted_audio", "build_text_outputs",
           "build_transcript_outputs", "merge_outputs"]


def build_text_outputs(documents: Iterable[Document]) -> dict[str, bytes]:
    outputs: dict[str, bytes] = {}
    for doc in documents:
        outputs = merge_outputs(outputs, write_document(doc))
    return outputs


def build_transcript_outputs(stem: str, doc: Document) -> dict[str, bytes]:
    """A redacted audio transcript as WebVTT and as lossless meetguard JSON."""
    out: dict[str, bytes] = {}
    for fmt, suffix in (("webvtt", "vtt"), ("meetguard-json", "json")):
        named = dataclasses.replace(doc, name=f"{stem}.transcript.{suffix}", format=fmt, meta=None)
        written = get_format(fmt).write(named)
        if len(written) != 1:
            raise MeetguardError(f"writer {fmt} gave {len(written)} files for one transcript")
        out[named.name] = next(iter(written.values()))
    return out


def merge_outputs(into: Mapping[str, bytes], more: Mapping[str, bytes]) -> dict[str, bytes]:
    """Merge output files; two inputs with one name get ``name-2.ext`` and so on."""
    merged = dict(into)
    for name, data in more.items():
        target = name
        n = 2
        while target in merged:
            head, dot, ext = name.partition(".")
            target = f"{head}-{n}{dot}{ext}"
            n += 1
        merged[target] = data
    return merged


def build_message_outputs(texts: Sequence[str]) -> dict[str, bytes]:
    """The OpenAI pass-through's redacted texts, in order (audited like any output)."""
    return {f"message-{k}": t.encode("utf-8") for k, t in enumerate(texts)}


@dataclasses.dataclass(frozen=True)
class AudioCheck:
    """How to verify a redacted recording: hear it again with the transcriber's
    independent decode, primed with ``prompt``, and fail when one of ``values`` is
    heard again or ``heard`` (text -> what the rules would redact in it) finds any."""

    transcriber: Transcriber
    values: Sequence[str]
    heard: Callable[[str], list[str]]
    prompt: str
    # the release's whole hearing, the one text the check reads (its hearing copy's path, its bleep windows) -> the
    # same cues with the names only the verification decode heard settled (audio/disputes.py), on that text
    settle: Callable[[list[Cue], Path, Sequence[tuple[float, float]]], list[Cue]] | None = None
    # distrust the words the decode was unsure of after a value's cue (audio/unsure.py), as the original's were
    distrust: bool = False


def _settled(check: AudioCheck, cues: list[Cue], copy: Path, windows: Sequence[tuple[float, float]]) -> list[Cue]:
    """The release's hearing settled on the unit :func:`check_heard` reads: all of it, joined."""
    return cues if check.settle is None else check.settle(cues, copy, windows)


# the transcript's windows: the findings' own spans, widened by one step of Whisper's word times (0.02 s), so a
# word timed with no length still spans something
SAID = 0.02
REPAIRS = 3   # rounds of repair of a grid window before a release the verification still hears a value in is refused


def _spared(cues: Sequence[Cue], heard: Sequence[tuple[float, float]], values: Sequence[str],
            pad: float, names: frozenset[str] = frozenset()) -> list[Spared]:
    """Each repair window over a value heard again in the release (``heard``, unpadded), padded,
    with the words the decode heard in it, every word of ``values`` and ``names`` (the roster's
    name words): what the transcript may not keep under it (:mod:`meetguard.redaction.bleeped`)."""
    known = {t.casefold() for v in values for t in _LETTER_RUN.findall(v)} | names
    words = [w for c in cues for w in c.words]
    return [((a - pad, b + pad), frozenset(known | {t.casefold() for w in words if w.start <= b and w.end >= a
                                                    for t in _LETTER_RUN.findall(w.text)}))
            for a, b in heard]


def _unsure_spared(heard: Sequence[tuple[float, float]], cues: Sequence[Cue], main: Sequence[Cue],
                   known: frozenset[str], original: Other | None) -> list[Spared]:
    """Each stretch the verification decode was unsure of in the release (``heard``, unpadded,
    widened by :data:`SAID`), with what the transcript may not keep under it: every word the decode
    heard there, ``known`` (the values' and the roster's words) and every word of ``main`` (the
    transcript's decode) there that ``original`` (the verification decode's hearing of the
    original) did not hear alike. So a plain word stays only where both decodes of the original
    heard it as that word (:func:`meetguard.audio.fragments.plain_word` judges the rest)."""
    from .audio.unsure import heard_alike

    out: list[Spared] = []
    for a, b in heard:
        a, b = a - SAID, b + SAID
        said = {t.casefold() for c in cues for w in c.words if w.start <= b and w.end >= a
                for t in _LETTER_RUN.findall(w.text)}
        alone = {t.casefold() for c in main for w in c.words if a <= (w.start + w.end) / 2 <= b
                 and (original is None or not heard_alike(w, original)) for t in _LETTER_RUN.findall(w.text)}
        out.append(((a, b), frozenset(known | said | alone)))
    return out


@dataclasses.dataclass(frozen=True)
class _Keeps:
    """What the transcript may keep under the repairs: the transcript decode's ``main`` hearing,
    ``known`` (every value's and the roster's words), the roster's ``names`` and ``theirs``, the
    verification decode's hearing of the original."""

    main: Sequence[Cue] = ()
    known: frozenset[str] = frozenset()
    names: frozenset[str] = frozenset()
    theirs: Other | None = None

    def under(self, cues: Sequence[Cue], unsure: Sequence[tuple[float, float]], again: Sequence[tuple[float, float]],
              values: Sequence[str], pad: float) -> list[Spared]:
        """A round's repairs (``cues``: the release's hearing), each with what the transcript may not keep under it."""
        return _unsure_spared(unsure, cues, self.main, self.known, self.theirs) + _spared(cues, again, values, pad,
                                                                                          self.names)


def _value_words(cues: Sequence[Cue], per_cue: Sequence[Sequence[Finding]], second: Hearing | None,
                 check: AudioCheck | None) -> frozenset[str]:
    """Every value word (casefolded letter runs) either decode found, and the check's values."""
    texts = [c.text[f.start:f.end] for c, unit in zip(cues, per_cue) for f in unit]
    if second is not None:
        texts += [c.text[f.start:f.end] for c, unit in zip(second.cues, second.findings) for f in unit]
    texts += list(check.values) if check is not None else []
    return frozenset(t.casefold() for v in texts for t in _LETTER_RUN.findall(v))


def _bare(text: str) -> str:
    return text.strip(" .,;:!?\"'()").casefold()


def _less_agreed(windows: Sequence[tuple[float, float]], cues: Sequence[Cue],
                 second: Hearing, distrusted: Sequence[tuple[float, float]] = ()) -> list[tuple[float, float]]:
    """``windows`` (the verification decode's findings' spans, or its unsure stretches') less the time
    of each transcript word both decodes heard as the same word at overlapping times (within one
    step of the word times, :data:`SAID`: touching words), where the verification decode's word is
    no part of a value it found nor inside one of its ``distrusted`` stretches: a word before the
    value that the two decodes' word edges put under it ("is" 1.52-1.80 s in tiny.en, base's number
    from 1.62 s; "card" 0.90-1.20 s in tiny.en, 0.70-0.90 s in base, its number from 0.90 s). Such a
    word then goes from the transcript only when it is not plain (the window's pad, :mod:`.redaction.bleeped`).

    So does each transcript word whose middle lies inside a roster member's name the verification
    decode found (its words' span, within :data:`SAID`): that decode is primed with the roster's
    names and writes them over speech it does not make out ("My name is Rohan Mehta" over tiny.en's
    sure "My direct line is", phone_direct espeak-gb-wmids), and the transcript's decode, primed with
    the same names, heard a word there that is no value of its own (its findings' spans are kept
    apart). The sound is bleeped as before; the word stays only when plain (sure, a dictionary word
    in lower case, no name, digit or piece of any value or of the roster's names)."""
    valued: set[int] = set()
    prompted: list[tuple[float, float]] = []     # the time spans of the roster members' names it found
    for cue, unit in zip(second.cues, second.findings, strict=True):
        try:
            spans = cue.word_offsets()
        except ValueError:    # cannot tell its value's words: agrees on none of them
            valued |= {id(w) for w in cue.words}
            continue
        valued |= {id(w) for f in unit for w, (a, b) in zip(cue.words, spans, strict=True) if a < f.end and b > f.start}
        for f in unit:
            named = [w for w, (a, b) in zip(cue.words, spans, strict=True) if a < f.end and b > f.start]
            if f.participant_id is not None and named:
                prompted.append((named[0].start - SAID, named[-1].end + SAID))
    theirs = [w for c in second.cues for w in c.words if id(w) not in valued
              and not any(a <= (w.start + w.end) / 2 <= b for a, b in distrusted)]
    out = list(windows)
    for w in (w for c in cues for w in c.words):
        mid = (w.start + w.end) / 2
        if not _bare(w.text) or not any(a <= mid <= b for a, b in out):
            continue
        if any(a <= mid <= b for a, b in prompted) \
                or any(_bare(o.text) == _bare(w.text) and o.start < w.end + SAID and o.end > w.start - SAID for o in theirs):
            out = [piece for a, b in out for piece in ((a, min(b, w.start)), (max(a, w.end), b)) if piece[1] > piece[0]]
    return out


def _budget(grid: list[tuple[int, int]], windows: Sequence[tuple[float, float]],
            repairs: Sequence[tuple[float, float]], repaired: dict[int, int]) -> bool:
    """Whether a round may repair ``repairs`` (heard spans, unpadded) and hear again: some lie outside every
    bleep ``windows`` (something new to repair) and no grid window they touch was repaired :data:`REPAIRS` times
    already (``repaired``, which counts this round in). The budget is one window's, not the recording's: a long
    recording's windows each get the rounds a clip's one window gets (the 10-minute recording ran out of rounds
    in its 20th window, after repairs in four others; a clip of one window is counted as before). Each round that
    goes on spends a window's round, so the rounds stay bounded (``REPAIRS`` x (windows + 1) + 1)."""
    from .audio.grid import touched

    new = [(a0, a1) for a0, a1 in repairs if all(b0 > a0 or b1 < a1 for b0, b1 in windows)]
    sites = touched(grid, new) or {-1}     # off the grid (a word timed past the end): a site of its own
    if not new or any(repaired.get(k, 0) >= REPAIRS for k in sites):
        return False
    for k in sites:
        repaired[k] = repaired.get(k, 0) + 1
    return True


def _verify_or_repair(spool: Path, fh: BinaryIO, rec: AudioInput, windows: list[tuple[float, float]],
                      mode: Literal["bleep", "silence"], check: AudioCheck, second: Hearing | None,
                      spared: list[Spared] | None = None, said: list[tuple[float, float]] | None = None,
                      keeps: _Keeps = _Keeps()) -> list[tuple[float, float]]:
    """Verify the spooled release, heard on the original's window grid (:mod:`.audio.grid`: a window no bleep
    touches counts as heard by ``second``, the verification decode's hearing of the original); when it hears a
    value (or an unsure stretch) where no bleep covers it yet (the main decode timed it late, or cut it short, or
    missed it), bleep those words too, from the original, and hear the windows that changed again (a new bleep
    changes what the decode hears around it), up to :data:`REPAIRS` rounds per grid window (:func:`_budget`). It
    fails closed (:class:`VerificationError`) when a window past its rounds still hears something, or when all that
    was heard lies inside the bleeps already (nothing to repair). Returns the windows bleeped in the end, less the
    repairs of a value heard again when ``spared`` is given: it receives them (:meth:`_Keeps.under`); else ``said``."""
    from .audio.decode import duration
    from .audio.grid import grid_of, hear_on_grid, heard_release, looped, touched
    from .audio.unsure import unsure_windows
    from .audio.verify import check_heard, heard_windows
    from .redaction import audio as audio_redaction
    from .redaction.audio_stream import redact_to_wav
    from .redaction.quiet import hearing_copy

    values = sorted(check.values)
    ears = spool.with_name("heard.wav")   # the release with its bleeps silent (redaction/quiet.py)
    grid = grid_of(rec.path)
    original = second.cues if second is not None else None
    changed = touched(grid, windows) | looped(grid, original) if original is not None else set(range(len(grid)))
    heard: dict[int, list[Cue]] = {}
    hard = windows
    repaired: dict[int, int] = {}   # grid window -> rounds that repaired something new heard in it (_budget)
    while True:
        copy = hearing_copy(spool, windows, mode, ears, rec.stem)
        heard.update(hear_on_grid(copy, check.transcriber, check.prompt, grid, changed))
        cues = _settled(check, heard_release(grid, heard, original), copy, windows)
        more = unsure_windows(cues, None, 0.0, outside=windows) if check.distrust else []
        again: list[tuple[float, float]] = []     # a value heard again
        try:
            check_heard(" ".join(c.text for c in cues), values, check.heard, rec.stem)
            if not more:
                return hard
            failure = VerificationError(f"the verification decode was unsure of words after a value's cue in "
                                        f"{rec.stem}", reason="value_unsure")
        except VerificationError as exc:
            failure, again = exc, heard_windows(cues, values, check.heard, 0.0)
        if not _budget(grid, windows, more + again, repaired):
            raise failure
        pad, now = audio_redaction.PAD, []
        if spared is None:          # every repair counts as a bleep for the transcript
            more, again = more + again, []
            (said if said is not None else []).extend((a - SAID, b + SAID) for a, b in more)
        else:                       # a plain word stays under a repair
            now = keeps.under(cues, more, again, values, pad)
            spared.extend(now)
        more = [(a - pad, b + pad) for a, b in more]
        hard = audio_redaction.merge_windows(hard + more, duration(rec.path) or None)
        more += [w for w, _pieces in now]
        fh.seek(0)
        fh.truncate()
        windows = audio_redaction.merge_windows(windows + more, duration(rec.path) or None)
        redact_to_wav(rec.path, windows, mode, fh)
        fh.flush()
        changed = touched(grid, more)


def _union(rec: AudioInput, cues: Sequence[Cue], per_cue: Sequence[Sequence[Finding]], second: Hearing | None,
           distrust: bool, known: frozenset[str],
           theirs: Other | None) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
    """The bleep windows of the original (both decodes' findings, and with ``distrust`` their unsure
    stretches, each decode's agreed with the other's: ``theirs`` is the verification decode's hearing),
    and the transcript's spans of the same (unpadded, less the words both decodes heard alike)."""
    from .audio.decode import duration
    from .audio.unsure import other_hearing, unsure_windows
    from .redaction import audio as audio_redaction

    length = duration(rec.path) or None
    windows = audio_redaction.windows_for(cues, per_cue, duration=length)
    said = audio_redaction.windows_for(cues, per_cue, pad=SAID, duration=length)   # the same, unpadded
    if distrust:   # a value both decodes garbled (audio/unsure.py)
        windows = audio_redaction.merge_windows(windows + unsure_windows(cues, per_cue, other=theirs), length)
        said += unsure_windows(cues, per_cue, SAID, other=theirs)
    if second is not None:
        from .audio.second import check_agreement, other_windows, value_times

        check_agreement(value_times(cues, per_cue), value_times(second.cues, second.findings),
                        audio_redaction.PAD, rec.stem)
        more = other_windows(second, cues, per_cue, audio_redaction.PAD, length)
        said += _less_agreed(other_windows(second, cues, per_cue, audio_redaction.PAD, length, edge=SAID),
                             cues, second)
        if distrust:
            ours = other_hearing(cues, per_cue, known)
            more += unsure_windows(second.cues, second.findings, other=ours)
            said += _less_agreed(unsure_windows(second.cues, second.findings, SAID, other=ours), cues, second,
                                 unsure_windows(second.cues, second.findings, 0.0, other=ours))
        windows = audio_redaction.merge_windows(windows + more, length)
    return windows, said


def _digits_beside(windows: list[tuple[float, float]], said: list[tuple[float, float]], cues: Sequence[Cue],
                   per_cue: Sequence[Sequence[Finding]], second: Hearing | None, check: AudioCheck | None,
                   length: float | None) -> tuple[list[tuple[float, float]], list[tuple[float, float]], AudioCheck | None]:
    """A number run either decode of the original heard touching a bleep is bleeped too, gone from the
    transcript, and a value the verification checks (:mod:`meetguard.audio.digits`)."""
    from .audio.digits import beside_bleeps
    from .redaction import audio as audio_redaction

    hearings = [(cues, per_cue), (second.cues, second.findings) if second is not None else ([], [])]
    (ours, theirs), texts = beside_bleeps(windows, hearings, audio_redaction.PAD, SAID)
    if not texts:
        return windows, said, check
    windows = audio_redaction.merge_windows([*windows, *((a - audio_redaction.PAD, b + audio_redaction.PAD)
                                                         for a, b in ours + theirs)], length)
    theirs = [(a - SAID, b + SAID) for a, b in theirs]   # less the transcript words both decodes heard alike
    said = [*said, *((a - SAID, b + SAID) for a, b in ours),
            *(_less_agreed(theirs, cues, second) if second is not None else theirs)]
    if check is not None:
        check = dataclasses.replace(check, values=sorted({*check.values, *texts}))
    return windows, said, check


def build_redacted_audio(rec: AudioInput, cues: Sequence[Cue], per_cue: Sequence[Sequence[Finding]],
                         mode: Literal["bleep", "silence"], check: AudioCheck | None,
                         second: Hearing | None = None,
                         bleeped: list[tuple[float, float]] | None = None, *, distrust: bool = False,
                         spared: list[Spared] | None = None, margins: list[Spared] | None = None,
                         names: frozenset[str] = frozenset()) -> bytes:
    """Bleep or silence the recording into a private spool file, streaming,
    so a one-hour recording is never held in memory; verify it if asked;
    then hand it out as a read-only map of that file. ``second``: the verification
    decode's hearing of the original, whose findings are bleeped too (the union), once
    both decodes agree where each value they share was said. ``bleeped``, when given,
    receives the windows bleeped (or silenced) in the end, so the transcript can lose
    every word under them (:mod:`meetguard.redaction.bleeped`); with ``spared`` given, that is
    less the repairs of a value heard again in the release, which ``spared`` receives, each with
    the value words heard there (the transcript keeps a plain word under one). ``distrust``: also
    bleep what either decode was unsure of after a value's cue (:mod:`meetguard.audio.unsure`).
    ``margins``, when given with ``bleeped``: ``bleeped`` receives the spans the findings cover,
    unpadded (the pads are for the sound's edges, not for which word was said), and ``margins``
    each window bleeped in the end, with the value words heard anywhere (the transcript keeps a
    plain word under a pad: :func:`meetguard.redaction.bleeped.unsay_bleeped`). ``names``: the roster's
    name words (casefolded), never a plain word there, nor agreed on by the two decodes
    (:func:`meetguard.audio.unsure.unsure_windows`)."""
    from .audio.decode import duration
    from .audio.unsure import other_hearing
    from .redaction import audio as audio_redaction
    from .redaction.audio_stream import redact_to_wav

    length = duration(rec.path) or None
    known = _value_words(cues, per_cue, second, check) | names
    theirs = other_hearing(second.cues, second.findings, known) if second is not None else None
    windows, said = _union(rec, cues, per_cue, second, distrust, known, theirs)
    windows, said, check = _digits_beside(windows, said, cues, per_cue, second, check, length)
    spool_dir = tempfile.mkdtemp(prefix="meetguard-")
    try:
        spool = Path(spool_dir) / "redacted.wav"
        with open(os.open(spool, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600), "w+b") as fh:
            redact_to_wav(rec.path, windows, mode, fh)
            fh.flush()
            if check is not None:   # also with nothing redacted: the first pass may have misheard
                windows = _verify_or_repair(spool, fh, rec, windows, mode, check, second, spared, said,
                                            _Keeps(cues, known, names, theirs))
            if bleeped is not None and margins is not None:
                bleeped.extend(audio_redaction.merge_windows(said, length))
                margins.extend((w, known) for w in windows)
            elif bleeped is not None:
                bleeped.extend(windows)
            mapped = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        return mapped  # type: ignore[return-value]  # bytes-like, read-only
    finally:
        shutil.rmtree(spool_dir, ignore_errors=True)
