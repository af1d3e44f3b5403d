"""Zoom's saved closed captions (``zoom-captions``), ``meeting_saved_closed_caption.txt``::

    [Ana Diaz] 10:02:33
    Good morning everyone

    [Ben Okafor] 10:02:40
    Hi Ana

A caption starts on ``[<speaker>] HH:MM:SS`` (the time of day) and holds the
lines up to the next such line. Text before the first caption line is an
error naming its line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from .._model import Cue, Document, Speaker
from ._base import input_error, text_lines
from ._paragraphs import clock, first_lines, hms, lines_of, only_cues
from ._source import Source

__all__ = ["ZoomCaptions"]

# "[Name] HH:MM:SS"; "[[PERSON_1]] ..." is a square pseudonym token as the writer keeps it.
_HEAD = re.compile(r"\[(\[[^\[\]\n]{1,200}\]|[^\[\]\n]{1,200})\][ \t]+(\d{1,2}:\d{2}:\d{2})[ \t]*")
_BRACKETED = re.compile(r"\[[^\[\]\n]{1,200}\]")


def _head(line: str) -> tuple[str, float] | None:
    m = _HEAD.fullmatch(line)
    if m is None:
        return None
    at = clock(m.group(2))
    return (m.group(1).strip(), at) if at is not None else None


@dataclass(frozen=True)
class ZoomCaptions:
    name: str = "zoom-captions"
    kind: Literal["chat", "transcript"] = "transcript"

    def sniff(self, source: Source) -> bool:
        head = first_lines(source, 1)
        return bool(head) and _head(head[0]) is not None

    def parse(self, source: Source) -> Document:
        raw: list[tuple[str, float, list[str]]] = []
        for no, line in enumerate(lines_of(source), 1):
            found = _head(line.strip())
            if found is not None:
                raw.append((found[0], found[1], []))
            elif not line.strip():
                continue
            elif not raw:
                raise input_error(source, "text before the first caption line", no)
            else:
                raw[-1][2].append(line.rstrip())
        items = [Cue(i, at, at, Speaker(who), "\n".join(body)) for i, (who, at, body) in enumerate(raw)]
        return Document(source.name, self.name, "transcript", tuple(items))

    def write(self, doc: Document) -> dict[str, bytes]:
        out: list[str] = []
        for cue in only_cues(doc, "a Zoom captions file"):
            label = cue.speaker.label if cue.speaker else ""
            if not _BRACKETED.fullmatch(label):
                label = " ".join(label.replace("[", " ").replace("]", " ").split())
            out.append(f"[{label or 'Unknown speaker'}] {hms(cue.start)}")
            for line in text_lines(cue.text):
                if line.strip():
                    # a text line never reads as a caption line
                    out.append(f"({line.strip()})" if _head(line.strip()) else line.rstrip())
            out.append("")
        return {doc.name: "\n".join(out).encode("utf-8")}
