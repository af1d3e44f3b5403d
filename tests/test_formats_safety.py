"""Formats on hostile or odd input: encodings, unsafe zips, huge lines, fuzzing, plugins."""

from __future__ import annotations

import io
import json
import os
import time
import zipfile
from pathlib import Path
from typing import Literal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meetguard import ChatMessage, Document, Speaker, formats
from meetguard._errors import InputError, InputTooLarge, PluginLoadError, UnsupportedFormat
from meetguard.formats import (
    Source,
    _registry,
    load_source,
    parse,
    read_document,
    source_from_bytes,
    write_document,
)

from .conftest import SAMPLES, require_shared

require_shared()

CONF = Path(__file__).parent / "conf" / "formats"
LATIN = "10:02:11 From José Müller to Everyone:\n\tGrüße aus Köln – café at 5€\n"


def _src(data: bytes, name: str = "in.txt") -> Source:
    return Source(name, {name: data}, "file", name)


# --- encodings -------------------------------------------------------------------

def test_latin1_zoom_chat_decoded(tmp_path: Path) -> None:
    p = tmp_path / "meeting_saved_chat.txt"
    p.write_bytes(LATIN.encode("cp1252"))
    doc = read_document(p, "chat")
    (msg,) = doc.items
    assert isinstance(msg, ChatMessage)
    assert msg.sender == Speaker("José Müller") and msg.text == "Grüße aus Köln – café at 5€"
    assert write_document(doc)[p.name].decode("utf-8") == LATIN


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-16-le-bom", "utf-16-be-bom"])
def test_bom_encodings(encoding: str) -> None:
    text = (SAMPLES / "teams_transcript.vtt").read_text("utf-8")
    if encoding == "utf-16-le-bom":
        data = b"\xff\xfe" + text.encode("utf-16-le")
    elif encoding == "utf-16-be-bom":
        data = b"\xfe\xff" + text.encode("utf-16-be")
    else:
        data = text.encode(encoding)
    doc = parse(_src(data, "t.vtt"))
    plain = parse(_src(text.encode(), "t.vtt"))
    assert doc.format == "webvtt" and doc.items == plain.items


def test_utf16_without_bom_is_refused() -> None:
    data = (SAMPLES / "zoom_chat_local.txt").read_text("utf-8").encode("utf-16-le")
    with pytest.raises(UnsupportedFormat):
        parse(_src(data))


# --- zip and folder safety ------------------------------------------------------------

