"""Shared pieces of the format modules: the Format protocol, decoding, errors.

Every parser error is an :class:`InputError` naming the input and, for text
formats, the line number; a problem message never quotes the content.
"""

from __future__ import annotations

import codecs
import dataclasses
import json
import re
from collections.abc import Mapping
from typing import Any, Literal, Protocol, runtime_checkable

from .._errors import InputError
from .._model import ChatMessage, Document, Mention, Speaker
from ._source import Source

__all__ = ["Format", "decode", "head_text", "input_error", "load_json", "split_lines", "where"]

MAX_BYTES = 200 * 1024 * 1024
HEAD_BYTES = 8192


@runtime_checkable
class Format(Protocol):
    """One input format: detect it, read it, write it back in the same shape."""

    @property
    def name(self) -> str: ...

    @property
    def kind(self) -> Literal["chat", "transcript"]: ...

    def sniff(self, source: Source) -> bool: ...

    def parse(self, source: Source) -> Document: ...

    def write(self, doc: Document) -> dict[str, bytes]: ...


def where(source: Source) -> str:
    return source.path or source.name or "<input>"


def input_error(source: Source, problem: str, line: int | None = None) -> InputError:
    return InputError(where(source), f"line {line}: {problem}" if line is not None else problem)


def _bom_codec(data: bytes) -> str | None:
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    return None


def _looks_binary(text: str) -> bool:
    return "\x00" in text


def sniff_text(source: Source, limit: int = HEAD_BYTES) -> str | None:
    """The start of a single-file source as text, or None (a folder, a zip, binary)."""
    if source.container != "file" or len(source.files) != 1:
        return None
    return head_text(source.data, limit)


def head_text(data: bytes, limit: int = HEAD_BYTES) -> str | None:
    """The start of ``data`` as text for sniffing, or None when it is not text."""
    chunk = data[:limit]
    bom = _bom_codec(chunk)
    candidates = [bom] if bom else ["utf-8", "cp1252", "latin-1"]
    for codec in candidates:
        try:
            text = codecs.getincrementaldecoder(codec)().decode(chunk, final=len(data) <= limit)
        except (UnicodeDecodeError, UnicodeError):
            continue
        if _looks_binary(text):
            return None
        return text.lstrip("\ufeff")
    return None


def decode(source: Source, data: bytes) -> str:
    """UTF-8 (BOM or not), UTF-16 with a BOM, else cp1252/latin-1 (a legacy Zoom export).

    The legacy fallback is only reached for input that is not UTF-8; the caller
    has already recognised the format from the same text, so a wrong guess
    cannot pass as a known format silently.
    """
    bom = _bom_codec(data)
    candidates = [bom] if bom else ["utf-8", "cp1252", "latin-1"]
    for codec in candidates:
        try:
            text = data.decode(codec)
        except (UnicodeDecodeError, UnicodeError):
            continue
        if _looks_binary(text):
            break
        return text.lstrip("\ufeff")
    raise input_error(source, "not text in UTF-8, UTF-16 or a legacy Western encoding")


_NEWLINE = re.compile(r"\r\n|\r|\n")


def text_lines(text: str) -> list[str]:
    """A text value's lines for writing (any newline style; always at least one)."""
    return _NEWLINE.split(text)


def split_lines(text: str) -> list[str]:
    """Lines split on CR/LF only (str.splitlines also splits on form feeds, U+2028, ...)."""
    lines = _NEWLINE.split(text)
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def load_json(source: Source, data: bytes | str, what: str = "JSON") -> Any:
    """Parse JSON with bounded nesting; any failure is an InputError."""
    text = data if isinstance(data, str) else decode(source, data)
    try:
        return json.loads(text)
    except RecursionError:
        raise input_error(source, f"{what} is nested too deeply") from None
    except ValueError as exc:
        line = getattr(exc, "lineno", None)
        raise input_error(source, f"invalid {what}", line) from None


def relabel_speaker(relabel: Mapping[Speaker, Speaker], sp: Speaker | None) -> Speaker | None:
    if sp is None:
        return None
    return relabel.get(sp, sp)


def as_str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def at_mentions(items: list[ChatMessage]) -> list[ChatMessage]:
    """Mark ``@Name`` in chat text as a mention of that sender (Zoom chats).

    Only names that send a message in the same chat count; the longest wins
    ("@Ana Lopez" over "@Ana"). Redaction then treats the span as that
    participant's name.
    """
    names = sorted({m.sender.label for m in items if m.sender is not None and m.sender.label.strip()},
                   key=len, reverse=True)
    if not names:
        return items
    pattern = re.compile("@(?:" + "|".join(re.escape(n) for n in names) + r")(?!\w)")
    out: list[ChatMessage] = []
    for m in items:
        found = tuple(Mention(h.start(), h.end(), Speaker(h.group()[1:])) for h in pattern.finditer(m.text))
        out.append(dataclasses.replace(m, mentions=m.mentions + found) if found else m)
    return out
