"""Parse a guard request (multipart) into a :class:`GuardRequest` and files on disk.

Uploads are streamed to a private directory under generated names (the
client's file name is never used as a path: only its extension survives), and
the body size is counted while streaming, so a chunked body cannot pass the
limit either.
"""

from __future__ import annotations

import os
import re
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from aiohttp import BodyPartReader, web

from .._errors import InputTooLarge, UnsupportedFormat, UsageError

__all__ = ["GuardRequest", "parse_at", "read_guard_form", "safe_extension"]

_EXT = re.compile(r"^\.[a-z0-9]{1,12}$")
_PID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$")
_TEXT_FIELDS = {"purpose", "recipient", "meeting_id", "at", "attendee"}
_MAX_FIELD = 4096
_MAX_FILES = 64
_CHUNK = 1 << 16


@dataclass(frozen=True)
class GuardRequest:
    """One /v1/guard or /v1/release request; file entries are names inside the inputs dir."""

    purpose: str
    recipient: str | None = None
    meeting_id: str | None = None
    at: str | None = None
    attendees: tuple[str, ...] = ()
    chat: tuple[str, ...] = ()
    transcript: tuple[str, ...] = ()
    audio: str | None = None
    tracks: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["attendees"], d["chat"], d["transcript"] = list(self.attendees), list(self.chat), list(self.transcript)
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> GuardRequest:
        return cls(purpose=d["purpose"], recipient=d.get("recipient"), meeting_id=d.get("meeting_id"),
                   at=d.get("at"), attendees=tuple(d.get("attendees", ())), chat=tuple(d.get("chat", ())),
                   transcript=tuple(d.get("transcript", ())), audio=d.get("audio"),
                   tracks=dict(d.get("tracks", {})))


def safe_extension(filename: str | None) -> str:
    """The extension of the client's base name, if it is plain; else nothing."""
    if not filename:
        return ""
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    ext = os.path.splitext(base)[1].lower()
    return ext if _EXT.match(ext) else ""


def parse_at(value: str | None) -> datetime | None:
    if value is None or value == "":
        return None
    try:
        at = datetime.fromisoformat(value.strip())
    except ValueError:
        raise UsageError("at: not an ISO 8601 date-time") from None
    if at.tzinfo is None or at.utcoffset() is None:
        raise UsageError("at: must carry a timezone")
    return at


def _write_private(path: Path) -> int:
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)


async def read_guard_form(request: web.Request, inputs_dir: Path, max_bytes: int) -> GuardRequest:
    """Stream a multipart guard request into ``inputs_dir`` (which must exist, 0700)."""
    if request.content_length is not None and request.content_length > max_bytes:
        raise InputTooLarge("request", f"body exceeds {max_bytes // (1024 * 1024)} MB")
    ctype = request.content_type
    if ctype != "multipart/form-data":
        raise UnsupportedFormat("request", "expected multipart/form-data")
    try:
        reader = await request.multipart()
    except (ValueError, AssertionError):
        raise UsageError("request: malformed multipart body") from None
    fields: dict[str, str] = {}
    attendees: list[str] = []
    chat: list[str] = []
    transcript: list[str] = []
    audio: str | None = None
    tracks: dict[str, str] = {}
    total = 0
    nfiles = 0
    while True:
        try:
            part = await reader.next()
        except ValueError:
            raise UsageError("request: malformed multipart body") from None
        if part is None:
            break
        if not isinstance(part, BodyPartReader):
            raise UsageError("request: nested multipart is not supported")
        name = part.name or ""
        if name in _TEXT_FIELDS:
            raw = await part.read(decode=True)
            total += len(raw)
            if len(raw) > _MAX_FIELD:
                raise UsageError(f"{name}: field too long")
            try:
                value = raw.decode("utf-8").strip()
            except UnicodeDecodeError:
                raise UsageError(f"{name}: not UTF-8") from None
            if name == "attendee":
                attendees.extend(a.strip() for a in value.split(",") if a.strip())
            elif name in fields:
                raise UsageError(f"{name}: given more than once")
            else:
                fields[name] = value
            continue
        if name in ("chat", "transcript", "audio") or name.startswith("track:"):
            nfiles += 1
            if nfiles > _MAX_FILES:
                raise UsageError("request: too many files")
            ext = safe_extension(part.filename)
            if name.startswith("track:"):
                pid = name[len("track:"):]
                if not _PID.match(pid):
                    raise UsageError("track: invalid participant id")
                if pid in tracks:
                    raise UsageError("track: participant given more than once")
                stored = f"track-{len(tracks) + 1}{ext}"
            elif name == "audio":
                if audio is not None:
                    raise UsageError("audio: given more than once")
                stored = f"audio{ext}"
            else:
                stored = f"{name}-{len(chat if name == 'chat' else transcript) + 1}{ext}"
            fd = _write_private(inputs_dir / stored)
            with os.fdopen(fd, "wb") as fh:
                while True:
                    chunk = await part.read_chunk(_CHUNK)
                    if not chunk:
                        break
                    total += len(chunk)
                    if total > max_bytes:
                        raise InputTooLarge("request", f"body exceeds {max_bytes // (1024 * 1024)} MB")
                    fh.write(chunk)
            if name.startswith("track:"):
                tracks[name[len("track:"):]] = stored
            elif name == "audio":
                audio = stored
            elif name == "chat":
                chat.append(stored)
            else:
                transcript.append(stored)
            continue
        raise UsageError("request: unknown form field")
    purpose = fields.get("purpose", "")
    if not purpose:
        raise UsageError("purpose: required")
    if not (chat or transcript or audio or tracks):
        raise UsageError("request: no input file (chat, transcript, audio or track:<id>)")
    parse_at(fields.get("at"))   # reject a bad date before any work
    return GuardRequest(purpose=purpose, recipient=fields.get("recipient") or None,
                        meeting_id=fields.get("meeting_id") or None, at=fields.get("at") or None,
                        attendees=tuple(attendees), chat=tuple(chat), transcript=tuple(transcript),
                        audio=audio, tracks=tracks)
