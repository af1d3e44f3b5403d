"""Square pseudonym tokens ([PERSON_1], #26) against caption speaker labels ([Alba] text).

A guarded caption file holds both: speaker labels replaced by tokens, and lines of text
that start with a token ("[PERSON_31], admitida."). Written back and read again, a
token speaker stays one label and a line of text stays text: same cues, same speakers
(webvtt-py and srt count the same cues).
"""

from __future__ import annotations

import dataclasses
import re

import pytest
import srt
import webvtt

from meetguard import Cue, Speaker
from meetguard.formats import parse, source_from_bytes, write_document
from meetguard.redaction.tokens import unwrap

VTT = (
    "WEBVTT\n\n"
    "1\n00:00:01.000 --> 00:00:02.000\n[Alba] En 1928,\n\n"
    "2\n00:00:02.000 --> 00:00:03.000\nLaura Sarmiento, admitida.\nVerónica Sánchez, admitida.\n\n"
    "3\n00:00:03.000 --> 00:00:04.000\nÁngeles Montes, no admitida.\nMarta Rodríguez 235.\n\n"
    "4\n00:00:04.000 --> 00:00:05.000\n[Carlos] ¿Lo sabe Alba?\n\n"
)
SRT = VTT.replace("WEBVTT\n\n", "").replace(".000", ",000")
NAMES = re.compile(r"Alba|Carlos|Laura Sarmiento|Verónica Sánchez|Ángeles Montes|Marta Rodríguez")


def _guarded(name: str, text: str) -> tuple[list[tuple[str | None, str]], dict[str, bytes]]:
    """The file parsed, every name replaced by a square token, written back."""
    doc = parse(source_from_bytes(name, text.encode()))
    tokens: dict[str, str] = {}

    def tok(m: re.Match[str]) -> str:
        return tokens.setdefault(m.group(0), f"[PERSON_{len(tokens) + 1}]")

    items = []
    for item in doc.items:
        assert isinstance(item, Cue)
        speaker = Speaker(tok(NAMES.match(item.speaker.label))) if item.speaker else None  # type: ignore[arg-type]
        items.append(dataclasses.replace(item, speaker=speaker, text=NAMES.sub(tok, item.text)))
    guarded = dataclasses.replace(doc, items=tuple(items))
    view = [(unwrap(c.speaker.label) if c.speaker else None, c.text) for c in items]
    return view, write_document(guarded)


@pytest.mark.parametrize("name", ["captions.vtt", "captions.srt"])
def test_token_speakers_and_token_led_lines_read_back_as_written(name: str) -> None:
    view, out = _guarded(name, VTT if name.endswith(".vtt") else SRT)
    (data,) = out.values()
    text = data.decode()
    assert "[[" not in text and "[PERSON_1] En 1928," in text
    back = parse(source_from_bytes(name, data))
    assert all(isinstance(c, Cue) for c in back.items)
    assert [(c.speaker.label if isinstance(c, Cue) and c.speaker else None, c.text)
            for c in back.items] == view
    assert view[0][0] == "PERSON_1" and view[1][0] is None and view[2][0] is None
    cues = webvtt.from_string(text).captions if name.endswith(".vtt") else list(srt.parse(text))
    assert len(cues) == len(back.items) == 4
