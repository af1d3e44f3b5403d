"""Parse a guard request (multipart) into a :class:`GuardRequest` and files on disk.

Uploads are streamed to a private directory under generated names (the
client's file name is never used as a path: only its extension survives), and
the body size is counted while streaming, so a chunked body cannot pass the
limit either.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError

from .._errors import InputTooLarge, UnsupportedFormat, UsageError
from .._ids import check_id as check_free_id
from .._time import require_aware

__all__ = ["FREE_ID", "GuardRequest", "body_deadline", "check_id", "check_pid", "parse_at", "read_body",
           "read_guard_form", "safe_extension"]

_EXT = re.compile(r"^\.[a-z0-9]{1,12}$")
_PID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$")
FREE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")   # purpose, recipient, meeting id: never free text
_TEXT_FIELDS = {"purpose", "recipient", "meeting_id", "at", "attendee", "language"}
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
    language: str | None = None          # the documents' language (ISO 639-1), instead of detecting it
    owner: str | None = None             # the token family that asked (its vault meetings, #25)
    speakers: str | None = None          # who spoke when in `audio` (Zoom TIMELINE JSON or labelled VTT/SRT)
    video: str | None = None             # a video recording (docs/video.md); its sound is `audio` if none given

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["attendees"], d["chat"], d["transcript"] = list(self.attendees), list(self.chat), list(self.transcript)
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> GuardRequest:
        return cls(purpose=d["purpose"], recipient=d.get("recipient"), meeting_id=d.get("meeting_id"),
                   at=d.get("at"), attendees=tuple(d.get("attendees", ())), chat=tuple(d.get("chat", ())),
                   transcript=tuple(d.get("transcript", ())), audio=d.get("audio"),
                   tracks=dict(d.get("tracks", {})), language=d.get("language"),
                   owner=d.get("owner"), speakers=d.get("speakers"), video=d.get("video"))


def safe_extension(filename: str | None) -> str:
    """The extension of the client's base name, if it is plain; else nothing."""
    if not filename:
        return ""
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    ext = os.path.splitext(base)[1].lower()
    return ext if _EXT.match(ext) else ""


def check_id(field: str, value: str) -> str | None:
    """A client-supplied id (purpose, recipient, meeting id): ``FREE_ID`` or refused.
    Empty means absent. The message names the field, never the value."""
    if not value:
        return None
    return check_free_id(field, value)      # the one check (meetguard/_ids.py)


def check_pid(field: str, value: str) -> str:
    """An attendee's participant id."""
    if not _PID.fullmatch(value):
        raise UsageError(f"{field}: invalid participant id")
    return value


def parse_at(value: str | None) -> datetime | None:
    if value is None or value == "":
        return None
    try:
        at = datetime.fromisoformat(value.strip())
    except ValueError:
        raise UsageError("at: not an ISO 8601 date-time") from None
    return require_aware(at, "at")


def _write_private(path: Path) -> int:
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)


@dataclass
class _Form:
    """What has been read of one multipart guard request so far."""

    inputs_dir: Path
    max_bytes: int
    fields: dict[str, str] = field(default_factory=dict)
    attendees: list[str] = field(default_factory=list)
    chat: list[str] = field(default_factory=list)
    transcript: list[str] = field(default_factory=list)
    audio: str | None = None
    tracks: dict[str, str] = field(default_factory=dict)
    speakers: str | None = None
    video: str | None = None
    total: int = 0
    nfiles: int = 0

    def count(self, n: int) -> None:
        self.total += n
        if self.total > self.max_bytes:
            raise InputTooLarge("request", f"body exceeds {self.max_bytes // (1024 * 1024)} MB")

    def text_field(self, name: str, raw: bytes) -> None:
        self.count(len(raw))
        if len(raw) > _MAX_FIELD:
            raise UsageError(f"{name}: field too long")
        try:
            value = raw.decode("utf-8").strip()
        except UnicodeDecodeError:
            raise UsageError(f"{name}: not UTF-8") from None
        if name == "attendee":
            self.attendees.extend(a.strip() for a in value.split(",") if a.strip())
        elif name in self.fields:
            raise UsageError(f"{name}: given more than once")
        else:
            self.fields[name] = value

    def stored_name(self, name: str, filename: str | None) -> str:
        """The generated name an upload is stored under (the client's name is never used)."""
        self.nfiles += 1
        if self.nfiles > _MAX_FILES:
            raise UsageError("request: too many files")
        ext = safe_extension(filename)
        if name.startswith("track:"):
            pid = name[len("track:"):]
            if not _PID.match(pid):
                raise UsageError("track: invalid participant id")
            if pid in self.tracks:
                raise UsageError("track: participant given more than once")
            return f"track-{len(self.tracks) + 1}{ext}"
        if name == "audio":
            if self.audio is not None:
                raise UsageError("audio: given more than once")
            return f"audio{ext}"
        if name == "speakers":
            if self.speakers is not None:
                raise UsageError("speakers: given more than once")
            return f"speakers{ext}"
        if name == "video":
            if self.video is not None:
                raise UsageError("video: given more than once")
            return f"video{ext}"
        return f"{name}-{len(self.chat if name == 'chat' else self.transcript) + 1}{ext}"

    def add_file(self, name: str, stored: str) -> None:
        if name.startswith("track:"):
            self.tracks[name[len("track:"):]] = stored
        elif name == "audio":
            self.audio = stored
        elif name == "speakers":
            self.speakers = stored
        elif name == "video":
            self.video = stored
        else:
            (self.chat if name == "chat" else self.transcript).append(stored)

    def request(self) -> GuardRequest:
        purpose = check_id("purpose", self.fields.get("purpose", ""))
        if purpose is None:
            raise UsageError("purpose: required")
        recipient = check_id("recipient", self.fields.get("recipient", ""))
        meeting_id = check_id("meeting_id", self.fields.get("meeting_id", ""))
        attendees = tuple(check_pid("attendee", a) for a in self.attendees)
        if self.speakers is not None and self.audio is None:
            raise UsageError("speakers: given without a mixed recording (audio)")
        if not (self.chat or self.transcript or self.audio or self.tracks or self.video):
            raise UsageError("request: no input file (chat, transcript, audio, video or track:<id>)")
        parse_at(self.fields.get("at"))   # reject a bad date before any work
        language = check_id("language", self.fields.get("language", ""))
        return GuardRequest(language=language, purpose=purpose, recipient=recipient, meeting_id=meeting_id,
                            at=self.fields.get("at") or None, attendees=attendees, chat=tuple(self.chat),
                            transcript=tuple(self.transcript), audio=self.audio, tracks=self.tracks,
                            speakers=self.speakers, video=self.video)


