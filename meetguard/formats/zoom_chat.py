"""Zoom chat exports: the local ``meeting_saved_chat.txt`` (current and older
layouts, one format ``zoom-chat``) and the cloud recording chat
(``zoom-cloud-chat``, with reactions and replies)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from .._model import ChatMessage, Document, MessageKind, Quote, Speaker
from ._base import decode, input_error, sniff_text, split_lines, text_lines
from ._source import Source

__all__ = ["ZoomChat", "ZoomCloudChat"]

_TIME = r"\d{1,2}:\d{2}:\d{2}"
_CURRENT_HEAD = re.compile(rf"({_TIME}) From (.+):[ \t]*")
_OLD_HEAD = re.compile(rf"({_TIME})\t From  (.*)")
_CLOUD_HEAD = re.compile(rf"({_TIME})\t([^\t]+?):\t(.*)")
_DM_SUFFIXES = ("(Direct Message)", "(Privately)", "(privately)", "(direct message)")
_PUBLIC_TARGETS = ("Everyone",)


def _one_line(text: str) -> str:
    return " ".join(text.replace("\r", "\n").split("\n"))


def _first_line(text: str) -> str:
    for line in split_lines(text):
        if line.strip():
            return line
    return ""


def _split_target(head: str, known: set[str]) -> tuple[str, str] | None:
    """Split "<name> to <target>" where both may contain " to "; prefer known senders."""
    positions = [m.start() for m, _ in zip(re.finditer(" to ", head), range(20))]
    if not positions:
        return None
    for pos in positions:
        if head[:pos] in known:
            return head[:pos], head[pos + 4 :]
    for pos in positions:
        target = head[pos + 4 :]
        for suffix in _DM_SUFFIXES:
            if target.endswith(suffix) and target[: -len(suffix)] in known:
                return head[:pos], target
    return head[: positions[0]], head[positions[0] + 4 :]


def _target_parts(target: str) -> tuple[bool, tuple[Speaker, ...], str]:
    """(private, recipients, suffix) for a Zoom target."""
    for suffix in _DM_SUFFIXES:
        if target.endswith(suffix):
            name = target[: -len(suffix)].rstrip()
            return True, (Speaker(name),), suffix
    if target.startswith(_PUBLIC_TARGETS):
        return False, (), ""
    # "Hosts and panelists", "Waiting Room": not everyone -> private (fail closed).
    return True, (), ""


@dataclass(frozen=True)
class ZoomChat:
    name: str = "zoom-chat"
    kind: Literal["chat", "transcript"] = "chat"

    def sniff(self, source: Source) -> bool:
        text = sniff_text(source)
        if text is None:
            return False
        first = _first_line(text)
        return bool(_CURRENT_HEAD.fullmatch(first) and " to " in first) or bool(
            _OLD_HEAD.fullmatch(first) and " : " in first
        )

    def parse(self, source: Source) -> Document:
        text = decode(source, source.data)
        lines = split_lines(text)
        first = _first_line(text)
        if _OLD_HEAD.fullmatch(first):
            return self._parse_old(source, lines)
        return self._parse_current(source, lines)

    def _parse_current(self, source: Source, lines: list[str]) -> Document:
        known: set[str] = set()
        for line in lines:
            m = _CURRENT_HEAD.fullmatch(line)
            if m and m.group(2).endswith(" to Everyone"):
                known.add(m.group(2)[: -len(" to Everyone")])
        raw: list[tuple[str, str, str, list[str]]] = []
        for no, line in enumerate(lines, 1):
            m = _CURRENT_HEAD.fullmatch(line)
            if m:
                parts = _split_target(m.group(2), known)
                if parts is None:
                    raise input_error(source, "message header without a target", no)
                raw.append((m.group(1), parts[0], parts[1], []))
            elif line.startswith("\t") and raw:
                raw[-1][3].append(line[1:])
            elif not line.strip():
                continue
            else:
                raise input_error(source, "expected a message header or a tab-indented line", no)
        items: list[ChatMessage] = []
        targets: dict[int, str] = {}
        for i, (time, sender, target, body) in enumerate(raw):
            private, recipients, suffix = _target_parts(target)
            targets[i] = target if not recipients else suffix
            items.append(
                ChatMessage(i, time, Speaker(sender), "\n".join(body), recipients, private)
            )
        return Document(source.name, self.name, "chat", tuple(items), meta={"layout": "current", "targets": targets})

    def _parse_old(self, source: Source, lines: list[str]) -> Document:
        items: list[ChatMessage] = []
        targets: dict[int, str] = {}
        for no, line in enumerate(lines, 1):
            m = _OLD_HEAD.fullmatch(line)
            if m and " : " in m.group(2):
                head, _, msg = m.group(2).partition(" : ")
                head = head.rstrip()
                i = len(items)
                private, suffix = False, ""
                recipients: tuple[Speaker, ...] = ()
                if "  to  " in head and head.endswith(_DM_SUFFIXES):
                    head, _, target = head.partition("  to  ")
                    private, recipients, suffix = _target_parts(target.strip())
                    targets[i] = suffix
                items.append(ChatMessage(i, m.group(1), Speaker(head.strip()), msg, recipients, private))
            elif items and line.strip():
                # Older exports continue multi-line messages on raw lines.
                prev = items[-1]
                cont = line.removeprefix("\t")
                items[-1] = ChatMessage(
                    prev.index, prev.time, prev.sender, prev.text + "\n" + cont,
                    prev.recipients, prev.private,
                )
            elif not line.strip():
                continue
            else:
                raise input_error(source, "expected a message header", no)
        return Document(source.name, self.name, "chat", tuple(items), meta={"layout": "old", "targets": targets})

    def write(self, doc: Document) -> dict[str, bytes]:
        meta: dict[str, Any] = doc.meta if isinstance(doc.meta, dict) else {}
        layout = meta.get("layout", "current")
        targets: dict[int, str] = meta.get("targets", {})
        out: list[str] = []
        for item in doc.items:
            if not isinstance(item, ChatMessage):
                raise input_error(_src(doc), "a Zoom chat holds chat messages only")
            sender = _one_line(item.sender.label) if item.sender else "System"
            body = text_lines(item.text)
            if layout == "old":
                if item.private:
                    target = _one_line(item.recipients[0].label) if item.recipients else "Everyone"
                    suffix = targets.get(item.index) or "(Privately)"
                    out.append(f"{item.time}\t From  {sender}  to  {target}{suffix} : {body[0]}")
                else:
                    out.append(f"{item.time}\t From  {sender} : {body[0]}")
                out.extend("\t" + line for line in body[1:])
                continue
            if item.private and item.recipients:
                suffix = targets.get(item.index) or "(Direct Message)"
                target = _one_line(item.recipients[0].label) + suffix
            elif item.private:
                target = targets.get(item.index) or "(Direct Message)"
            else:
                target = targets.get(item.index) or "Everyone"
            out.append(f"{item.time} From {sender} to {target}:")
            out.extend("\t" + line for line in body)
        return {doc.name: ("\n".join(out) + "\n").encode("utf-8")}


def _src(doc: Document) -> Source:
    return Source(doc.name, {}, doc.container, doc.name)


_REACTION = re.compile(r'Reacted to "(.*)" with (.+)', re.DOTALL)
_REPLY = re.compile(r'Replying to "(.*)"', re.DOTALL)


def _quote(text: str, items: list[ChatMessage]) -> Quote:
    truncated = text.endswith("...")
    core = text[:-3] if truncated else text
    ref = None
    for prev in reversed(items):
        if prev.kind in (MessageKind.MESSAGE, MessageKind.REPLY) and core and prev.text.startswith(core):
            ref = prev.index
            break
    return Quote(core, ref, truncated)


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
        for no, line in enumerate(lines, 1):
            m = _CLOUD_HEAD.fullmatch(line)
            if m:
                raw.append((m.group(1), m.group(2), [m.group(3)]))
            elif line.startswith("\t") and raw:
                raw[-1][2].append(line[1:])
            elif not line.strip():
                continue
            else:
                raise input_error(source, "expected a message line or a tab-indented line", no)
        items: list[ChatMessage] = []
        for i, (time, sender, body) in enumerate(raw):
            first = body[0]
            r = _REACTION.fullmatch(first) if len(body) == 1 else None
            p = _REPLY.fullmatch(first)
            if r:
                items.append(ChatMessage(i, time, Speaker(sender), r.group(2), kind=MessageKind.REACTION,
                                         quote=_quote(r.group(1), items)))
            elif p:
                items.append(ChatMessage(i, time, Speaker(sender), "\n".join(body[1:]), kind=MessageKind.REPLY,
                                         quote=_quote(p.group(1), items)))
            else:
                items.append(ChatMessage(i, time, Speaker(sender), "\n".join(body)))
        return Document(source.name, self.name, "chat", tuple(items), meta={})

    def write(self, doc: Document) -> dict[str, bytes]:
        out: list[str] = []
        for item in doc.items:
            if not isinstance(item, ChatMessage):
                raise input_error(_src(doc), "a Zoom chat holds chat messages only")
            sender = _one_line(item.sender.label).replace("\t", " ") if item.sender else "System"
            q = item.quote
            quoted = _one_line(q.text + ("..." if q.truncated else "")) if q else ""
            if item.kind is MessageKind.REACTION:
                out.append(f'{item.time}\t{sender}:\tReacted to "{quoted}" with {_one_line(item.text)}')
            elif item.kind is MessageKind.REPLY:
                out.append(f'{item.time}\t{sender}:\tReplying to "{quoted}"')
                out.extend("\t" + line for line in text_lines(item.text))
            else:
                body = text_lines(item.text)
                out.append(f"{item.time}\t{sender}:\t{body[0]}")
                out.extend("\t" + line for line in body[1:])
        return {doc.name: ("\n".join(out) + "\n").encode("utf-8")}
