"""Input formats: detect, parse and write back every chat and transcript format.

Public surface::

    load_source(path) -> Source              # a file, a Slack export folder or zip
    source_from_bytes(name, data) -> Source  # uploaded bytes (a zip becomes a zip Source)
    detect_format(source, kind=None) -> Format
    parse(source, format=None, kind=None) -> Document
    read_document(path, kind, format=None) -> Document
    write_document(doc) -> dict[str, bytes]
    get_format(name) -> Format
    available_formats() -> list[str]
    Meeting.from_files(chat=..., transcript=..., ...) -> Meeting

Built-in formats (docs/formats.md): ``meetguard-json``, ``slack``,
``teams-chat``, ``webvtt``, ``srt``, ``zoom-chat``, ``zoom-cloud-chat``,
``zoom-captions``, ``zoom-chat-panel``, ``google-meet-chat``, ``google-meet``, ``otter``.
Plugins add more through the entry-point group ``meetguard.parsers``.
"""

from __future__ import annotations

from ._base import Format
from ._meeting import Meeting
from ._registry import (
    PLUGIN_GROUP,
    available_formats,
    detect_format,
    get_format,
    parse,
    read_document,
    write_document,
)
from ._source import Source, load_source, source_from_bytes, source_sha256

__all__ = [
    "PLUGIN_GROUP",
    "Format",
    "Meeting",
    "Source",
    "available_formats",
    "detect_format",
    "get_format",
    "load_source",
    "parse",
    "read_document",
    "source_from_bytes",
    "source_sha256",
    "write_document",
]
