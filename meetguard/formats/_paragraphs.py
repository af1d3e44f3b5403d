"""Pieces shared by the paragraph transcripts (Google Meet, Otter, Zoom captions):
clock times, plausible speaker labels, and reading a file to its lines."""

from __future__ import annotations

import re

from .._model import Cue, Document
from .._wordlists import words
from ._base import decode, input_error, sniff_text, split_lines
from ._source import Source

__all__ = ["clock", "first_lines", "hms", "lines_of", "only_cues", "plausible_label"]

_CLOCK = re.compile(r"(?:(\d{1,3}):)?(\d{1,2}):(\d{2})")
# Characters a display name does not hold but a sentence does ("Note: see below.").
_SENTENCE = re.compile(r"[.!?;\"“”]\s|[!?;]$|https?://")
# Words that open a heading or a sentence with a colon ("Note:", "Action items:").
_NOT_NAMES = words("webvtt_not_names")


def clock(value: str) -> float | None:
    """Seconds of ``H:MM:SS`` or ``M:SS``, or None."""
    m = _CLOCK.fullmatch(value.strip())
    if m is None:
        return None
    h, mi, s = m.groups()
    if int(s) > 59 or (h is not None and int(mi) > 59):
        return None
    return int(h or 0) * 3600 + int(mi) * 60 + int(s)


def hms(seconds: float, short: bool = False) -> str:
    """``HH:MM:SS``; with ``short``, Otter's ``M:SS`` under an hour and ``H:MM:SS`` after."""
    total = max(0, round(seconds))
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    if short:
        return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"
    return f"{h:02d}:{m:02d}:{s:02d}"


def plausible_label(prefix: str) -> bool:
    """Whether ``Prefix`` in ``Prefix: text`` reads as a display name, not a sentence."""
    parts = prefix.split()
    if any(p.casefold().strip(",") in _NOT_NAMES for p in parts):
        return False
    return 1 <= len(parts) <= 6 and prefix == prefix.strip() and len(prefix) <= 80 and not _SENTENCE.search(
        prefix) and any(ch.isalpha() for ch in prefix)


def lines_of(source: Source) -> list[str]:
    return split_lines(decode(source, source.data))


def first_lines(source: Source, count: int = 12) -> list[str]:
    """The first non-blank lines of a single-file text source (stripped), for sniffing."""
    text = sniff_text(source)
    if text is None:
        return []
    out = [line.strip() for line in split_lines(text) if line.strip()]
    return out[:count]


def only_cues(doc: Document, what: str) -> list[Cue]:
    cues: list[Cue] = []
    for item in doc.items:
        if not isinstance(item, Cue):
            raise input_error(Source(doc.name, {}, path=doc.name), f"{what} holds transcript paragraphs only")
        cues.append(item)
    return cues
