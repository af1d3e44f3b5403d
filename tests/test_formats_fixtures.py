"""The suite's own corpus (tests/fixtures/realworld, SOURCES.tsv): each layout
that ../shared/data/realworld lacks, with its origin (real, or built from the
words the platform writes, said so in the ``origin`` column).

Every file is detected as its format, read with exactly the number of items
and private messages SOURCES.tsv states, written back, and read again to the
same senders, texts, recipients and private flags.
"""

from __future__ import annotations

import csv
import dataclasses
from pathlib import Path

import pytest

from meetguard import ChatMessage, Document
from meetguard._errors import InputError, UnsupportedFormat
from meetguard.formats import Source, load_source, parse, source_from_bytes, write_document

FIXTURES = Path(__file__).parent / "fixtures" / "realworld"


def _rows() -> list[dict[str, str]]:
    with (FIXTURES / "SOURCES.tsv").open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


ROWS = _rows()


def _view(doc: Document) -> list[tuple[object, ...]]:
    out: list[tuple[object, ...]] = []
    for item in doc.items:
        if isinstance(item, ChatMessage):
            who = item.sender.label if item.sender else None
            out.append((who, item.text, item.private, tuple(r.label for r in item.recipients)))
        else:
            out.append((item.speaker.label if item.speaker else None, item.text))
    return out


def test_every_row_names_its_origin() -> None:
    for row in ROWS:
        assert (FIXTURES / row["local_file"]).exists(), row["local_file"]
        assert row["licence"] and row["origin"], row["local_file"]
        real = not row["origin"].startswith("BUILT")
        assert not real or (row["repo"] and len(row["commit"]) == 40), row["local_file"]


@pytest.mark.parametrize("row", ROWS, ids=[r["local_file"] for r in ROWS])
def test_fixture_read_completely_and_written_back(row: dict[str, str]) -> None:
    doc = parse(load_source(FIXTURES / row["local_file"]))
    assert doc.format == row["format"]
    assert len(doc.items) == int(row["items"])
    private = sum(1 for i in doc.items if isinstance(i, ChatMessage) and i.private)
    assert private == int(row["private"])
    out = write_document(doc)
    back = parse(source_from_bytes(doc.name, out[doc.name]))       # a .docx comes back as a .docx
    assert back.format == doc.format and back.container == doc.container
    assert _view(back) == _view(doc)


def _chat(text: str) -> Document:
    return parse(source_from_bytes("meeting_saved_chat.txt", text.encode("utf-8")))


def test_zoom_local_language_is_kept_when_written() -> None:
    doc = _chat("17:46:06\t De  Ana Díaz : hola\n17:47:00\t De  Ben Ruiz  a  Ana Díaz(En privado) : psst\n")
    assert [(m.private, [r.label for r in m.recipients]) for m in doc.items if isinstance(m, ChatMessage)] == [
        (False, []), (True, ["Ana Díaz"])]
    out = write_document(doc)["meeting_saved_chat.txt"].decode("utf-8")
    assert out.splitlines() == ["17:46:06\t De  Ana Díaz : hola",
                                "17:47:00\t De  Ben Ruiz  a  Ana Díaz(En privado) : psst"]


def test_zoom_local_unknown_wording_is_refused_not_guessed() -> None:
    # a current-layout header whose target wording no language table holds
    with pytest.raises(InputError, match="line 1: message header without a target"):
        _chat("10:00:01 De  Ana Díaz  hacia  Todos:\n\thola\n")
    # a word before the sender that no Zoom client writes: not a Zoom chat at all
    with pytest.raises(UnsupportedFormat):
        _chat("10:00:01 Vom  Ana  an  Alle:\n\thallo\n")


def test_zoom_local_unknown_private_marker_stays_private() -> None:
    doc = _chat("10:00:01 De  Ana Díaz  a  Todos:\n\thola\n10:00:02 De  Ben Ruiz  a  Ana Díaz(Mensaje privado):\n\tpsst\n")
    second = doc.items[1]
    assert isinstance(second, ChatMessage) and second.private


