"""The consent bypass of #11: two cues with no blank line between them, the
second spoken by a participant who refused. Their words are never released,
in every transcript layout that can say who spoke (SRT cannot: its cues are
unknown speakers)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from meetguard import Guard, Meeting
from meetguard.testing import FakeDetector, MemoryAuditSink

from .conftest import SAMPLES, needs_shared

AT = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def _graph(name: str, text: str) -> str:
    return json.dumps({"speakerName": name, "spokenText": text, "spokenLanguage": "en-us"})


LAYOUTS = {
    "voice": ("<v Alice Martin>alice opens the review</v>", "<v Carla Nunes>carla private remark</v>"),
    "zoom-prefix": ("Alice Martin: alice opens the review", "Carla Nunes: carla private remark"),
    "caption-bracket": ("[Alice Martin] alice opens the review", "[Carla Nunes] carla private remark"),
    "caption-dash": ("- ALICE MARTIN: alice opens the review", "- CARLA NUNES: carla private remark"),
    "caption-chevrons": (">> Alice Martin: alice opens the review", ">> Carla Nunes: carla private remark"),
    "graph-metadata": (_graph("Alice Martin", "alice opens the review"),
                       _graph("Carla Nunes", "carla private remark")),
}


@needs_shared
@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_refusing_speaker_after_a_cue_without_blank_line_is_not_released(layout: str, tmp_path: Path) -> None:
    first, second = LAYOUTS[layout]
    vtt = tmp_path / "meeting.vtt"
    vtt.write_text(f"WEBVTT\n\n00:00:01.000 --> 00:00:04.000\n{first}\n"
                   f"00:00:04.000 --> 00:00:07.000\n{second}\n", encoding="utf-8")
    guard = Guard(SAMPLES / "policy.yaml", detector=FakeDetector(), audit=MemoryAuditSink())
    try:
        result = guard.process_sync(Meeting.from_files(transcript=[vtt]), "summarization", "summarizer", AT)
    finally:
        guard.close()
    assert result.decision == "partial"
    assert "p-carla" in result.excluded_participants
    released = "\n".join(data.decode("utf-8") for data in result.outputs.values())
    assert "alice opens the review" in released
    assert "carla private remark" not in released
    assert "Carla" not in released and "CARLA" not in released
    assert "Alice Martin" not in released and "ALICE MARTIN" not in released
