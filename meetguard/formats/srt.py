"""SubRip (``srt``): numbered blocks, ``HH:MM:SS,mmm`` timings, no speakers.

Read as the ``srt`` library reads it: the cue number is optional, a timing
may use ``,`` ``.`` or ``:`` before the milliseconds (or none), ``- >`` is an
arrow too, lines of only spaces or tabs belong to the cue, and a cue ends at
an empty line. Unlike ``srt``, a timing line (or a number followed by one)
always starts a new cue, even with no empty line before it: cue text never
swallows the next cue. Anything else outside a cue is an error naming its line.

Basic formatting tags (``<i> <b> <u> <font ...>``) are stripped on parse; the
writer numbers the cues 1..n again (dropped cues leave no gaps).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Literal

from .._model import Cue, Document, Speaker
from ._base import decode, input_error, sniff_text, split_lines, text_lines
from ._source import Source
from .webvtt import caption_labels, caption_line, format_time, plausible_prefixes

__all__ = ["SRT"]

_NUMBER = re.compile(r"[ \t]*-?\d{1,9}(?:\.\d{0,9})?[ \t]*")
_DELIM = "[,.:，．。：]"
_TS = rf"(\d{{1,9}}){_DELIM}(\d{{1,2}}){_DELIM}(\d{{1,2}})(?:{_DELIM}(\d{{0,3}}))?"
_TIMING = re.compile(rf"[ \t]*{_TS} *-[ -] *> *{_TS}(?:[ \t].*)?")
_STRAY_CR = re.compile(r"\r+\n")
_FORMAT_TAG = re.compile(r"</?(?:[ibu]|font(?:[ \t][^<>\n]*)?)>", re.IGNORECASE)


def _seconds(h: str, m: str, s: str, ms: str | None) -> float:
    return int(h) * 3600 + int(m) * 60 + int(s) + int((ms or "").ljust(3, "0")) / 1000


def _no_timing(label: str) -> str:
    """A label as written in a caption line: on one line, never an arrow."""
    return " ".join(label.replace("-->", " ").split())


def _starts_cue(lines: list[str], j: int) -> bool:
    """Whether line ``j`` opens a cue: a timing, or a number right before one."""
    if _TIMING.fullmatch(lines[j]):
        return True
    return bool(_NUMBER.fullmatch(lines[j])) and j + 1 < len(lines) and bool(_TIMING.fullmatch(lines[j + 1]))


@dataclass(frozen=True)
class SRT:
    name: str = "srt"
    kind: Literal["chat", "transcript"] = "transcript"

    def sniff(self, source: Source) -> bool:
        text = sniff_text(source)
        if text is None:
            return False
        lines = [line for line in split_lines(text)[:8] if line.strip()]
        if lines and _TIMING.fullmatch(lines[0]):
            return True
        return len(lines) >= 2 and bool(_NUMBER.fullmatch(lines[0])) and bool(_TIMING.fullmatch(lines[1]))

    def parse(self, source: Source) -> Document:
        # "\r\r\n" (a stray CR before CRLF) is one line end, as `srt` reads it
        lines = split_lines(_STRAY_CR.sub("\n", decode(source, source.data)))
        items: list[Cue] = []
        forms: dict[int, str] = {}
        i = 0
        while i < len(lines):
            if not lines[i].strip():
                i += 1
                continue
            no = i + 1
            if _NUMBER.fullmatch(lines[i]) and i + 1 < len(lines) and _TIMING.fullmatch(lines[i + 1]):
                i += 1
            m = _TIMING.fullmatch(lines[i])
            if not m:
                raise input_error(source, "expected a cue number or a cue timing", no)
            j = i + 1
            body: list[str] = []
            while j < len(lines) and lines[j] != "" and not _starts_cue(lines, j):
                body.append(lines[j])
                j += 1
            text = _FORMAT_TAG.sub("", "\n".join(b for b in body if b.strip()))
            g = m.groups()
            start, end = _seconds(*g[:4]), _seconds(*g[4:])
            segments, _ = caption_labels(text)
            for label, part, form in segments:
                if form:
                    forms[len(items)] = form
                items.append(Cue(len(items), start, end, Speaker(label) if label else None, part,
                                 ident=str(len(items) + 1)))
            i = j
        items = _prefixed(items, forms)
        return Document(source.name, self.name, "transcript", tuple(items), meta={"forms": forms})

    def write(self, doc: Document) -> dict[str, bytes]:
        meta = doc.meta if isinstance(doc.meta, dict) else {}
        forms: dict[int, str] = meta.get("forms", {})
        parts: list[str] = []
        for n, item in enumerate(doc.items, 1):
            if not isinstance(item, Cue):
                raise input_error(Source(doc.name, {}, path=doc.name), "an SRT file holds cues only")
            # a text line never reads as a timing: it would start a cue of its own
            text = "\n".join(line.replace("-->", "->") if _TIMING.fullmatch(line) else line
                             for line in text_lines(item.text) if line.strip())
            label = " ".join(item.speaker.label.split()) if item.speaker is not None else None
            form = forms.get(item.index, "[]" if label is not None else "")
            if form:
                text = caption_line(label, text, form, _no_timing)
            start, end = format_time(item.start, ","), format_time(max(item.end, item.start), ",")
            parts += [str(n), f"{start} --> {end}"] + ([text] if text else []) + [""]
        return {doc.name: "\n".join(parts).encode("utf-8")}


def _prefixed(items: list[Cue], forms: dict[int, str]) -> list[Cue]:
    """Cues without a caption label whose text starts ``Name: `` (Otter's SubRip
    with speaker names; Zoom's) are that speaker's, as in WebVTT files without
    voices; a cue without one stays nobody's, never the previous speaker's."""
    bare = [c for c in items if c.speaker is None and c.index not in forms]
    found = plausible_prefixes([c.text for c in bare])
    out = list(items)
    for cue, prefix in zip(bare, found, strict=True):
        if prefix is not None:
            out[cue.index] = dataclasses.replace(cue, speaker=Speaker(prefix), text=cue.text[len(prefix) + 2 :])
            forms[cue.index] = ":"
    return out
