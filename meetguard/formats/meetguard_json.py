"""``meetguard-json``: the lossless interchange format (schema in docs/formats.md).

It is also the ``<stem>.transcript.json`` written for audio transcripts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from .._errors import InputError
from .._model import (
    ChatMessage,
    Cue,
    Document,
    Item,
    Mention,
    MessageKind,
    Quote,
    Speaker,
    Word,
)
from ._base import input_error, load_json, sniff_text
from ._source import Source

__all__ = ["MeetguardJSON"]

FORMAT = "meetguard-json"
VERSION = 1


class _Bad(Exception):
    pass


def _speaker_out(sp: Speaker | None) -> dict[str, Any] | None:
    if sp is None:
        return None
    return {"label": sp.label, "platform_id": sp.platform_id, "aliases": list(sp.aliases)}


def _item_out(item: Item) -> dict[str, Any]:
    if isinstance(item, Cue):
        return {
            "type": "cue", "index": item.index, "start": item.start, "end": item.end,
            "speaker": _speaker_out(item.speaker), "text": item.text,
            "words": [{"text": w.text, "start": w.start, "end": w.end, "probability": w.probability}
                      for w in item.words],
            "ident": item.ident, "settings": item.settings,
        }
    q = item.quote
    return {
        "type": "message", "index": item.index, "time": item.time, "kind": item.kind.value,
        "sender": _speaker_out(item.sender), "text": item.text,
        "recipients": [_speaker_out(r) for r in item.recipients], "private": item.private,
        "quote": None if q is None else {"text": q.text, "ref": q.ref, "truncated": q.truncated},
        "mentions": [{"start": m.start, "end": m.end, "speaker": _speaker_out(m.speaker)}
                     for m in item.mentions],
        "extra_texts": list(item.extra_texts),
    }


def _get(obj: Any, key: str, typ: type | tuple[type, ...], optional: bool = False) -> Any:
    if not isinstance(obj, dict):
        raise _Bad("is not an object")
    if key not in obj or obj[key] is None:
        if optional:
            return None
        raise _Bad(f"'{key}' is missing")
    value = obj[key]
    if isinstance(value, bool) and typ in (int, float, (int, float)):
        raise _Bad(f"'{key}' has the wrong type")
    if not isinstance(value, typ):
        raise _Bad(f"'{key}' has the wrong type")
    return value


def _num(obj: Any, key: str) -> float:
    return float(_get(obj, key, (int, float)))


def _speaker_in(obj: Any) -> Speaker | None:
    if obj is None:
        return None
    aliases = _get(obj, "aliases", list, optional=True) or []
    if not all(isinstance(a, str) for a in aliases):
        raise _Bad("speaker aliases must be strings")
    return Speaker(_get(obj, "label", str), _get(obj, "platform_id", str, optional=True), tuple(aliases))


def _item_in(obj: Any, position: int) -> Item:
    typ = _get(obj, "type", str)
    index = obj.get("index", position)
    if not isinstance(index, int) or isinstance(index, bool):
        raise _Bad("'index' has the wrong type")
    if typ == "cue":
        words = []
        for w in _get(obj, "words", list, optional=True) or []:
            p = _get(w, "probability", (int, float), optional=True)
            words.append(Word(_get(w, "text", str), _num(w, "start"), _num(w, "end"),
                              None if p is None else float(p)))
        return Cue(index, _num(obj, "start"), _num(obj, "end"), _speaker_in(obj.get("speaker")),
                   _get(obj, "text", str), tuple(words), _get(obj, "ident", str, optional=True),
                   _get(obj, "settings", str, optional=True) or "")
    if typ == "message":
        try:
            kind = MessageKind(_get(obj, "kind", str, optional=True) or "message")
        except ValueError:
            raise _Bad("unknown message kind") from None
        q = obj.get("quote")
        quote = None
        if q is not None:
            ref = _get(q, "ref", int, optional=True)
            quote = Quote(_get(q, "text", str), ref, bool(_get(q, "truncated", bool, optional=True)))
        mentions = tuple(
            Mention(_get(m, "start", int), _get(m, "end", int), _speaker_in(_get(m, "speaker", dict)) or Speaker(""))
            for m in _get(obj, "mentions", list, optional=True) or []
        )
        extras = _get(obj, "extra_texts", list, optional=True) or []
        if not all(isinstance(e, str) for e in extras):
            raise _Bad("'extra_texts' must be strings")
        recipients = tuple(_speaker_in(r) or Speaker("") for r in _get(obj, "recipients", list, optional=True) or [])
        return ChatMessage(index, _get(obj, "time", str, optional=True) or "", _speaker_in(obj.get("sender")),
                           _get(obj, "text", str), recipients,
                           bool(_get(obj, "private", bool, optional=True)), kind, quote, mentions, tuple(extras))
    raise _Bad("unknown item type")


@dataclass(frozen=True)
class MeetguardJSON:
    name: str = FORMAT
    kind: Literal["chat", "transcript"] = "transcript"

    def sniff(self, source: Source) -> bool:
        text = sniff_text(source, 4096)
        return text is not None and text.lstrip().startswith("{") and f'"{FORMAT}"' in text

    def parse(self, source: Source) -> Document:
        data = load_json(source, source.data, "meetguard JSON")
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise input_error(source, "not a meetguard-json document")
        if data.get("version") != VERSION:
            raise input_error(source, "unsupported meetguard-json version")
        kind = data.get("kind")
        if kind not in ("chat", "transcript"):
            raise input_error(source, "'kind' must be chat or transcript")
        raw_items = data.get("items")
        if not isinstance(raw_items, list):
            raise input_error(source, "'items' must be a list")
        items: list[Item] = []
        for n, obj in enumerate(raw_items):
            try:
                items.append(_item_in(obj, n))
            except _Bad as exc:
                raise input_error(source, f"item {n}: {exc}") from None
            except (InputError, TypeError, ValueError):
                raise input_error(source, f"item {n}: invalid") from None
        return Document(source.name, self.name, kind, tuple(items), meta={})

    def write(self, doc: Document) -> dict[str, bytes]:
        body = {"format": FORMAT, "version": VERSION, "kind": doc.kind,
                "items": [_item_out(i) for i in doc.items]}
        return {doc.name: (json.dumps(body, ensure_ascii=False, indent=1) + "\n").encode("utf-8")}
