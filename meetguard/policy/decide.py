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
from .._model import ChatMessage, Cue, Meeting, MessageKind, Speaker
from .._time import require_aware
from ..consent.history import in_force
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
    # the last event learnt that is in effect at `at` (consent/history.py): a withdrawal
    # wins over every grant recorded before it, whatever time either claims
    event = in_force(participant.consent.get(purpose.name, ()), at)
    if event is None:
        if purpose.consent == "opt_out":
            return True, "no objection recorded (opt-out)"
        return False, "no consent recorded (opt-in)"
    if event.status != "granted":
        return False, f"consent {event.status}"
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


@dataclass(frozen=True)
class _Request:
    """What ``decide`` was asked, resolved: the gate's answer and the attribution."""

    meeting: Meeting
    attribution: Attribution
    purpose: Purpose | None
    recipient: str | None


@dataclass(frozen=True)
class _Consent:
    """Steps 5 and 6: who is present, who consents, and who is excluded."""

    present: frozenset[str] = frozenset()
    consenting: frozenset[str] = frozenset()
    not_consenting: frozenset[str] = frozenset()
    excluded: tuple[str, ...] = ()           # present and not consenting, sorted
    why: Mapping[str, str] = field(default_factory=dict)
    unattributable_ok: bool = False          # content that cannot be attributed may stay
    unattributable_why: str = ""


# Named in decision.json, the CLI line and the report: what happened, and what releases it.
# The last reason of a deny whose policy allowed the purpose but left no content (the video
# stage may still release a picture with the refusing tiles blacked out: docs/video.md).
NOTHING_LEFT = "nothing left to release"
MIXED_AUDIO_WITHHELD = "audio withheld: the mixed recording cannot be split per speaker"
MIXED_AUDIO_FIX = ("to release the others' audio, give each participant's own track "
                   "(meetguard guard --track PARTICIPANT_ID=FILE; the sidecar's track fields)")


@dataclass
class _Drops:
    """What steps 6 and 7 drop, and what they leave."""

    items: set[tuple[int, int]] = field(default_factory=set)
    audio: set[int] = field(default_factory=set)
    private: int = 0
    unattributable: int = 0
    mixed_audio: int = 0                     # mixed recordings withheld (no per-speaker split)
    content_dropped: bool = False
    content_left: bool = False


def decide(
    policy: Policy,
    meeting: Meeting,
    purpose: str,
    recipient: str | None,
    at: datetime,
    attendees: Iterable[str] = (),
) -> ConsentDecision:
    """Decide what of ``meeting`` may be released for ``purpose`` to ``recipient`` at ``at``:
    the numbered steps of policy-v1.md's "Decision, in order", one helper each.

    ``attendees`` adds to ``meeting.attendees``. Raises UsageError for an
    attendee or track id the policy does not know, a naive ``at``, or a
    missing recipient when the purpose has several.
    """
    _check_at(at)
    named = _check_request_ids(policy, meeting, attendees)
    attribution = attribute(meeting, policy)                                  # step 4
    p, resolved, gate_reason = _gate(policy, purpose, recipient)               # steps 1-3
    request = _Request(meeting, attribution, p, resolved)
    if gate_reason is not None or p is None:
        return _denied(request, [gate_reason or "purpose is not defined"], _Consent())
    present = _step6_present(meeting, attribution, named)
    consent = _step5_consent(policy, p, at, present, attribution)
    refusal = _step6_missing_consent_deny(p, meeting, consent)
    if refusal:
        return _denied(request, refusal, consent)
    drops = _steps6_7_drop(meeting, attribution, p, consent)
    return _step8_outcome(request, p, consent, drops)


def _check_request_ids(policy: Policy, meeting: Meeting, attendees: Iterable[str]) -> tuple[str, ...]:
    """The attendees named (deduplicated); UsageError for an id the policy does not know."""
    named = _check_attendees(policy, (*meeting.attendees, *attendees))
    known = policy.participant_ids
    for track in meeting.audio:
        if track.participant_id is not None and track.participant_id not in known:
            raise UsageError(f"unknown track participant id {_short(track.participant_id)!r}")
    return named


