"""Formats: detection, round trips and structure on the shared samples and our fixtures."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest

from meetguard import ChatMessage, Cue, Document, MessageKind, Quote, Speaker, Word
from meetguard._errors import InputError, UnsupportedFormat, UsageError
from meetguard.formats import (
    Source,
    available_formats,
    detect_format,
    get_format,
    load_source,
    parse,
    read_document,
    source_sha256,
    write_document,
)

from .conftest import SAMPLES, require_shared

require_shared()

CONF = Path(__file__).parent / "conf" / "formats"

EXPECTED_FORMATS = {
    "zoom_chat_local.txt": "zoom-chat",
    "zoom_chat_old.txt": "zoom-chat",
    "zoom_chat_cloud.txt": "zoom-cloud-chat",
    "zoom_transcript.vtt": "webvtt",
    "teams_transcript.vtt": "webvtt",
    "teams_graph.vtt": "webvtt",
    "generic.srt": "srt",
    "slack_export": "slack",
    "teams_chat_graph.json": "teams-chat",
}
FIXTURES = {
    "slack_dm": "slack",
    "teams_oneonone.json": "teams-chat",
    "generic_full.vtt": "webvtt",
    "zoom_note.vtt": "webvtt",
}


def _sample_names() -> list[str]:
    return sorted(p.name for p in SAMPLES.iterdir() if p.name not in ("policy.yaml", "expected.json"))


def _reparse(doc: Document) -> Document:
    out = write_document(doc)
    if doc.container == "dir":
        files = {k[len(doc.name) + 1 :]: v for k, v in out.items()}
        return parse(Source(doc.name, files, "dir", doc.name))
    assert list(out) == [doc.name]
    return parse(Source(doc.name, {doc.name: out[doc.name]}, "file", doc.name))


def test_every_sample_has_an_expected_format() -> None:
    assert set(_sample_names()) == set(EXPECTED_FORMATS)


@pytest.mark.parametrize("name", sorted(EXPECTED_FORMATS))
def test_sample_detected_and_round_trips(name: str) -> None:
    source = load_source(SAMPLES / name)
    assert detect_format(source).name == EXPECTED_FORMATS[name]
    doc = parse(source)
    assert doc.format == EXPECTED_FORMATS[name] and doc.items
    again = _reparse(doc)
    assert again.items == doc.items
    assert again.format == doc.format and again.kind == doc.kind


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_fixture_detected_and_round_trips(name: str) -> None:
    doc = read_document(CONF / name, kind="chat")
    assert doc.format == FIXTURES[name]
    assert _reparse(doc).items == doc.items


def test_detection_ignores_file_name(tmp_path: Path) -> None:
    srt_bytes = (SAMPLES / "generic.srt").read_bytes()
    p = tmp_path / "looks_like.vtt"
    p.write_bytes(srt_bytes)
    assert read_document(p, "transcript").format == "srt"


@pytest.mark.parametrize("content", [b"hello world\nthis is just prose\n", b"", b"\x00\x01\x02binary", b"{}"])
def test_unknown_content_is_unsupported(tmp_path: Path, content: bytes) -> None:
    p = tmp_path / "notes.txt"
    p.write_bytes(content)
    with pytest.raises(UnsupportedFormat) as err:
        read_document(p, "chat")
    assert "notes.txt" in str(err.value) and "hello" not in str(err.value)


def test_transcript_given_as_chat_keeps_its_kind() -> None:
    doc = read_document(SAMPLES / "generic.srt", kind="chat")
    assert doc.kind == "transcript"
    doc = read_document(SAMPLES / "zoom_chat_local.txt", kind="transcript")
    assert doc.kind == "chat"


def test_forced_format_and_unknown_format_name() -> None:
    with pytest.raises(InputError):
        read_document(SAMPLES / "generic.srt", "transcript", format="webvtt")
    with pytest.raises(UsageError, match="unknown format"):
        read_document(SAMPLES / "generic.srt", "transcript", format="nope")
    names = available_formats()
    for expected in ("zoom-chat", "zoom-cloud-chat", "webvtt", "srt", "slack", "teams-chat", "meetguard-json"):
        assert expected in names
        assert get_format(expected).name == expected


# --- Zoom -------------------------------------------------------------------

def test_zoom_local_multiline_and_direct_message() -> None:
    doc = read_document(SAMPLES / "zoom_chat_local.txt", "chat")
    msgs = [i for i in doc.items if isinstance(i, ChatMessage)]
    assert len(msgs) == 6
    dm = msgs[2]
    assert dm.private and dm.sender == Speaker("Carla Nunes") and dm.recipients == (Speaker("Bob Li"),)
    assert not any(m.private for i, m in enumerate(msgs) if i != 2)
    assert msgs[3].text.split("\n") == [
        "customer asked us to re-charge card 4111 1111 1111 1111, exp 09/28.",
        "I told him we never take cards over chat.",
    ]
    assert msgs[0].time == "10:02:11"


def test_zoom_names_with_punctuation_and_to_in_name() -> None:
    text = (
        "09:00:01 From O'Brien, Seán (Guest) to Everyone:\n\thello\n"
        "09:00:02 From Ana to Be [NA] to Everyone:\n\tname with to\n"
        "09:00:03 From Ana to Be [NA] to O'Brien, Seán (Guest)(Direct Message):\n\tpsst\n\tsecond line\n"
    ).encode()
    doc = parse(Source("c.txt", {"c.txt": text}, path="c.txt"))
    a, _, c = doc.items
    assert isinstance(a, ChatMessage) and isinstance(c, ChatMessage)
    assert a.sender == Speaker("O'Brien, Seán (Guest)")
    assert c.sender == Speaker("Ana to Be [NA]") and c.recipients == (Speaker("O'Brien, Seán (Guest)"),)
    assert c.private and c.text == "psst\nsecond line"
    assert _reparse(doc).items == doc.items


def test_zoom_old_layout_private_and_written_back_in_old_layout() -> None:
    doc = read_document(SAMPLES / "zoom_chat_old.txt", "chat")
    dm = doc.items[2]
    assert isinstance(dm, ChatMessage)
    assert dm.private and dm.sender == Speaker("Carla Nunes") and dm.recipients == (Speaker("Alice Martin"),)
    out = write_document(doc)[doc.name].decode()
    assert out.splitlines()[2] == (
        "00:02:12\t From  Carla Nunes  to  Alice Martin(Privately) : please dont forward SSNs over chat"
    )
    assert out.splitlines()[0].startswith("00:01:05\t From  Alice Martin : ")


def test_zoom_cloud_reactions_and_replies() -> None:
    doc = read_document(SAMPLES / "zoom_chat_cloud.txt", "chat")
    _, reaction, reply = doc.items
    assert isinstance(reaction, ChatMessage) and isinstance(reply, ChatMessage)
    assert reaction.kind is MessageKind.REACTION and reaction.text == "👍"
    assert reaction.quote == Quote("the staging box is 2", ref=0, truncated=True)
    assert reply.kind is MessageKind.REPLY and reply.text == "thanks, I will ping Carla Nunes about access"
    assert reply.quote is not None and reply.quote.ref == 0


def test_zoom_cloud_unresolved_quote_and_written_excluded_quote() -> None:
    text = '10:00:00\tA B:\tReacted to "nothing like this" with ❤️\n'.encode()
    doc = parse(Source("c.txt", {"c.txt": text}))
    (msg,) = doc.items
    assert isinstance(msg, ChatMessage) and msg.quote == Quote("nothing like this", None, False)
    redacted = Document(doc.name, doc.format, doc.kind,
                        (ChatMessage(0, "10:00:00", Speaker("[PERSON_1]"), "❤️", kind=MessageKind.REACTION,
                                     quote=Quote("[excluded]")),), meta=doc.meta)
    assert write_document(redacted)[doc.name].decode() == (
        '10:00:00\t[PERSON_1]:\tReacted to "[excluded]" with ❤️\n'
    )


# --- WebVTT / SRT -------------------------------------------------------------

def test_zoom_vtt_colon_inside_text_is_not_a_speaker() -> None:
    doc = read_document(SAMPLES / "zoom_transcript.vtt", "transcript")
    cue = doc.items[1]
    assert isinstance(cue, Cue) and cue.speaker == Speaker("Bob Li")
    assert cue.text.startswith("Sure. Note: the forecast moved.")
    note = read_document(CONF / "zoom_note.vtt", "transcript")
    speakers = [c.speaker.label if isinstance(c, Cue) and c.speaker else None for c in note.items]
    assert speakers == ["Priya Shah", None, "Priya Shah", "Omar", "Omar"]
    assert note.items[1].text == "Note: the forecast moved again."
    assert note.items[4].text == "One more thing: the budget."


def test_teams_vtt_voices_ids_and_optional_close_tag() -> None:
    doc = read_document(SAMPLES / "teams_transcript.vtt", "transcript")
    cues = [c for c in doc.items if isinstance(c, Cue)]
    assert [c.speaker.label for c in cues if c.speaker] == ["Martin, Alice [NW]", "Li, Bob (Guest)", "Rao, Deepak [NW]"]
    assert cues[0].ident == "3f1a9c2e-5b7d-4e1f-9a0b-7c6d5e4f3a2b/12-0"
    assert cues[2].text == "I'll send the draft to Pat before Friday."
    assert (cues[1].start, cues[1].end) == (7.6, 12.01)


def test_teams_graph_timings_normalised_not_dropped() -> None:
    doc = read_document(SAMPLES / "teams_graph.vtt", "transcript")
    assert [(c.start, c.end) for c in doc.items if isinstance(c, Cue)] == [(0.0, 5.32), (5.32, 9.1)]
    out = write_document(doc)[doc.name].decode()
    assert "00:00:00.000 --> 00:00:05.320" in out and "00:00:05.320 --> 00:00:09.100" in out
    assert "0:0:0.0" not in out


def test_generic_vtt_bom_blocks_settings_and_notes_dropped() -> None:
    doc = read_document(CONF / "generic_full.vtt", "transcript")
    cues = [c for c in doc.items if isinstance(c, Cue)]
    assert cues[0].speaker == Speaker("Jane Roe") and cues[0].text == "Welcome & hello, everyone!"
    assert cues[0].ident == "intro" and cues[0].settings == "region:fred align:left"
    assert (cues[0].start, cues[0].end) == (1.0, 4.0)
    assert cues[1].speaker is None and cues[1].text == "No voice here <3"
    # Two voices in one cue become two cues with the same timing.
    assert [c.speaker.label for c in cues[2:] if c.speaker] == ["Jane Roe", "John Doe"]
    out = write_document(doc)[doc.name].decode()
    assert out.startswith("WEBVTT\n")
    assert "STYLE\n::cue { color: yellow }" in out and "REGION\nid:fred width:40%" in out
    assert "NOTE" not in out and "jane.roe@example.org" not in out and "Kickoff" not in out
    assert "No voice here &lt;3" in out


def test_vtt_writer_escapes_tokens_and_voice_labels() -> None:
    cues = (Cue(0, 0.0, 1.5, Speaker("[PERSON_1]"), "call [PERSON_2] & co --> now"),
            Cue(1, 61.25, 3700.0, None, "[EMAIL_ADDRESS_1]"))
    doc = Document("x.transcript.vtt", "webvtt", "transcript", cues)  # meta None
    out = write_document(doc)["x.transcript.vtt"].decode()
    assert "<v PERSON_1>call [PERSON_2] &amp; co --&gt; now</v>" in out
    assert "00:01:01.250 --> 01:01:40.000" in out
    assert "[EMAIL_ADDRESS_1]" in out
    back = parse(Source("x.vtt", {"x.vtt": out.encode()}))
    assert [c.text for c in back.items] == ["call [PERSON_2] & co --> now", "[EMAIL_ADDRESS_1]"]
    assert back.items[0].speaker == Speaker("PERSON_1")


def test_zoom_prefix_layout_kept_with_token_speaker() -> None:
    doc = read_document(SAMPLES / "zoom_transcript.vtt", "transcript")
    first = doc.items[0]
    assert isinstance(first, Cue)
    redacted = Document(doc.name, doc.format, doc.kind,
                        (Cue(0, first.start, first.end, Speaker("[PERSON_1]"), "Okay [PERSON_2]", ident="1"),),
                        meta=doc.meta)
    out = write_document(redacted)[doc.name].decode()
    assert "[PERSON_1]: Okay [PERSON_2]" in out
    back = parse(Source(doc.name, {doc.name: out.encode()}))
    assert back.items[0].speaker == Speaker("[PERSON_1]") and back.items[0].text == "Okay [PERSON_2]"


def test_srt_has_no_speakers_and_renumbers() -> None:
    doc = read_document(SAMPLES / "generic.srt", "transcript")
    assert all(isinstance(c, Cue) and c.speaker is None for c in doc.items)
    assert (doc.items[0].start, doc.items[0].end) == (1.0, 4.2)
    kept = Document(doc.name, doc.format, doc.kind, doc.items[1:], meta=doc.meta)
    out = write_document(kept)[doc.name].decode()
    assert out.startswith("1\n00:00:04,500 --> 00:00:08,000\nOur speaker today is")


# --- Slack -------------------------------------------------------------------

def test_slack_sample_users_mentions_tokens_and_system() -> None:
    doc = read_document(SAMPLES / "slack_export", "chat")
    assert doc.container == "dir" and doc.name == "slack_export"
    join, alice, bob, huddle = doc.items
    assert isinstance(join, ChatMessage) and join.kind is MessageKind.SYSTEM and join.sender is None
    assert isinstance(alice, ChatMessage)
    assert alice.sender == Speaker("Alice Martin", "U01ALICE", ("amartin", "Alice"))
    (mention,) = alice.mentions
    assert alice.text[mention.start : mention.end] == "<@U02BOBLI>" and mention.speaker.label == "Bob Li"
    assert join.text[join.mentions[0].start : join.mentions[0].end] == "<@U02BOBLI|bli>"
    assert isinstance(bob, ChatMessage) and bob.extra_texts[0] == "contract.pdf"
    assert isinstance(huddle, ChatMessage) and huddle.kind is MessageKind.SYSTEM
    out = write_document(doc)
    blob = b"".join(out.values())
    assert b"xoxe" not in blob and b"secret" not in blob
    assert set(out) == {f"slack_export/{p}" for p in ("users.json", "channels.json", "general/2026-11-20.json")}


def test_slack_dms_group_dms_bots_and_dropped_fields() -> None:
    doc = read_document(CONF / "slack_dm", "chat")
    msgs = [m for m in doc.items if isinstance(m, ChatMessage)]
    public = [m for m in msgs if not m.private]
    private = [m for m in msgs if m.private]
    assert [m.text for m in private] == ["Bob, my home number is 415 555 0177", "noted", "group secret plans"]
    assert private[0].recipients == (Speaker("Bob Li", "U02BOBLI", ("bli", "bob")),)
    assert {r.label for r in private[2].recipients} == {"Alice Martin", "Bob Li"}
    assert len(public) == 5
    assert msgs[1].kind is MessageKind.BOT and msgs[1].sender == Speaker("Deploy Bot", "B0DEPLOY")
    assert msgs[2].kind is MessageKind.BOT and msgs[2].sender == Speaker("U09GHOST", "U09GHOST")
    assert msgs[4].kind is MessageKind.SYSTEM
    assert "xoxp" not in msgs[3].text and msgs[3].text.endswith("notes.txt?x=1")
    assert msgs[3].extra_texts == ("alice cv.pdf", "CV of Alice Martin")  # underscores read as spaces
    carla = next(s for s in (msgs[0].mentions[0].speaker,))
    assert carla == Speaker("Carla Nunes", "U03CARLA", ("cnunes",))
    out = b"".join(write_document(doc).values()).decode()
    for gone in ("user_profile", "blocks", "alice.martin@northwind", "CFO", "Ask Carla", "thumb_64", "xox"):
        assert gone not in out


def test_slack_writer_applies_relabel_and_redacted_items() -> None:
    doc = read_document(CONF / "slack_dm", "chat")
    users = {m.sender.platform_id: m.sender for m in doc.items
             if isinstance(m, ChatMessage) and m.sender and m.kind is MessageKind.MESSAGE}
    alice, carla = users["U01ALICE"], users["U03CARLA"]
    p1, p2 = Speaker("[PERSON_1]", "PERSON_1"), Speaker("[PERSON_2]", "PERSON_2")
    relabel = {alice: p1, carla: p2}
    items = []
    for m in doc.items:
        assert isinstance(m, ChatMessage)
        text = m.text.replace("<@U03CARLA|cnunes>", "[PERSON_2]").replace("<@U03CARLA>", "[PERSON_2]")
        m = ChatMessage(m.index, m.time, m.sender, text, m.recipients, m.private, m.kind, m.quote, (),
                        m.extra_texts)
        if m.sender in relabel:
            m = ChatMessage(m.index, m.time, relabel[m.sender], m.text.replace("Bob", "[PERSON_3]"),
                            m.recipients, m.private, m.kind, m.quote, m.mentions,
                            tuple(t.replace("Alice Martin", "[PERSON_1]").replace("alice", "[PERSON_1]")
                                  for t in m.extra_texts))
        elif m.extra_texts:
            m = ChatMessage(m.index, m.time, m.sender, m.text, m.recipients, m.private, m.kind, m.quote,
                            m.mentions, ("[PERSON_1]_cv.pdf", "CV of [PERSON_1]"))
        items.append(m)
    redacted = Document(doc.name, doc.format, doc.kind, tuple(items), container=doc.container,
                        meta=doc.meta, relabel=relabel)
    out = write_document(redacted)
    users_json = json.loads(out["slack_dm/users.json"])
    assert users_json[0] == {"id": "PERSON_1", "name": "[PERSON_1]", "real_name": "[PERSON_1]",
                             "profile": {"real_name": "[PERSON_1]", "display_name": "[PERSON_1]"}}
    assert users_json[1]["id"] == "U02BOBLI" and users_json[1]["real_name"] == "Bob Li"
    general = json.loads(out["slack_dm/general/2026-11-20.json"])
    assert general[0]["user"] == "PERSON_1"
    assert general[4]["user"] == "PERSON_2"           # system message: id through relabel
    assert general[3]["files"][0]["url_private"].endswith("/%5BPERSON_1%5D_cv.pdf")
    assert general[3]["files"][0]["permalink"] == "https://acme.slack.com/files/PERSON_1/F2/%5BPERSON_1%5D_cv.pdf"
    channels = json.loads(out["slack_dm/channels.json"])
    assert channels[0]["creator"] == "PERSON_1" and channels[0]["members"] == ["PERSON_1", "U02BOBLI", "PERSON_2"]
    assert "slack_dm/mpdm-G0GROUPDM/2026-11-21.json" in out
    assert "amartin" not in "".join(out)
    blob = b"".join(out.values()).decode()
    assert "Alice Martin" not in blob and "U01ALICE" not in blob and "U03CARLA" not in blob


def _zip_bytes(root: Path, prefix: str = "") -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for p in sorted(root.rglob("*")):
            if p.is_file():
                zf.write(p, prefix + p.relative_to(root).as_posix())
    return buf.getvalue()


@pytest.mark.parametrize("prefix", ["", "export/"])
def test_slack_zip_in_zip_out(tmp_path: Path, prefix: str) -> None:
    z = tmp_path / "workspace.zip"
    z.write_bytes(_zip_bytes(CONF / "slack_dm", prefix))
    source = load_source(z)
    assert source.container == "zip" and source.name == "workspace.zip"
    doc = parse(source)
    as_dir = read_document(CONF / "slack_dm", "chat")
    assert doc.format == "slack" and doc.container == "zip" and doc.items == as_dir.items
    out = write_document(doc)
    assert list(out) == ["workspace.zip"]
    with zipfile.ZipFile(io.BytesIO(out["workspace.zip"])) as zf:
        names = set(zf.namelist())
    assert prefix + "users.json" in names and prefix + "dms.json" in names
    again = parse(Source("workspace.zip", {"workspace.zip": out["workspace.zip"]}))
    assert again.container == "zip" and again.items == doc.items


def test_folder_sha256_is_over_sorted_path_pairs() -> None:
    source = load_source(CONF / "slack_dm")
    doc = parse(source)
    assert doc.sha256 == source_sha256(source)
    reordered = Source(source.name, dict(reversed(list(source.files.items()))), "dir")
    assert source_sha256(reordered) == doc.sha256
    changed = Source(source.name, {**source.files, "users.json": b"[]"}, "dir")
    assert source_sha256(changed) != doc.sha256
    single = load_source(SAMPLES / "generic.srt")
    import hashlib

    assert parse(single).sha256 == hashlib.sha256((SAMPLES / "generic.srt").read_bytes()).hexdigest()


# --- Teams Graph chat ------------------------------------------------------------

def test_teams_chat_sample_system_and_mentions() -> None:
    doc = read_document(SAMPLES / "teams_chat_graph.json", "chat")
    system, alice, deepak = doc.items
    assert isinstance(system, ChatMessage) and system.kind is MessageKind.SYSTEM and system.sender is None
    assert isinstance(alice, ChatMessage) and alice.sender == Speaker("Alice Martin", "8b081ef6-4792-4def-b2c9-c363a1bf41d5")
    assert "Dana Whitfield" in alice.text and "<b>" not in alice.text and not alice.private
    assert isinstance(deepak, ChatMessage) and "I'll call the vendor" in deepak.text
    (m,) = deepak.mentions
    assert deepak.text[m.start : m.end] == "Alice" and m.speaker.label == "Alice Martin"


def test_teams_one_on_one_deleted_and_bot() -> None:
    doc = read_document(CONF / "teams_oneonone.json", "chat")
    hi, deleted, bot = doc.items
    assert isinstance(hi, ChatMessage) and hi.private and hi.text == "Hi Deepak Rao,\ncall me on 555\u00a00100 & bring snacks"
    assert hi.text[hi.mentions[0].start : hi.mentions[0].end] == "Deepak Rao"
    assert isinstance(deleted, ChatMessage) and deleted.kind is MessageKind.DELETED and deleted.text == ""
    assert isinstance(bot, ChatMessage) and bot.kind is MessageKind.BOT
    out = write_document(doc)[doc.name].decode()
    assert "4321" not in out and "PIN" not in out and "reactions" not in out


def test_teams_chat_private_by_chat_id_and_public_meeting() -> None:
    def one(extra: dict[str, object]) -> ChatMessage:
        msg = {"id": "1", "messageType": "message", "createdDateTime": "t",
               "from": {"user": {"id": "u", "displayName": "A B"}},
               "body": {"contentType": "html", "content": "<p>x</p>"}, **extra}
        doc = parse(Source("c.json", {"c.json": json.dumps({"value": [msg]}).encode()}))
        item = doc.items[0]
        assert isinstance(item, ChatMessage)
        return item

    assert one({"chatId": "19:a_b@unq.gbl.spaces"}).private
    assert not one({"chatId": "19:meeting_x@thread.v2"}).private
    assert one({"chatType": "unknownFutureValue"}).private
    assert not one({"chatType": "meeting"}).private


def test_teams_writer_escapes_and_relabels_mentions() -> None:
    doc = read_document(SAMPLES / "teams_chat_graph.json", "chat")
    alice = doc.items[1].sender
    assert alice is not None
    p1 = Speaker("[PERSON_1]", "PERSON_1")
    deepak = doc.items[2]
    assert isinstance(deepak, ChatMessage)
    new_text = deepak.text.replace("Alice", "[PERSON_1]")
    mention = type(deepak.mentions[0])(7, 7 + len("[PERSON_1]"), alice)
    items = (
        doc.items[0],
        ChatMessage(1, doc.items[1].time, p1, "Ping [PERSON_2] & co"),  # type: ignore[union-attr]
        ChatMessage(2, deepak.time, Speaker("[PERSON_3]", "PERSON_3"), new_text, mentions=(mention,)),
    )
    red = Document(doc.name, doc.format, doc.kind, items, meta=doc.meta, relabel={alice: p1})
    out = json.loads(write_document(red)[doc.name])
    msgs = out["value"]
    assert msgs[1]["body"]["content"] == "<p>Ping [PERSON_2] &amp; co</p>"
    assert msgs[1]["from"]["user"] == {"id": "PERSON_1", "displayName": "[PERSON_1]", "userIdentityType": "aadUser"}
    assert msgs[2]["body"]["content"].startswith('<p>Thanks <at id="0">[PERSON_1]</at>.')
    assert msgs[2]["mentions"][0]["mentionText"] == "[PERSON_1]"
    assert msgs[2]["mentions"][0]["mentioned"]["user"] == {"id": "PERSON_1", "displayName": "[PERSON_1]"}
    assert msgs[0]["eventDetail"]["members"] == [{"id": "PERSON_1", "displayName": None}]
    blob = json.dumps(out)
    assert "Alice" not in blob and "8b081ef6" not in blob


def test_teams_json_lines() -> None:
    lines = [
        {"id": "1", "messageType": "message", "createdDateTime": "t1", "chatType": "group",
         "from": {"user": {"id": "u1", "displayName": "A B"}}, "body": {"contentType": "text", "content": "one"}},
        {"id": "2", "messageType": "message", "createdDateTime": "t2", "chatType": "group",
         "from": {"user": {"id": "u2", "displayName": "C D"}}, "body": {"contentType": "html", "content": "two<br>lines"}},
    ]
    data = "\n".join(json.dumps(x) for x in lines).encode()
    doc = parse(Source("c.jsonl", {"c.jsonl": data}))
    assert [i.text for i in doc.items] == ["one", "two\nlines"]
    out = write_document(doc)["c.jsonl"].decode()
    assert len(out.strip().split("\n")) == 2
    assert _reparse(doc).items == doc.items


# --- meetguard JSON --------------------------------------------------------------

def test_meetguard_json_round_trip_with_words_and_messages() -> None:
    cue = Cue(0, 0.5, 2.25, Speaker("Ann Lee", "p-ann", ("ann",)), "hello there",
              (Word(" hello", 0.5, 1.0, 0.91), Word(" there", 1.1, 2.25, None)), ident="1", settings="")
    msg = ChatMessage(1, "10:00", Speaker("B"), "re: x", (Speaker("C"),), True, MessageKind.REPLY,
                      Quote("x", 0, True), (), ("file.pdf",))
    doc = Document("a.transcript.json", "meetguard-json", "transcript", (cue, msg))
    out = write_document(doc)
    body = json.loads(out["a.transcript.json"])
    assert body["format"] == "meetguard-json" and body["version"] == 1 and body["kind"] == "transcript"
    assert body["items"][0]["words"][0] == {"text": " hello", "start": 0.5, "end": 1.0, "probability": 0.91}
    back = parse(Source("a.transcript.json", out))
    assert back.format == "meetguard-json" and back.items == doc.items
    assert back.items[0].word_offsets() == [(0, 5), (6, 11)]  # type: ignore[union-attr]


@pytest.mark.parametrize("body", [
    {"format": "meetguard-json", "version": 2, "kind": "chat", "items": []},
    {"format": "meetguard-json", "version": 1, "kind": "audio", "items": []},
    {"format": "meetguard-json", "version": 1, "kind": "chat", "items": [{"type": "cue", "start": "x"}]},
    {"format": "meetguard-json", "version": 1, "kind": "chat", "items": [{"type": "message", "text": 3}]},
])
def test_meetguard_json_invalid(body: dict[str, object]) -> None:
    with pytest.raises(InputError):
        parse(Source("bad.json", {"bad.json": json.dumps(body).encode()}, path="bad.json"))


@pytest.mark.parametrize("fmt", ["zoom-chat", "zoom-cloud-chat", "teams-chat", "meetguard-json"])
def test_chat_writers_accept_meta_none(fmt: str) -> None:
    items = (ChatMessage(0, "10:00:00", Speaker("[PERSON_1]", "PERSON_1"), "hi [PERSON_2]\nsecond line"),
             ChatMessage(1, "10:00:05", Speaker("[PERSON_2]", "PERSON_2"), "psst", (Speaker("[PERSON_1]"),), True))
    doc = Document("out.x", fmt, "chat", items)
    out = write_document(doc)
    back = parse(Source("out.x", out, "file", "out.x"))
    assert back.format == fmt
    assert [(m.text, m.sender.label if m.sender else None, m.private) for m in back.items] == [  # type: ignore[union-attr]
        ("hi [PERSON_2]\nsecond line", "[PERSON_1]", False), ("psst", "[PERSON_2]", True)]


def test_slack_writer_needs_the_parsed_export() -> None:
    with pytest.raises(InputError):
        write_document(Document("x", "slack", "chat", (), container="dir"))


@pytest.mark.parametrize(("prefix", "count", "labelled", "expected"), [
    ("Alice Martin", 1, False, True),
    ("Martin, Alice [NW]", 1, False, True),
    ("Li, Bob (Guest)", 1, False, True),
    ("Jean-Luc de la Tour", 1, False, True),
    ("[PERSON_1]", 1, False, True),
    ("Omar", 1, False, False),
    ("Omar", 1, True, True),
    ("Omar", 2, False, True),
    ("Note", 1, True, False),
    ("Note", 3, True, False),
    ("Action Items", 1, True, False),
    ("He said", 2, True, False),
    ("Sure. Note", 1, True, False),
    ("one two three four five six", 1, True, False),
    ("Speaker 1", 1, False, True),
])
def test_zoom_prefix_plausibility(prefix: str, count: int, labelled: bool, expected: bool) -> None:
    from meetguard.formats.webvtt import _plausible_name

    assert _plausible_name(prefix, count, labelled) is expected


def test_model_is_a_leaf_and_meeting_reads_files() -> None:
    import ast

    import meetguard
    from meetguard import _model

    tree = ast.parse(Path(_model.__file__).read_text(encoding="utf-8"))
    internal = [n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and (n.level or 0) > 0]
    internal += [n for n in ast.walk(tree) if isinstance(n, ast.Import)
                 and any(a.name.startswith("meetguard") for a in n.names)]
    assert internal == []
    assert not hasattr(_model.Meeting, "from_files")
    assert issubclass(meetguard.Meeting, _model.Meeting)
    from meetguard import formats

    assert meetguard.Meeting is formats.Meeting