_REGION_VTT = (
    "WEBVTT\nKind: captions\nRegion: id=fred width=40% lines=3 regionanchor=0%,100% viewportanchor=10%,90%\n\n"
    "Region: id=bill width=40% lines=3 scroll=up\nRegion: id=x note=\"Ana\"\n\n"
    "00:00:00.000 --> 00:00:02.000 region:fred align:left\n<v Fred>Hi, my name is Fred\n\n"
    "00:00:02.500 --> 00:00:04.500 region:bill\n<v Bill>Hi, I'm Bill\n"
)


def test_webvtt_legacy_region_lines_read_and_kept_safely() -> None:
    import webvtt

    doc = parse(source_from_bytes("captions.vtt", _REGION_VTT.encode()))
    assert _view(doc) == [("Fred", "Hi, my name is Fred"), ("Bill", "Hi, I'm Bill")]
    out = write_document(doc)["captions.vtt"].decode()
    assert "REGION\nid:fred\nwidth:40%" in out and "REGION\nid:bill" in out
    assert "Ana" not in out and "Kind" not in out          # free header text never written back
    assert len(webvtt.from_string(out).captions) == 2
    assert _view(parse(source_from_bytes("captions.vtt", out.encode()))) == _view(doc)


def _doc(name: str, text: str) -> Document:
    return parse(source_from_bytes(name, text.encode("utf-8")))


def test_meet_paragraph_without_a_name_is_nobodys_and_stays_so_when_written() -> None:
    doc = _doc("t.txt", "Sync - Transcript\n00:00:00\nAna Díaz: hi\nNote: the forecast moved.\nsee you\n")
    assert [(c[0], c[1]) for c in _view(doc)] == [
        ("Ana Díaz", "hi"), (None, "Note: the forecast moved."), (None, "see you")]
    back = parse(Source(doc.name, write_document(doc), "file", doc.name))
    # the unknown speaker's line never becomes a paragraph of "Note" or of Ana
    assert [v[0] for v in _view(back)] == ["Ana Díaz", None, None]
    odd = _doc("t.txt", "Sync - Transcript\nAna Díaz: hi\nsee you\n")
    odd = Document(odd.name, odd.format, "transcript",
                   (odd.items[0], dataclasses.replace(odd.items[1], text="Ben Okafor: psst")), meta=odd.meta)
    again = parse(Source(odd.name, write_document(odd), "file", odd.name))
    assert [v[0] for v in _view(again)] == ["Ana Díaz", "Unknown speaker"]   # never Ben's


@pytest.mark.parametrize(("fmt", "text", "line"), [
    ("google-meet", "Sync\nAgenda\nTranscript\nAna: hi\n", 2),            # not Attendees
    ("otter", "Ana Díaz  0:03\nhello\n", None),                             # fine (control)
    ("google-meet-chat", "0:00:05.123,0:00:05.123\nAna Díaz : hi\n\n0:00:06.000,0:00:06.000\nno name here\n", 5),
])
def test_new_formats_refuse_what_they_cannot_read(fmt: str, text: str, line: int | None) -> None:
    source = source_from_bytes("x.txt", text.encode("utf-8"))
    if line is None:
        assert parse(source).format == fmt
        return
    with pytest.raises(InputError, match=f"line {line}:"):
        parse(source, format=fmt)


def test_meet_docx_keeps_nothing_but_the_transcript() -> None:
    import io
    import zipfile

    doc = parse(load_source(FIXTURES / "google-meet" / "built__meet_docs_transcript.docx"))
    data = write_document(doc)[doc.name]
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert sorted(zf.namelist()) == ["[Content_Types].xml", "_rels/.rels", "word/document.xml"]
        assert b"Roadmap" not in zf.read("word/document.xml")       # the title is free text: not kept
    hostile = source_from_bytes("x.docx", _docx_with(b'<!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>'))
    with pytest.raises(InputError, match="DTD or entities"):
        parse(hostile, format="google-meet")


def _docx_with(document: bytes) -> bytes:
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("word/document.xml", document)
    return buf.getvalue()


def test_otter_and_captions_text_before_the_first_paragraph_is_refused() -> None:
    for fmt, text in (("otter", "intro\nAna Díaz  0:03\nhello\n"), ("zoom-captions", "intro\n[Ana] 10:00:00\nhi\n")):
        with pytest.raises(InputError, match="line 1:"):
            parse(source_from_bytes("x.txt", text.encode()), format=fmt)