def _step6_present(meeting: Meeting, attribution: Attribution, named: Iterable[str]) -> frozenset[str]:
    """Everyone attributed in the content (senders, DM recipients, speakers, track
    owners) plus the attendees named. System events name no one present."""
    present: set[str] = set(named)
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
    present.update(attribution[turn.speaker] for t in meeting.audio for turn in t.turns or ())
    return frozenset(present)


def _step5_consent(policy: Policy, p: Purpose, at: datetime, present: frozenset[str],
                   attribution: Attribution) -> _Consent:
    """The consent of everyone present, attributed or in the policy; who is excluded; and
    whether content that cannot be attributed per speaker may stay."""
    why: dict[str, str] = {}
    ok_ids: set[str] = set()
    for pid in present | set(attribution.ids) | policy.participant_ids:
        ok, why[pid] = consent_state(policy, pid, p, at)
        if ok:
            ok_ids.add(pid)
    consenting = frozenset(ok_ids & (present | set(attribution.ids)))
    excluded = tuple(sorted((pid for pid in present if pid not in consenting), key=_id_key))
    if present:
        unattributable = (not excluded, "not everyone present consents")
    else:
        unattributable = (policy.unknown_speakers == "consenting",
                          "nobody is known to be present and unknown speakers do not consent")
    return _Consent(present, consenting, frozenset(why) - ok_ids, excluded, why, *unattributable)


def _exclusion_reasons(p: Purpose, consent: _Consent) -> list[str]:
    return [f"{pid} does not consent to {p.name!r} ({consent.why[pid]})" for pid in consent.excluded]


def _has_unattributable(meeting: Meeting) -> bool:
    return any(t.participant_id is None and t.turns is None for t in meeting.audio) or any(
        (isinstance(item, ChatMessage) and item.sender is None
         and item.kind not in (MessageKind.SYSTEM, MessageKind.DELETED))
        or (not isinstance(item, ChatMessage) and item.speaker is None)
        for doc in meeting.documents for item in doc.items)


def _step6_missing_consent_deny(p: Purpose, meeting: Meeting, consent: _Consent) -> list[str]:
    """``missing_consent: deny``: the reasons to deny the whole meeting (none: go on)."""
    if p.missing_consent != "deny":
        return []
    everyone = f"purpose {p.name!r} requires the consent of everyone present"
    if consent.excluded:
        return [*_exclusion_reasons(p, consent), everyone]
    if _has_unattributable(meeting) and not consent.unattributable_ok:
        return [("content that cannot be attributed per speaker counts as spoken by "
                 "unknown speakers, who do not consent"), everyone]
    return []


def _steps6_7_drop(meeting: Meeting, attribution: Attribution, p: Purpose,
                   consent: _Consent) -> _Drops:
    """``missing_consent: exclude`` drops the excluded people's items and tracks, and
    unattributable content unless allowed (step 6); private messages go unless the
    purpose includes them (step 7). Deleted messages always go; system events stay."""
    drops = _Drops()
    excluded = frozenset(consent.excluded)
    for d, doc in enumerate(meeting.documents):
        for i, item in enumerate(doc.items):
            kind = item.kind if isinstance(item, ChatMessage) else None
            if kind is MessageKind.DELETED:
                drops.items.add((d, i))
            elif kind is not MessageKind.SYSTEM:
                _drop_item(drops, (d, i), item, attribution, p, consent, excluded)
    for k, track in enumerate(meeting.audio):
        if track.participant_id is None and track.turns is not None:
            _drop_turns(drops, k, [attribution[t.speaker] for t in track.turns], excluded)
            continue
        if track.participant_id is None:
            if not consent.unattributable_ok:
                drops.audio.add(k)
                drops.unattributable += 1
                drops.mixed_audio += 1
        elif track.participant_id in excluded:
            drops.audio.add(k)
        drops.content_dropped |= k in drops.audio
        drops.content_left |= k not in drops.audio
    return drops


