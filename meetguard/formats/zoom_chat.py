"""Zoom chat exports: the local ``meeting_saved_chat.txt`` (every layout since
2020, read in :mod:`._zoom_local`; one format ``zoom-chat``) and the cloud
recording chat (``zoom-cloud-chat``: ``HH:MM:SS<tab or space>Name:<tab>text``,
further lines tab-indented or raw, direct messages ``A  to  B(Direct Message)``,
reactions and replies quoting other messages)."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any, Literal

from .._model import ChatMessage, Document, MessageKind, Speaker
from ._base import at_mentions, decode, input_error, sniff_text, split_lines, text_lines
from ._source import Source
from ._zoom_local import is_local_head, one_line, parse_local, quote_of, write_local

__all__ = ["ZoomChat", "ZoomCloudChat"]

_TIME = r"\d{1,2}:\d{2}:\d{2}"
_CLOUD_HEAD = re.compile(rf"({_TIME})([ \t]+)([^\t]+?):\t(.*)")
# A direct message in the cloud chat: "A  to  B(Direct Message)", which some
# versions cut to "A  to  B(Direct".
_CLOUD_DM = re.compile(r"(.+?)([ \t]*\((?:Direct Message\)|Direct|Privately\)))", re.IGNORECASE)
_TO = re.compile(r"([ \t]+)to[ \t]+", re.IGNORECASE)


def _first_line(text: str) -> str:
    for line in split_lines(text):
        if line.strip():
            return line
    return ""


@dataclass(frozen=True)
class ZoomChat:
    name: str = "zoom-chat"
    kind: Literal["chat", "transcript"] = "chat"

    def sniff(self, source: Source) -> bool:
        text = sniff_text(source)
        if text is None:
            return False
        first = _first_line(text)
        return is_local_head(first) and not _CLOUD_HEAD.fullmatch(first)

    def parse(self, source: Source) -> Document:
        return parse_local(source, split_lines(decode(source, source.data)), self.name)

    def write(self, doc: Document) -> dict[str, bytes]:
        return {doc.name: write_local(doc)}


def _src(doc: Document) -> Source:
    return Source(doc.name, {}, doc.container, doc.name)


_REACTION = re.compile(r'Reacted to "(.*)" with (.+)', re.DOTALL)
_REPLY = re.compile(r'Replying to "(.*)"', re.DOTALL)


def _cloud_known(raw: list[tuple[str, str, list[str]]]) -> set[str]:
    """Names that send a public message ("A", "A to Everyone")."""
    known: set[str] = set()
    for _, head, _ in raw:
        cuts = list(_TO.finditer(head))
        if _CLOUD_DM.fullmatch(head):
            continue
        if not cuts:
            known.add(head)
        elif head[cuts[-1].end() :].casefold() == "everyone":
            known.add(head[: cuts[-1].start()])
    return known


def _cloud_head(head: str, known: set[str]) -> tuple[str, str, str, str]:
    """(sender, target or "", the padding around "to", the DM suffix).

    A target of "Everyone" is public; any other target is private.
    """
    dm = _CLOUD_DM.fullmatch(head)
    body = dm.group(1) if dm else head
    cuts = list(_TO.finditer(body))
    if not cuts:
        return head, "", "", ""
    if not dm:
        last = cuts[-1]
        if body[last.end() :].casefold() == "everyone":
            return body[: last.start()], "Everyone", last.group(1), ""
        if not any(body[: m.start()] in known for m in cuts):
            return head, "", "", ""        # a name holding " to "
    cut = next((m for m in cuts if body[: m.start()] in known), cuts[0])
    return body[: cut.start()], body[cut.end() :], cut.group(1), dm.group(2) if dm else ""


def _cloud_sender(item: ChatMessage, dms: dict[int, tuple[str, str]]) -> str:
    sender = one_line(item.sender.label).replace("\t", " ") if item.sender else "Unknown speaker"
    if not item.private:
        if item.index in dms:
            return f"{sender}{dms[item.index][0]}to{dms[item.index][0]}Everyone"
        return sender
    pad, suffix = dms.get(item.index, ("  ", "(Direct Message)"))
    target = one_line(item.recipients[0].label).replace("\t", " ") if item.recipients else "Unknown speaker"
    return f"{sender}{pad}to{pad}{target}{suffix}"


def _cloud_message(i: int, time: str, sender: Speaker, body: list[str],
                   items: list[ChatMessage]) -> ChatMessage:
    first = body[0]
    r = _REACTION.fullmatch(first) if len(body) == 1 else None
    p = _REPLY.fullmatch(first)
    if r:
        return ChatMessage(i, time, sender, r.group(2), kind=MessageKind.REACTION,
                           quote=quote_of(r.group(1), items))
    if p:
        return ChatMessage(i, time, sender, "\n".join(body[1:]), kind=MessageKind.REPLY,
                           quote=quote_of(p.group(1), items))
    return ChatMessage(i, time, sender, "\n".join(body))


@dataclass(frozen=True)
class ZoomCloudChat:
    name: str = "zoom-cloud-chat"
    kind: Literal["chat", "transcript"] = "chat"

    def sniff(self, source: Source) -> bool:
        text = sniff_text(source)
        return text is not None and bool(_CLOUD_HEAD.fullmatch(_first_line(text)))

    def parse(self, source: Source) -> Document:
        lines = split_lines(decode(source, source.data))
        raw: list[tuple[str, str, list[str]]] = []
        sep = "\t"
        for no, line in enumerate(lines, 1):
            m = _CLOUD_HEAD.fullmatch(line)
            if m:
                if not raw:
                    sep = m.group(2)
                raw.append((m.group(1), m.group(3), [m.group(4)]))
            elif not line.strip():
                continue
            elif not raw:
                raise input_error(source, "text before the first message line", no)
            else:
                # A further line of the message: tab-indented, or (replies, pasted
                # text) written raw after a blank line.
                raw[-1][2].append(line.removeprefix("\t"))
        known = _cloud_known(raw)
        items: list[ChatMessage] = []
        dms: dict[int, tuple[str, str]] = {}
        for i, (time, head, body) in enumerate(raw):
            sender, target, pad, suffix = _cloud_head(head, known)
            msg = _cloud_message(i, time, Speaker(sender), body, items)
            if target:
                dms[i] = (pad, suffix)
            if target and target != "Everyone":
                msg = dataclasses.replace(msg, recipients=(Speaker(target),), private=True)
            items.append(msg)
        return Document(source.name, self.name, "chat", tuple(at_mentions(items)),
                        meta={"sep": sep, "dms": dms})

    def write(self, doc: Document) -> dict[str, bytes]:
        meta: dict[str, Any] = doc.meta if isinstance(doc.meta, dict) else {}
        sep = meta.get("sep", "\t") if meta.get("sep") in (" ", "\t") else "\t"
        out: list[str] = []
        for item in doc.items:
            if not isinstance(item, ChatMessage):
                raise input_error(_src(doc), "a Zoom chat holds chat messages only")
            sender = _cloud_sender(item, meta.get("dms", {}))
            q = item.quote
            quoted = one_line(q.text + ("..." if q.truncated else "")) if q else ""
            if item.kind is MessageKind.REACTION:
                out.append(f'{item.time}{sep}{sender}:\tReacted to "{quoted}" with {one_line(item.text)}')
            elif item.kind is MessageKind.REPLY:
                out.append(f'{item.time}{sep}{sender}:\tReplying to "{quoted}"')
                out.extend("\t" + line for line in text_lines(item.text))
            else:
                body = text_lines(item.text)
                out.append(f"{item.time}{sep}{sender}:\t{body[0]}")
                out.extend("\t" + line for line in body[1:])
        return {doc.name: ("\n".join(out) + "\n").encode("utf-8")}