def test_zoom_saved_chat_of_2025_keeps_its_date_and_reply_form() -> None:
    text = ('2025-11-06 08:26:31 From Ana Díaz to Everyone:\n\tgood morning all\n\t\n'
            '2025-11-06 08:26:40 From Ben Ruiz to Ana Díaz (direct message):\n\tpsst\n\t\n'
            '2025-11-06 08:27:02 From Ana Díaz to Everyone:\n\tReplying to "good morning...":\n\tand to you\n\t\n')
    doc = _chat(text)
    assert [(m.time, m.private, m.kind.value) for m in doc.items if isinstance(m, ChatMessage)] == [
        ("2025-11-06 08:26:31", False, "message"), ("2025-11-06 08:26:40", True, "message"),
        ("2025-11-06 08:27:02", False, "reply")]
    out = write_document(doc)["meeting_saved_chat.txt"].decode("utf-8")
    assert [line for line in text.splitlines() if line.strip()] == out.splitlines()
    # a date Zoom never writes (day first) is no header: the file is refused, not guessed
    with pytest.raises(UnsupportedFormat):
        _chat("06-11-2025 08:26:31 From Ana Díaz to Everyone:\n\thi\n")


_OTTER_SRT = (
    "1\n00:00:00,000 --> 00:00:03,500\nEmma Bostian: Hey, everyone, welcome to the podcast.\n\n"
    "2\n00:00:03,500 --> 00:00:06,000\nWe are talking about security today.\n\n"
    "3\n00:00:06,000 --> 00:00:09,000\nKelly Vaughn: Yes, and I'm so excited.\n\n"
    "4\n00:00:09,000 --> 00:00:12,000\nNote: the sound dropped here.\n")


def test_srt_name_prefix_is_the_speaker_and_is_written_back() -> None:
    import srt

    doc = _doc("otter.srt", _OTTER_SRT)
    assert doc.format == "srt"
    # a cue without a name is nobody's (never the previous speaker's); "Note" is no name
    assert _view(doc) == [("Emma Bostian", "Hey, everyone, welcome to the podcast."),
                          (None, "We are talking about security today."),
                          ("Kelly Vaughn", "Yes, and I'm so excited."), (None, "Note: the sound dropped here.")]
    out = write_document(doc)["otter.srt"].decode()
    assert out == _OTTER_SRT and len(list(srt.parse(out))) == 4
    named = Document(doc.name, doc.format, doc.kind, tuple(
        dataclasses.replace(c, speaker=dataclasses.replace(c.speaker, label="[PERSON_1]")) if c.speaker else c
        for c in doc.items), meta=doc.meta)
    back = parse(source_from_bytes("otter.srt", write_document(named)["otter.srt"]))
    assert [v[0] for v in _view(back)] == ["[PERSON_1]", None, "[PERSON_1]", None]


def _real_zoom_rows() -> list[dict[str, str]]:
    return [r for r in ROWS if r["format"] == "zoom-chat" and not r["origin"].startswith("BUILT")]


def test_real_zoom_chats_prove_their_interface_languages() -> None:
    """Each real local chat is read in the language its client wrote (the
    languages #31 counts as proven by real exports)."""
    langs = {parse(load_source(FIXTURES / r["local_file"])).meta["lang"] for r in _real_zoom_rows()}
    assert langs >= {"en", "es", "fr", "ru", "ja", "ko", "zh-tw", "zh", "de"}


def test_real_japanese_direct_messages_name_sender_and_recipient() -> None:
    doc = parse(load_source(FIXTURES / "zoom-chat-i18n" / "nobuoooo__sample2__meeting_saved_chat_ja.txt"))
    dms = [(m.time, m.sender.label if m.sender else None, [r.label for r in m.recipients])
           for m in doc.items if isinstance(m, ChatMessage) and m.private]
    assert dms == [("18:05:59", "HASUMI MATSUDA", ["Tsuchihashi Nobuyuki"]),
                   ("19:13:00", "shotaro kawakami", ["Tsuchihashi Nobuyuki"]),
                   ("19:13:16", "Tsuchihashi Nobuyuki", ["shotaro kawakami"]),
                   ("19:14:16", "Tsuchihashi Nobuyuki", ["shotaro kawakami"]),
                   ("19:14:20", "shotaro kawakami", ["Tsuchihashi Nobuyuki"])]
    # a sender whose name holds full-width parentheses is no private marker
    assert any(isinstance(m, ChatMessage) and m.sender and m.sender.label == "見学（こーいち）" and not m.private
               for m in doc.items)
    last = doc.items[-1]
    assert last.text.startswith("ガチ？") and last.text.endswith("あああ")   # runs on after blank lines
    out = write_document(doc)[doc.name].decode("utf-8")
    assert "18:05:59 開始 HASUMI MATSUDA 終了 Tsuchihashi Nobuyuki（ダイレクトメッセージ） : めがね！" in out


