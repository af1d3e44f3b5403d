"""Read a verified Zoom recording event into a plan: which files to fetch, whose they are.

What is fetched: the audio-only M4A (mixed audio), each ``participant_audio_files``
M4A whose person maps to a policy participant (a per-participant track), the
TRANSCRIPT (VTT) and the CHAT (TXT); the TIMELINE (JSON: who spoke when) only where the
mixed audio needs it to silence someone (zoom_job); one video (MP4) only where a configured
purpose's policy gives a ``video:`` setting (zoom_job), the gallery view first (its name
labels attribute the tiles: docs/video.md). Every other file type is never fetched, nor is
a file whose ``status`` is not ``completed``.

Who is who: a per-participant file maps to a policy id only through the identity
the event gives for it (``participant_email`` against the policy's ``emails``,
``participant_name`` against its ``names``). Its ``file_name`` ("Audio only -
Alice Martin") is never used. A file that maps to nobody (or to two people, or to
someone who already has a track) is an unknown speaker's and is not fetched.
Everyone mapped counts as present (``present``), whether or not their file can be
fetched: their voice is in the mixed audio either way.

The plan holds no token, name, email or topic: only ids, types, sizes, the
download URLs (query parameters naming a token dropped) and policy ids.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ..policy import NameIndex, Policy

__all__ = ["RECORDING_EVENTS", "ZoomFile", "ZoomPlan", "event_key", "plan_event"]

RECORDING_EVENTS = frozenset({"recording.completed", "recording.transcript_completed"})
_UUID = re.compile(r"[A-Za-z0-9+/=_-]{1,128}")     # Zoom's uuids are base64: an id, never free text
_KINDS = {"M4A": ("audio", ".m4a"), "TRANSCRIPT": ("transcript", ".vtt"), "CHAT": ("chat", ".txt"),
          "TIMELINE": ("timeline", ".json"), "MP4": ("video", ".mp4")}
_ONE = ("audio", "timeline", "video")   # one mixed recording, one timeline, one video per event
# Zoom's MP4 views, the best first: a gallery's name labels let the video stage attribute each
# tile (a refusing participant's is blacked out); a speaker view without labels cannot be.
VIEWS = ("shared_screen_with_gallery_view", "gallery_view", "shared_screen_with_speaker_view",
         "shared_screen_with_speaker_view(CC)", "active_speaker", "speaker_view", "shared_screen")


class EventShapeError(ValueError):
    """The signed event lacks what a recording event must carry (HTTP 400)."""


@dataclass(frozen=True)
class ZoomFile:
    file_id: str
    kind: str                      # audio | track | transcript | chat | timeline
    file_type: str
    url: str
    size: int | None
    stored: str                    # generated name in the job's inputs dir
    participant: str | None = None  # tracks: the policy id


@dataclass(frozen=True)
class ZoomPlan:
    event: str
    event_ts: str
    meeting_uuid: str
    files: tuple[ZoomFile, ...]
    not_fetched: Mapping[str, int] = field(default_factory=dict)   # file type / reason -> count
    unknown_tracks: int = 0
    present: tuple[str, ...] = ()          # policy ids of every mapped per-participant file

    def counts(self, only: list[str] | None = None) -> dict[str, int]:
        """Files by kind (``only``: those stored under these names)."""
        out: dict[str, int] = {}
        for f in self.files:
            if only is not None and f.stored not in only:
                continue
            out[f.kind] = out.get(f.kind, 0) + 1
        return dict(sorted(out.items()))

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["files"] = [asdict(f) for f in self.files]
        d["not_fetched"] = dict(self.not_fetched)
        d["present"] = list(self.present)
        return d

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> ZoomPlan:
        files = tuple(ZoomFile(**f) for f in d["files"])
        present = d.get("present")
        if not isinstance(present, list):      # a job persisted before ``present`` existed
            present = [f.participant for f in files if f.kind == "track"]
        return cls(event=str(d["event"]), event_ts=str(d["event_ts"]),
                   meeting_uuid=str(d["meeting_uuid"]), files=files,
                   not_fetched=dict(d.get("not_fetched", {})),
                   unknown_tracks=int(d.get("unknown_tracks", 0)),
                   present=tuple(sorted({str(x) for x in present})))


def _object(event: Mapping[str, Any]) -> Mapping[str, Any]:
    payload = event.get("payload")
    obj = payload.get("object") if isinstance(payload, Mapping) else None
    if not isinstance(obj, Mapping):
        raise EventShapeError("payload.object: required")
    uuid = obj.get("uuid")
    if not isinstance(uuid, str) or not _UUID.fullmatch(uuid):
        raise EventShapeError("payload.object.uuid: required (a Zoom meeting uuid)")
    return obj


def _entries(obj: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    value = obj.get(key) or []
    if not isinstance(value, list):
        raise EventShapeError(f"payload.object.{key}: expected a list")
    return [e for e in value if isinstance(e, Mapping)]


def event_key(event: Mapping[str, Any]) -> str:
    """The idempotency key: SHA-256 of event + event_ts + object.uuid + every file id."""
    obj = _object(event)
    ids = sorted(str(e.get("id", "")) for k in ("recording_files", "participant_audio_files")
                 for e in _entries(obj, k))
    material = [str(event.get("event", "")), str(event.get("event_ts", "")), str(obj["uuid"]), ids]
    return hashlib.sha256(json.dumps(material, ensure_ascii=False).encode("utf-8")).hexdigest()


def _strip_token_params(url: str) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if "token" not in k.lower()]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))


def _size(entry: Mapping[str, Any]) -> int | None:
    size = entry.get("file_size")
    return size if isinstance(size, int) and not isinstance(size, bool) and size >= 0 else None


def _usable(entry: Mapping[str, Any], skipped: dict[str, int]) -> str | None:
    """The entry's download URL if it may be fetched at all, else None (counted)."""
    url = entry.get("download_url")
    if entry.get("status") != "completed":
        skipped["not_completed"] = skipped.get("not_completed", 0) + 1
        return None
    if not isinstance(url, str) or not url:
        skipped["no_download_url"] = skipped.get("no_download_url", 0) + 1
        return None
    return _strip_token_params(url)


