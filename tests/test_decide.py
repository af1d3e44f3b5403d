"""The consent decision (policy-v1.md "Decision, in order"), table-driven.

Meetings are built directly from the model dataclasses. Item specs:

    "m:NAME"          chat message from NAME ("m:" = no sender)
    "dm:A>B"          private message from A to B
    "sys"             system event (no speaker)
    "del:NAME"        deleted message
    "bot:NAME"        bot message
    "r:NAME@i"        reaction by NAME quoting item i of the same document
    "c:NAME"          transcript cue by NAME ("c:" = no speaker)
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import MappingProxyType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meetguard import (
    AudioInput,
    ChatMessage,
    Cue,
    Document,
    Meeting,
    MessageKind,
    Quote,
    Speaker,
    UsageError,
)
from meetguard.policy import (
    ConsentEvent,
    Policy,
    consent_state,
    decide,
    decide_passthrough,
    load_policy,
    parse_policy,
    quotes_dropped,
)

EARLY = datetime(2026, 11, 10, 12, tzinfo=UTC)   # Cat granted, Eve granted
MID = datetime(2026, 11, 16, 12, tzinfo=UTC)     # Cat withdrawn, Eve still granted
LATE = datetime(2026, 11, 28, 12, tzinfo=UTC)    # Cat withdrawn, Eve expired
EVE_EXPIRES = datetime(2026, 11, 20, tzinfo=UTC)

EVENTS = {
    "p-ann": "{status: granted, at: 2026-11-01T09:00:00Z}",
    "p-ben": "{status: refused, at: 2026-11-01T09:00:00Z}",
    "p-cat": "[{status: granted, at: 2026-11-01T09:00:00Z}, "
             "{status: withdrawn, at: 2026-11-15T09:00:00Z}]",
    "p-eve": "{status: granted, at: 2026-11-01T09:00:00Z, expires: 2026-11-20T00:00:00Z}",
    "p-tia": "[{status: granted, at: 2026-11-01T09:00:00Z}, "
             "{status: withdrawn, at: 2026-11-01T09:00:00Z}]",
}
NAMES = {"p-ann": "Ann Lee", "p-ben": "Ben Roy", "p-cat": "Cat Fox", "p-dan": "Dan Ng",
         "p-eve": "Eve Ito", "p-tia": "Tia Tan"}


@functools.cache
def make_policy(consent: str = "opt_out", missing: str = "exclude", private: str = "exclude",
                unknown: str = "non_consenting") -> Policy:
    parts = []
    for pid, name in NAMES.items():
        ev = EVENTS.get(pid)
        cons = f"\n    consent: {{sum: {ev}, train: {ev}}}" if ev else ""
        parts.append(f"  - id: {pid}\n    names: [{name!r}]{cons}")
    text = f"""version: 1
policy_id: test
account: {{id: t, ai_features: {{sum: true, train: true, disabled: false}}}}
purposes:
  sum:
    consent: {consent}
    missing_consent: {missing}
    recipients: [s1, s2]
    redact: {{entities: all, operator: pseudonymize}}
    audio: bleep
    private_messages: {private}
  train:
    consent: opt_in
    missing_consent: deny
    recipients: [store]
    redact: {{entities: all, operator: redact}}
    audio: drop
  disabled:
    consent: opt_out
    missing_consent: exclude
    recipients: [x]
    redact: {{entities: all, operator: redact}}
    audio: drop
