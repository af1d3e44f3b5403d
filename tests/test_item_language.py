"""Language per message or cue (issue #24 item 5): an English meeting with German lines
releases the English and excludes the German lines with their reason and count (partial);
a document with nothing in a listed language is still refused whole."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from meetguard.cli import main
from meetguard.detection import detect_item_language

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from _meeting import policy_yaml

POLICY = policy_yaml("lang", account="lang", operator="redact",
                     participants={"p-alice": "Alice Martin", "p-bob": "Bob Li"})
ENGLISH = ("10:00:01 From Alice Martin to Everyone:\n\tGood morning, the roadmap draft is up for review.\n"
           "10:00:09 From Bob Li to Everyone:\n\tThanks, I will walk through the launch checklist after lunch.\n")
GERMAN = ("10:00:15 From Bob Li to Everyone:\n\tIch schicke die Unterlagen morgen an Herrn Schneider, "
          "seine Nummer ist 030 1234567.\n"
          "10:00:20 From Alice Martin to Everyone:\n\tWir sehen uns dann am Donnerstag im Büro in der Hauptstraße.\n")
SHORT = "10:00:30 From Alice Martin to Everyone:\n\tDanke!\n"


@pytest.mark.parametrize(("text", "lang"), [
    ("Ich habe die Unterlagen gestern an das ganze Team geschickt und warte auf eure Antwort.", "de"),
    ("Thanks, I will walk through the launch checklist after lunch.", "en"),
    ("di direktori ketikkan cmd aja", None),   # Indonesian, read as German at 0.89: unclear
    ("ok", None), ("Danke!", None), ("see you then", None),
    # "eu" (Portuguese "I", and a place to the English finders): a Portuguese line is Portuguese,
    # excluded where the policy does not list it; a short one takes the meeting's language
    ("eu acho que a reunião de amanhã vai ser muito longa", "pt"), ("eu também", None),
])
def test_item_language_only_when_long_enough_and_sure(text: str, lang: str | None) -> None:
    assert detect_item_language(text) == lang


def _guard(tmp_path: Path, chat: str) -> tuple[int, Path]:
    (tmp_path / "policy.yaml").write_text(POLICY)
    (tmp_path / "chat.txt").write_text(chat, encoding="utf-8")
    out = tmp_path / "out"
    code = main(["guard", "--policy", str(tmp_path / "policy.yaml"), "--purpose", "summarization",
                 "--chat", str(tmp_path / "chat.txt"), "--out", str(out), "--at", "2026-11-28T12:00:00Z",
                 "--audit", str(tmp_path / "audit.jsonl")])
    return code, out


@pytest.mark.models
def test_english_meeting_with_german_lines_is_partial(tmp_path: Path) -> None:
    code, out = _guard(tmp_path, ENGLISH + GERMAN + SHORT)
    assert code == 0
    decision = json.loads((out / "decision.json").read_text())
    assert decision["decision"] == "partial"
    assert any("2 item(s) in language 'de' excluded" in r for r in decision["reasons"])
    released = "\n".join(p.read_text(encoding="utf-8") for p in out.rglob("*.txt"))
    assert "roadmap draft is up for review" in released and "launch checklist" in released
    assert "Danke!" in released   # short: the meeting's language
    for german in ("Unterlagen", "Schneider", "1234567", "Donnerstag", "Hauptstraße"):
        assert german not in released


@pytest.mark.models
def test_a_chat_with_nothing_in_a_listed_language_is_refused_whole(tmp_path: Path) -> None:
    code, out = _guard(tmp_path, GERMAN + SHORT)
    assert code != 0
    assert not (out / "chat.txt").exists()