async def _store(part: BodyPartReader, path: Path, form: _Form) -> None:
    fd = _write_private(path)
    with os.fdopen(fd, "wb") as fh:
        while True:
            chunk = await part.read_chunk(_CHUNK)
            if not chunk:
                break
            form.count(len(chunk))
            fh.write(chunk)


async def read_guard_form(request: web.Request, inputs_dir: Path, max_bytes: int) -> GuardRequest:
    """Stream a multipart guard request into ``inputs_dir`` (which must exist, 0700)."""
    if request.content_length is not None and request.content_length > max_bytes:
        raise InputTooLarge("request", f"body exceeds {max_bytes // (1024 * 1024)} MB")
    if request.content_type != "multipart/form-data":
        raise UnsupportedFormat("request", "expected multipart/form-data")
    try:
        reader = await request.multipart()
    except (ValueError, AssertionError, HttpProcessingError):
        raise UsageError("request: malformed multipart body") from None
    form = _Form(inputs_dir, max_bytes)
    while True:
        try:
            part = await reader.next()
        except (ValueError, HttpProcessingError):     # e.g. a NUL in a part's header
            raise UsageError("request: malformed multipart body") from None
        if part is None:
            break
        if not isinstance(part, BodyPartReader):
            raise UsageError("request: nested multipart is not supported")
        try:       # a part cut off before its boundary (unterminated) is the sender's fault: 400
            await _read_part(part, form, inputs_dir)
        except (ValueError, AssertionError, HttpProcessingError):
            raise UsageError("request: malformed multipart body (a part is not terminated)") from None
    return form.request()


async def _read_part(part: BodyPartReader, form: _Form, inputs_dir: Path) -> None:
    name = part.name or ""
    if name in _TEXT_FIELDS:
        form.text_field(name, await part.read(decode=True))
    elif name in ("chat", "transcript", "audio", "speakers", "video") or name.startswith("track:"):
        stored = form.stored_name(name, part.filename)
        await _store(part, inputs_dir / stored, form)
        form.add_file(name, stored)
    else:
        raise UsageError("request: unknown form field")


@asynccontextmanager
async def body_deadline(timeout_s: float) -> AsyncIterator[None]:
    """Read a request body within ``timeout_s``: a client that sends slowly or stalls is
    answered 408 (and gives its queue place back), one that goes away 400, one over the
    size limit 413."""
    try:
        async with asyncio.timeout(timeout_s):
            yield
    except web.HTTPRequestEntityTooLarge:
        raise InputTooLarge("request", "body too large") from None
    except TimeoutError:
        raise web.HTTPRequestTimeout() from None
    except (aiohttp.ClientPayloadError, ConnectionError, asyncio.IncompleteReadError):
        raise UsageError("request: body incomplete (the client went away)") from None


async def read_body(request: web.Request, timeout_s: float) -> bytes:
    """The whole (non-multipart) body, under :func:`body_deadline`."""
    async with body_deadline(timeout_s):
        body = await request.read()
    return body
