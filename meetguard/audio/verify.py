"""Verification: hear redacted audio again, independently; a personal value heard fails.

The redacted audio is transcribed again by the *verification* decode: another
checkpoint than the transcript's where one is installed (the pipeline passes
``Backends.verify_transcriber``: base after tiny.en), with the backend's
``variant="verify"`` search, primed with the roster's names, in
windows of at most 30 s cut at quiet points like the first pass. So one
mishearing cannot hide a value in both passes. What it hears is checked twice:

1. every value the first pass redacted, normalised on both sides, and every piece
   of one (a lone first name, a surname, a word of an email's local part or domain,
   3+ digits of a number: :mod:`meetguard.audio.fragments`):

   - words: case-folded tokens of letters, digits and apostrophes; a value of
     several words must come back as the same run of consecutive tokens;
   - numbers (a value with at least three digits and no more than a few
     letters, e.g. a phone number or an id): digits only, matched inside the
     digits of any run of consecutive number-like tokens (ASR writes "555 0123",
     "5550123" or "five five five ...", all of which count);
2. the ``detector`` (``text -> the personal values in it that the policy's rules
   redact``): anything it returns fails, whether or not the first pass found it,
   so a value the first decode misheard past detection is caught when the second
   decode hears it. What the rules keep (a consenting participant's own name
   where speakers are kept) is not returned and raises nothing.

The error names the recording only, never the value.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._errors import VerificationError
from .._model import Cue
from .backend import VERIFY, Transcriber, accepts_variant
from .decode import iter_chunks, to_whisper_input
from .transcribe import windows

__all__ = ["check_heard", "hear_cues", "heard_again", "heard_windows", "normalise_tokens", "verify_redacted"]

_TOKEN = re.compile(r"[\w']+")
_DIGIT_WORDS = {
    "zero": "0", "oh": "0", "o": "0", "one": "1", "two": "2", "three": "3", "four": "4",
    "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9",
}


def normalise_tokens(text: str) -> list[str]:
    return [t.strip("'") for t in _TOKEN.findall(text.casefold()) if t.strip("'")]


def _is_number(value: str) -> bool:
    digits = sum(c.isdigit() for c in value)
    letters = sum(c.isalpha() for c in value)
    return digits >= 3 and letters <= 2


def _digit_runs(tokens: Sequence[str]) -> list[str]:
    runs: list[str] = []
    current = ""
    for tok in tokens:
        if tok in _DIGIT_WORDS:
            current += _DIGIT_WORDS[tok]
        elif any(c.isdigit() for c in tok):
            current += "".join(c for c in tok if c.isdigit())
        else:
            if current:
                runs.append(current)
            current = ""
    if current:
        runs.append(current)
    return runs


def heard_again(heard_text: str, values: Sequence[str]) -> bool:
    """True when any of ``values`` occurs, normalised, in ``heard_text``, or any piece of
    one (a name word, a word of an email's local part or domain, 3+ digits of a number:
    :mod:`meetguard.audio.fragments`). A value whose words are all everyday words (the
    verification's hearing of a card as "fine fine for for", its value as heard "for") is
    matched by its pieces only, like any value: "for" anywhere is no leak, and no bleep
    could place it (the 10-minute bench recording was refused on it after its repairs)."""
    from .fragments import everyday, fragments_of, heard_fragment

    if heard_fragment(heard_text, fragments_of(values)):
        return True
    tokens = normalise_tokens(heard_text)
    runs = _digit_runs(normalise_tokens(_spelled_digits(heard_text)))
    for value in values:
        key = _number_key(value)
        if key is not None:
            if any(key in run or _shares_three_digits(key, run) for run in runs):
                return True
            continue
        want = normalise_tokens(value)
        if not want or all(everyday(t) for t in want):   # a value as heard that is only "for" or "it"
            continue                                     # (a digit's homophone, a word beside a value)
        n = len(want)
        if any(tokens[i : i + n] == want for i in range(len(tokens) - n + 1)):
            return True
    return False


def _shares_three_digits(key: str, run: str) -> bool:
    """3+ consecutive digits of a redacted number heard in one run of spoken digits (#23):
    a part of a number given away is a leak, in French words as in English."""
    return any(key[i : i + 3] in run for i in range(len(key) - 2))


_FR_PHONE = re.compile(r"(?:0|33|0033)[1-9]\d{8}")


def _spelled_digits(text: str) -> str:
    """French number words as numerals ("zéro six douze" -> "06 12", "soixante-dix-huit"
    -> "78"; text2num's French mode, every number, "un" too); English ones are read by
    ``_DIGIT_WORDS``."""
    from text_to_num import alpha2digit

    return str(alpha2digit(text, "fr", 0.0))


def _number_key(value: str) -> str | None:
    """The digits a number value is matched by, also when it was said in French words;
    a French phone number by its last nine digits, so "06 ..." and "+33 6 ..." meet."""
    form = value if _is_number(value) else _spelled_digits(value)
    if not _is_number(form):
        return None
    key = "".join(c for c in form if c.isdigit())
    return key[-9:] if _FR_PHONE.fullmatch(key) else key


def _slices(seg: Any, seconds: int = 10) -> Iterator[np.ndarray]:
    """16 kHz mono float32 of ``seg`` in slices, so memory stays bounded."""
    step = seconds * 1000
    for start in range(0, len(seg), step):
        yield to_whisper_input(seg[start : start + step])


def hear_cues(seg: Any, transcriber: Transcriber, prompt: str | None) -> list[Cue]:
    """What the verification decode hears in ``seg`` (a segment or a file path), timed."""
    source = iter_chunks(Path(seg), seconds=10.0) if isinstance(seg, (str, Path)) else _slices(seg)
    independent = accepts_variant(transcriber)
    heard: list[Cue] = []
    for offset, samples in windows(source):
        if independent:
            heard.extend(transcriber.transcribe(samples, prompt=prompt, offset=offset, variant=VERIFY))
        else:  # a backend older than `variant`: its one decode (docs/audio.md)
            heard.extend(transcriber.transcribe(samples, prompt=prompt, offset=offset))
    return heard


def _hear(seg: Any, transcriber: Transcriber, prompt: str | None) -> str:
    return " ".join(c.text for c in hear_cues(seg, transcriber, prompt))


def heard_windows(heard: Sequence[Cue], values: Sequence[str],
                  detector: Callable[[str], Iterable[str]] | None, pad: float) -> list[tuple[float, float]]:
    """Where, in a release heard as ``heard``, the verification decode heard a piece of
    ``values`` or of what ``detector`` finds in a cue or in all the cues joined (padded by
    ``pad``): the words to bleep in a repair (docs/audio.md). Joined, as :func:`check_heard`
    reads them: a name heard across two cues ("Auto" / "Remove the budget", each word in its
    own cue, base's hearing of the 10-minute recording) refused the release with nothing
    placed, so nothing repaired. Only what can be placed by word times; a detector that
    refuses outright (silenced speakers' words) places nothing."""
    from .fragments import fragment_spans, fragments_of

    out: list[tuple[float, float]] = []
    across = _found(detector, " ".join(c.text for c in heard))
    for cue in heard:
        try:
            found = list(detector(cue.text)) if detector is not None else []
            spans = cue.word_offsets()
        except (VerificationError, ValueError):
            continue
        frags = fragments_of([*values, *found, *across])
        for s, e in fragment_spans(cue.text, frags):
            hit = [w for w, (a, b) in zip(cue.words, spans, strict=True) if a < e and b > s]
            if hit:
                out.append((min(w.start for w in hit) - pad, max(w.end for w in hit) + pad))
    return out


def _found(detector: Callable[[str], Iterable[str]] | None, text: str) -> list[str]:
    """What ``detector`` finds in ``text``; nothing when there is none or it refuses outright."""
    try:
        return list(detector(text)) if detector is not None and text else []
    except VerificationError:
        return []


def verify_redacted(
    seg: Any,
    transcriber: Transcriber,
    redacted_values: Sequence[str],
    detector: Callable[[str], Iterable[str]] | None = None,
    *,
    name: str = "audio",
    prompt: str | None = None,
) -> list[Cue]:
    """Raise :class:`VerificationError` if a personal value is heard in ``seg``; else
    return what was heard (timed cues; none when there was nothing to check).

    ``seg`` is an ``AudioSegment``, or the path of a released recording, which
    is then decoded in bounded chunks (a one-hour file is never held whole).
    Without a ``detector`` and with nothing redacted there is nothing to check.
    ``prompt`` primes the verification decode (the roster's names).
    """
    values = [v for v in redacted_values if v and v.strip()]
    if not values and detector is None:
        return []
    cues = hear_cues(seg, transcriber, prompt)
    check_heard(" ".join(c.text for c in cues), values, detector, name)
    return cues


def check_heard(heard: str, values: Sequence[str], detector: Callable[[str], Iterable[str]] | None,
                name: str) -> None:
    """Raise :class:`VerificationError` when ``heard`` holds a piece of ``values`` or
    anything ``detector`` finds (the module doc)."""
    if heard_again(heard, values):
        raise VerificationError(f"a redacted value was heard again in {name}", reason="value_heard_again")
    if detector is not None and any(True for _ in detector(heard)):
        raise VerificationError(f"a personal value the policy removes was heard in the redacted {name}",
                                reason="value_heard")
