"""The consent decision (policy-v1.md "Decision, in order"): pure, no I/O, no clock.

Choices where the spec is silent (also in docs/policy.md):

* Present = senders of chat messages (deleted ones included), DM recipients,
  cue speakers, owners of per-participant tracks, and the attendees named by
  the caller or the meeting. People only *mentioned* (a Slack ``<@U..>``) and
  the subject of a system event are attributed but not present.
* Deleted messages are always dropped and are not content: dropping them
  never makes a decision partial.
* System messages are kept as structure but are not content: a meeting where
  only system events would remain is denied ("nothing left to release").
* A private message is also dropped (when ``private_messages: include``) if a
  recipient is excluded: a private exchange belongs to both sides.
* A chat message or cue without a speaker, and every mixed audio input, is
  unattributable content: kept only when everyone present consents (unknown
  speakers per ``unknown_speakers``); with nobody present it counts as spoken
  by unknown speakers.
* A document all of whose items are dropped is listed in
  ``dropped_documents`` (its items are in ``dropped_items`` too).
* On deny every item, document and audio input is listed as dropped.
* ``not_consenting`` lists every policy participant (present or not) and
  attributed unknown speaker who does not consent at ``at``, so that redaction
  can remove their names wherever they are mentioned.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Literal

from .._errors import UsageError
from .._model import ChatMessage, Meeting, MessageKind, Speaker
from .._time import require_aware
from .model import Policy, Purpose
from .names import Attribution, attribute

__all__ = [
    "ConsentDecision",
    "consent_state",
    "decide",
    "decide_passthrough",
    "quotes_dropped",
]

Outcome = Literal["release", "partial", "deny"]


@dataclass(frozen=True)
class ConsentDecision:
    outcome: Outcome
    reasons: tuple[str, ...]                 # human-readable; ids only, never names from content
    excluded_participants: tuple[str, ...]   # sorted; policy ids and unknown-n
    attribution: Mapping[Speaker, str]       # every speaker -> participant id / unknown-n
    consenting: frozenset[str]               # ids (incl. unknown-n) who consent
    dropped_items: frozenset[tuple[int, int]]  # (document index, item index)
    dropped_documents: frozenset[int]        # whole documents excluded
    dropped_audio: frozenset[int]            # indexes into meeting.audio
    purpose: Purpose | None                  # None when the purpose is undefined
    recipient: str | None = None             # the recipient decided for (resolved when omitted)
    present: frozenset[str] = field(default_factory=frozenset)  # ids present (step 6)
    # every policy participant and attributed unknown who does not consent at `at`,
    # present or not: their names may be redacted wherever they are mentioned
    not_consenting: frozenset[str] = field(default_factory=frozenset)

    @property
    def released(self) -> bool:
        return self.outcome != "deny"

    @property
    def released_participants(self) -> tuple[str, ...]:
        """Policy ids of the people whose content is released (present, consenting, not
        excluded; unknown speakers have no policy id): what a withdrawal must reach."""
        if self.outcome == "deny":
            return ()
        ids = (self.present & self.consenting) - set(self.excluded_participants)
        return tuple(sorted(pid for pid in ids if not pid.startswith("unknown-")))


def _short(value: str) -> str:
    return value if len(value) <= 60 else value[:57] + "..."


def consent_state(policy: Policy, pid: str, purpose: Purpose, at: datetime) -> tuple[bool, str]:
    """Whether ``pid`` (policy id or unknown-n) consents to ``purpose`` at ``at``, and why."""
    participant = policy.participant(pid)
    if participant is None:
        ok = policy.unknown_speakers == "consenting"
        return ok, "unknown speaker" + ("" if ok else "s do not consent")
    events = participant.consent.get(purpose.name, ())
    latest = [e for e in events if e.at <= at]
    if not latest:
        if purpose.consent == "opt_out":
            return True, "no objection recorded (opt-out)"
        return False, "no consent recorded (opt-in)"
    last_at = latest[-1].at
    tied = [e for e in latest if e.at == last_at]
    if any(e.status != "granted" for e in tied):
        status = next(e.status for e in reversed(tied) if e.status != "granted")
        return False, f"consent {status}"
    event = tied[-1]
    if event.expires is not None and at >= event.expires:
        return False, "consent expired"
    return True, "consent granted"


def _check_at(at: datetime) -> None:
    require_aware(at)


def _check_attendees(policy: Policy, attendees: Iterable[str]) -> tuple[str, ...]:
    known = policy.participant_ids
    out: list[str] = []
    for a in attendees:
        if a not in known:
            raise UsageError(f"unknown attendee id {_short(a)!r}")
        if a not in out:
            out.append(a)
    return tuple(out)


def _id_key(pid: str) -> tuple[int, int, str]:
    if pid.startswith("unknown-") and pid[8:].isdigit():
        return (1, int(pid[8:]), pid)
    return (0, 0, pid)


def _everything(meeting: Meeting) -> tuple[frozenset[tuple[int, int]], frozenset[int],
                                           frozenset[int]]:
    items = frozenset((d, i) for d, doc in enumerate(meeting.documents)
                      for i in range(len(doc.items)))
    return (items, frozenset(range(len(meeting.documents))),
            frozenset(range(len(meeting.audio))))


def _gate(policy: Policy, purpose: str, recipient: str | None
          ) -> tuple[Purpose | None, str | None, str | None]:
    """Steps 1-3: (purpose, resolved recipient, deny reason or None)."""
    p = policy.purposes.get(purpose)
    if p is None:
        return None, recipient, f"purpose {_short(purpose)!r} is not defined"
    if policy.ai_features.get(purpose) is not True:
        return p, recipient, f"purpose {_short(purpose)!r} is disabled by the account"
    if recipient is None:
        return p, policy.recipient_for(purpose, None), None
    if recipient not in p.recipients:
        return p, recipient, (f"recipient {_short(recipient)!r} may not receive content "
                              f"for purpose {_short(purpose)!r}")
    return p, recipient, None


def decide(
    policy: Policy,
    meeting: Meeting,
    purpose: str,
    recipient: str | None,
    at: datetime,
    attendees: Iterable[str] = (),
) -> ConsentDecision:
    """Decide what of ``meeting`` may be released for ``purpose`` to ``recipient`` at ``at``.

    ``attendees`` adds to ``meeting.attendees``. Raises UsageError for an
    attendee or track id the policy does not know, a naive ``at``, or a
    missing recipient when the purpose has several.
    """
    _check_at(at)
    present_attendees = _check_attendees(policy, (*meeting.attendees, *attendees))
    known = policy.participant_ids
    for track in meeting.audio:
        if track.participant_id is not None and track.participant_id not in known:
            raise UsageError(f"unknown track participant id {_short(track.participant_id)!r}")
    attribution: Attribution = attribute(meeting, policy)
    all_items, all_docs, all_audio = _everything(meeting)

    p, resolved, gate_reason = _gate(policy, purpose, recipient)

    def deny(reasons: Iterable[str], excluded: Iterable[str] = (),
             consenting: frozenset[str] = frozenset(),
             present: frozenset[str] = frozenset(),
             not_consenting: frozenset[str] = frozenset()) -> ConsentDecision:
        return ConsentDecision("deny", tuple(reasons), tuple(sorted(excluded, key=_id_key)),
                               attribution, consenting, all_items, all_docs, all_audio, p,
                               resolved, present, not_consenting)

    if gate_reason is not None or p is None:
        return deny([gate_reason or "purpose is not defined"])

    # Step 6: who is present.
    present: set[str] = set(present_attendees)
    for doc in meeting.documents:
        for item in doc.items:
            if isinstance(item, ChatMessage):
                if item.kind is MessageKind.SYSTEM:
                    continue
                if item.sender is not None:
                    present.add(attribution[item.sender])
                present.update(attribution[r] for r in item.recipients)
            elif item.speaker is not None:
                present.add(attribution[item.speaker])
    present.update(t.participant_id for t in meeting.audio if t.participant_id is not None)

    # Step 5: consent of everyone attributed or present.
    why: dict[str, str] = {}
    consenting_set: set[str] = set()
    for pid in present | set(attribution.ids) | set(known):
        ok, reason = consent_state(policy, pid, p, at)
        why[pid] = reason
        if ok:
            consenting_set.add(pid)
    not_consenting = frozenset(why) - consenting_set
    consenting_set &= present | set(attribution.ids)
    consenting = frozenset(consenting_set)
    frozen_present = frozenset(present)
    excluded = sorted((pid for pid in present if pid not in consenting), key=_id_key)

    unknown_consent = policy.unknown_speakers == "consenting"
    has_unattributable = any(t.participant_id is None for t in meeting.audio) or any(
        (isinstance(item, ChatMessage) and item.sender is None
         and item.kind not in (MessageKind.SYSTEM, MessageKind.DELETED))
        or (not isinstance(item, ChatMessage) and item.speaker is None)
        for doc in meeting.documents for item in doc.items)
    if present:
        unattributable_ok = not excluded
        unattributable_why = "not everyone present consents"
    else:
        unattributable_ok = unknown_consent
        unattributable_why = "nobody is known to be present and unknown speakers do not consent"

    exclusion_reasons = [f"{pid} does not consent to {p.name!r} ({why[pid]})" for pid in excluded]
    if p.missing_consent == "deny":
        if excluded:
            return deny([*exclusion_reasons,
                         f"purpose {p.name!r} requires the consent of everyone present"],
                        excluded, consenting, frozen_present, not_consenting)
        if has_unattributable and not unattributable_ok:
            return deny([("content that cannot be attributed per speaker counts as spoken by "
                         "unknown speakers, who do not consent"),
                         f"purpose {p.name!r} requires the consent of everyone present"],
                        excluded, consenting, frozen_present, not_consenting)

    excluded_set = frozenset(excluded)
    dropped: set[tuple[int, int]] = set()
    content_dropped = False
    private_dropped = 0
    unattributable_dropped = 0
    content_left = False
    for d, doc in enumerate(meeting.documents):
        for i, item in enumerate(doc.items):
            drop = False
            kind = item.kind if isinstance(item, ChatMessage) else None
            if kind is MessageKind.DELETED:
                dropped.add((d, i))
                continue
            if kind is MessageKind.SYSTEM:
                continue
            speaker = item.sender if isinstance(item, ChatMessage) else item.speaker
            if speaker is None:
                if not unattributable_ok:
                    drop = True
                    unattributable_dropped += 1
            elif attribution[speaker] in excluded_set:
                drop = True
            elif isinstance(item, ChatMessage) and item.private:
                if p.private_messages != "include":
                    drop = True
                    private_dropped += 1
                elif any(attribution[r] in excluded_set for r in item.recipients):
                    drop = True
            if drop:
                dropped.add((d, i))
                content_dropped = True
            else:
                content_left = True

    dropped_audio: set[int] = set()
    for k, track in enumerate(meeting.audio):
        if track.participant_id is None:
            if not unattributable_ok:
                dropped_audio.add(k)
                unattributable_dropped += 1
        elif track.participant_id in excluded_set:
            dropped_audio.add(k)
        if k in dropped_audio:
            content_dropped = True
        else:
            content_left = True

    reasons = [f"{r}; their content is excluded and their name redacted"
               for r in exclusion_reasons]
    if private_dropped:
        reasons.append(f"{private_dropped} private message(s) excluded "
                       f"(purpose {p.name!r} excludes private messages)")
    if unattributable_dropped:
        reasons.append(f"{unattributable_dropped} input(s) or item(s) that cannot be attributed "
                       f"per speaker excluded: {unattributable_why}")

    if not content_left:
        return deny([*reasons, "nothing left to release"], excluded, consenting, frozen_present,
                    not_consenting)

    dropped_docs = frozenset(
        d for d, doc in enumerate(meeting.documents)
        if doc.items and all((d, i) in dropped for i in range(len(doc.items))))
    if content_dropped:
        outcome: Outcome = "partial"
    else:
        outcome = "release"
        reasons.append(f"everyone present may share content for {p.name!r}")
    return ConsentDecision(outcome, tuple(reasons), tuple(excluded), attribution, consenting,
                           frozenset(dropped), dropped_docs, frozenset(dropped_audio), p,
                           resolved, frozen_present, not_consenting)


def decide_passthrough(
    policy: Policy,
    purpose: str,
    recipient: str | None,
    at: datetime,
    attendees: Iterable[str] = (),
) -> ConsentDecision:
    """The OpenAI pass-through: steps 1-3, then the text counts as spoken by the
    named attendees, every one of whom must consent; without attendees, by
    unknown speakers (``unknown_speakers``)."""
    _check_at(at)
    named = _check_attendees(policy, attendees)
    p, resolved, gate_reason = _gate(policy, purpose, recipient)
    empty: Mapping[Speaker, str] = MappingProxyType({})

    def make(outcome: Outcome, reasons: list[str], excluded: Iterable[str] = (),
             consenting: frozenset[str] = frozenset()) -> ConsentDecision:
        nc: frozenset[str] = frozenset()
        if p is not None:
            nc = frozenset(q.id for q in policy.participants
                           if not consent_state(policy, q.id, p, at)[0])
        return ConsentDecision(outcome, tuple(reasons), tuple(sorted(excluded, key=_id_key)),
                               empty, consenting, frozenset(), frozenset(), frozenset(), p,
                               resolved, frozenset(named), nc)

    if gate_reason is not None or p is None:
        return make("deny", [gate_reason or "purpose is not defined"])
    if not named:
        if policy.unknown_speakers == "consenting":
            return make("release", [("the text counts as spoken by unknown speakers, "
                                    "who consent")])
        return make("deny", [("the text counts as spoken by unknown speakers, "
                             "who do not consent")])
    consenting: set[str] = set()
    excluded: list[str] = []
    reasons: list[str] = []
    for pid in named:
        ok, why = consent_state(policy, pid, p, at)
        if ok:
            consenting.add(pid)
        else:
            excluded.append(pid)
            reasons.append(f"{pid} does not consent to {p.name!r} ({why})")
    if excluded:
        return make("deny", [*reasons, "every named attendee must consent"], excluded,
                    frozenset(consenting))
    return make("release", [f"every named attendee consents to {p.name!r}"],
                consenting=frozenset(consenting))


def quotes_dropped(meeting: Meeting, decision: ConsentDecision) -> frozenset[tuple[int, int]]:
    """Kept items whose quote points at a dropped item (write the quote as ``[excluded]``).

    ``Quote.ref`` is matched against ``ChatMessage.index`` in the same
    document, falling back to the position when no message has that index.
    """
    out: set[tuple[int, int]] = set()
    for d, doc in enumerate(meeting.documents):
        by_index = {item.index: i for i, item in enumerate(doc.items)}
        for i, item in enumerate(doc.items):
            if (d, i) in decision.dropped_items or not isinstance(item, ChatMessage):
                continue
            if item.quote is None or item.quote.ref is None:
                continue
            pos = by_index.get(item.quote.ref, item.quote.ref)
            if (d, pos) in decision.dropped_items:
                out.add((d, i))
    return frozenset(out)
