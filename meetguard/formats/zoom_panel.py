"""Text copied from Zoom's in-meeting chat panel (``zoom-chat-panel``).

Selecting the messages in the chat panel and copying them gives one header
line per message, the clock of the copier's client at the end (12-hour with
AM/PM, or 24-hour), and the message's own lines raw below it. Two shapes are
read, as people have pasted them:

* the client of 2020-2022 ("From")::

      From Ana Diaz to Everyone 10:48 AM
      From Ana Diaz to Everyone:  10:48 AM
      From Ben Okafor to Me:  (Direct Message) 09:59 AM

* the chat panel since 2022 (two spaces around "to")::

      Ana Diaz  to  Everyone 3:00 PM
      You  to  Ben Okafor (Direct Message) 4:06 PM
      Team Lead  to  You (direct message) 13:41

Any target but Everyone makes the message private (its recipient is the
target, "Me" and "You" included: the copier). A line that could start a
message without naming its target (``Ben Okafor 4:34 PM``, as the newer panel
writes a message grouped under the one above) cannot be told from message
text, so a file in that shape holding such a line is refused naming it; so
is text before the first header (but for the panel's day separator above the
first message, ``Today``, ``Yesterday``, a weekday or a date, kept), and a header whose sender cannot be told
from its target. The writer writes the shape it read; a line of message text
that would read as a header is written in parentheses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from .._model import ChatMessage, Document, Speaker
from ._base import at_mentions, decode, input_error, sniff_text, split_lines, text_lines
from ._source import Source

__all__ = ["ZoomChatPanel"]

_CLOCK = r"(?:1[0-2]|0?[1-9]):[0-5]\d[ \u202f]?[AaPp][Mm]|(?:[01]?\d|2[0-3]):[0-5]\d"
_DM = r"\((?:Direct Message|Privately)\)"
# "From A to B[:][  (Direct Message)] 10:48 AM"
_FROM = re.compile(rf"From (?P<who>.+?)(?P<colon>:?)(?P<gap>[ \t]+)(?:(?P<dm>{_DM})[ \t]+)?(?P<time>{_CLOCK})[ \t]*",
                   re.IGNORECASE)
# "A  to  B[ (Direct Message)] 3:00 PM"
_BARE = re.compile(rf"(?P<who>\S.*?  to  .+?)(?:[ \t]+(?P<dm>{_DM}))?[ \t]+(?P<time>{_CLOCK})[ \t]*",
                   re.IGNORECASE)
# A sender and a clock alone: a grouped message of the newer panel, or text.
_LONE = re.compile(rf"\S.{{0,120}}?[ \t]+(?:{_CLOCK})[ \t]*")
_PUBLIC_OR_COPIER = ("everyone", "me", "you")
_GROUPS = frozenset(["hosts and panelists", "panelists", "hosts", "host", "co-hosts", "waiting room"])


@dataclass
class _Head:
    time: str
    who: str          # "A to B" as written
    shape: str        # "from" or "bare"
    colon: str
    gap: str
    dm: str
    body: list[str]


def _head(line: str) -> _Head | None:
    m = _FROM.fullmatch(line)
    if m and " to " in m.group("who"):
        return _Head(m.group("time"), m.group("who"), "from", m.group("colon"), m.group("gap"),
                     m.group("dm") or "", [])
    b = _BARE.fullmatch(line)
    if b:
        return _Head(b.group("time"), b.group("who"), "bare", "", " ", b.group("dm") or "", [])
    return None


def _split(who: str, shape: str, known: set[str]) -> tuple[str, str] | None:
    """(sender, target); None when more than one cut is possible and no name decides."""
    sep = "  to  " if shape == "bare" else " to "
    cuts = [m.start() for m in re.finditer(re.escape(sep), who)]
    pairs = [(who[:c].strip(), who[c + len(sep):].strip()) for c in cuts]
    pairs = [(s, t) for s, t in pairs if s and t]
    if len(pairs) == 1:
        return pairs[0]
    fits = [(s, t) for s, t in pairs if t.casefold() in _PUBLIC_OR_COPIER or s in known]
    return fits[0] if len(fits) == 1 else None


# The panel's day separator above the first message ("Today", "Yesterday", a weekday or a date).
_DAY = re.compile(r"Today|Yesterday|(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day"
                  r"|[A-Z][a-z]{2,8}\.? \d{1,2}(?:, \d{4})?|\d{4}-\d{2}-\d{2}")


def _scan(source: Source, lines: list[str], days: list[str]) -> list[_Head]:
    heads: list[_Head] = []
    for no, raw in enumerate(lines, 1):
        line = raw.rstrip()
        found = _head(line)
        if found is not None:
            heads.append(found)
        elif not line.strip() and not heads:
            continue
        elif not heads and _DAY.fullmatch(line.strip()):
            days.append(line.strip())                       # kept, written back first
        elif not heads:
            raise input_error(source, "text before the first message header", no)
        elif heads[0].shape == "bare" and _LONE.fullmatch(line) and not line[:1].isspace():
            raise input_error(source, "a line that may start a message without its target", no)
        else:
            heads[-1].body.append(line)
    return heads


def _known(heads: list[_Head]) -> set[str]:
    """Senders beyond doubt: the only cut, or the cut before Everyone, Me or You."""
    out: set[str] = set()
    for h in heads:
        sep = "  to  " if h.shape == "bare" else " to "
        sender, _, target = h.who.rpartition(sep)
        if h.who.count(sep) == 1 or target.strip().casefold() in _PUBLIC_OR_COPIER:
            out.add(sender.strip())
    return out


def _parse(source: Source) -> Document:
    days: list[str] = []
    heads = _scan(source, split_lines(decode(source, source.data)), days)
    known = _known(heads)
    items: list[ChatMessage] = []
    per_item: dict[int, dict[str, str]] = {}
    for i, h in enumerate(heads):
        split = _split(h.who, h.shape, known)
        if split is None:
            raise input_error(source, f"message {i + 1}: its sender cannot be told from its target")
        sender, target = split
        while h.body and not h.body[-1].strip():
            h.body.pop()
        private = target.casefold() != "everyone"
        recipients = (Speaker(target),) if private and target.casefold() not in _GROUPS else ()
        items.append(ChatMessage(i, h.time, Speaker(sender), "\n".join(h.body), recipients, private))
        per_item[i] = {"target": "" if recipients else target, "colon": h.colon, "gap": h.gap, "dm": h.dm}
    shape = heads[0].shape if heads else "from"
    return Document(source.name, "zoom-chat-panel", "chat", tuple(at_mentions(items)),
                    meta={"shape": shape, "items": per_item, "day": days[0] if days else ""})


def _one(text: str) -> str:
    return " ".join(text.split()) or "Unknown speaker"


def _header(item: ChatMessage, info: dict[str, str], shape: str) -> str:
    sender = _one(item.sender.label) if item.sender else "Unknown speaker"
    if item.recipients:
        target = _one(item.recipients[0].label)
    else:
        target = _one(info.get("target", "")) if item.private else "Everyone"
        target = "Unknown speaker" if item.private and target.casefold() == "everyone" else target
    dm = info.get("dm", "") if item.private else ""
    if shape == "bare":
        return f"{sender}  to  {target}{' ' + dm if dm else ''} {item.time}"
    gap = info.get("gap", " ")
    return f"From {sender} to {target}{info.get('colon', '')}{gap}{dm + ' ' if dm else ''}{item.time}"


def _write(doc: Document) -> bytes:
    meta: dict[str, Any] = doc.meta if isinstance(doc.meta, dict) else {}
    shape = "bare" if meta.get("shape") == "bare" else "from"
    per_item: dict[int, dict[str, str]] = meta.get("items", {})
    day = str(meta.get("day", ""))
    out: list[str] = [day, ""] if _DAY.fullmatch(day) else []
    for item in doc.items:
        if not isinstance(item, ChatMessage):
            raise input_error(Source(doc.name, {}, doc.container, doc.name), "a Zoom chat holds chat messages only")
        out.append(_header(item, per_item.get(item.index, {}), shape))
        for line in text_lines(item.text):
            # a text line never reads as a header (nor as a message without its target)
            lone = shape == "bare" and _LONE.fullmatch(line.rstrip()) and not line[:1].isspace()
            out.append(f"({line.strip()})" if _head(line.rstrip()) or lone else line)
    return ("\n".join(out) + "\n").encode("utf-8")


@dataclass(frozen=True)
class ZoomChatPanel:
    name: str = "zoom-chat-panel"
    kind: Literal["chat", "transcript"] = "chat"

    def sniff(self, source: Source) -> bool:
        text = sniff_text(source)
        if text is None:
            return False
        lines = [line.rstrip() for line in split_lines(text) if line.strip()]
        first = next((line for line in lines if not _DAY.fullmatch(line.strip())), "")
        return _head(first) is not None

    def parse(self, source: Source) -> Document:
        return _parse(source)

    def write(self, doc: Document) -> dict[str, bytes]:
        return {doc.name: _write(doc)}