def _drop_turns(drops: _Drops, k: int, speakers: list[str], excluded: frozenset[str]) -> None:
    """A mixed recording with the platform's speaker turns is kept with its excluded
    speakers silenced (pipeline.silence_speakers); dropped only when every speaker in it is
    excluded. Its unattributed speech is judged when it is heard (unknown_speakers)."""
    if speakers and all(pid in excluded for pid in speakers):
        drops.audio.add(k)
        drops.content_dropped = True
        return
    drops.content_left = True
    drops.content_dropped |= any(pid in excluded for pid in speakers)


def _drop_item(drops: _Drops, at: tuple[int, int], item: ChatMessage | Cue,
               attribution: Attribution, p: Purpose, consent: _Consent,
               excluded: frozenset[str]) -> None:
    speaker = item.sender if isinstance(item, ChatMessage) else item.speaker
    drop = False
    if speaker is None:
        if not consent.unattributable_ok:
            drop = True
            drops.unattributable += 1
    elif attribution[speaker] in excluded:
        drop = True
    elif isinstance(item, ChatMessage) and item.private:
        if p.private_messages != "include":
            drop = True
            drops.private += 1
        elif any(attribution[r] in excluded for r in item.recipients):
            drop = True          # a private exchange belongs to both sides
    if drop:
        drops.items.add(at)
        drops.content_dropped = True
    else:
        drops.content_left = True


def _drop_reasons(p: Purpose, consent: _Consent, drops: _Drops) -> list[str]:
    reasons = [f"{r}; their content is excluded and their name redacted"
               for r in _exclusion_reasons(p, consent)]
    if drops.private:
        reasons.append(f"{drops.private} private message(s) excluded "
                       f"(purpose {p.name!r} excludes private messages)")
    if drops.unattributable:
        reasons.append(f"{drops.unattributable} input(s) or item(s) that cannot be attributed "
                       f"per speaker excluded: {consent.unattributable_why}")
    if drops.mixed_audio:
        reasons.append(MIXED_AUDIO_WITHHELD + f" ({consent.unattributable_why}); " + MIXED_AUDIO_FIX)
    return reasons


def _step8_outcome(request: _Request, p: Purpose, consent: _Consent, drops: _Drops) -> ConsentDecision:
    """Nothing left: deny; content dropped: partial; else release."""
    reasons = _drop_reasons(p, consent, drops)
    if not drops.content_left:
        return _denied(request, [*reasons, NOTHING_LEFT], consent)
    documents = request.meeting.documents
    dropped_docs = frozenset(
        d for d, doc in enumerate(documents)
        if doc.items and all((d, i) in drops.items for i in range(len(doc.items))))
    if drops.content_dropped:
        outcome: Outcome = "partial"
    else:
        outcome = "release"
        reasons.append(f"everyone present may share content for {p.name!r}")
    return _decision(request, outcome, reasons, consent, frozenset(drops.items), dropped_docs,
                     frozenset(drops.audio))


def _denied(request: _Request, reasons: Iterable[str], consent: _Consent) -> ConsentDecision:
    """A deny: every item, document and recording is dropped."""
    items, docs, audio = _everything(request.meeting)
    return _decision(request, "deny", reasons, consent, items, docs, audio)


def _decision(request: _Request, outcome: Outcome, reasons: Iterable[str], consent: _Consent,
              items: frozenset[tuple[int, int]], documents: frozenset[int],
              audio: frozenset[int]) -> ConsentDecision:
    """The one place a meeting's ConsentDecision is built."""
    return ConsentDecision(
        outcome=outcome,
        reasons=tuple(reasons),
        excluded_participants=consent.excluded,
        attribution=request.attribution,
        consenting=consent.consenting,
        dropped_items=items,
        dropped_documents=documents,
        dropped_audio=audio,
        purpose=request.purpose,
        recipient=request.recipient,
        present=consent.present,
        not_consenting=consent.not_consenting,
    )


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
        return ConsentDecision(
            outcome=outcome, reasons=tuple(reasons),
            excluded_participants=tuple(sorted(excluded, key=_id_key)), attribution=empty,
            consenting=consenting, dropped_items=frozenset(), dropped_documents=frozenset(),
            dropped_audio=frozenset(), purpose=p, recipient=resolved, present=frozenset(named),
            not_consenting=nc)

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
