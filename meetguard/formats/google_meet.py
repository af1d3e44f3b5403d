"""Google Meet: the transcript a meeting saves to Google Docs, exported as text
(``google-meet``), and the chat saved with a recording (``google-meet-chat``).

Transcript::

    Jan 15, 2024
    Weekly sync - Transcript
    00:00:00
    Ana Diaz: Good morning everyone.
    Ben Okafor: Hi Ana.
    00:05:00
    Ana Diaz: ...
    Transcription ended after 00:07:12
    This editable transcript was computer generated and might contain errors. ...

(older exports: ``<title>``, ``Attendees``, ``<names, comma-separated>``,
``Transcript``, then the paragraphs).

One cue per paragraph; ``Name: text`` names its speaker when the name is an
attendee or reads as a display name (never a sentence: ``Note: see below.``
stays text), any other paragraph is an unknown speaker's, never the one
before. A cue starts at the latest time mark. The title and the attendee list
are free text outside every paragraph: the writer writes a fixed title and the
speakers of the paragraphs it writes as attendees; the date line, the time
marks and Meet's two fixed closing lines are kept. Anything else before the
first paragraph is an error naming its line.

Chat (SubViewer-like blocks)::

    0:00:05.123,0:00:05.123
    Ana Diaz : hello everyone

One message per block: its timing line, then ``Name : text`` (or ``Name:
text``, as a README quoting Meet's file shows it), further lines of the message
below; the writer keeps the form the file's first message used. Meet has no
private chat messages.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any, Literal

from .._errors import InputError
from .._model import ChatMessage, Cue, Document, Speaker
from ._base import at_mentions, input_error, text_lines
from ._docx import docx_lines, is_docx, write_docx
from ._paragraphs import clock, first_lines, hms, lines_of, only_cues, plausible_label
from ._source import Source

__all__ = ["GoogleMeet", "GoogleMeetChat"]

_MARK = re.compile(r"\d{1,2}:\d{2}:\d{2}")
_ENDED = re.compile(r"Transcription ended after \d{1,2}:\d{2}:\d{2}")
_NOTICE = re.compile(r"This editable transcript was computer generated and might contain errors\..{0,200}")
_DATE = re.compile(r"[A-Z][a-z]{2,8}\.? \d{1,2}, \d{4}|\d{4}-\d{2}-\d{2}|\d{1,2} [A-Z][a-z]{2,8}\.? \d{4}")
_TITLE = "Meeting - Transcript"


def _attendees(text: str) -> list[str]:
    return [n.strip() for n in text.split(",") if n.strip()]


def _preamble(source: Source, lines: list[str]) -> tuple[int, list[str], str, bool]:
    """(index of the last preamble line, attendee names, the date line, whether an
    Attendees block was read).

    ``[date]`` ``<title> - Transcript`` (Docs today), or ``<title>`` ``Attendees``
    ``<names>`` ``Transcript`` (older exports); anything else is an error.
    """
    seen = [(no, line.strip()) for no, line in enumerate(lines) if line.strip()]
    date = ""
    if seen and _DATE.fullmatch(seen[0][1]):
        date, seen = seen[0][1], seen[1:]
    if not seen:
        raise input_error(source, "no title line")
    if seen[0][1].endswith("- Transcript") and (len(seen) < 2 or seen[1][1] != "Attendees"):
        return seen[0][0], [], date, False
    names: list[str] = []
    state = "title"
    for no, line in seen[1:]:
        if line == "Transcript" and state == "attendees":
            return no, names, date, True
        if line == "Attendees" and state == "title":
            state = "attendees"
        elif state == "attendees":
            names += _attendees(line)
        else:
            raise input_error(source, "expected 'Attendees' or 'Transcript' after the title", no + 1)
    raise input_error(source, "no 'Transcript' line after the title")


def _paragraph(line: str, names: set[str]) -> tuple[str | None, str]:
    at = line.find(": ")
    if at > 0:
        prefix = line[:at]
        if prefix in names or plausible_label(prefix):
            return prefix, line[at + 2 :]
    return None, line


def _unglue(items: list[Cue], names: set[str]) -> list[Cue]:
    """Split a paragraph where the next speaker's label is glued to its last word.

    Docs exports lose a paragraph break now and then (``... you wanted to
    sayKai Chen: Uh yeah.``, ``Okay.Gajinder Singh: So ...``). The words after
    a label of a speaker of this transcript (or an attendee) glued to a
    non-space character are that speaker's, never the one before: they start
    a paragraph of their own at the same time mark.
    """
    known = names | {c.speaker.label for c in items if c.speaker is not None}
    if not known:
        return items
    alternatives = "|".join(re.escape(n) for n in sorted(known, key=len, reverse=True))
    glued = re.compile(rf"(?<=\S)({alternatives}): ")
    out: list[Cue] = []
    for cue in items:
        cuts = list(glued.finditer(cue.text))
        if not cuts:
            out.append(cue)
            continue
        out.append(dataclasses.replace(cue, text=cue.text[: cuts[0].start()]))
        for k, m in enumerate(cuts):
            end = cuts[k + 1].start() if k + 1 < len(cuts) else len(cue.text)
            out.append(Cue(0, cue.start, cue.end, Speaker(m.group(1)), cue.text[m.end() : end]))
    return [dataclasses.replace(c, index=i) for i, c in enumerate(out)]


@dataclass(frozen=True)
class GoogleMeet:
    name: str = "google-meet"
    kind: Literal["chat", "transcript"] = "transcript"

    def sniff(self, source: Source) -> bool:
        head = first_lines(source)
        if is_docx(source):
            try:
                head = [line.strip() for line in docx_lines(source) if line.strip()][:12]
            except InputError:
                return False
        if head and _DATE.fullmatch(head[0]):
            head = head[1:]
        if len(head) >= 2 and head[0].endswith("- Transcript") and head[1] != "Attendees":
            return bool(_MARK.fullmatch(head[1])) or _paragraph(head[1], set())[0] is not None
        if "Transcript" not in head[1:]:
            return False
        before = head[1 : head.index("Transcript", 1)]
        return bool(before) and before[0] == "Attendees"

    def parse(self, source: Source) -> Document:
        lines = docx_lines(source) if is_docx(source) else lines_of(source)
        start, attendees, date, block = _preamble(source, lines)
        names = set(attendees)
        items: list[Cue] = []
        at: float = 0.0
        meta: dict[str, Any] = {"marks": False, "notice": "", "notice_first": False, "ended": "",
                                "date": date, "attendees": block}
        for line in lines[start + 1 :]:
            text = line.strip()
            if not text:
                continue
            if _MARK.fullmatch(text):
                at, meta["marks"] = clock(text) or 0.0, True
            elif _NOTICE.fullmatch(text):
                meta["notice"], meta["notice_first"] = text, not items
            elif _ENDED.fullmatch(text):
                meta["ended"] = text
            else:
                who, said = _paragraph(text, names)
                items.append(Cue(len(items), at, at, Speaker(who) if who else None, said))
        return Document(source.name, self.name, "transcript", tuple(_unglue(items, names)), meta=meta)

    def write(self, doc: Document) -> dict[str, bytes]:
        meta: dict[str, Any] = doc.meta if isinstance(doc.meta, dict) else {}
        cues = only_cues(doc, "a Google Meet transcript")
        out = [str(meta["date"])] if _DATE.fullmatch(str(meta.get("date", ""))) else []
        if meta.get("attendees"):
            speakers = list(dict.fromkeys(label for label in map(_label, cues) if label is not None))
            out += ["Meeting", "Attendees", ", ".join(speakers) or "-", "Transcript"]
        else:
            out.append(_TITLE)
        notice = str(meta.get("notice", ""))
        if notice and meta.get("notice_first"):
            out.append(notice)
        last: float | None = None
        for cue in cues:
            if meta.get("marks", True) and cue.start != last:
                out.append(hms(cue.start))
                last = cue.start
            out.append(_line(cue))
        out += [str(meta[k]) for k in ("ended",) if meta.get(k)]
        if notice and not meta.get("notice_first"):
            out.append(notice)
        if doc.container == "zip":
            return {doc.name: write_docx(out)}
        return {doc.name: ("\n".join(out) + "\n").encode("utf-8")}


def _label(cue: Cue) -> str | None:
    if cue.speaker is None:
        return None
    return " ".join(cue.speaker.label.replace(":", " ").split()) or "Unknown speaker"


def _line(cue: Cue) -> str:
    """One paragraph on one line; an unknown speaker's text never reads as a label or a mark."""
    text = " ".join(line.strip() for line in text_lines(cue.text) if line.strip())
    label = _label(cue)
    if label is not None:
        return f"{label}: {text}"
    if (_paragraph(text, set())[0] is not None or not text
            or any(p.fullmatch(text) for p in (_MARK, _ENDED, _NOTICE, _DATE))):
        return f"Unknown speaker: {text}"
    return text


