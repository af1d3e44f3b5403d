"""One small synthetic fixture per layout variant of docs/formats.md (#11).

The fixtures are written here, not copied from real exports: made-up names,
one feature each. Each test reads the fixture, checks who said what, and
where the format can express it, writes it back and reads it again.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from meetguard import ChatMessage, Cue, Document, InputError, MessageKind, Speaker
from meetguard.formats import Source, load_source, parse, write_document

from .conftest import needs_shared


def _doc(data: bytes, name: str = "in.txt") -> Document:
    return parse(Source(name, {name: data}, "file", name))


def _again(doc: Document) -> Document:
    out = write_document(doc)
    return parse(Source(doc.name, out, doc.container, doc.name))


def _said(doc: Document) -> list[tuple[str | None, str]]:
    rows: list[tuple[str | None, str]] = []
    for item in doc.items:
        who = item.sender if isinstance(item, ChatMessage) else item.speaker
        rows.append((who.label if who else None, item.text))
    return rows


def _private(doc: Document) -> list[tuple[str | None, tuple[str, ...]]]:
    return [(m.sender.label if m.sender else None, tuple(r.label for r in m.recipients))
            for m in doc.items if isinstance(m, ChatMessage) and m.private]


# --- Zoom local chat ----------------------------------------------------------

ZOOM_LOCAL = {
    "header_tab": (b"10:00:01 From Ana Diaz to Everyone:\n\thello all\n\tsecond line\n"
                   b"10:00:05 From Ben Okafor to Ana Diaz(Direct Message):\n\tpsst\n"),
    "inline_tab_two_spaces": (b"10:00:01\t From  Ana Diaz : hello all\n"
                              b"10:00:05\t From  Ben Okafor  to  Ana Diaz(Privately) : psst\n"),
    "inline_tab_one_space": (b"10:00:01\t From Ana Diaz : hello all\n"
                             b"10:00:05\t From Ben Okafor to Ana Diaz (Privately) : psst\n"),
    "inline_to_everyone": (b"10:00:01 From Ana Diaz to Everyone : hello all\n"
                           b"10:00:05 From Ben Okafor to Ana Diaz(Direct Message) : psst\n"),
    "inline_private_without_suffix": (b"10:00:01\t From  Ana Diaz : hello all\n"
                                      b"10:00:05\t From  Ben Okafor  to  Ana Diaz : psst\n"),
    "header_capital_to": (b"10:00:01 From Ana Diaz To Everyone:\n\thello all\n"
                          b"10:00:05 From Ben Okafor To Ana Diaz(Direct Message):\n\tpsst\n"),
    "space_indented": (b"10:00:01 From  Ana Diaz  to  Everyone: \n  hello all\n"
                       b"10:00:05 From  Ben Okafor to Ana Diaz(Direct Message):\n  psst\n"),
}


@pytest.mark.parametrize("layout", sorted(ZOOM_LOCAL))
def test_zoom_local_layout(layout: str) -> None:
    doc = _doc(ZOOM_LOCAL[layout])
    assert doc.format == "zoom-chat"
    said = _said(doc)
    assert said[0][0] == "Ana Diaz" and said[0][1].startswith("hello all")
    assert said[1] == ("Ben Okafor", "psst")
    # the sender is the sender, never "Ben Okafor to Ana Diaz"
    assert _private(doc) == [("Ben Okafor", ("Ana Diaz",))]
    back = _again(doc)
    assert _said(back) == said and _private(back) == _private(doc)


def test_zoom_local_layout_is_kept_when_written() -> None:
    out = write_document(_doc(ZOOM_LOCAL["inline_tab_one_space"]))["in.txt"].decode()
    assert out.splitlines() == ["10:00:01\t From Ana Diaz : hello all",
                                "10:00:05\t From Ben Okafor to Ana Diaz (Privately) : psst"]


def test_zoom_local_raw_continuation_lines() -> None:
    doc = _doc(b"10:00:01\t From Ana Diaz : first line\nsecond line\n10:00:02\t From Ben Okafor : ok\n")
    assert _said(doc) == [("Ana Diaz", "first line\nsecond line"), ("Ben Okafor", "ok")]
    assert _said(_again(doc)) == _said(doc)


def test_zoom_local_name_with_to_split_by_known_senders() -> None:
    doc = _doc(b"10:00:01 From Back to Work Co to Everyone:\n\thi\n"
               b"10:00:02 From Back to Work Co to Ana Diaz(Direct Message):\n\tpsst\n")
    assert _private(doc) == [("Back to Work Co", ("Ana Diaz",))]


def test_zoom_local_other_target_is_private() -> None:
    doc = _doc(b"10:00:01 From Ana Diaz to Everyone:\n\thi\n"
               b"10:00:02 From Ben Okafor to Hosts and panelists:\n\tfor hosts only\n")
    (msg,) = [m for m in doc.items if isinstance(m, ChatMessage) and m.private]
    assert msg.sender == Speaker("Ben Okafor")


def test_zoom_local_header_layout_raw_line_is_refused() -> None:
    """A raw first body line, or a raw line that starts with a time, is refused
    (a raw line after an indented one continues the message: real 2022-2023
    files write a message's later lines so, see test_formats_fixtures)."""
    for text, line in ((b"10:00:01 From Ana Diaz to Everyone:\nstray SECRET line\n", 2),
                       (b"10:00:01 From Ana Diaz to Everyone:\n\thi\n10:00:02 SECRET Ben aan Iedereen:\n", 3)):
        with pytest.raises(InputError) as err:
            _doc(text)
        assert f"line {line}" in str(err.value) and "SECRET" not in str(err.value)


def test_zoom_local_reactions_replies_and_mentions() -> None:
    doc = _doc(b"10:00:01 From Ana Diaz to Everyone:\n\tGood morning folks\n"
               b'10:00:02 From Ben Okafor to Everyone:\n\tReplying to "Good morning folks" hi @Ana Diaz\n'
               b'10:00:03 From Ben Okafor to Everyone:\n\tReacted to "Good morning folks" with \xf0\x9f\x91\x8d\n'
               b'10:00:04 From Ben Okafor to Everyone:\n\tRemoved a \xf0\x9f\x91\x8d reaction from "Good morning folks"\n')
    _, reply, reaction, removed = doc.items
    assert isinstance(reply, ChatMessage) and reply.kind is MessageKind.REPLY
    assert reply.quote is not None and reply.quote.ref == 0 and reply.text == "hi @Ana Diaz"
    assert [(m.speaker, reply.text[m.start:m.end]) for m in reply.mentions] == [(Speaker("Ana Diaz"), "@Ana Diaz")]
    assert isinstance(reaction, ChatMessage) and reaction.kind is MessageKind.REACTION and reaction.quote
    assert isinstance(removed, ChatMessage) and removed.kind is MessageKind.REACTION
    assert _said(_again(doc)) == _said(doc)


# --- Zoom cloud chat ------------------------------------------------------------

def test_zoom_cloud_untabbed_continuation_and_reply() -> None:
    doc = _doc(b"00:01:00\tAna Diaz:\tfirst line\r\n\r\nsecond line\r\n"
               b'00:01:30\tBen Okafor:\tReplying to "first line"\r\n\r\nsure\r\n')
    assert _said(doc) == [("Ana Diaz", "first line\nsecond line"), ("Ben Okafor", "sure")]
    reply = doc.items[1]
    assert isinstance(reply, ChatMessage) and reply.kind is MessageKind.REPLY and reply.quote
    assert reply.quote.ref == 0
    assert _said(_again(doc)) == _said(doc)


def test_zoom_cloud_space_after_time_and_direct_message() -> None:
    doc = _doc(b"08:00:01 Ana Diaz:\thello\n08:00:02 Ben Okafor  to  Ana Diaz(Direct:\tpsst\n"
               b"08:00:03 Ben Okafor:\t\tindented more\n")
    assert doc.format == "zoom-cloud-chat"
    assert _private(doc) == [("Ben Okafor", ("Ana Diaz",))]
    back = _again(doc)
    assert _said(back) == _said(doc) and _private(back) == _private(doc)
    assert write_document(doc)["in.txt"].decode().startswith("08:00:01 Ana Diaz:\thello\n")


# --- WebVTT ---------------------------------------------------------------------

def test_vtt_timing_line_starts_a_cue_without_a_blank_line() -> None:
    doc = _doc(b"WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n<v Ana Diaz>first</v>\n"
               b"00:00:02.000 --> 00:00:03.000\n<v Ben Okafor>second</v>\n", "t.vtt")
    assert _said(doc) == [("Ana Diaz", "first"), ("Ben Okafor", "second")]


def test_vtt_unlabelled_cue_is_an_unknown_speaker_not_the_previous_one() -> None:
    doc = _doc(b"WEBVTT\n\n1\n00:00:01.000 --> 00:00:02.000\nAna Diaz: hello there\n\n"
               b"2\n00:00:02.000 --> 00:00:03.000\nAna Diaz: more words\n\n"
               b"3\n00:00:03.000 --> 00:00:04.000\nno label on this one\n", "t.vtt")
    assert [s for s, _ in _said(doc)] == ["Ana Diaz", "Ana Diaz", None]


def test_vtt_identifiers_settings_note_style_region() -> None:
    data = (b"\xef\xbb\xbfWEBVTT - a title\nKind: captions\n\nSTYLE\n::cue { color: white }\n\n"
            b"REGION\nid:r1 width:40%\n\nNOTE a comment\nover two lines\n\n"
            b"intro-1\n00:01.000 --> 00:02.500 align:start position:10%\n<v Ana Diaz>hi</v>\n")
    doc = _doc(data, "t.vtt")
    (cue,) = doc.items
    assert isinstance(cue, Cue) and cue.ident == "intro-1" and cue.settings == "align:start position:10%"
    assert (cue.start, cue.end, cue.speaker) == (1.0, 2.5, Speaker("Ana Diaz"))
    out = write_document(doc)["t.vtt"].decode()
    assert "a comment" not in out and "a title" not in out and "STYLE" in out and "REGION" in out
    assert _said(_again(doc)) == _said(doc)


def test_vtt_graph_metadata_content_cues() -> None:
    payload = {"startDateTime": "2026-01-01T10:00:00Z", "endDateTime": "2026-01-01T10:00:02Z",
               "speakerName": "Ana Diaz", "spokenText": "hello everyone", "spokenLanguage": "en-us",
               "other": "dropped"}
    data = f"WEBVTT\n00:00:01.000 --> 00:00:02.000\n{json.dumps(payload)}\n".encode()
    doc = _doc(data, "t.vtt")
    assert _said(doc) == [("Ana Diaz", "hello everyone")]
    cue = doc.items[0]
    assert isinstance(cue, Cue)
    redacted = Document(doc.name, doc.format, doc.kind,
                        (Cue(0, cue.start, cue.end, Speaker("[PERSON_1]"), "hello [PERSON_2] -->"),),
                        meta=doc.meta)
    out = write_document(redacted)["t.vtt"].decode()
    body = json.loads(out.splitlines()[-1])
    assert body["speakerName"] == "[PERSON_1]" and body["spokenText"] == "hello [PERSON_2] -->"
    assert "other" not in body and body["spokenLanguage"] == "en-us"
    assert "Ana Diaz" not in out and _said(_again(redacted)) == [("[PERSON_1]", "hello [PERSON_2] -->")]


@pytest.mark.parametrize("timing", ["00:00:01.000 --> 00:00:0", "00:00:01.000 --> 00:00",
                                    "00:00:01.000 --> 00:00:02.9", "00:00:01.000 --> 00:00:02.0001",
                                    "00:00:01.000 -->"])
def test_vtt_truncated_timing_refused_naming_file_and_line(timing: str, tmp_path: Path) -> None:
    p = tmp_path / "cut.vtt"
    p.write_bytes(f"WEBVTT\n\n00:00:00.000 --> 00:00:01.000\nok\n\n{timing}\nSECRET words\n".encode())
    with pytest.raises(InputError) as err:
        parse(load_source(p))
    assert err.value.exit_code == 2
    message = str(err.value)
    assert str(p) in message and "line 6" in message and "SECRET" not in message
    assert "\n" not in message


def test_vtt_graph_short_timings_normalised() -> None:
    doc = _doc(b"WEBVTT\n\n0:0:0.0 --> 0:0:5.320\n<v Ana Diaz>hi</v>\n", "t.vtt")
    cue = doc.items[0]
    assert isinstance(cue, Cue) and (cue.start, cue.end) == (0.0, 5.32)
    assert "00:00:05.320" in write_document(doc)["t.vtt"].decode()


def test_vtt_caption_speaker_labels() -> None:
    data = (b"WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n[Ana Diaz] <i>hello</i>\n\n"
            b"00:00:02.000 --> 00:00:03.000\n- BEN: yes\n- CARA OKAFOR: no\n\n"
            b"00:00:03.000 --> 00:00:04.000\n>> Ana Diaz: first\n>> someone else\n\n"
            b"00:00:04.000 --> 00:00:05.000\n[Music]\n\n"
            b"00:00:05.000 --> 00:00:06.000\n[laughs] funny\n")
    doc = _doc(data, "t.vtt")
    assert _said(doc) == [("Ana Diaz", "hello"), ("BEN", "yes"), ("CARA OKAFOR", "no"),
                          ("Ana Diaz", "first"), (None, "someone else"), (None, "[Music]"),
                          (None, "[laughs] funny")]
    out = write_document(doc)["t.vtt"].decode()
    assert "[Ana Diaz] hello" in out and "- BEN: yes" in out and ">> Ana Diaz: first" in out
    assert _said(_again(doc)) == _said(doc)


# --- SRT --------------------------------------------------------------------------

def test_srt_without_cue_numbers_and_with_tab_only_lines() -> None:
    doc = _doc(b"00:00:01,000 --> 00:00:02,000\nfirst\n\t\nstill first\n\n"
               b"00:00:02,000 --> 00:00:03,000\nsecond\n00:00:03,000 --> 00:00:04,000\nthird\n", "s.srt")
    assert doc.format == "srt"
    assert [t for _, t in _said(doc)] == ["first\nstill first", "second", "third"]
    assert all(s is None for s, _ in _said(doc))
    assert [t for _, t in _said(_again(doc))] == [t for _, t in _said(doc)]


@pytest.mark.parametrize("encoding", ["cp1252", "utf-16"])
def test_srt_legacy_and_utf16_encodings(encoding: str) -> None:
    text = "1\r\n00:00:01,000 --> 00:00:02,000\r\nCafé señor – naïve\r\n"
    doc = _doc(text.encode(encoding), "s.srt")
    assert doc.format == "srt" and doc.items[0].text == "Café señor – naïve"


# --- Slack ------------------------------------------------------------------------

def _slack(tmp_path: Path) -> Path:
    root = tmp_path / "export"
    (root / "general").mkdir(parents=True)
    users = [{"id": "U01ANA", "name": "ana", "real_name": "Ana Diaz", "profile": {"display_name": "ana.d"}},
             {"id": "U02BEN", "name": "ben", "real_name": "Ben Okafor", "profile": {}}]
    (root / "users.json").write_text(json.dumps(users))
    (root / "channels.json").write_text(json.dumps([{"id": "C1", "name": "general", "members": ["U01ANA"]}]))
    msgs = [
        {"type": "message", "user": "U01ANA", "ts": "1.0", "text": "ask <@U02BEN> about it"},
        {"type": "message", "subtype": "bot_message", "bot_id": "B1", "username": "deploy-bot", "ts": "2.0",
         "text": "", "attachments": [{"fallback": "deployed by Ben Okafor", "title": "Release notes"}]},
        {"type": "message", "bot_id": "B2", "bot_profile": {"name": "Standup Bot"}, "ts": "3.0",
         "text": "standup time"},
        {"type": "message", "user": "U02BEN", "ts": "4.0", "text": "here",
         "files": [{"name": "ben_okafor_cv.pdf", "title": "Ben Okafor CV"}]},
    ]
    (root / "general" / "2026-01-01.json").write_text(json.dumps(msgs))
    return root


def test_slack_bots_mentions_and_file_names(tmp_path: Path) -> None:
    doc = parse(load_source(_slack(tmp_path)))
    user, bot, profile_bot, upload = doc.items
    assert isinstance(user, ChatMessage) and user.sender is not None and user.sender.label == "Ana Diaz"
    assert [(m.speaker.platform_id, user.text[m.start:m.end]) for m in user.mentions] == [("U02BEN", "<@U02BEN>")]
    assert isinstance(bot, ChatMessage) and bot.kind is MessageKind.BOT and bot.sender is not None
    assert bot.sender.label == "deploy-bot" and "deployed by Ben Okafor" in bot.extra_texts
    assert isinstance(profile_bot, ChatMessage) and profile_bot.kind is MessageKind.BOT
    assert profile_bot.sender is not None and profile_bot.sender.label == "Standup Bot"
    assert isinstance(upload, ChatMessage) and "ben okafor cv.pdf" in upload.extra_texts


# --- Teams chat JSON ----------------------------------------------------------------

def _teams_msg(n: int, kind: str, name: str | None, text: str) -> dict[str, object]:
    sender = {"user": {"id": f"aad-{n}", "displayName": name}} if name else None
    return {"id": str(n), "messageType": kind, "createdDateTime": f"2026-01-01T10:00:0{n}Z",
            "from": sender, "body": {"contentType": "text", "content": text}, "chatId": "19:x@thread.v2"}


@pytest.mark.parametrize("shape", ["value", "list"])
def test_teams_page_list_and_mixed_message_types(shape: str) -> None:
    msgs = [_teams_msg(1, "message", "Ana Diaz", "hello"),
            _teams_msg(2, "systemEventMessage", None, ""),
            _teams_msg(3, "message", None, "who wrote this"),
            _teams_msg(4, "message", "Ben Okafor", "reply")]
    data = json.dumps({"value": msgs} if shape == "value" else msgs).encode()
    doc = _doc(data, "chat.json")
    assert doc.format == "teams-chat"
    kinds = [m.kind for m in doc.items if isinstance(m, ChatMessage)]
    assert kinds == [MessageKind.MESSAGE, MessageKind.SYSTEM, MessageKind.MESSAGE, MessageKind.MESSAGE]
    # no author on a message: an unknown speaker, never a system event or the one before
    assert [s for s, _ in _said(doc)] == ["Ana Diaz", None, None, "Ben Okafor"]
    assert [s for s, _ in _said(_again(doc))] == ["Ana Diaz", None, None, "Ben Okafor"]


def test_vtt_chevrons_mid_line_change_speaker() -> None:
    doc = _doc(b"WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n>> Ana Diaz: are you there >> yes I am\n", "t.vtt")
    assert _said(doc) == [("Ana Diaz", "are you there"), (None, "yes I am")]
    assert _said(_again(doc)) == _said(doc)


def test_srt_caption_speaker_labels() -> None:
    doc = _doc(b"1\n00:00:01,000 --> 00:00:02,000\n[Ana Diaz] <i>hello</i>\n\n"
               b"2\n00:00:02,000 --> 00:00:03,000\n- BEN: yes\n- CARA OKAFOR: no\n\n"
               b"3\n00:00:03,000 --> 00:00:04,000\n[Music]\n", "s.srt")
    assert _said(doc) == [("Ana Diaz", "hello"), ("BEN", "yes"), ("CARA OKAFOR", "no"), (None, "[Music]")]
    out = write_document(doc)["s.srt"].decode()
    assert "[Ana Diaz] hello" in out and "- CARA OKAFOR: no" in out
    assert _said(_again(doc)) == _said(doc)


def test_srt_stray_carriage_returns_and_timing_text_never_written() -> None:
    doc = _doc(b"1\r\r\n00:00:01,000 --> 00:00:02,000\r\r\nfirst\r\r\nsecond\r\r\n", "s.srt")
    assert _said(doc) == [(None, "first\nsecond")]
    forged = Document("s.srt", "srt", "transcript",
                      (Cue(0, 1.0, 2.0, None, "hi\n00:00:05,000 --> 00:00:06,000\nforged"),))
    assert len(_again(forged).items) == 1


def test_zoom_cloud_to_everyone_is_public_and_the_sender_is_the_sender() -> None:
    doc = _doc(b"00:01:00\tAna Diaz to Everyone:\thello\n00:01:02\tBen Okafor:\thi\n"
               b"00:01:05\tBen Okafor to Ana Diaz:\tpsst\n00:01:09\tBack to Work Co:\tads\n")
    assert _said(doc) == [("Ana Diaz", "hello"), ("Ben Okafor", "hi"), ("Ben Okafor", "psst"),
                          ("Back to Work Co", "ads")]
    assert _private(doc) == [("Ben Okafor", ("Ana Diaz",))]
    back = _again(doc)
    assert _said(back) == _said(doc) and _private(back) == _private(doc)
    assert write_document(doc)["in.txt"].decode().startswith("00:01:00\tAna Diaz to Everyone:\thello\n")


def test_slack_file_name_written_back_unchanged_when_nothing_is_redacted(tmp_path: Path) -> None:
    doc = parse(load_source(_slack(tmp_path)))
    out = write_document(doc)
    day = next(v for k, v in out.items() if k.endswith("2026-01-01.json"))
    assert [f["name"] for m in json.loads(day) for f in m.get("files", [])] == ["ben_okafor_cv.pdf"]


@needs_shared
def test_cli_refuses_a_truncated_timing_with_exit_2_and_one_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from meetguard.cli import main
    from meetguard.testing import guard_factory

    from .conftest import SAMPLES

    vtt = tmp_path / "cut.vtt"
    vtt.write_bytes(b"WEBVTT\n\n00:00:00.000 --> 00:00:01.000\n<v Ana Diaz>ok</v>\n"
                    b"00:00:01.000 --> 00:00:0\n<v Ben Okafor>SECRET words</v>\n")
    code = main(["guard", "--policy", str(SAMPLES / "policy.yaml"), "--purpose", "summarization",
                 "--recipient", "summarizer", "--transcript", str(vtt), "--out", str(tmp_path / "out"),
                 "--audit", str(tmp_path / "audit.jsonl")], guard_factory=guard_factory())
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and str(vtt) in err and "line 5" in err and "SECRET" not in err
    assert not (tmp_path / "out").exists()