def test_zoom_header_without_a_sender_word_only_with_the_bare_to_word() -> None:
    """Zoom's Traditional Chinese client writes no word before the sender; a
    header is one only when it names the target with 對, so a cloud chat or a
    line of any other text is never taken for one."""
    doc = _chat("\n13:56:21  瑄瑄老師 對 所有人:\n\thi\n14:02:38  晏磊 對 所有人:\n\tok\n")
    assert [(m.sender.label if m.sender else None, m.text) for m in doc.items if isinstance(m, ChatMessage)] == [
        ("瑄瑄老師", "hi"), ("晏磊", "ok")]
    assert write_document(doc)["meeting_saved_chat.txt"].decode("utf-8").splitlines()[0] == "13:56:21  瑄瑄老師 對 所有人:"
    with pytest.raises(UnsupportedFormat):
        _chat("13:56:21  瑄瑄老師 所有人:\n\thi\n")
    # with the word before the sender, no 對 is needed
    assert [m.sender.label if m.sender else None for m in _chat("10:00:01 來自 Ana 傳送至 所有人:\n\thi\n").items] == ["Ana"]


def test_real_spanish_private_lines_stay_private_with_their_recipient() -> None:
    doc = parse(load_source(FIXTURES / "zoom-chat-i18n" / "vidapogosoft__DesarrolloAgil062021__meeting_saved_chat_es.txt"))
    private = [(m.sender.label if m.sender else None, [r.label for r in m.recipients])
               for m in doc.items if isinstance(m, ChatMessage) and m.private]
    assert private == [("Micaela Mera", ["sinergiass cursos"])] * 2 + [("sinergiass cursos", ["Micaela Mera"])] + [
        ("Micaela Mera", ["sinergiass cursos"]), ("sinergiass cursos", ["Micaela Mera"])] + [
        ("Micaela Mera", ["sinergiass cursos"])] * 3
    out = write_document(doc)[doc.name].decode("utf-8")
    assert "21:07:43\t De  Micaela Mera  a  sinergiass cursos(En privado) : ya, dele porto" in out


@pytest.mark.parametrize(("text", "line"), [
    ("notes\nFrom Ana Díaz to Everyone 10:48 AM\nhi\n", 1),                       # text before the first header
    ("Ana Díaz  to  Everyone 3:00 PM\nhi\nBen Okafor 4:34 PM\npsst\n", 3),         # a message without its target
])
def test_zoom_panel_copy_refuses_what_it_cannot_attribute(text: str, line: int) -> None:
    with pytest.raises(InputError, match=f"line {line}:"):
        parse(source_from_bytes("chat.txt", text.encode("utf-8")), format="zoom-chat-panel")


def test_zoom_panel_copy_private_and_written_back_without_a_header_in_text() -> None:
    text = ("From Ana Díaz to Everyone 10:48 AM\nsee you at 4:34 PM\nFrom Ben Okafor to Ana Díaz:  (Direct Message) "
            "10:50 AM\npsst\n")
    doc = _doc("chat.txt", text)
    assert doc.format == "zoom-chat-panel"
    assert _view(doc) == [("Ana Díaz", "see you at 4:34 PM", False, ()), ("Ben Okafor", "psst", True, ("Ana Díaz",))]
    assert write_document(doc)["chat.txt"].decode("utf-8") == text
    # a message whose text reads as a header is written so that it does not
    odd = Document(doc.name, doc.format, doc.kind, (dataclasses.replace(
        doc.items[0], text="From Chen Wei to Everyone 11:00 AM"), doc.items[1]), meta=doc.meta)
    back = parse(source_from_bytes("chat.txt", write_document(odd)["chat.txt"]))
    assert [v[0] for v in _view(back)] == ["Ana Díaz", "Ben Okafor"]
    # a name holding " to " is split by the names that send elsewhere
    two = _doc("chat.txt", "From Ana to Bo to Everyone 10:48 AM\nhi\nFrom Ana to Bo to Cy 10:49 AM\npsst\n")
    assert [(v[0], v[3]) for v in _view(two)] == [("Ana to Bo", ()), ("Ana to Bo", ("Cy",))]


