"""One live meeting: who is who, each item decided on arrival, one audit record at the end.

Every transcript segment and chat message is attributed to a participant (the
platform's user id and display name, or e-mail where the feed has one, mapped to
a policy id as tracks and speakers are; anyone else is ``unknown-n``) and decided
for each configured purpose at the moment it arrives, on the policy in force
then: so a withdrawal recorded during the meeting takes effect on the next item.
What goes out is the guard's release of that one item, redacted with the
meeting's one pseudonym book; the content of anyone not consenting, private chat,
and anything the guard fails on are dropped and counted by reason. The audit
record (``kind: live_session``) holds ids, counts and reasons, never a value.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from .._errors import MeetguardError
from .._result import GuardResult
from ..policy import NameIndex, Policy, consent_state
from ..redaction import PseudonymBook
from .audio import AudioStream, Hearing
from .audio import rtf as audio_rtf
from .config import LivePurpose
from .hub import END, Channel

__all__ = ["LiveGuard", "LiveMeeting", "is_private_chat"]

log = logging.getLogger("meetguard.live")
RELEASED = ("release", "partial")


class LiveGuard(Protocol):
    """What a live meeting needs of :class:`meetguard.Guard`."""

    async def redact_live(self, texts: Sequence[str], purpose: str, recipient: str | None,
                          attendees: Sequence[str], at: datetime, *,
                          book: PseudonymBook) -> tuple[GuardResult, list[str]]: ...

    async def live_audio_many(self, spans: Sequence[tuple[Any, str, str | None, Sequence[str]]],
                              at: datetime) -> list[tuple[bool, list[tuple[float, float]]]]: ...

    async def policy_in_force(self) -> Policy: ...

    @property
    def policy(self) -> Policy: ...

    @property
    def audit(self) -> Any: ...


_PUBLIC_KEYS = frozenset({"user_id", "user_name", "data", "timestamp", "start_time", "end_time",
                          "language", "attribute", "msg_id", "message_id", "sequence", "seq", "ts",
                          "name", "email", "text", "type", "meeting_id", "source"})
_PRIVATE_HINTS = ("to", "receiver", "recipient", "private", "direct", "dm", "whisper", "group",
                  "target", "visib", "scope", "chat_type", "message_type", "audience")
_PUBLIC_VALUES = {"", "0", "everyone", "all", "everyone in the meeting", "meeting", "public",
                  "false", "none", "null"}


def is_private_chat(content: Mapping[str, Any]) -> bool:
    """Fail closed: a chat message is private unless every field that could name who it is
    for (``to*``, ``receiver*``, ``recipient*``, ``*private*``, ``chat_group_id``,
    ``chat_type``, ...) says everyone or is empty/false."""
    for key, value in content.items():
        k = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", str(key)).lower()     # toUserId: to_user_id
        if k in _PUBLIC_KEYS or not any(h == k or k.startswith(h + "_") or h in k.split("_")
                                        or (len(h) > 3 and h in k) for h in _PRIVATE_HINTS):
            continue
        if value is None or value is False or value == 0:
            continue
        if isinstance(value, (dict, list)) or str(value).strip().lower() not in _PUBLIC_VALUES:
            return True
    return False


@dataclass
class _Person:
    pid: str | None
    label: str                   # the policy id, or unknown-n


class LiveMeeting:
    def __init__(self, meeting_id: str, source: str, purposes: Sequence[LivePurpose],
                 guard: LiveGuard, audio_delay_s: float, hearing: Hearing | None = None) -> None:
        self.meeting_id = meeting_id
        self.hearing = hearing or Hearing(guard)      # the hub's: shared by its meetings
        self._own_hearing = hearing is None
        self.audio_delay_s = audio_delay_s
        self.audio_streams: dict[tuple[str, str], AudioStream] = {}
        self.source = source
        self.purposes = {p.purpose: p for p in purposes}
        self.guard = guard
        self.channels = {p.purpose: Channel(p.purpose) for p in purposes}
        self.book = PseudonymBook()
        self._people: dict[str, _Person] = {}
        self._present: set[str] = set()
        self._unknown = 0
        self._index: tuple[str, NameIndex, dict[str, str]] | None = None
        self.tally: dict[str, Counter[str]] = {p: Counter() for p in self.purposes}
        self._released: dict[str, set[str]] = {p: set() for p in self.purposes}
        self.withdrawals: dict[str, set[str]] = {p: set() for p in self.purposes}
        self.seen: set[str] = set()
        self.started = _now()
        self.ended: datetime | None = None
        self.end_reason: str | None = None
        self.sessions = 0          # platform sessions (reconnections count once each)
        self.ingest_seq = 0        # ingest: the last item's seq (a resent one is skipped)
        self.lock = asyncio.Lock()

    # -- who is who ------------------------------------------------------------------
    def _names(self) -> tuple[NameIndex, dict[str, str]]:
        policy = self.guard.policy
        if self._index is None or self._index[0] != policy.sha256:
            emails = {e: p.id for p in policy.participants for e in p.emails}
            self._index = (policy.sha256, NameIndex(policy), emails)
        return self._index[1], self._index[2]

    def person(self, user_id: str, name: str, email: str | None = None) -> _Person:
        key = user_id or f"name:{name}"
        found = self._people.get(key)
        if found is None:
            names, emails = self._names()
            pid = emails.get(email.strip().lower()) if email else None
            if pid is None and not email and name.strip():
                pid = names.match_name(name)
            if pid is None:
                self._unknown += 1
                found = _Person(None, f"unknown-{self._unknown}")
            else:
                found = _Person(pid, pid)
            self._people[key] = found
        if found.pid is not None:
            self.seen.add(found.pid)
        return found

    async def join(self, user_id: str, name: str, email: str | None = None) -> None:
        self._present.add(self.person(user_id, name, email).label)
        await self._publish_participants()

    async def leave(self, user_id: str, name: str = "") -> None:
        found = self._people.get(user_id or f"name:{name}")
        if found is not None:
            self._present.discard(found.label)
            await self._publish_participants()

    async def policy_now(self) -> Policy | None:
        """The policy in force now, with the consent events recorded at run time (shared
        state: the same source every decision reads); None when they cannot be read."""
        try:
            return await self.guard.policy_in_force()
        except MeetguardError:
            return None

    async def consents(self, who: _Person, purpose: str) -> bool:
        """Whether ``who`` consents to ``purpose`` now (unknown speakers: the policy's rule;
        the consent events unreadable: no)."""
        policy = await self.policy_now()
        spec = policy.purposes.get(purpose) if policy is not None else None
        return (policy is not None and spec is not None
                and consent_state(policy, who.pid or who.label, spec, _now())[0])

    async def _publish_participants(self) -> None:
        """Who is present and consents, per purpose (consent unreadable: nobody listed)."""
        policy, now = await self.policy_now(), _now()
        for name, channel in self.channels.items():
            spec = policy.purposes.get(name) if policy is not None else None
            ids = sorted(p for p in self._present if not p.startswith("unknown-") and spec is not None
                         and policy is not None and consent_state(policy, p, spec, now)[0])
            channel.publish({"type": "participants", "participants": ids,
                             "others": len(self._present) - len(ids)})

    # -- items -----------------------------------------------------------------------
    async def text(self, kind: str, user_id: str, name: str, text: str, *, private: bool = False,
                   email: str | None = None, ts: int | None = None) -> None:
        """Decide one transcript segment or chat message for every purpose and publish it."""
        async with self.lock:
            who = self.person(user_id, name, email)
            for purpose, spec in self.purposes.items():
                if private:
                    self.tally[purpose]["dropped:private_chat"] += 1
                    continue
                out = await self._decide(purpose, spec, who, text)
                if out is None:
                    continue
                event: dict[str, Any] = {"type": kind, "participant": who.label, "text": out}
                if ts is not None:
                    event["ts"] = ts
                self.channels[purpose].publish(event)
                self.tally[purpose][f"released:{kind}"] += 1

    async def _decide(self, purpose: str, spec: LivePurpose, who: _Person, text: str) -> str | None:
        attendees = [who.pid] if who.pid is not None else []
        try:
            result, out = await self.guard.redact_live([text], purpose, spec.recipient, attendees, _now(),
                                                       book=self.book)
        except MeetguardError as exc:           # fail closed, per item
            self.tally[purpose][f"dropped:guard_error:{exc.code}"] += 1
            return None
        if result.decision in RELEASED and len(out) == 1:
            if who.pid is not None:
                self._released[purpose].add(who.pid)
            for etype, n in result.entity_counts.items():
                self.tally[purpose][f"entity:{etype}"] += n
            return out[0]
        reason = "unknown_speaker" if who.pid is None else "no_consent"
        self.tally[purpose][f"dropped:{reason}"] += 1
        if who.pid is not None and who.pid in self._released[purpose] and who.pid not in self.withdrawals[purpose]:
            self.withdrawals[purpose].add(who.pid)       # consented earlier in this meeting
            await self._publish_participants()
        return None

    def audio(self, user_id: str, name: str, pcm: bytes, ts: int) -> None:
        """One packet of a participant's own audio stream (never the mixed stream, user 0)."""
        if user_id in ("", "0"):
            self.count(None, "dropped:audio_mixed_stream")
            return
        who = self.person(user_id, name)
        policy = self.guard.policy
        for purpose in self.purposes:
            spec = policy.purposes.get(purpose)
            if spec is None or spec.audio == "drop":
                self.tally[purpose]["dropped:audio_policy_drop"] += 1
                continue
            stream = self.audio_streams.get((who.label, purpose))
            if stream is None:
                stream = AudioStream(self, purpose, who, self.audio_delay_s, spec.audio)
                self.audio_streams[(who.label, purpose)] = stream
            stream.feed(pcm, ts)

    async def finish(self, reason: str) -> dict[str, Any] | None:
        """Let the audio still held go out on schedule, then :meth:`end`."""
        streams = list(self.audio_streams.values())
        await asyncio.gather(*(s.aclose() for s in streams), return_exceptions=True)
        if self._own_hearing:
            await self.hearing.aclose()
        rtf = audio_rtf(streams)
        if rtf is not None:
            self.count(None, "audio:rtf_x1000", round(rtf * 1000))
        for s in streams:
            self.count(s.purpose, "audio:spans_heard", s.spans_heard)
        return self.end(reason)

    def count(self, purpose: str | None, key: str, n: int = 1) -> None:
        for p in self.purposes if purpose is None else (purpose,):
            self.tally[p][key] += n

    # -- the end -----------------------------------------------------------------------
    def record(self) -> dict[str, Any]:
        """The session's audit record (``event: live_session``): ids and counts only."""
        policy = self.guard.policy
        return {
            "event": "live_session", "meeting_id": self.meeting_id, "at": _iso(self.started),
            "policy_id": policy.policy_id, "policy_sha256": policy.sha256,
            "live": {
                "source": self.source, "started": _iso(self.started),
                "stopped": _iso(self.ended or _now()), "end_reason": self.end_reason,
                "sessions": self.sessions, "participants": sorted(self.seen),
                "unknown_speakers": self._unknown,
                "purposes": [{"purpose": p, "recipient": spec.recipient,
                              "released": _split(self.tally[p], "released:"),
                              "dropped": _split(self.tally[p], "dropped:"),
                              "entity_counts": _split(self.tally[p], "entity:"),
                              "released_participants": sorted(self._released[p]),
                              "other": _split(self.tally[p], ""),
                              "withdrawals_applied": sorted(self.withdrawals[p])}
                             for p, spec in sorted(self.purposes.items())],
            },
        }

    def end(self, reason: str) -> dict[str, Any] | None:
        """Close every channel and append the audit record (once)."""
        if self.ended is not None:
            return None
        self.ended, self.end_reason = _now(), reason
        for channel in self.channels.values():
            channel.publish(dict(END, reason=reason))
        record: dict[str, Any] = self.guard.audit.append(self.record())
        log.info("live session ended", extra={"reason": reason, "sessions": self.sessions})
        return record


def _split(tally: Counter[str], prefix: str) -> dict[str, int]:
    """Counts under ``prefix`` ("": those under neither released: nor dropped:)."""
    if not prefix:
        return dict(sorted((k, n) for k, n in tally.items()
                           if n and not k.startswith(("released:", "dropped:", "entity:"))))
    return dict(sorted((k[len(prefix):], n) for k, n in tally.items() if k.startswith(prefix)))


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")
