"""Name normalisation, matching and attribution (policy-v1.md "Matching people")."""

from __future__ import annotations

from pathlib import Path

import pytest

from meetguard import ChatMessage, Cue, Document, Meeting, Mention, MessageKind, Speaker
from meetguard.policy import NameIndex, attribute, load_policy, normalize_name

POLICY = load_policy(Path(__file__).parent / "conf" / "policies" / "good_dev.yaml")


@pytest.mark.parametrize("raw, norm", [
    ("Doe, Jane [NA]", "jane doe"),
    ("Jane Doe", "jane doe"),
    ("  JANE\t  doe  ", "jane doe"),
    ("Li, Bob (Guest)", "bob li"),
    ("Bob Li (External)", "bob li"),
    ("Bob Li(Direct Message)", "bob li"),
    ('"Bob Li"', "bob li"),
    ("@bli", "bli"),
    ("'@Alice Martin'", "alice martin"),
    ("Martin, Alice [NW] (Guest)", "alice martin"),
    ("Ｂｏｂ Ｌｉ", "bob li"),           # full-width forms
    ("STRASSE", "strasse"),
    ("Straße", "strasse"),              # casefold, not lower
    ("", ""),
    ("(Guest)", ""),
])
def test_normalize_name(raw: str, norm: str) -> None:
    assert normalize_name(raw) == norm


def test_match_uses_label_and_aliases_not_platform_id() -> None:
    idx = NameIndex(POLICY)
    assert idx.match(Speaker("Martin, Alice [NW]")) == "p-alice"
    assert idx.match(Speaker("Li, Bob (Guest)")) == "p-bob"
    assert idx.match(Speaker("BOB")) == "p-bob"
    assert idx.match(Speaker("U01ALICE", platform_id="U01ALICE", aliases=("amartin",))) == "p-alice"
    # a platform id equal to a name never matches
    assert idx.match(Speaker("U9", platform_id="Alice Martin")) is None
    # a given name alone is not a speaker's name unless listed
    assert idx.match(Speaker("Carla")) is None
    assert idx.match(Speaker("Nunes, Carla")) == "p-carla"


def _msg(i: int, sender: Speaker | None, *, to: tuple[Speaker, ...] = (),
         kind: MessageKind = MessageKind.MESSAGE,
         mentions: tuple[Mention, ...] = ()) -> ChatMessage:
    return ChatMessage(i, "10:00", sender, "text", recipients=to, private=bool(to), kind=kind,
                       mentions=mentions)


def test_attribution_numbers_unknowns_by_first_appearance() -> None:
    zed, yan, xi = Speaker("Zed Zulu"), Speaker("Yan Yu"), Speaker("Xi Xu")
    chat = Document("c.txt", "zoom", "chat", (
        _msg(0, Speaker("Alice Martin")),
        _msg(1, zed, to=(yan, Speaker("Bob Li"))),
        _msg(2, Speaker("Helper", platform_id="B1"), kind=MessageKind.BOT),
        _msg(3, Speaker("Alice Martin"), mentions=(Mention(0, 4, xi),)),
    ))
    vtt = Document("t.vtt", "vtt", "transcript", (
        Cue(0, 0.0, 1.0, Speaker("zed  zulu (Guest)"), "hi"),
        Cue(1, 1.0, 2.0, None, "..."),
        Cue(2, 2.0, 3.0, Speaker("Rao, Deepak [NW]"), "ok"),
    ))
    att = attribute(Meeting((chat, vtt)), POLICY)
    assert att[Speaker("Alice Martin")] == "p-alice"
    assert att[zed] == "unknown-1"
    assert att[yan] == "unknown-2"
    assert att[Speaker("Bob Li")] == "p-bob"
    assert att[Speaker("Helper", platform_id="B1")] == "unknown-3"
    assert att[xi] == "unknown-4"
    assert att[Speaker("zed  zulu (Guest)")] == "unknown-1"    # same normalised unknown name
    assert att[Speaker("Rao, Deepak [NW]")] == "p-deepak"
    assert att.unknown_count == 4
    assert len(att) == 8
    assert "Zed" not in repr(att)


def test_bot_named_like_a_participant_is_unknown() -> None:
    doc = Document("c", "slack", "chat", (
        _msg(0, Speaker("Alice Martin", platform_id="B7"), kind=MessageKind.BOT),
        _msg(1, Speaker("Bob Li")),
    ))
    att = attribute(Meeting((doc,)), POLICY)
    assert att[Speaker("Alice Martin", platform_id="B7")] == "unknown-1"
    assert att[Speaker("Bob Li")] == "p-bob"


def test_unlabelled_unknowns_keyed_by_platform_id() -> None:
    doc = Document("c", "slack", "chat", (
        _msg(0, Speaker("", platform_id="U1")),
        _msg(1, Speaker("", platform_id="U2")),
        _msg(2, Speaker("", platform_id="U1", aliases=("x",))),
    ))
    att = attribute(Meeting((doc,)), POLICY)
    assert [att[m.sender] for m in doc.items if isinstance(m, ChatMessage) and m.sender] == [
        "unknown-1", "unknown-2", "unknown-1"]