def test_zoom_panel_copy_is_no_other_format() -> None:
    for name, text in (("meeting_saved_chat.txt", "10:02:11 From Ana to Everyone:\n\thi\n"),
                       ("chat.txt", "00:58:04\tAlex:\tDepends on your teaching style\n"),
                       ("otter.txt", "Ana Díaz  0:03\nhello\n")):
        assert parse(source_from_bytes(name, text.encode())).format != "zoom-chat-panel"


def test_zoom_private_marker_without_a_known_to_word_is_never_public() -> None:
    """A real Japanese file wrote 'に' where the table held only '終了': its direct
    messages were read as public with the target inside the sender's name. A
    private marker always makes a message private, and a header whose target is
    written in wording the table lacks is refused, naming its line."""
    with pytest.raises(InputError, match="line 2: a private message whose sender and target"):
        _chat("10:00:01 開始 Ana 終了 全員 : hi\n10:00:02 開始 Ben へ Ana（ダイレクトメッセージ） : psst\n")
    with pytest.raises(InputError, match="line 1: message header with a target in wording not known"):
        _chat("10:00:01\t De  Ana Díaz  hacia  Todos : hola\n")
    doc = parse(load_source(FIXTURES / "zoom-chat-i18n" / "aaa978__zchat__meeting_saved_chat_ja.txt"))
    senders = {m.sender.label for m in doc.items if isinstance(m, ChatMessage) and m.sender}
    assert not any(" に " in s or "全員" in s for s in senders)
    dms = [(m.sender.label if m.sender else None, [r.label for r in m.recipients])
           for m in doc.items if isinstance(m, ChatMessage) and m.private]
    assert dms == [("ホスト・事務局", ["さくらはらスマホ"])] * 4 + [
        ("Natsuko Saigusa", ["ホスト・事務局"]), ("櫻原雅人(はちくりうす)", ["ホスト・事務局"])]


def test_meet_label_glued_to_the_last_word_starts_the_next_speakers_paragraph() -> None:
    """A real Docs export lost paragraph breaks: 'sayKai Chen: Uh yeah.' Kai's
    words must be Kai's (a refusal of his must reach them), never the paragraph
    before's; a name after a space is text, not a label."""
    doc = parse(load_source(FIXTURES / "google-meet" / "blockblaz__zeam-pm__June-05.excerpt.txt"))
    view = [(c.speaker.label if c.speaker else None, c.text) for c in doc.items]
    at = next(i for i, (_, text) in enumerate(view) if text.endswith("you wanted to say"))
    assert view[at][0] == "Gajinder Singh"
    assert view[at + 1][0] == "Kai Chen" and view[at + 1][1].startswith("Uh yeah. Uh I uh I open uh PR 9 76.")
    assert ("Parthasarathy Ramanujam", "Okay. Okay.") in view
    assert not any("Chen: " in text or "Singh: " in text for _, text in view)
    spaced = _doc("t.txt", "Sync - Transcript\n00:00:00\nAna Díaz: hi\nBen Okafor: as I told Ana Díaz: fine\n")
    assert [(c.speaker.label if c.speaker else None, c.text) for c in spaced.items] == [
        ("Ana Díaz", "hi"), ("Ben Okafor", "as I told Ana Díaz: fine")]


def test_meet_chat_name_colon_without_a_space_before_it() -> None:
    text = "00:00:20.906,00:00:23.906\nDoge: Le woof has arrived!\n\n00:00:25.000,00:00:25.000\nAna Díaz: ratio 2 : 1\n\n"
    doc = _doc("chat.sbv", text)
    assert doc.format == "google-meet-chat"
    assert [(m.sender.label if m.sender else None, m.text) for m in doc.items if isinstance(m, ChatMessage)] == [
        ("Doge", "Le woof has arrived!"), ("Ana Díaz", "ratio 2 : 1")]
    assert write_document(doc)["chat.sbv"].decode("utf-8") == text[:-1]     # one newline at the end


