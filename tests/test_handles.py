"""Names wherever people write them (#31): handles, @mentions, "Last, First".

Unit tests of the handle forms and the outsider-handle recognizer, then the
real guard on chats and transcripts: no handle, mention or "Last, First" part
of a participant survives, and a refusing participant's mentions never do.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from meetguard import Meeting
from meetguard.detection import Roster, RosterMember
from meetguard.detection._handles import find_handles, handle_forms
from meetguard.detection._roster import RosterMatcher

from .conftest import warm_guard
from .policies import corpus_policy

TOKEN = r"[<\[]PERSON_\d+[>\]]"


def test_handle_forms_of_a_name() -> None:
    assert handle_forms("Micah Stubbs") >= {"micahstubbs", "micah.stubbs", "micah_stubbs", "mstubbs"}
    assert handle_forms("Stubbs, Micah") >= {"micahstubbs", "micah.stubbs"}
    assert handle_forms("micah.stubbs@example.org") == {"micah.stubbs"}
    assert handle_forms("Micah") == set()              # "@micah" is the name form with an "@"


def _matched(names: tuple[str, ...], text: str) -> list[str]:
    matcher = RosterMatcher.build(Roster((RosterMember("p1", names),)))
    return [text[h.start : h.end] for h in matcher.find(text, spoken=False)]


def test_roster_matches_every_handle_with_its_at() -> None:
    text = "@micah thanks; ping @micahstubbs or micah.stubbs, cc @Micah_Stubbs. @will and will"
    assert _matched(("Micah Stubbs", "micah"), text) == [
        "@micah", "@micahstubbs", "micah.stubbs", "@Micah_Stubbs"]
    # an everyday word is a name when typed as a handle, not in a sentence
    assert _matched(("Will Ames",), "@will and will") == ["@will"]
    # never the local part of someone's address
    assert _matched(("Micah Stubbs",), "write to micah@example.org") == []


def test_an_address_holding_a_participants_handle_is_theirs_and_one_value() -> None:
    from meetguard.detection._hits import resolve
    from meetguard.detection._patterns import find_emails

    text = "write to micah.stubbs@acme.example or to info@acme.example"
    matcher = RosterMatcher.build(Roster((RosterMember("p-micah", ("Micah Stubbs",)),)))
    found = resolve(text, matcher.find(text, spoken=False) + find_emails(text), ())
    assert [(text[f.start : f.end], f.entity_type, f.participant_id) for f in found] == [
        ("micah.stubbs@acme.example", "EMAIL_ADDRESS", "p-micah"), ("info@acme.example", "EMAIL_ADDRESS", None)]


@pytest.mark.parametrize(("text", "found"), [
    ("follow @moebio on twitter", ["@moebio"]),
    ("thanks @dana_k!", ["@dana_k"]),
    ("@Yasaman, can you?", ["@Yasaman"]),
    ("mail ana@example.org or see medium.com/@ana", []),
    ("see @here and @channel", []),
    ("use `@property` or @dataclass, npm i @types/node", []),
    ("@pytest.fixture(scope='module')", []),
    ("meet @5pm or @10", []),
    ("the domain @example.com is down", []),
])
def test_outsider_handles_are_persons_not_emails_or_code(text: str, found: list[str]) -> None:
    hits = find_handles(text)
    assert [text[h.start : h.end] for h in hits] == found
    assert all(h.entity_type == "PERSON" for h in hits)


POLICY = corpus_policy("handles-1", '"Micah Stubbs"')
AT = datetime(2026, 12, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def guard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    work = tmp_path_factory.mktemp("handles")
    policy = work / "policy.yaml"
    policy.write_text(POLICY, encoding="utf-8")
    yield from warm_guard(policy, work)


def _released(guard: Any, **files: list[Path]) -> str:
    result = guard.process_sync(Meeting.from_files(**files), "summarization", "summarizer", AT)
    assert result.decision in ("release", "partial")
    return "\n".join(v.decode("utf-8") for v in result.outputs.values())


def _left(released: str, words: list[str]) -> list[str]:
    return [w for w in words if re.search(rf"(?<![\w]){re.escape(w)}(?!\w)", released, re.IGNORECASE)]


@pytest.mark.models
def test_zoom_chat_handles_and_a_refusing_participants_mentions(guard: Any, tmp_path: Path) -> None:
    chat = tmp_path / "meeting_saved_chat.txt"
    chat.write_text(
        "10:00:01 From Micah Stubbs to Everyone:\n\thello all, the deck is up\n"
        "10:00:05 From Yasaman Farhadi to Everyone:\n"
        "\t@micah thanks, and @Yasaman is me. ping @micahstubbs or micah.stubbs@acme.example for access\n"
        "10:00:09 From Pavan Kumar to Everyone:\n\tcc @Yasaman and @pavan; follow @moebio on twitter,"
        " and use `@property` there\n", encoding="utf-8")
    out = _released(guard, chat=[chat])
    assert _left(out, ["micah", "stubbs", "micahstubbs", "yasaman", "pavan", "moebio", "farhadi", "kumar"]) == []
    assert "`@property`" in out and "deck is up" not in out        # code kept; Micah's own words excluded
    assert len(re.findall(TOKEN, out)) >= 8


@pytest.mark.models
def test_slack_handles_and_user_mentions(guard: Any, tmp_path: Path) -> None:
    folder = tmp_path / "slack"
    (folder / "general").mkdir(parents=True)
    users = [
        {"id": "U01MICAH", "name": "micah", "real_name": "Micah Stubbs",
         "profile": {"real_name": "Micah Stubbs", "display_name": "mstubbs"}},
        {"id": "U02PAVAN", "name": "pavan", "real_name": "Pavan Kumar",
         "profile": {"real_name": "Pavan Kumar", "display_name": "pk"}},
    ]
    (folder / "users.json").write_text(json.dumps(users), encoding="utf-8")
    (folder / "channels.json").write_text(json.dumps([{"id": "C1", "name": "general"}]), encoding="utf-8")
    messages = [
        {"type": "message", "user": "U02PAVAN", "ts": "1700000000.000100",
         "text": "hey <@U01MICAH>, @micah said @mstubbs has the numbers; @pavan here"},
        {"type": "message", "user": "U01MICAH", "ts": "1700000001.000100", "text": "my own words"},
    ]
    (folder / "general" / "2023-11-14.json").write_text(json.dumps(messages), encoding="utf-8")
    out = _released(guard, chat=[folder])
    assert _left(out, ["micah", "mstubbs", "pavan", "stubbs", "kumar", "U01MICAH"]) == []
    assert "my own words" not in out


@pytest.mark.models
def test_last_first_labels_are_one_value(guard: Any, tmp_path: Path) -> None:
    vtt = tmp_path / "t.vtt"
    vtt.write_text(
        "WEBVTT\n\n00:00:01.000 --> 00:00:03.000\n<v Albritton, Travis>hello there, this is the plan</v>\n\n"
        "00:00:04.000 --> 00:00:06.000\n<v Dana Scully>thanks Travis, Albritton and @travis said so too;"
        " ask @talbritton or Albritton, Travis</v>\n", encoding="utf-8")
    out = _released(guard, transcript=[vtt])
    assert _left(out, ["Travis", "Albritton", "talbritton", "Dana", "Scully"]) == []


FIXTURES = Path(__file__).parent / "fixtures" / "realworld"
NEW_FORMATS = ["google-meet/built__meet_docs_transcript.txt", "google-meet/built__meet_docs_transcript.docx",
               "google-meet/built__meet_docs_transcript_attendees.txt",
               "google-meet/built__meet_chat.sbv", "zoom-captions/built__meeting_saved_closed_caption.txt",
               "otter/ladybug-podcast__ladybug-website__62-security.excerpt.txt", "otter/built__otter_transcript.docx",
               "zoom-chat/peterkaminski__ogm-2025-11-06__meeting_saved_new_chat.txt",
               "zoom-captions/peterkaminski__ogm-2025-11-06__meeting_saved_closed_caption.excerpt.txt",
               "zoom-chat-panel/built__zoom_panel_from.txt", "zoom-chat-panel/built__zoom_panel_bare.txt",
               "google-meet/blockblaz__zeam-pm__June-05.excerpt.txt"]


@pytest.mark.models
def test_new_formats_through_the_guard_keep_their_format_and_no_name(guard: Any) -> None:
    from meetguard import ChatMessage
    from meetguard.formats import load_source, parse, source_from_bytes
    from meetguard.formats._docx import docx_lines

    for rel in NEW_FORMATS:
        doc = parse(load_source(FIXTURES / rel))
        kind = "chat" if doc.kind == "chat" else "transcript"
        result = guard.process_sync(Meeting.from_files(**{kind: [FIXTURES / rel]}), "summarization", "summarizer", AT)
        assert result.decision == "release", rel
        data = dict(result.outputs)[doc.name]
        back = parse(source_from_bytes(doc.name, data))
        assert back.format == doc.format and len(back.items) == len(doc.items), rel
        out = "\n".join(docx_lines(back_source(doc.name, data))) if doc.container == "zip" else data.decode()
        people = {(i.sender if isinstance(i, ChatMessage) else i.speaker) for i in doc.items} - {None}
        names = {w for p in people for w in re.findall(r"[^\W\d_]{3,}", p.label)} - {"Unknown", "Speaker", "PhD"}
        assert _left(out, sorted(names)) == [], rel


def back_source(name: str, data: bytes) -> Any:
    from meetguard.formats import source_from_bytes

    return source_from_bytes(name, data)
