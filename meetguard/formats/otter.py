"""Otter.ai's text export (``otter``)::

    Ana Diaz  0:03
    Good morning everyone. Thanks for joining.

    Ben Okafor  1:02:15
    Hi Ana.

    Transcribed by https://otter.ai

The same text in a Word document (``.docx``, one paragraph a line) is read
alike and written back as a .docx; a document in any other shape is refused.

A paragraph starts on a line ``<speaker>  <M:SS or H:MM:SS>`` (two spaces or
more before the time) and holds every line up to the next such line; a
paragraph's lines stay one cue. Otter's closing ``Transcribed by`` line is
kept. Text before the first speaker line is an error naming its line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from .._errors import InputError
from .._model import Cue, Document, Speaker
from ._base import input_error, text_lines
from ._docx import docx_lines, is_docx, write_docx
from ._paragraphs import clock, first_lines, hms, lines_of, only_cues
from ._source import Source

__all__ = ["Otter"]

_HEAD = re.compile(r"(\S(?:.{0,80}?\S)?)[ \t]{2,}(\d{1,3}:\d{2}(?::\d{2})?)[ \t]*")
_FOOTER = re.compile(r"Transcribed by https://otter\.ai.*", re.IGNORECASE)


def _head(line: str) -> tuple[str, float] | None:
    m = _HEAD.fullmatch(line)
    if m is None:
        return None
    at = clock(m.group(2))
    return (m.group(1), at) if at is not None else None


@dataclass(frozen=True)
class Otter:
    name: str = "otter"
    kind: Literal["chat", "transcript"] = "transcript"

    def sniff(self, source: Source) -> bool:
        head = first_lines(source, 3)
        if is_docx(source):
            try:
                head = [line.strip() for line in docx_lines(source) if line.strip()][:3]
            except InputError:
                return False
        return len(head) >= 2 and _head(head[0]) is not None and _head(head[1]) is None

    def parse(self, source: Source) -> Document:
        raw: list[tuple[str, float, list[str]]] = []
        footer = ""
        for no, line in enumerate(docx_lines(source) if is_docx(source) else lines_of(source), 1):
            found = _head(line.rstrip())
            if found is not None:
                raw.append((found[0], found[1], []))
            elif not line.strip():
                if raw:
                    raw[-1][2].append("")
            elif _FOOTER.fullmatch(line.strip()):
                footer = line.strip()
            elif not raw:
                raise input_error(source, "text before the first speaker line", no)
            else:
                raw[-1][2].append(line.rstrip())
        items = []
        for i, (who, at, body) in enumerate(raw):
            end = raw[i + 1][1] if i + 1 < len(raw) else at
            text = "\n".join(body).strip("\n")
            items.append(Cue(i, at, max(at, end), Speaker(who), text))
        return Document(source.name, self.name, "transcript", tuple(items), meta={"footer": footer})

    def write(self, doc: Document) -> dict[str, bytes]:
        meta: dict[str, Any] = doc.meta if isinstance(doc.meta, dict) else {}
        out: list[str] = []
        for cue in only_cues(doc, "an Otter transcript"):
            label = " ".join(cue.speaker.label.split()) if cue.speaker is not None else ""
            out.append(f"{label or 'Unknown speaker'}  {hms(cue.start, short=True)}")
            # a text line never reads as a speaker line or as Otter's closing line
            for line in text_lines(cue.text):
                bad = _head(line.rstrip()) is not None or _FOOTER.fullmatch(line.strip())
                out.append(" ".join(line.split()) if bad else line.rstrip())
            out.append("")
        if meta.get("footer"):
            out += [str(meta["footer"]), ""]
        if doc.container == "zip":
            return {doc.name: write_docx(out)}
        return {doc.name: "\n".join(out).encode("utf-8")}