def test_zoom_panel_copy_keeps_the_day_separator_above_the_first_message() -> None:
    text = "Today\n\nTeam Lead  to  You (direct message) 15:29\nhello\nTeam Lead  to  Everyone 15:30\nall\n"
    doc = _doc("chat.txt", text)
    assert doc.format == "zoom-chat-panel"
    assert _view(doc) == [("Team Lead", "hello", True, ("You",)), ("Team Lead", "all", False, ())]
    assert write_document(doc)["chat.txt"].decode("utf-8") == text


def test_real_japanese_kara_wording_is_read_and_kept() -> None:
    """A third Japanese client writes ``開始 A から 皆様:`` (TORIFUKUKaiou/qiita_articles);
    before 'から' was known the file was refused at line 1, never guessed."""
    doc = parse(load_source(FIXTURES / "zoom-chat-i18n" / "TORIFUKUKaiou__qiita_articles__EDI12_chat_ja.txt"))
    assert doc.meta["lang"] == "ja"
    senders = {m.sender.label for m in doc.items if isinstance(m, ChatMessage) and m.sender}
    assert "拓人 吉村" in senders and "Koji Tanaka （ko-tk）" in senders   # the name stops before から
    assert not any("から" in s or "皆様" in s for s in senders)
    out = write_document(doc)[doc.name].decode("utf-8")
    assert out.startswith("19:31:14 開始 伊藤茂 から 皆様:\n\tこんばんは！\n")
    # a private line in that wording names sender and recipient and stays private
    dm = _chat("19:31:14 開始 Ana から 皆様:\n\thi\n19:32:00 開始 Ana から Ben（ダイレクトメッセージ）:\n\tpsst\n")
    assert [(m.private, [r.label for r in m.recipients]) for m in dm.items if isinstance(m, ChatMessage)] == [
        (False, []), (True, ["Ben"])]


def test_zoom_header_layout_raw_line_after_an_indented_one_continues_the_message() -> None:
    """Zoom's 2022-2023 clients write a message's later lines unindented (real:
    Sir-Jude/Python, mjfrigaard/dev-test-shiny). Such a line continues the
    message above; a raw first body line, or a raw line starting with a time
    (a header in wording the table lacks), is still refused naming its line."""
    doc = parse(load_source(FIXTURES / "zoom-chat" / "Sir-Jude__Python__meeting_saved_chat.txt"))
    assert any(m.text == "https://www.youtube.com/watch?v=D9Ihs241zeg&ab_channel=TED\n1" for m in doc.items)
    two = _chat("10:24:53 From Ana To Everyone:\n\tso helpful!\n* where can we learn more?\n"
                "10:24:55 From Ben To Everyone:\n\tthanks\n")
    assert [(m.sender.label if m.sender else None, m.text) for m in two.items] == [
        ("Ana", "so helpful!\n* where can we learn more?"), ("Ben", "thanks")]
    for text, line in (("10:24:53 From Ana To Everyone:\nraw first line\n", 2),
                       ("10:24:53 From Ana To Everyone:\n\tok\n10:25:00 Van Ben aan Iedereen:\n\thoi\n", 3)):
        with pytest.raises(InputError) as err:
            _chat(text)
        assert f"line {line}" in str(err.value)


def test_zoom_webinar_all_panelists_is_a_group_not_a_person() -> None:
    """An attendee's 'to  All panelists' line (a webinar; real: sergioripjr/sergio_k8sxp)
    is private with no person as recipient, and written back as it was."""
    doc = _chat("19:03:22\t From  Luis Marta : Boa Noite\n"
                "19:03:25\t From  Guilherme Calcette  to  All panelists : salve\n")
    got = [(m.sender.label if m.sender else None, m.private, m.recipients) for m in doc.items]
    assert got == [("Luis Marta", False, ()), ("Guilherme Calcette", True, ())]
    assert "From  Guilherme Calcette  to  All panelists : salve" in write_document(doc)[doc.name].decode("utf-8")
