"""The format registry: built-in formats and plugins; detect, parse, read, write."""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path
from typing import Any

from .._errors import InputError, MeetguardError, UnsupportedFormat, UsageError
from .._model import Document
from .._plugins import load_group
from ._base import Format, where
from ._source import Source, load_source, source_from_bytes, source_sha256
from .google_meet import GoogleMeet, GoogleMeetChat
from .meetguard_json import MeetguardJSON
from .otter import Otter
from .slack import Slack
from .srt import SRT
from .teams_chat import TeamsChat
from .webvtt import WebVTT
from .zoom_captions import ZoomCaptions
from .zoom_chat import ZoomChat, ZoomCloudChat
from .zoom_panel import ZoomChatPanel

__all__ = [
    "PLUGIN_GROUP",
    "available_formats",
    "detect_format",
    "get_format",
    "parse",
    "read_document",
    "write_document",
]

# Detection order: the most specific signatures first.
_BUILTIN: tuple[Format, ...] = (
    MeetguardJSON(), Slack(), TeamsChat(), WebVTT(), SRT(), ZoomChat(), ZoomCloudChat(),
    ZoomCaptions(), ZoomChatPanel(), GoogleMeetChat(), GoogleMeet(), Otter(),
)
PLUGIN_GROUP = "meetguard.parsers"


def _is_format(obj: Any) -> bool:
    return all(hasattr(obj, a) for a in ("name", "kind", "sniff", "parse", "write")) and getattr(
        obj, "kind", None
    ) in ("chat", "transcript")


def _check_plugin(obj: Any) -> bool:
    if isinstance(obj, type):
        try:
            return _is_format(obj())
        except Exception:  # noqa: BLE001 - a class that cannot be built is no format
            return False
    return _is_format(obj)


@functools.lru_cache(maxsize=1)
def _plugin_formats() -> tuple[Format, ...]:
    loaded = load_group(PLUGIN_GROUP, _check_plugin)
    return tuple(obj() if isinstance(obj, type) else obj for obj in loaded.values())


def _all_formats() -> tuple[Format, ...]:
    builtin = {f.name for f in _BUILTIN}
    return _BUILTIN + tuple(f for f in _plugin_formats() if f.name not in builtin)


def available_formats() -> list[str]:
    """Names accepted by ``--format``: the built-in formats, then plugins."""
    return [f.name for f in _all_formats()]


def get_format(name: str) -> Format:
    for fmt in _all_formats():
        if fmt.name == name:
            return fmt
    raise UsageError(f"unknown format {name!r}; known: {', '.join(available_formats())}")


def detect_format(source: Source, kind: str | None = None) -> Format:
    """The format of ``source``, from its content only (never its file name).

    ``kind`` ("chat" or "transcript") only orders the candidates; a file of the
    other kind is still recognised.
    """
    candidates = sorted(_all_formats(), key=lambda f: 0 if kind is None or f.kind == kind else 1)
    for fmt in candidates:
        try:
            if fmt.sniff(source):
                return fmt
        except MeetguardError:
            raise
        except Exception:  # noqa: BLE001, S112 - a sniff that cannot read the bytes does not match
            continue
    raise UnsupportedFormat(where(source), "not a recognised chat or transcript format")


def parse(source: Source, format: str | None = None, kind: str | None = None) -> Document:
    """Parse ``source`` (detected, or as ``format``) into a Document.

    Every failure is an InputError naming the input; ``Document.sha256`` is
    set from the input (see :func:`source_sha256`).
    """
    if source.container == "file" and len(source.files) == 1:
        data = source.data
        if data[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
            source = source_from_bytes(source.name, data, source.path)
    fmt = get_format(format) if format else detect_format(source, kind)
    try:
        doc = fmt.parse(source)
    except MeetguardError:
        raise
    except RecursionError:
        raise InputError(where(source), "input is nested too deeply") from None
    except Exception as exc:  # noqa: BLE001 - never a traceback for bad input
        raise InputError(where(source), f"cannot be parsed as {fmt.name} ({type(exc).__name__})") from None
    return dataclasses.replace(
        doc, name=source.name, format=fmt.name, sha256=source_sha256(source), container=source.container
    )


def read_document(path: str | Path, kind: str, format: str | None = None) -> Document:
    """Read and parse one input given as ``--chat`` (kind "chat") or ``--transcript``."""
    if kind not in ("chat", "transcript"):
        raise UsageError(f"unknown input kind {kind!r}")
    return parse(load_source(path), format, kind)


def write_document(doc: Document) -> dict[str, bytes]:
    """Output path -> bytes, in the document's own format and container."""
    return get_format(doc.format).write(doc)
