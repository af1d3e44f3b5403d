"""The sidecar's JSON log lines: library messages formatted, never a content value."""

from __future__ import annotations

import json
import logging

import pytest

from meetguard.sidecar.logs import JsonFormatter

CONTENT = ["alice.martin@northwind.example", "Alice Martin", "4111 1111 1111 1111", "+1 206 555 0187",
           "DE89370400440532013000", "john_smith", "McDonald", "call me on five five five"]


def _line(name: str, msg: object, *args: object) -> dict[str, object]:
    record = logging.LogRecord(name, logging.WARNING, __file__, 1, msg, args or None, None)
    out: dict[str, object] = json.loads(JsonFormatter().format(record))
    return out


def test_presidio_lines_carry_their_formatted_message(caplog: pytest.LogCaptureFixture) -> None:
    from presidio_analyzer import Pattern, PatternRecognizer

    caplog.set_level(logging.INFO, logger="presidio-analyzer")
    PatternRecognizer(supported_entity="MEETING_ID", name="MeetingIdRecognizer",
                      patterns=[Pattern("id", r"\b\d{3} \d{4} \d{4}\b", 0.5)])
    fmt = JsonFormatter()
    lines = [json.loads(fmt.format(r)) for r in caplog.records if r.name == "presidio-analyzer"]
    assert {"level": "info", "logger": "presidio-analyzer", "msg": "Loaded recognizer: MeetingIdRecognizer"} in [
        {k: v for k, v in line.items() if k != "ts"} for line in lines]
    assert all("%s" not in str(line["msg"]) for line in lines)


@pytest.mark.parametrize("value", CONTENT)
def test_a_library_argument_from_content_is_withheld(value: str) -> None:
    line = _line("presidio-analyzer", "Failed to validate text %s", value)
    assert line["msg"] == "Failed to validate text <str>"
    assert value not in json.dumps(line)


def test_code_values_show_and_everything_else_is_a_placeholder() -> None:
    assert _line("spacy", "entities %s in %s, %d found", ["EMAIL_ADDRESS", "US_SSN"], "en_core_web_sm", 3)["msg"] == (
        "entities [EMAIL_ADDRESS, US_SSN] in en_core_web_sm, 3 found")
    secret = ValueError(f"bad value {CONTENT[0]}")
    line = _line("aiohttp.server", "Error handling request %s: %r", {"email": CONTENT[0]}, secret)
    assert line["msg"] == "Error handling request <dict>: <ValueError>"
    assert _line("somelib", secret)["msg"] == "<ValueError>"
    # A template that needs a number but got a withheld argument stays a template.
    assert _line("somelib", "%d rows for %s", "12", CONTENT[1])["msg"] == "%d rows for %s"
    for value in CONTENT:
        assert value not in json.dumps([_line("somelib", "x=%s", value), _line("somelib", "%(v)s", {"v": value})])


def test_meetguard_records_are_formatted_in_full() -> None:
    assert _line("meetguard.sidecar", "listening on %s:%d", "127.0.0.1", 8080)["msg"] == "listening on 127.0.0.1:8080"
    assert _line("meetguardian", "x %s", "127.0.0.1")["msg"] == "x <str>"  # not ours: a prefix is not enough
