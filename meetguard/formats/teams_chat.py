"""``teams-chat``: Microsoft Graph chatMessage JSON (``{"value": [...]}``, a
bare list, or JSON lines with one message per line).

* ``from.user.displayName`` (+ ``id``) is the sender; ``application`` senders
  are bots.
* ``messageType: systemEventMessage`` -> SYSTEM (no sender).
* ``deletedDateTime`` set -> DELETED with empty text; the writer keeps only a
  skeleton (id, type, times) so a deleted body can never be released.
* ``chatType`` (on the message or at the top level) other than ``group`` or
  ``meeting`` -> private (``oneOnOne``, ``unknownFutureValue``, anything else);
  without a chatType, a ``chatId`` ending ``@unq.gbl.spaces`` (a one-on-one
  chat) is private too.
* The HTML body becomes plain text (``<br>`` and paragraph ends -> newline);
  ``<at id>`` mention text stays in the text and becomes a Mention span.
* Attachment names and URLs and the subject go to ``extra_texts``.

The writer re-serialises each message from an allowlist of fields: body as
``<p>`` + escaped text + ``</p>``, ``from.user`` and mentions through
``doc.relabel``, eventDetail reduced to its type and member ids.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any, Literal

from .._errors import InputError
from .._model import ChatMessage, Document, Mention, MessageKind, Speaker
from ._base import (
    as_dict,
    as_str,
    decode,
    input_error,
    load_json,
    relabel_speaker,
    sniff_text,
    split_lines,
)
from ._source import Source

__all__ = ["TeamsChat"]

_PUBLIC_CHATS = ("group", "meeting")
_KEEP = ("id", "replyToId", "messageType", "createdDateTime", "lastModifiedDateTime",
         "lastEditedDateTime", "deletedDateTime", "chatId", "importance", "locale")
_BLOCK_TAGS = frozenset(["p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre"])


class _HTMLText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.length = 0
        self.mentions: list[tuple[int, int, str]] = []  # (start, end, at id)
        self._at: tuple[int, str] | None = None
        self._pending_break = False

    def _emit(self, text: str) -> None:
        if not text:
            return
        if self._pending_break and self.length:
            self.parts.append("\n")
            self.length += 1
        self._pending_break = False
        self.parts.append(text)
        self.length += len(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self._emit("\n") if not self._pending_break else None
            return
        if tag in _BLOCK_TAGS:
            self._pending_break = True
        if tag == "at":
            self._at = (self.length + (1 if self._pending_break and self.length else 0), dict(attrs).get("id") or "")
        if tag in ("emoji", "img") and dict(attrs).get("alt"):
            self._emit(dict(attrs).get("alt") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag in _BLOCK_TAGS:
            self._pending_break = True
        if tag == "at" and self._at is not None:
            start, ident = self._at
            if self.length > start:
                self.mentions.append((start, self.length, ident))
            self._at = None

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_data(self, data: str) -> None:
        self._emit(data)

    def text(self) -> str:
        return "".join(self.parts)


def _html_to_text(content: str) -> tuple[str, list[tuple[int, int, str]]]:
    parser = _HTMLText()
    parser.feed(content)
    parser.close()
    return parser.text(), parser.mentions


def _user(obj: Any) -> dict[str, Any] | None:
    if isinstance(obj, dict):
        for key in ("user", "application", "device"):
            if isinstance(obj.get(key), dict):
                return dict(obj[key], _kind=key)
    return None


def _speaker(user: dict[str, Any] | None, fallback: str = "") -> Speaker | None:
    if user is None:
        return None
    label = as_str(user.get("displayName")) or fallback or as_str(user.get("id"))
    return Speaker(label, as_str(user.get("id")) or None)


@dataclass(frozen=True)
class TeamsChat:
    name: str = "teams-chat"
    kind: Literal["chat", "transcript"] = "chat"

    def sniff(self, source: Source) -> bool:
        text = sniff_text(source, 4096)
        if text is None:
            return False
        start = text.lstrip()
        if not start.startswith(("{", "[")):
            return False
        return '"value"' in start[:200] or '"messageType"' in text or '"body"' in text and '"from"' in text

    def _messages(self, source: Source) -> tuple[list[Any], dict[str, Any], str]:
        text = decode(source, source.data)
        stripped = text.strip()
        if stripped.startswith("{") and "\n{" in stripped and not stripped.startswith('{"value"'):
            lines = [line for line in split_lines(text)]
            first = next((line for line in lines if line.strip()), "")
            try:
                json.loads(first)
                jsonl = True
            except (ValueError, RecursionError):
                jsonl = False
            if jsonl:
                out: list[Any] = []
                for no, line in enumerate(lines, 1):
                    if line.strip():
                        try:
                            out.append(load_json(source, line))
                        except InputError:
                            raise input_error(source, "invalid JSON message", no) from None
                return out, {}, "jsonl"
        data = load_json(source, text)
        if isinstance(data, list):
            return data, {}, "list"
        if isinstance(data, dict) and isinstance(data.get("value"), list):
            top = {k: v for k, v in data.items() if k in ("@odata.context", "chatType")}
            return data["value"], top, "value"
        if isinstance(data, dict) and "body" in data:
            return [data], {}, "jsonl"
        raise input_error(source, "not a Graph chatMessage list")

    def parse(self, source: Source) -> Document:
        messages, top, shape = self._messages(source)
        top_type = as_str(top.get("chatType"))
        items: list[ChatMessage] = []
        raws: dict[int, dict[str, Any]] = {}
        for n, msg in enumerate(messages):
            if not isinstance(msg, dict):
                raise input_error(source, f"message {n} is not an object")
            body = as_dict(msg.get("body"))
            content = as_str(body.get("content"))
            spans: list[tuple[int, int, str]] = []
            if as_str(body.get("contentType")).lower() == "text":
                text = content
            else:
                try:
                    text, spans = _html_to_text(content)
                except Exception:  # noqa: BLE001 - HTMLParser on hostile markup
                    raise input_error(source, f"message {n}: unreadable HTML body") from None
            mention_map: dict[str, Speaker] = {}
            for m in msg.get("mentions") or []:
                if isinstance(m, dict):
                    sp = _speaker(_user(m.get("mentioned")), as_str(m.get("mentionText")))
                    if sp is not None:
                        mention_map[str(m.get("id"))] = sp
            mentions = tuple(
                Mention(s, e, mention_map.get(ident) or Speaker(text[s:e])) for s, e, ident in spans
            )
            user = _user(msg.get("from"))
            sender = _speaker(user)
            chat_type = as_str(msg.get("chatType")) or top_type
            if chat_type:
                private = chat_type not in _PUBLIC_CHATS
            else:
                private = as_str(msg.get("chatId")).endswith("@unq.gbl.spaces")
            extras: list[str] = []
            if as_str(msg.get("subject")):
                extras.append(msg["subject"])
            for att in msg.get("attachments") or []:
                if isinstance(att, dict):
                    extras += [as_str(att.get("name")), as_str(att.get("contentUrl"))]
            if msg.get("deletedDateTime"):
                kind, text, mentions, extras = MessageKind.DELETED, "", (), []
            elif msg.get("messageType") == "systemEventMessage":
                kind, sender = MessageKind.SYSTEM, None
            elif user is not None and user["_kind"] != "user":
                kind = MessageKind.BOT
            elif sender is None and as_str(msg.get("messageType")) not in ("", "message"):
                kind = MessageKind.SYSTEM      # an event of another type, with no author
            else:
                kind = MessageKind.MESSAGE
            time = as_str(msg.get("createdDateTime"))
            items.append(ChatMessage(n, time, sender, text, (), private, kind, None, mentions, tuple(extras)))
            raws[n] = msg
        return Document(source.name, self.name, "chat", tuple(items),
                        meta={"raw": raws, "top": top, "shape": shape})

    def write(self, doc: Document) -> dict[str, bytes]:
        meta: dict[str, Any] = doc.meta if isinstance(doc.meta, dict) else {}
        raws: dict[int, dict[str, Any]] = meta.get("raw", {})
        relabel = doc.relabel
        id_map = {k.platform_id: v.platform_id for k, v in relabel.items() if k.platform_id}
        out: list[dict[str, Any]] = []
        for item in doc.items:
            if not isinstance(item, ChatMessage):
                raise input_error(Source(doc.name, {}, path=doc.name), "a Teams chat holds messages only")
            raw = raws.get(item.index, {})
            msg = _skeleton(item, raw, as_str(meta.get("top", {}).get("chatType")))
            if item.kind is MessageKind.DELETED:
                msg["deletedDateTime"] = raw.get("deletedDateTime") or item.time
                msg["body"] = {"contentType": "html", "content": ""}
                out.append(msg)
                continue
            if item.kind is MessageKind.SYSTEM and as_str((raw.get("body") or {}).get("content")).startswith(
                "<systemEventMessage"
            ) and not item.text:
                msg["body"] = {"contentType": "html", "content": "<systemEventMessage/>"}
            else:
                msg["body"] = {"contentType": "html", "content": self._body(item)}
            msg["mentions"] = self._mentions(item, relabel)
            _extras(msg, raw, list(item.extra_texts))
            detail = raw.get("eventDetail")
            if isinstance(detail, dict):
                msg["eventDetail"] = _event_detail(detail, id_map)
            out.append(msg)
        return {doc.name: _dump(out, meta).encode("utf-8")}

    @staticmethod
    def _valid_mentions(item: ChatMessage) -> list[Mention]:
        spans = sorted(item.mentions, key=lambda m: m.start)
        good: list[Mention] = []
        pos = 0
        for m in spans:
            if pos <= m.start < m.end <= len(item.text):
                good.append(m)
                pos = m.end
        return good

    def _body(self, item: ChatMessage) -> str:
        parts: list[str] = []
        pos = 0
        for k, m in enumerate(self._valid_mentions(item)):
            parts.append(html.escape(item.text[pos : m.start], quote=False))
            parts.append(f'<at id="{k}">{html.escape(item.text[m.start : m.end], quote=False)}</at>')
            pos = m.end
        parts.append(html.escape(item.text[pos:], quote=False))
        return "<p>" + "".join(parts).replace("\n", "<br>") + "</p>"

    def _mentions(self, item: ChatMessage, relabel: Any) -> list[dict[str, Any]]:
        out = []
        for k, m in enumerate(self._valid_mentions(item)):
            sp = relabel_speaker(relabel, m.speaker) or m.speaker
            shown = sp.label if m.speaker in relabel else item.text[m.start : m.end]
            out.append({"id": k, "mentionText": shown,
                        "mentioned": {"user": {"id": sp.platform_id, "displayName": sp.label}}})
        return out


def _skeleton(item: ChatMessage, raw: dict[str, Any], top_type: str) -> dict[str, Any]:
    """The allowlisted fields of a message, its time, privacy and sender."""
    msg: dict[str, Any] = {k: raw[k] for k in _KEEP if k in raw}
    msg.setdefault("id", str(item.index))
    msg.setdefault("messageType", "systemEventMessage" if item.kind is MessageKind.SYSTEM else "message")
    msg["createdDateTime"] = item.time
    if "chatType" in raw:
        msg["chatType"] = raw["chatType"]
    chat_type = as_str(msg.get("chatType")) or top_type
    read_private = (chat_type not in _PUBLIC_CHATS if chat_type
                    else as_str(msg.get("chatId")).endswith("@unq.gbl.spaces"))
    if item.private and not read_private:
        msg["chatType"] = "oneOnOne"     # a private item must read back private
    sender = item.sender
    if sender is None:
        msg["from"] = None
    else:
        key = "application" if item.kind is MessageKind.BOT else "user"
        who: dict[str, Any] = {"id": sender.platform_id, "displayName": sender.label}
        if key == "user":
            who["userIdentityType"] = "aadUser"
        msg["from"] = {key: who}
    return msg


def _extras(msg: dict[str, Any], raw: dict[str, Any], extras: list[str]) -> None:
    """Subject and attachment names/URLs back from the (redacted) extra texts."""
    if as_str(raw.get("subject")) and extras:
        msg["subject"] = extras.pop(0)
    atts = []
    for att in raw.get("attachments") or []:
        if isinstance(att, dict):
            name = extras.pop(0) if extras else ""
            url = extras.pop(0) if extras else ""
            atts.append({"id": att.get("id"), "contentType": att.get("contentType"),
                         "name": name, "contentUrl": url})
    if atts:
        msg["attachments"] = atts


def _event_detail(detail: dict[str, Any], id_map: dict[str, str | None]) -> dict[str, Any]:
    clean: dict[str, Any] = {"@odata.type": detail.get("@odata.type")}
    if isinstance(detail.get("members"), list):
        clean["members"] = [
            {"id": id_map.get(as_str(m.get("id")), m.get("id")), "displayName": None}
            for m in detail["members"] if isinstance(m, dict)
        ]
    return clean


def _dump(out: list[dict[str, Any]], meta: dict[str, Any]) -> str:
    shape = meta.get("shape", "value")
    if shape == "jsonl":
        return "".join(json.dumps(m, ensure_ascii=False) + "\n" for m in out)
    if shape == "list":
        return json.dumps(out, ensure_ascii=False, indent=1) + "\n"
    return json.dumps({**meta.get("top", {}), "value": out}, ensure_ascii=False, indent=1) + "\n"