_CHAT_TIMING = re.compile(r"\d{1,2}:\d{2}:\d{2}\.\d{3},\d{1,2}:\d{2}:\d{2}\.\d{3}")


def _chat_blocks(source: Source, lines: list[str]) -> list[tuple[int, list[str]]]:
    blocks: list[tuple[int, list[str]]] = []
    for no, line in enumerate(lines, 1):
        if _CHAT_TIMING.fullmatch(line.rstrip()):
            blocks.append((no, [line.rstrip()]))
        elif not line.strip():
            continue
        elif not blocks:
            raise input_error(source, "expected a timing line", no)
        else:
            blocks[-1][1].append(line)
    return blocks


@dataclass(frozen=True)
class GoogleMeetChat:
    name: str = "google-meet-chat"
    kind: Literal["chat", "transcript"] = "chat"

    def sniff(self, source: Source) -> bool:
        head = first_lines(source, 2)
        return len(head) == 2 and bool(_CHAT_TIMING.fullmatch(head[0])) and head[1].find(": ") > 0

    def parse(self, source: Source) -> Document:
        items: list[ChatMessage] = []
        seps: list[str] = []
        for no, block in _chat_blocks(source, lines_of(source)):
            first = block[1] if len(block) > 1 else ""
            at = first.find(": ")                 # "Name : text", or "Name: text"
            if at <= 0 or not first[:at].strip():
                raise input_error(source, "message without 'Name : ' after its timing", no + 1)
            seps.append(" : " if first[at - 1] == " " else ": ")
            text = "\n".join([first[at + 2 :], *block[2:]])
            items.append(ChatMessage(len(items), block[0], Speaker(first[:at].strip()), text))
        return Document(source.name, self.name, "chat", tuple(at_mentions(items)),
                        meta={"sep": seps[0] if seps else " : "})

    def write(self, doc: Document) -> dict[str, bytes]:
        meta: dict[str, Any] = doc.meta if isinstance(doc.meta, dict) else {}
        sep = ": " if meta.get("sep") == ": " else " : "
        out: list[str] = []
        for item in doc.items:
            if not isinstance(item, ChatMessage):
                raise input_error(Source(doc.name, {}, path=doc.name), "a Google Meet chat holds chat messages only")
            sender = " ".join(item.sender.label.replace(":", " ").split()) if item.sender else ""
            body = [line for line in text_lines(item.text) if line.strip()] or [""]
            # a body line never reads as a timing: it would start a message of its own
            body = [f" {line}" if _CHAT_TIMING.fullmatch(line.rstrip()) else line for line in body]
            time = item.time if _CHAT_TIMING.fullmatch(item.time) else "0:00:00.000,0:00:00.000"
            out += [time, f"{sender or 'Unknown speaker'}{sep}{body[0]}", *body[1:], ""]
        return {doc.name: "\n".join(out).encode("utf-8")}
