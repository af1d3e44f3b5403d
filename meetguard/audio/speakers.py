"""Who spoke when in a mixed recording, as the platform says (``--speakers``).

Two sources, one answer (:class:`~meetguard._model.SpeakerTurn`: start, end, speaker,
platform email, in seconds on the recording's clock):

* Zoom's cloud-recording ``TIMELINE`` file (JSON): ``{"timeline": [{"ts": "00:00:02.370",
  "users": [{"username", "user_id", "email_address", ...}]}, ...]}``. Each entry names the
  active speakers from its ``ts`` until the next entry's (the last one's until the
  recording ends); an entry with no users is nobody. Several users in one entry speak at
  once. ``email_address`` is there for signed-in users only.
* a speaker-labelled transcript in any format meetguard reads (Zoom VTT ``Name: text``,
  Teams and Graph VTT voice tags and ``metadataContent``, SRT with names, meetguard JSON):
  each cue with a speaker is a turn; a cue without one says nothing (its speech is
  unattributed).

Nothing here matches people: speakers map to policy participants through the policy's
identity rules (:func:`meetguard.policy.names.attribute`). Errors are one-line
``InputError`` naming the file and the problem, never a value from it.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .._errors import InputError
from .._model import Cue, Speaker, SpeakerTurn

__all__ = ["MAX_SPEAKERS_BYTES", "parse_timeline", "read_speakers", "turns_from_cues"]

MAX_SPEAKERS_BYTES = 64 * 1024 * 1024
_TS = re.compile(r"(?:(\d{1,6}):)?(\d{1,2}):(\d{1,2}(?:[.,]\d{1,9})?)")


def read_speakers(path: str | Path) -> tuple[SpeakerTurn, ...]:
    """The turns of a Zoom timeline JSON or a speaker-labelled transcript file."""
    p = Path(path)
    try:
        size = p.stat().st_size
        if not p.is_file():
            raise InputError(str(p), "speakers: not a file")
        if size > MAX_SPEAKERS_BYTES:
            raise InputError(str(p), f"speakers: larger than {MAX_SPEAKERS_BYTES // (1024 * 1024)} MiB")
        head = p.read_bytes()[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    except OSError as exc:
        raise InputError(str(p), f"speakers: cannot read ({type(exc).__name__})") from None
    if head.startswith(b"{") and b'"timeline"' in p.read_bytes():
        try:
            doc = json.loads(p.read_bytes().decode("utf-8-sig"))
        except (UnicodeDecodeError, ValueError):
            raise InputError(str(p), "speakers: not valid JSON") from None
        if isinstance(doc, Mapping) and "timeline" in doc:
            return parse_timeline(doc, str(p))
    from ..formats._registry import read_document

    document = read_document(p, kind="transcript")
    cues = [c for c in document.items if isinstance(c, Cue)]
    if not cues:
        raise InputError(str(p), "speakers: neither a Zoom timeline nor a transcript with timed cues")
    return turns_from_cues(cues)


def turns_from_cues(cues: Sequence[Cue]) -> tuple[SpeakerTurn, ...]:
    """A transcript's labelled cues as turns (cues without a speaker give none)."""
    return tuple(SpeakerTurn(float(c.start), float(c.end), c.speaker, None, c.text)
                 for c in cues if c.speaker is not None and c.end > c.start)


def _seconds(value: Any, where: str, name: str) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        t = float(value)
    elif isinstance(value, str) and (m := _TS.fullmatch(value.strip())):
        t = int(m.group(1) or 0) * 3600 + int(m.group(2)) * 60 + float(m.group(3).replace(",", "."))
    else:
        raise InputError(name, f"speakers: {where}.ts is not a time (HH:MM:SS.mmm)")
    if not math.isfinite(t) or t < 0:
        raise InputError(name, f"speakers: {where}.ts is not a time (HH:MM:SS.mmm)")
    return t


def _user(u: Any, where: str, name: str) -> tuple[Speaker, str | None]:
    if not isinstance(u, Mapping):
        raise InputError(name, f"speakers: {where} is not an object")
    label = u.get("username") or u.get("user_name") or u.get("name") or ""
    uid = u.get("user_id") or u.get("userId") or u.get("zoom_userid") or u.get("zoomUserId")
    email = u.get("email_address") or u.get("email") or u.get("user_email")
    if not isinstance(label, str) or (uid is not None and not isinstance(uid, (str, int))):
        raise InputError(name, f"speakers: {where} has a malformed username or user_id")
    email = email.strip().lower() if isinstance(email, str) and email.strip() else None
    return Speaker(label=label.strip(), platform_id=None if uid is None else str(uid)), email


def parse_timeline(doc: Mapping[str, Any], name: str = "timeline") -> tuple[SpeakerTurn, ...]:
    """Zoom's TIMELINE JSON as turns: each entry's users from its ``ts`` to the next one's."""
    entries = doc.get("timeline")
    if not isinstance(entries, list):
        raise InputError(name, "speakers: timeline is not a list")
    points: list[tuple[float, list[tuple[Speaker, str | None]]]] = []
    for k, e in enumerate(entries):
        if not isinstance(e, Mapping):
            raise InputError(name, f"speakers: timeline[{k}] is not an object")
        users = e.get("users") or []
        if not isinstance(users, list):
            raise InputError(name, f"speakers: timeline[{k}].users is not a list")
        points.append((_seconds(e.get("ts"), f"timeline[{k}]", name),
                       [_user(u, f"timeline[{k}].users[{j}]", name) for j, u in enumerate(users)]))
    points.sort(key=lambda p: p[0])
    turns: list[SpeakerTurn] = []
    for k, (start, users) in enumerate(points):
        end = points[k + 1][0] if k + 1 < len(points) else math.inf
        if end <= start:
            continue
        for speaker, email in users:
            turns.append(SpeakerTurn(start, end, speaker, email))
    return tuple(_merge(turns))


def _merge(turns: list[SpeakerTurn]) -> list[SpeakerTurn]:
    """One turn per run of consecutive entries naming the same user."""
    out: list[SpeakerTurn] = []
    open_: dict[tuple[Speaker, str | None], int] = {}
    for t in turns:
        key = (t.speaker, t.email)
        at = open_.get(key)
        if at is not None and out[at].end == t.start:
            out[at] = SpeakerTurn(out[at].start, t.end, t.speaker, t.email)
        else:
            open_[key] = len(out)
            out.append(t)
    return out