def _zip(entries: dict[str, bytes], symlink: str | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
        if symlink:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = (0o120777 << 16)
            zf.writestr(info, "/etc/passwd")
    return buf.getvalue()


SLACK_MIN = {"users.json": b"[]", "channels.json": b'[{"id": "C1", "name": "g"}]', "g/2026-01-01.json": b"[]"}


@pytest.mark.parametrize("bad", ["../evil.json", "/abs/evil.json", "g/../../evil.json", "C:/evil.json"])
def test_zip_path_traversal_rejected(tmp_path: Path, bad: str) -> None:
    p = tmp_path / "e.zip"
    p.write_bytes(_zip({**SLACK_MIN, bad: b"[]"}))
    with pytest.raises(InputError, match="escapes"):
        load_source(p)


def test_zip_symlink_rejected(tmp_path: Path) -> None:
    p = tmp_path / "e.zip"
    p.write_bytes(_zip(SLACK_MIN, symlink="g/2026-01-02.json"))
    with pytest.raises(InputError, match="symbolic link"):
        load_source(p)


def test_zip_bomb_rejected(tmp_path: Path) -> None:
    p = tmp_path / "bomb.zip"
    p.write_bytes(_zip({**SLACK_MIN, "g/2026-01-03.json": b"\0" * (20 * 1024 * 1024)}))
    assert p.stat().st_size < 1024 * 1024
    with pytest.raises(InputError, match="compression ratio"):
        load_source(p)


def test_zip_too_many_members(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from meetguard.formats import _source

    monkeypatch.setattr(_source, "MAX_MEMBERS", 5)
    p = tmp_path / "many.zip"
    p.write_bytes(_zip({**SLACK_MIN, **{f"g/2026-02-{d:02d}.json": b"[]" for d in range(1, 5)}}))
    with pytest.raises(InputError, match="more than 5 members"):
        load_source(p)


def test_zip_total_size_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from meetguard.formats import _source

    monkeypatch.setattr(_source, "MAX_BYTES", 100)
    p = tmp_path / "big.zip"
    p.write_bytes(_zip({**SLACK_MIN, "g/2026-01-04.json": json.dumps([{"text": "x" * 200}]).encode()}))
    with pytest.raises(InputError, match="200 MB"):
        load_source(p)


def test_corrupt_zip_is_input_error() -> None:
    data = _zip(SLACK_MIN)
    with pytest.raises(InputError):
        source_from_bytes("x.zip", data[:40])


def test_folder_symlink_rejected(tmp_path: Path) -> None:
    root = tmp_path / "export"
    (root / "g").mkdir(parents=True)
    for rel, data in SLACK_MIN.items():
        (root / rel).write_bytes(data)
    os.symlink("/etc/hostname", root / "g" / "2026-01-05.json")
    with pytest.raises(InputError, match="symbolic link"):
        load_source(root)


def test_file_over_200_mb_is_too_large(tmp_path: Path) -> None:
    p = tmp_path / "huge.vtt"
    with open(p, "wb") as fh:
        fh.truncate(200 * 1024 * 1024 + 1)   # sparse: no disk used
    with pytest.raises(InputTooLarge):
        load_source(p)


def test_missing_path() -> None:
    with pytest.raises(InputError, match="no such file"):
        load_source("/nonexistent/chat.txt")


# --- errors name the line, never the content -------------------------------------------

@pytest.mark.parametrize(("data", "line"), [
    (b"10:00:00 From A to Everyone:\nSECRET-VALUE stray line\n", 2),   # a raw first body line
    (b"WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nok\n\nSECRET-VALUE\nno timing here\n", 6),
    (b"WEBVTT\n\n00:00:01.000 --> SECRET-VALUE\nok\n", 3),
    (b"1\n00:00:01,000 --> 00:00:02,000\nok\n\nSECRET-VALUE\n", 5),
    (b"10:00:00\t From A : hi\n10:00:01\t From SECRET-VALUE\n", 2),
])
def test_parse_errors_name_line_not_content(data: bytes, line: int) -> None:
    with pytest.raises(InputError) as err:
        parse(_src(data, "bad.txt"))
    message = str(err.value)
    assert f"line {line}" in message and "SECRET" not in message and message.startswith("bad.txt: ")


def test_invalid_json_error_hides_content() -> None:
    data = b'{"value": [{"messageType": "message", "body": {"content": "SECRET-VALUE"} ]}'
    with pytest.raises(InputError) as err:
        parse(_src(data, "c.json"))
    assert "SECRET" not in str(err.value)


def test_deeply_nested_json_is_input_error() -> None:
    deep = b'{"value": ' + b"[" * 200_000 + b"]" * 200_000 + b"}"
    with pytest.raises(InputError):
        parse(_src(deep, "deep.json"))
    deep_mg = b'{"format": "meetguard-json", "version": 1, "items": ' + b"[" * 200_000 + b"]" * 200_000 + b"}"
    with pytest.raises(InputError):
        parse(_src(deep_mg, "deep.json"))


@pytest.mark.parametrize("head", [
    b"WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nA B: ",
    b"10:00:00 From A to Everyone:\n\t",
    b"10:00:00\tA:\tReacted to \"",
    b"1\n00:00:01,000 --> 00:00:02,000\n",
])
def test_twenty_megabyte_line_is_bounded(head: bytes) -> None:
    data = head + b"x: \" with <v " * (20 * 1024 * 1024 // 13) + b"\n"
    t0 = time.monotonic()
    try:
        doc = parse(_src(data))
        assert len(doc.items) >= 1
    except InputError:
        pass
    assert time.monotonic() - t0 < 20


# --- fuzzing ----------------------------------------------------------------------------

_SEEDS = [p.read_bytes() for p in sorted(SAMPLES.iterdir()) if p.is_file() and p.suffix in (".txt", ".vtt", ".srt", ".json") and p.name != "expected.json"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=600))
def test_random_bytes_only_input_error(data: bytes) -> None:
    try:
        parse(_src(data))
    except InputError:
        pass


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(_SEEDS), st.integers(min_value=0, max_value=4000), st.binary(max_size=8))
def test_truncated_and_spliced_samples_only_input_error(seed: bytes, cut: int, junk: bytes) -> None:
    for data in (seed[:cut], seed[:cut] + junk + seed[cut:]):
        try:
            doc = parse(_src(data))
        except InputError:
            continue
        write_document(doc)


@settings(max_examples=60, deadline=None)  # raised locally to 2000 once
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=80), st.sampled_from(_SEEDS))
def test_any_redacted_text_is_written_readable(text: str, seed: bytes) -> None:
    """Whatever redaction puts into a message or cue, the writer keeps the file readable."""
    doc = parse(_src(seed))
    items = []
    for item in doc.items:
        items.append(type(item)(**{**{f: getattr(item, f) for f in item.__slots__}, "text": text}))  # type: ignore[attr-defined]
    redone = Document(doc.name, doc.format, doc.kind, tuple(items), meta=doc.meta)
    out = write_document(redone)
    again = parse(Source(doc.name, out, "file", doc.name))
    assert again.format == doc.format and len(again.items) == len(doc.items)


# --- plugins ------------------------------------------------------------------------------

class _FakeFormat:
    name = "fake-notes"
    kind: Literal["chat", "transcript"] = "chat"

    def sniff(self, source: Source) -> bool:
        return source.container == "file" and source.data.startswith(b"FAKE-NOTES\n")

    def parse(self, source: Source) -> Document:
        lines = source.data.decode().splitlines()[1:]
        return Document(source.name, self.name, "chat",
                        tuple(ChatMessage(i, "", Speaker("x"), t) for i, t in enumerate(lines)))

    def write(self, doc: Document) -> dict[str, bytes]:
        return {doc.name: b"FAKE-NOTES\n"}


def test_plugin_formats_listed_detected_and_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    def fake_load_group(group: str, check: object) -> dict[str, object]:
        calls.append(group)
        assert callable(check) and check(_FakeFormat) and check(_FakeFormat()) and not check(object())
        return {"fake": _FakeFormat}

    monkeypatch.setattr(_registry, "load_group", fake_load_group)
    _registry._plugin_formats.cache_clear()
    try:
        assert "fake-notes" in formats.available_formats()
        doc = parse(_src(b"FAKE-NOTES\na\nb\n"))
        assert doc.format == "fake-notes" and [i.text for i in doc.items] == ["a", "b"]
        assert calls == ["meetguard.parsers"]
    finally:
        _registry._plugin_formats.cache_clear()


def test_broken_plugin_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(group: str, check: object) -> dict[str, object]:
        raise PluginLoadError("dist:bad", "ImportError: nope")

    monkeypatch.setattr(_registry, "load_group", broken)
    _registry._plugin_formats.cache_clear()
    try:
        with pytest.raises(PluginLoadError):
            formats.available_formats()
    finally:
        _registry._plugin_formats.cache_clear()