participants:
{chr(10).join(parts)}
unknown_speakers: {unknown}
"""
    return parse_policy(text.encode(), "test-policy.yaml")


def _sp(name: str) -> Speaker | None:
    return Speaker(name) if name else None


def build_doc(specs: Sequence[str], di: int = 0) -> Document:
    items: list[ChatMessage | Cue] = []
    kind = "chat"
    for i, spec in enumerate(specs):
        tag, _, rest = spec.partition(":")
        if tag == "m":
            items.append(ChatMessage(i, "10:00", _sp(rest), f"text {di}.{i}"))
        elif tag == "dm":
            a, b = rest.split(">")
            items.append(ChatMessage(i, "10:00", _sp(a), f"dm {di}.{i}", recipients=(Speaker(b),),
                                     private=True))
        elif tag == "sys":
            items.append(ChatMessage(i, "10:00", None, "joined", kind=MessageKind.SYSTEM))
        elif tag == "del":
            items.append(ChatMessage(i, "10:00", _sp(rest), "", kind=MessageKind.DELETED))
        elif tag == "bot":
            items.append(ChatMessage(i, "10:00", Speaker(rest, platform_id="B-" + rest), "beep",
                                     kind=MessageKind.BOT))
        elif tag == "r":
            who, ref = rest.split("@")
            items.append(ChatMessage(i, "10:00", _sp(who), "+1", kind=MessageKind.REACTION,
                                     quote=Quote("quoted", int(ref))))
        elif tag == "c":
            kind = "transcript"
            items.append(Cue(i, float(i), float(i) + 1, _sp(rest), f"cue {di}.{i}"))
        else:  # pragma: no cover - a typo in the table
            raise AssertionError(spec)
    return Document(f"doc{di}", "test", kind, tuple(items))  # type: ignore[arg-type]


def build_meeting(docs: Sequence[Sequence[str]], audio: Sequence[str | None] = (),
                  attendees: Sequence[str] = ()) -> Meeting:
    recs = tuple(AudioInput(Path(f"a{k}.wav"), pid, pid or f"a{k}") for k, pid in enumerate(audio))
    return Meeting(tuple(build_doc(d, di) for di, d in enumerate(docs)), recs, tuple(attendees))


@dataclass(frozen=True)
class Row:
    id: str
    docs: tuple[tuple[str, ...], ...] = ()
    outcome: str = "release"
    excluded: tuple[str, ...] = ()
    dropped: frozenset[tuple[int, int]] = frozenset()
    dropped_audio: frozenset[int] = frozenset()
    dropped_docs: frozenset[int] = frozenset()
    audio: tuple[str | None, ...] = ()
    attendees: tuple[str, ...] = ()
    purpose: str = "sum"
    recipient: str | None = "s1"
    at: datetime = LATE
    settings: dict[str, str] = field(default_factory=dict)
    reason: str = ""


def R(id: str, docs: Sequence[Sequence[str]] = (), outcome: str = "release",
      excluded: Sequence[str] = (), dropped: Sequence[tuple[int, int]] = (),
      dropped_audio: Sequence[int] = (), dropped_docs: Sequence[int] = (), **kw: object) -> Row:
    return Row(id, tuple(tuple(d) for d in docs), outcome, tuple(excluded), frozenset(dropped),
               frozenset(dropped_audio), frozenset(dropped_docs), **kw)  # type: ignore[arg-type]


ANN, BEN, CAT, DAN, EVE = "m:Ann Lee", "m:Ben Roy", "m:Cat Fox", "m:Dan Ng", "m:Eve Ito"
EXCL = {"missing": "deny"}

ROWS = [
    # steps 1-3: the gate
    R("undefined-purpose", [[ANN]], "deny", purpose="marketing", reason="is not defined"),
    R("disabled-by-account", [[ANN]], "deny", purpose="disabled", recipient="x",
      reason="disabled by the account"),
    R("recipient-not-allowed", [[ANN]], "deny", recipient="store", reason="may not receive"),
    R("recipient-resolved-when-single", [["m:Ann Lee"]], "release", purpose="train",
      recipient=None),
    # consent states
    R("all-consent", [[ANN, DAN]], "release", reason="everyone present"),
    R("refused-sender", [[ANN, BEN]], "partial", ["p-ben"], [(0, 1)], reason="p-ben"),
    R("only-refused", [[BEN]], "deny", ["p-ben"], [(0, 0)], [], [0],
      reason="nothing left to release"),
    R("withdrawn-late", [[ANN, CAT]], "partial", ["p-cat"], [(0, 1)], reason="withdrawn"),
    R("withdrawn-not-yet", [[ANN, CAT]], "release", at=EARLY),
    R("expired", [[ANN, EVE]], "partial", ["p-eve"], [(0, 1)], reason="expired"),
    R("expires-exactly-now", [[ANN, EVE]], "partial", ["p-eve"], [(0, 1)], at=EVE_EXPIRES),
    R("not-yet-expired", [[ANN, EVE]], "release", at=MID),
    R("opt-in-no-event", [[ANN, DAN]], "partial", ["p-dan"], [(0, 1)],
      settings={"consent": "opt_in"}, reason="no consent recorded"),
    R("tied-events-fail-closed", [[ANN, "m:Tia Tan"]], "partial", ["p-tia"], [(0, 1)]),
    R("before-any-event-opt-in", [[ANN]], "deny", ["p-ann"], [(0, 0)], [], [0],
      at=datetime(2026, 10, 1, tzinfo=UTC), settings={"consent": "opt_in"}),
    # missing_consent: deny
    R("deny-mode-refused", [[ANN, BEN]], "deny", ["p-ben"], [(0, 0), (0, 1)], [], [0],
      settings=EXCL, reason="requires the consent of everyone present"),
    R("deny-mode-all-consent", [[ANN, DAN]], "release", settings=EXCL),
    R("deny-mode-refused-attendee", [[ANN]], "deny", ["p-ben"], [(0, 0)], [], [0],
      attendees=("p-ben",), settings=EXCL),
    # unknown speakers and bots
    R("unknown-non-consenting", [[ANN, "m:Zed Zulu"]], "partial", ["unknown-1"], [(0, 1)]),
    R("unknown-consenting", [[ANN, "m:Zed Zulu"]], "release",
      settings={"unknown": "consenting"}),
    R("bot-is-unknown", [[ANN, "bot:Helper"]], "partial", ["unknown-1"], [(0, 1)]),
    R("bot-consenting-unknowns", [[ANN, "bot:Helper"]], "release",
      settings={"unknown": "consenting"}),
    R("bot-named-as-participant", [[ANN, "bot:Ann Lee"]], "partial", ["unknown-1"], [(0, 1)]),
    # private messages
    R("private-excluded", [[ANN, "dm:Ann Lee>Dan Ng"]], "partial", [], [(0, 1)],
      reason="1 private message(s) excluded"),
    R("private-included", [[ANN, "dm:Ann Lee>Dan Ng"]], "release",
      settings={"private": "include"}),
    R("private-included-recipient-refused", [[ANN, "dm:Ann Lee>Ben Roy"]], "partial",
      ["p-ben"], [(0, 1)], settings={"private": "include"}),
    R("private-only", [["dm:Ann Lee>Dan Ng"]], "deny", [], [(0, 0)], [], [0]),
    R("private-from-refused", [[ANN, "dm:Ben Roy>Ann Lee", DAN]], "partial", ["p-ben"],
      [(0, 1)]),
    # deleted / system
    R("deleted-never-released-not-partial", [[ANN, "del:Ann Lee"]], "release", [], [(0, 1)]),
    R("deleted-by-refused-counts-present", [[ANN, "del:Ben Roy"]], "release", ["p-ben"],
      [(0, 1)]),
    R("system-only", [["sys"]], "deny", [], [(0, 0)], [], [0], reason="nothing left"),
    R("system-kept", [["sys", ANN]], "release"),
    R("system-and-dropped", [["sys", BEN]], "deny", ["p-ben"], [(0, 0), (0, 1)], [], [0]),
    R("empty-meeting", [], "deny", reason="nothing left"),
    # reactions quoting dropped messages stay
    R("reaction-to-dropped", [[BEN, "r:Ann Lee@0"]], "partial", ["p-ben"], [(0, 0)]),
    R("reaction-by-refused", [[ANN, "r:Ben Roy@0"]], "partial", ["p-ben"], [(0, 1)]),
    # mentions and attendees
    R("attendee-refused-nothing-to-drop", [[ANN]], "release", ["p-ben"],
      attendees=("p-ben",)),
    # transcripts and unattributable content
    R("cues-refused-speaker", [["c:Ann Lee", "c:Ben Roy"]], "partial", ["p-ben"], [(0, 1)]),
    R("unlabelled-with-consenting-attendee", [["c:", "c:"]], "release", attendees=("p-ann",)),
    R("unlabelled-with-refused-attendee", [["c:", "c:"]], "deny", ["p-ben"],
      [(0, 0), (0, 1)], [], [0], attendees=("p-ben",), reason="cannot be attributed"),
    R("unlabelled-nobody-present", [["c:"]], "deny", [], [(0, 0)], [], [0],
      reason="nobody is known to be present"),
    R("unlabelled-nobody-present-consenting-unknowns", [["c:"]], "release",
      settings={"unknown": "consenting"}),
    R("unlabelled-next-to-refused", [["c:Ann Lee", "c:Ben Roy"], ["c:"]], "partial",
      ["p-ben"], [(0, 1), (1, 0)], [], [1]),
    R("unlabelled-next-to-consenting", [["c:Ann Lee", "c:Dan Ng"], ["c:"]], "release"),
    R("chat-without-sender-ok", [["m:", ANN]], "release"),
    R("chat-without-sender-dropped", [["m:", ANN, BEN]], "partial", ["p-ben"],
      [(0, 0), (0, 2)]),
    R("deny-mode-unlabelled-nobody", [["c:"]], "deny", [], [(0, 0)], [], [0], settings=EXCL,
      reason="unknown speakers, who do not consent"),
    R("deny-mode-unlabelled-nobody-consenting", [["c:"]], "release",
      settings={"missing": "deny", "unknown": "consenting"}),
    # audio
    R("mixed-audio-consenting-attendee", [], "release", audio=(None,), attendees=("p-ann",)),
    R("mixed-audio-nobody", [], "deny", [], [], [0], audio=(None,)),
    R("mixed-audio-nobody-consenting-unknowns", [], "release", audio=(None,),
      settings={"unknown": "consenting"}),
    R("mixed-audio-with-consenting-chat", [[ANN]], "release", audio=(None,)),
    R("mixed-audio-with-refused-chat", [[ANN, BEN]], "partial", ["p-ben"], [(0, 1)], [0],
      audio=(None,)),
    R("track-refused", [], "partial", ["p-ben"], [], [0], audio=("p-ben", "p-ann")),
    R("track-consenting", [], "release", audio=("p-ann", "p-dan")),
    R("track-refused-only", [], "deny", ["p-ben"], [], [0], audio=("p-ben",)),
    R("track-refused-makes-mixed-fail", [], "partial", ["p-ben"], [], [0, 2],
      audio=("p-ben", "p-ann", None)),
    # documents
    R("whole-document-dropped", [[ANN], [BEN]], "partial", ["p-ben"], [(1, 0)], [], [1]),
    # training (opt-in, deny)
    R("training-early", [["c:Ann Lee", "c:Cat Fox"]], "release", purpose="train",
      recipient="store", at=EARLY),
    R("training-late", [["c:Ann Lee", "c:Cat Fox"]], "deny", ["p-cat"], [(0, 0), (0, 1)], [],
      [0], purpose="train", recipient="store"),
    R("training-no-event", [[ANN, DAN]], "deny", ["p-dan"], [(0, 0), (0, 1)], [], [0],
      purpose="train", recipient="store", at=EARLY),
]


def run_row(row: Row):  # type: ignore[no-untyped-def]
    pol = make_policy(**row.settings)
    meeting = build_meeting(row.docs, row.audio)
    return meeting, decide(pol, meeting, row.purpose, row.recipient, row.at, row.attendees)


def test_table_is_large() -> None:
    assert len(ROWS) >= 40
    assert len({r.id for r in ROWS}) == len(ROWS)


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.id)
def test_decision_table(row: Row) -> None:
    meeting, d = run_row(row)
    assert d.outcome == row.outcome, d.reasons
    assert d.excluded_participants == row.excluded
    if row.reason:
        assert any(row.reason in r for r in d.reasons), d.reasons
    if d.outcome == "deny":
        n_items = sum(len(doc.items) for doc in meeting.documents)
        assert len(d.dropped_items) == n_items
        assert d.dropped_audio == frozenset(range(len(meeting.audio)))
    else:
        assert d.dropped_items == row.dropped
        assert d.dropped_audio == row.dropped_audio
        assert d.dropped_documents == row.dropped_docs
    # reasons never carry names from the content
    for r in d.reasons:
        for name in ("Ann", "Ben", "Cat", "Dan", "Eve", "Zed", "Helper", "Tia"):
            assert name not in r


def test_deny_rows_list_every_document_dropped() -> None:
    for row in ROWS:
        if row.outcome == "deny":
            meeting, d = run_row(row)
            assert d.dropped_documents == frozenset(range(len(meeting.documents)))


def test_recipient_required_when_several() -> None:
    with pytest.raises(UsageError, match="recipient required"):
        decide(make_policy(), build_meeting([[ANN]]), "sum", None, LATE)


def test_resolved_recipient_is_reported() -> None:
    d = decide(make_policy(), build_meeting([[ANN]]), "train", None, EARLY)
    assert d.recipient == "store" and d.outcome == "release"


@pytest.mark.parametrize("meeting, attendees, needle", [
    (build_meeting([[ANN]]), ("p-nobody",), "unknown attendee id 'p-nobody'"),
    (Meeting(attendees=("ghost",)), (), "unknown attendee id 'ghost'"),
    (build_meeting([], ("p-ghost",)), (), "unknown track participant id 'p-ghost'"),
])
def test_unknown_ids_are_usage_errors(meeting: Meeting, attendees: tuple[str, ...],
                                      needle: str) -> None:
    with pytest.raises(UsageError, match=needle) as info:
        decide(make_policy(), meeting, "sum", "s1", LATE, attendees)
    assert info.value.exit_code == 2


def test_naive_time_is_refused() -> None:
    with pytest.raises(UsageError, match="timezone"):
        decide(make_policy(), build_meeting([[ANN]]), "sum", "s1", datetime(2026, 11, 28))


def test_attribution_consenting_and_present() -> None:
    meeting = build_meeting([[ANN, "m:Zed Zulu", BEN]], attendees=("p-dan",))
    d = decide(make_policy(), meeting, "sum", "s1", LATE)
    assert dict(d.attribution) == {Speaker("Ann Lee"): "p-ann", Speaker("Zed Zulu"): "unknown-1",
                                   Speaker("Ben Roy"): "p-ben"}
    assert d.consenting == {"p-ann", "p-dan"}
    assert d.present == {"p-ann", "p-ben", "p-dan", "unknown-1"}
    assert d.excluded_participants == ("p-ben", "unknown-1")
    assert d.not_consenting == {"p-ben", "p-cat", "p-eve", "p-tia", "unknown-1"}
    assert d.purpose is not None and d.purpose.name == "sum"


def test_excluded_sorted_naturally() -> None:
    names = [f"m:Stranger {chr(65 + i)}" for i in range(11)]
    d = decide(make_policy(), build_meeting([[ANN, *names]]), "sum", "s1", LATE)
    assert d.excluded_participants == tuple(f"unknown-{i}" for i in range(1, 12))


def test_quotes_dropped() -> None:
    meeting = build_meeting([[BEN, "r:Ann Lee@0", ANN, "r:Dan Ng@2", "r:Ben Roy@2"]])
    d = decide(make_policy(), meeting, "sum", "s1", LATE)
    assert d.dropped_items == {(0, 0), (0, 4)}
    assert quotes_dropped(meeting, d) == {(0, 1)}


# ------------------------------------------------------------------ pass-through


@pytest.mark.parametrize("purpose, recipient, attendees, at, settings, outcome, excluded", [
    ("sum", "s1", ("p-ann", "p-dan"), LATE, {}, "release", ()),
    ("sum", "s1", ("p-ann", "p-ben"), LATE, {}, "deny", ("p-ben",)),
    ("sum", "s1", ("p-cat",), EARLY, {}, "release", ()),
    ("sum", "s1", ("p-cat",), LATE, {}, "deny", ("p-cat",)),
    ("sum", "s1", (), LATE, {}, "deny", ()),
    ("sum", "s1", (), LATE, {"unknown": "consenting"}, "release", ()),
    ("sum", "nope", ("p-ann",), LATE, {}, "deny", ()),
    ("disabled", "x", ("p-ann",), LATE, {}, "deny", ()),
    ("marketing", "s1", ("p-ann",), LATE, {}, "deny", ()),
    ("train", None, ("p-ann",), LATE, {}, "release", ()),
    ("train", None, ("p-ann", "p-dan"), LATE, {}, "deny", ("p-dan",)),
])
def test_passthrough(purpose: str, recipient: str | None, attendees: tuple[str, ...],
                     at: datetime, settings: dict[str, str], outcome: str,
                     excluded: tuple[str, ...]) -> None:
    d = decide_passthrough(make_policy(**settings), purpose, recipient, at, attendees)
    assert d.outcome == outcome, d.reasons
    assert d.excluded_participants == excluded
    assert not d.dropped_items and not d.attribution
    if d.purpose is not None and purpose == "sum" and at == LATE:
        assert d.not_consenting == {"p-ben", "p-cat", "p-eve", "p-tia"}


def test_passthrough_unknown_attendee() -> None:
    with pytest.raises(UsageError, match="unknown attendee"):
        decide_passthrough(make_policy(), "sum", "s1", LATE, ["p-zz"])


# ------------------------------------------------------------------ the dev policy

DEV = load_policy(Path(__file__).parent / "conf" / "policies" / "good_dev.yaml")
DEV_AT = datetime(2026, 11, 28, 12, tzinfo=UTC)
DEV_EARLY = datetime(2026, 11, 10, 12, tzinfo=UTC)


def slack_meeting() -> Meeting:
    alice = Speaker("Alice Martin", "U01ALICE", ("amartin", "Alice"))
    bob = Speaker("Bob Li", "U02BOBLI", ("bli", "bob"))
    from meetguard import Mention
    items = (
        ChatMessage(0, "1795161600.000100", None, "has joined", kind=MessageKind.SYSTEM,
                    mentions=(Mention(0, 5, bob),)),
        ChatMessage(1, "1795161660.000200", alice, "@bob the contact", mentions=(Mention(0, 4, bob),)),
        ChatMessage(2, "1795161720.000300", bob, "got it"),
        ChatMessage(3, "1795162000.000400", None, "A huddle happened", kind=MessageKind.SYSTEM),
    )
    return Meeting((Document("slack_export", "slack", "chat", items),))


DEV_ROWS = [
    ("zoom_chat_local", [["m:Alice Martin", "m:Bob Li", "dm:Carla Nunes>Bob Li",
                          "m:Deepak Rao", "m:Alice Martin", "m:Bob Li"]], (), "summarization",
     DEV_AT, "partial", ["p-carla"]),
    ("zoom_chat_old", [["m:Alice Martin", "m:Bob Li", "dm:Carla Nunes>Alice Martin",
                        "m:Deepak Rao"]], (), "summarization", DEV_AT, "partial", ["p-carla"]),
    ("zoom_chat_cloud", [["m:Alice Martin", "r:Bob Li@0", "r:Deepak Rao@0"]], (),
     "summarization", DEV_AT, "release", []),
    ("zoom_transcript", [["c:Alice Martin", "c:Bob Li", "c:Deepak Rao", "c:Carla Nunes"]], (),
     "summarization", DEV_AT, "partial", ["p-carla"]),
    ("teams_transcript", [["c:Martin, Alice [NW]", "c:Li, Bob (Guest)", "c:Rao, Deepak [NW]"]],
     (), "summarization", DEV_AT, "release", []),
    ("teams_graph", [["c:Alice Martin", "c:Bob Li"]], (), "summarization", DEV_AT, "release",
     []),
    ("generic_srt", [["c:", "c:"]], ("p-alice",), "summarization", DEV_AT, "release", []),
    ("teams_chat_graph", [["sys", "m:Alice Martin", "m:Deepak Rao"]], (), "summarization",
     DEV_AT, "release", []),
    ("train-teams_graph-early", [["c:Alice Martin", "c:Bob Li"]], (), "training", DEV_EARLY,
     "release", []),
    ("train-teams_graph-late", [["c:Alice Martin", "c:Bob Li"]], (), "training", DEV_AT,
     "deny", ["p-bob"]),
    ("train-zoom_chat_cloud-early", [["m:Alice Martin", "r:Bob Li@0", "r:Deepak Rao@0"]], (),
     "training", DEV_EARLY, "deny", ["p-deepak"]),
    ("train-generic_srt", [["c:", "c:"]], ("p-alice",), "training", DEV_AT, "release", []),
    ("train-carla-any-time", [["c:Alice Martin", "c:Carla Nunes"]], (), "training", DEV_EARLY,
     "deny", ["p-carla"]),
]


@pytest.mark.parametrize("name, docs, attendees, purpose, at, outcome, excluded", DEV_ROWS,
                         ids=[r[0] for r in DEV_ROWS])
def test_dev_policy_expectations(name: str, docs: list[list[str]], attendees: tuple[str, ...],
                                 purpose: str, at: datetime, outcome: str,
                                 excluded: list[str]) -> None:
    recipient = "summarizer" if purpose == "summarization" else "training-store"
    d = decide(DEV, build_meeting(docs), purpose, recipient, at, attendees)
    assert d.outcome == outcome, d.reasons
    assert list(d.excluded_participants) == excluded


def test_dev_slack_export_release() -> None:
    d = decide(DEV, slack_meeting(), "summarization", "summarizer", DEV_AT)
    assert d.outcome == "release" and d.excluded_participants == ()
    assert set(d.attribution.values()) == {"p-alice", "p-bob"}


def test_dev_carla_only_mentioned_is_release() -> None:
    from meetguard import Mention
    carla = Speaker("Carla Nunes")
    msg = ChatMessage(0, "t", Speaker("Alice Martin"), "ping Carla", mentions=(Mention(5, 10, carla),))
    d = decide(DEV, Meeting((Document("c", "slack", "chat", (msg,)),)), "summarization",
               "summarizer", DEV_AT)
    assert d.outcome == "release" and d.excluded_participants == ()
    assert d.attribution[carla] == "p-carla" and "p-carla" not in d.consenting
    assert d.not_consenting == {"p-carla"}


# ------------------------------------------------------------------ properties


POOL = ["Ann Lee", "Ben Roy", "Cat Fox", "Dan Ng", "Eve Ito", "Zed Zulu", "Yan Yu", ""]
IDS = list(NAMES)
SETTINGS = st.fixed_dictionaries({
    "consent": st.sampled_from(["opt_in", "opt_out"]),
    "missing": st.sampled_from(["exclude", "deny"]),
    "private": st.sampled_from(["exclude", "include"]),
    "unknown": st.sampled_from(["non_consenting", "consenting"]),
})


@st.composite
def chat_spec(draw: st.DrawFn) -> str:
    who = draw(st.sampled_from(POOL))
    kind = draw(st.sampled_from(["m", "m", "m", "dm", "sys", "del", "bot"]))
    if kind == "dm":
        to = draw(st.sampled_from([n for n in POOL if n]))
        return f"dm:{who or 'Ann Lee'}>{to}"
    if kind == "sys":
        return "sys"
    if kind == "bot":
        return f"bot:{who or 'Helper'}"
    return f"{kind}:{who}"


@st.composite
def meetings(draw: st.DrawFn) -> tuple[list[list[str]], list[str | None], list[str]]:
    docs: list[list[str]] = []
    for _ in range(draw(st.integers(0, 2))):
        if draw(st.booleans()):
            docs.append(draw(st.lists(chat_spec(), max_size=6)))
        else:
            docs.append([f"c:{w}" for w in draw(st.lists(st.sampled_from(POOL), max_size=6))])
    audio = draw(st.lists(st.sampled_from([None, *IDS]), max_size=2))
    attendees = draw(st.lists(st.sampled_from(IDS), max_size=2, unique=True))
    return docs, audio, attendees


def uniq(meeting: Meeting) -> Meeting:
    """Give every item a unique index so equal-looking items stay distinct."""
    n = 0
    docs = []
    for doc in meeting.documents:
        items = []
        for item in doc.items:
            n += 1
            items.append(replace(item, index=1000 + n))
        docs.append(replace(doc, items=tuple(items)))
    return replace(meeting, documents=tuple(docs))


def kept(meeting: Meeting, d) -> set[object]:  # type: ignore[no-untyped-def]
    if d.outcome == "deny":
        return set()
    out: set[object] = {item for di, doc in enumerate(meeting.documents)
                        for ii, item in enumerate(doc.items) if (di, ii) not in d.dropped_items}
    out |= {("audio", k) for k in range(len(meeting.audio)) if k not in d.dropped_audio}
    return out


AT = st.sampled_from([EARLY, MID, LATE])
FAST = settings(max_examples=120, deadline=None)


@FAST
@given(meetings(), SETTINGS, AT, st.sampled_from(["p-ben", "p-cat", "p-eve"]),
       st.sampled_from(["message", "cue", "attendee", "track"]), st.integers(0, 10))
def test_adding_non_consenting_never_releases_more(m, s, at, pid, how, pos) -> None:  # type: ignore[no-untyped-def]
    pol = make_policy(**s)
    docs, audio, attendees = m
    base = uniq(build_meeting(docs, audio, attendees))
    d0 = decide(pol, base, "sum", "s1", at)
    if consent_state(pol, pid, pol.purposes["sum"], at)[0]:
        return  # only non-consenting additions are in scope
    name = NAMES[pid]
    if how == "attendee":
        more = replace(base, attendees=(*base.attendees, pid))
    elif how == "track":
        more = replace(base, audio=(*base.audio, AudioInput(Path("t.wav"), pid, pid)))
    else:
        new: ChatMessage | Cue
        if how == "message":
            new = ChatMessage(1, "t", Speaker(name), "new")
        else:
            new = Cue(1, 0.0, 1.0, Speaker(name), "new")
        if base.documents:
            doc = base.documents[0]
            items = list(doc.items)
            items.insert(min(pos, len(items)), new)
            docs2 = (replace(doc, items=tuple(items)), *base.documents[1:])
        else:
            docs2 = (Document("n", "t", "chat", (new,)),)
        more = replace(base, documents=docs2)
    d1 = decide(pol, more, "sum", "s1", at)
    assert {x for x in kept(more, d1) if not isinstance(x, tuple)} <= kept(base, d0)
    assert {x for x in kept(more, d1) if isinstance(x, tuple)} <= kept(base, d0)
    if d1.outcome == "release":
        assert d0.outcome == "release"


@FAST
@given(meetings(), SETTINGS, AT, st.sampled_from(IDS))
def test_withdrawing_never_releases_more(m, s, at, pid) -> None:  # type: ignore[no-untyped-def]
    pol = make_policy(**s)
    meeting = uniq(build_meeting(*m))
    d0 = decide(pol, meeting, "sum", "s1", at)
    parts = []
    for p in pol.participants:
        if p.id == pid:
            cons = dict(p.consent)
            cons["sum"] = (*cons.get("sum", ()), ConsentEvent("withdrawn", at - timedelta(seconds=1)))
            p = replace(p, consent=MappingProxyType(cons))
        parts.append(p)
    pol2 = replace(pol, participants=tuple(parts))
    d1 = decide(pol2, meeting, "sum", "s1", at)
    assert kept(meeting, d1) <= kept(meeting, d0)
    assert pid not in d1.consenting
    if d1.outcome == "release":
        assert d0.outcome == "release"


@FAST
@given(meetings(), SETTINGS)
def test_moving_past_an_expiry_never_releases_more(m, s) -> None:  # type: ignore[no-untyped-def]
    # between MID and LATE the only change is p-eve's expiry
    pol = make_policy(**s)
    meeting = uniq(build_meeting(*m))
    d0 = decide(pol, meeting, "sum", "s1", MID)
    d1 = decide(pol, meeting, "sum", "s1", LATE)
    assert kept(meeting, d1) <= kept(meeting, d0)
    if d1.outcome == "release":
        assert d0.outcome == "release"


@FAST
@given(meetings(), SETTINGS, AT, st.randoms(use_true_random=False))
def test_decision_ignores_item_order(m, s, at, rnd) -> None:  # type: ignore[no-untyped-def]
    pol = make_policy(**s)
    meeting = uniq(build_meeting(*m))
    docs = []
    for doc in meeting.documents:
        items = list(doc.items)
        rnd.shuffle(items)
        docs.append(replace(doc, items=tuple(items)))
    shuffled = replace(meeting, documents=tuple(docs))
    d0 = decide(pol, meeting, "sum", "s1", at)
    d1 = decide(pol, shuffled, "sum", "s1", at)
    assert d0.outcome == d1.outcome
    known0 = [p for p in d0.excluded_participants if not p.startswith("unknown-")]
    known1 = [p for p in d1.excluded_participants if not p.startswith("unknown-")]
    assert known0 == known1
    assert len(d0.excluded_participants) == len(d1.excluded_participants)
    assert kept(meeting, d0) == kept(shuffled, d1)
    assert d0.dropped_documents == d1.dropped_documents


# ------------------------------------------------------------------ docs/policy.md examples


def _doc_policies() -> list[Policy]:
    import re
    text = (Path(__file__).parent.parent / "docs" / "policy.md").read_text()
    blocks = re.findall(r"```yaml\n(.*?)```", text, re.DOTALL)
    return [parse_policy(b.encode(), "docs/policy.md") for b in blocks
            if b.startswith("version: 1")]


def test_docs_examples_hold() -> None:
    zoomish, lab = _doc_policies()
    chat = build_meeting([["m:Priya Shah", "m:Becker, Tom (Guest)"]])
    d = decide(zoomish, chat, "summarization", "summarizer", LATE)
    assert d.outcome == "partial" and d.excluded_participants == ("u-1002",)
    assert decide(zoomish, chat, "training", "summarizer", LATE).outcome == "deny"
    assert decide(zoomish, build_meeting([["m:Priya Shah"]]), "summarization", "summarizer",
                  LATE).outcome == "release"

    def lab_decide(docs: list[list[str]], audio: tuple[str | None, ...] = (),
                   attendees: tuple[str, ...] = (), at: datetime = LATE) -> str:
        return decide(lab, build_meeting(docs, audio), "training", None, at, attendees).outcome

    assert lab_decide([["c:Ana Costa", "c:Ken Ito"]]) == "release"
    assert lab_decide([["c:Ana Costa", "c:Lee Park"]]) == "deny"
    assert lab_decide([], (None,), ("r-ana", "r-ken")) == "release"
    assert lab_decide([], (None,)) == "deny"
    assert lab_decide([["c:Ana Costa"]], at=datetime(2027, 9, 2, tzinfo=UTC)) == "deny"
