"""Reading an archive of meetings: a folder per meeting, or a JSONL manifest.

Folder layout (docs/batch.md)::

    ARCHIVE/
      <meeting>/                    one folder per meeting; its name names the output folder
        meeting.yaml                optional: meeting_id, attendees, at
        *.txt, *.json, *.vtt, ...   chat and transcript exports (a sub-folder or .zip: Slack)
        <name>.m4a | .wav | ...     at most one mixed recording
        track-<participant-id>.<ext>  one participant's audio track

A manifest (``ARCHIVE`` ending in ``.jsonl``) has one JSON object a line with
``name``, ``chat``, ``transcript``, ``audio``, ``tracks``, ``attendees``,
``meeting_id``, ``at``; paths are relative to the manifest's folder and may
not leave it. A problem with one meeting is one line naming the meeting and
the problem; the other meetings go on.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from ._errors import InputError
from ._files import sha256_file
from ._ids import ID_RULE, is_safe_id
from .batch import MeetingSpec

__all__ = ["AUDIO_SUFFIXES", "ArchiveProblem", "input_fingerprint", "scan_archive"]

AUDIO_SUFFIXES = frozenset({".m4a", ".mp3", ".mp4", ".wav", ".flac", ".ogg", ".opus", ".webm", ".aac"})
TRANSCRIPT_SUFFIXES = frozenset({".vtt", ".srt"})
META_FILE = "meeting.yaml"
META_KEYS = frozenset({"meeting_id", "attendees", "at"})
MANIFEST_KEYS = META_KEYS | {"name", "chat", "transcript", "audio", "tracks"}
RESERVED_NAMES = frozenset({"batch-summary.json"})


@dataclass(frozen=True)
class ArchiveProblem:
    """A meeting that cannot be guarded as given: one line, no content."""

    name: str
    problem: str

    def line(self) -> str:
        return f"meeting {self.name}: {self.problem}"


class _Bad(Exception):
    pass


def scan_archive(archive: str | Path) -> tuple[list[MeetingSpec], list[ArchiveProblem]]:
    """The meetings of ``archive`` in name order, and the problems found.

    Raises :class:`UsageError` when the archive as a whole is unusable.
    """
    root = Path(archive)
    if root.is_file() and root.suffix == ".jsonl":
        specs, problems = _scan_manifest(root)
    elif root.is_dir():
        specs, problems = _scan_folders(root)
    else:
        raise InputError(str(root), "not an archive folder or a .jsonl manifest")
    if not specs and not problems:
        raise InputError(str(root), "holds no meetings")
    return _drop_duplicates(specs, problems)


def _drop_duplicates(specs: list[MeetingSpec],
                     problems: list[ArchiveProblem]) -> tuple[list[MeetingSpec], list[ArchiveProblem]]:
    """Two meetings with one id (or one output name) are both refused: which is right is unknown."""
    ids = Counter(s.meeting_id for s in specs)
    names = Counter(s.name for s in specs) + Counter(p.name for p in problems)
    keep: list[MeetingSpec] = []
    for s in specs:
        if ids[s.meeting_id] > 1:
            problems.append(ArchiveProblem(s.name, f"meeting id {s.meeting_id!r} is used by "
                                                   f"{ids[s.meeting_id]} meetings"))
        elif names[s.name] > 1:
            problems.append(ArchiveProblem(s.name, "meeting name is used more than once"))
        else:
            keep.append(s)
    return keep, sorted(problems, key=lambda p: p.name)


# -- folders -------------------------------------------------------------------

def _scan_folders(root: Path) -> tuple[list[MeetingSpec], list[ArchiveProblem]]:
    specs: list[MeetingSpec] = []
    problems: list[ArchiveProblem] = []
    base = root.resolve()       # entries absolute: a relative archive path is joined only once
    try:
        entries = sorted(os.scandir(base), key=lambda e: e.name)
    except OSError as exc:
        raise InputError(str(root), f"cannot list the archive ({exc.strerror})") from None
    for entry in entries:
        if entry.name.startswith(".") or not entry.is_dir():
            continue
        try:
            specs.append(_folder_meeting(base, Path(entry.path)))
        except _Bad as exc:
            problems.append(ArchiveProblem(entry.name, str(exc)))
        except Exception as exc:  # noqa: BLE001 -- this meeting fails, never the archive (#25)
            problems.append(ArchiveProblem(entry.name, f"cannot be read ({type(exc).__name__})"))
    return specs, problems


def _folder_meeting(root: Path, folder: Path) -> MeetingSpec:
    chat: list[str] = []
    transcript: list[str] = []
    audio: list[str] = []
    tracks: dict[str, str] = {}
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        name = entry.name
        suffix = Path(name).suffix.lower()
        if name.startswith(".") or name == META_FILE:
            continue
        path = _inside(root, entry.path, name)     # a link out of the archive fails the meeting
        if name.startswith("track-") and suffix in AUDIO_SUFFIXES:
            pid = name[len("track-"):-len(suffix)]
            if not pid:
                raise _Bad(f"{name}: a track needs a participant id (track-<participant-id>{suffix})")
            tracks[pid] = path
        elif suffix in AUDIO_SUFFIXES:
            audio.append(path)
        elif suffix in TRANSCRIPT_SUFFIXES:
            transcript.append(path)
        else:
            chat.append(path)      # chat exports, Slack folders and zips; the parser decides
    if len(audio) > 1:
        raise _Bad(f"{len(audio)} mixed recordings; name per-participant ones track-<id>.<ext>")
    if not (chat or transcript or audio or tracks):
        raise _Bad("no exports in the meeting folder")
    meta = _read_meta(folder / META_FILE)
    return _spec(folder.name, meta, chat, transcript, audio[0] if audio else None, tracks)


def _read_meta(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise _Bad(f"{META_FILE} is unreadable ({type(exc).__name__})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise _Bad(f"{META_FILE} must be a mapping")
    return _check_keys(data, META_KEYS, META_FILE)


def _check_keys(data: Mapping[Any, Any], allowed: frozenset[str], where: str) -> dict[str, Any]:
    unknown = sorted(str(k) for k in data if k not in allowed)
    if unknown:
        raise _Bad(f"{where}: unknown key {unknown[0][:40]!r} (known: {', '.join(sorted(allowed))})")
    return {str(k): v for k, v in data.items()}


def _spec(name: str, meta: Mapping[str, Any], chat: list[str], transcript: list[str],
          audio: str | None, tracks: Mapping[str, str]) -> MeetingSpec:
    meeting_id = meta.get("meeting_id", name)
    if not isinstance(meeting_id, str | int) or isinstance(meeting_id, bool) or not str(meeting_id):
        raise _Bad("meeting_id must be a non-empty string")
    if not is_safe_id(str(meeting_id)):    # it reaches the audit log: an identifier, never text (#25)
        if "meeting_id" in meta:
            raise _Bad(f"meeting_id: expected {ID_RULE}")
        raise _Bad(f"the folder name is not a meeting id ({ID_RULE}): set meeting_id in its "
                   f"{META_FILE} or in the manifest line")
    attendees = meta.get("attendees", [])
    if not isinstance(attendees, list) or not all(isinstance(a, str) and a for a in attendees):
        raise _Bad("attendees must be a list of participant ids")
    return MeetingSpec(name=name, chat=tuple(chat), transcript=tuple(transcript), audio=audio,
                       tracks=tuple(sorted(tracks.items())), attendees=tuple(attendees),
                       meeting_id=str(meeting_id), at=_at(meta.get("at")))


def _at(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise _Bad("at is not an ISO 8601 date-time") from None
    if not isinstance(value, datetime):
        raise _Bad("at is not an ISO 8601 date-time")
    if value.tzinfo is None or value.utcoffset() is None:
        raise _Bad("at must carry a timezone (e.g. 2026-11-28T12:00:00Z)")
    return value


# -- manifest ------------------------------------------------------------------

def _scan_manifest(path: Path) -> tuple[list[MeetingSpec], list[ArchiveProblem]]:
    root = path.parent.resolve()
    specs: list[MeetingSpec] = []
    problems: list[ArchiveProblem] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(str(path), f"cannot read the manifest ({type(exc).__name__})") from None
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        label = f"line-{number}"
        try:       # each line fails alone, whatever is wrong with it (#25 finding 7)
            try:
                data = json.loads(raw)
            except (ValueError, RecursionError):
                problems.append(ArchiveProblem(label, f"manifest line {number} is not JSON"))
                continue
            if not isinstance(data, dict):
                raise _Bad("not a JSON object")
            label = _manifest_name(data, number)
            specs.append(_manifest_meeting(root, data, label))
        except _Bad as exc:
            problems.append(ArchiveProblem(label, f"manifest line {number}: {exc}"))
        except Exception as exc:  # noqa: BLE001
            problems.append(ArchiveProblem(label, f"manifest line {number} cannot be read "
                                                  f"({type(exc).__name__})"))
    return specs, problems


def _manifest_name(data: Mapping[str, Any], number: int) -> str:
    name = data.get("name", data.get("meeting_id"))
    if name is None:
        return f"line-{number}"
    name = str(name)
    if (not name or name.startswith(".") or "/" in name or "\\" in name or name in RESERVED_NAMES
            or len(name) > 200):
        raise _Bad("name must be a plain folder name")
    return name


def _manifest_meeting(root: Path, data: Mapping[str, Any], name: str) -> MeetingSpec:
    data = _check_keys(data, MANIFEST_KEYS, "manifest")
    chat = [_inside(root, p) for p in _str_list(data.get("chat", []), "chat")]
    transcript = [_inside(root, p) for p in _str_list(data.get("transcript", []), "transcript")]
    audio = data.get("audio")
    if audio is not None and not isinstance(audio, str):
        raise _Bad("audio must be a path")
    tracks = data.get("tracks", {})
    if not isinstance(tracks, dict) or not all(isinstance(v, str) for v in tracks.values()):
        raise _Bad("tracks must map participant ids to paths")
    if not (chat or transcript or audio or tracks):
        raise _Bad("no exports")
    return _spec(name, data, chat, transcript, None if audio is None else _inside(root, audio),
                 {str(k): _inside(root, v) for k, v in tracks.items()})


def _str_list(value: Any, key: str) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _Bad(f"{key} must be a list of paths")
    return list(value)


def _inside(root: Path, rel: str, label: str = "a path") -> str:
    """The path, resolved, when it stays inside the archive (links included)."""
    target = (root / rel).resolve()
    if target != root and root not in target.parents:
        raise _Bad(f"{label} points outside the archive")
    if target.exists() and not os.access(target, os.R_OK):   # fails here, before any model loads
        raise _Bad(f"{label}: cannot read it (permission denied); fix its permissions (chmod +r)")
    return str(target)


# -- what resume compares ------------------------------------------------------

def input_fingerprint(spec: MeetingSpec) -> tuple[str, ...]:
    """The ``input_sha256`` the Guard will audit for this meeting, read without parsing:
    the text inputs in order (chat, then transcript), then the recordings."""
    from .formats import load_source, source_from_bytes, source_sha256

    out: list[str] = []
    for p in (*spec.chat, *spec.transcript):
        source = load_source(p)
        if source.container == "file" and len(source.files) == 1 and \
                source.data[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
            source = source_from_bytes(source.name, source.data, source.path)
        out.append(source_sha256(source))
    for p in _recordings(spec):
        out.append(_sha256_file(p))
    return tuple(out)


def _recordings(spec: MeetingSpec) -> Iterable[str]:
    if spec.audio is not None:
        yield spec.audio
    for _pid, p in spec.tracks:
        yield p


def _sha256_file(path: str) -> str:
    try:
        return sha256_file(path)
    except OSError as exc:
        raise InputError(path, f"cannot be read ({exc.strerror})") from None