class _Identities:
    """Policy ids by email (the new ``emails`` list) and by name."""

    def __init__(self, policy: Policy) -> None:
        self.names = NameIndex(policy)
        self.emails = {e: p.id for p in policy.participants for e in p.emails}

    def match(self, entry: Mapping[str, Any]) -> str | None:
        found: set[str] = set()
        email, name = entry.get("participant_email"), entry.get("participant_name")
        if isinstance(email, str) and email.strip():
            pid = self.emails.get(email.strip().lower())
            if pid is None:
                return None            # an identity given and not known: unknown speaker
            found.add(pid)
        if isinstance(name, str) and name.strip():
            pid = self.names.match_name(name)
            if pid is None and not found:
                return None
            if pid is not None:
                found.add(pid)
        return found.pop() if len(found) == 1 else None


def _view_rank(entry: Mapping[str, Any]) -> int:
    """MP4s in :data:`VIEWS` order (the best is the one kept), completed ones first; every
    other file keeps its place (a stable sort)."""
    if str(entry.get("file_type", "")).upper() != "MP4":
        return 0
    view = str(entry.get("recording_type", ""))
    rank = VIEWS.index(view) if view in VIEWS else len(VIEWS)
    return 1 + rank + (0 if entry.get("status") == "completed" and entry.get("download_url") else 100)


def plan_event(event: Mapping[str, Any], policy: Policy, video: bool = False) -> ZoomPlan:
    """The files to fetch for a recording event (``video``: one MP4 too, for a purpose that
    asks for it). Raises :class:`EventShapeError`."""
    obj = _object(event)
    skipped: dict[str, int] = {}
    files: list[ZoomFile] = []
    seen: dict[str, int] = {}
    for entry in sorted(_entries(obj, "recording_files"), key=_view_rank):
        ftype = str(entry.get("file_type", "")).upper()[:32]
        kind = _KINDS.get(ftype) if ftype != "MP4" or video else None
        if kind is None or (kind[0] in _ONE and seen.get(kind[0])):
            skipped[ftype or "unknown"] = skipped.get(ftype or "unknown", 0) + 1
            continue
        url = _usable(entry, skipped)
        if url is None:
            continue
        n = seen[kind[0]] = seen.get(kind[0], 0) + 1
        stored = f"{kind[0]}{kind[1]}" if kind[0] in _ONE else f"{kind[0]}-{n}{kind[1]}"
        files.append(ZoomFile(str(entry.get("id", "")), kind[0], ftype, url, _size(entry), stored))
    ids = _Identities(policy)
    owners: set[str] = set()
    present: set[str] = set()
    unknown = 0
    for entry in _entries(obj, "participant_audio_files"):
        if str(entry.get("file_type", "")).upper() != "M4A":
            skipped["participant_other"] = skipped.get("participant_other", 0) + 1
            continue
        pid = ids.match(entry)
        if pid is None or pid in owners:
            unknown += 1
            continue
        present.add(pid)
        url = _usable(entry, skipped)
        if url is None:
            continue
        owners.add(pid)
        files.append(ZoomFile(str(entry.get("id", "")), "track", "M4A", url, _size(entry),
                              f"track-{len(owners)}.m4a", pid))
    return ZoomPlan(str(event.get("event", "")), str(event.get("event_ts", "")), str(obj["uuid"]),
                    tuple(files), dict(sorted(skipped.items())), unknown, tuple(sorted(present)))
