"""Clean speech is released (#23, long recordings): a recording that holds no personal value
is heard by both decodes, verified, and released whole, with the real models.

jfk.flac looped to one minute (16 kHz mono, five times the sentence) was refused
(``value_heard_again``): "Americans" before "asked" was read as a name, bleeped in every
loop (the union of both decodes' findings, each piece of a value everywhere), and a piece
of it heard again in the release. A people is no person (meetguard/data/demonyms.txt).
And a window of speech that truly repeats itself (the sentence three times in 30 s) made
tiny.en's greedy text exceed whisper's compression ratio, so whisper sampled it again at
rising temperatures, up to 1.0: words nobody said, read as names. The main decode now hears
such a window in halves at temperature 0 (audio/whisper_backend.py)."""

from __future__ import annotations

import json
import math
import re
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from meetguard import Guard, Meeting
from meetguard.audio.decode import iter_chunks

from .conftest import FFMPEG, JFK, SAMPLES, require_shared, warm_guard

require_shared()

pytestmark = pytest.mark.models

AT = datetime(2026, 11, 28, 12, tzinfo=UTC)
TOKEN = re.compile(r"[<\[]PERSON_\d+[>\]]")


@pytest.fixture(scope="module")
def guard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Guard]:
    yield from warm_guard(SAMPLES / "policy.yaml", tmp_path_factory.mktemp("audit"))


def _minute(dest: Path) -> Path:
    subprocess.run([FFMPEG, "-nostdin", "-v", "error", "-stream_loop", "-1", "-i", str(JFK), "-t", "60",
                    "-ac", "1", "-ar", "16000", "-c:a", "pcm_s16le", str(dest)], check=True)
    return dest


def test_a_main_decode_that_repeats_itself_is_heard_in_halves(monkeypatch: pytest.MonkeyPatch) -> None:
    """With a fake whisper: a 20 s window whose greedy decode was stopped in a loop (an
    infinite ratio, audio/loops.py) is decoded again as two halves (offsets kept), never resampled at a higher temperature;
    a piece under 8 s keeps its greedy text."""
    import whisper

    from meetguard.audio.transcriber import get_transcriber

    seen: list[tuple[float, dict[str, Any]]] = []

    def fake(model: Any, audio: Any, **kwargs: Any) -> dict[str, Any]:
        seconds = len(audio) / 16000
        seen.append((seconds, kwargs))
        ratio = math.inf if seconds > 12 else 1.3
        said = " ask not ask not ask not ask not" if seconds > 12 else " ask"
        return {"segments": [{"compression_ratio": ratio, "text": said, "words": [   # heard to its end
            {"word": " ask", "start": 1.0, "end": seconds - 0.5, "probability": 0.9}]}]}

    transcriber = get_transcriber("openai-whisper", "tiny.en")
    monkeypatch.setattr(whisper, "transcribe", fake)
    samples = np.random.default_rng(3).normal(0, 0.1, 16000 * 20).astype(np.float32)
    samples[16000 * 9: 16000 * 9 + 800] = 0.0          # its quietest point
    cues = transcriber.transcribe(samples, offset=100.0)
    assert [round(s) for s, _ in seen] == [20, 9, 11]
    assert all(kw["compression_ratio_threshold"] is None for _, kw in seen)
    assert cues[0].start == 101.0 and 110.0 <= cues[1].start <= 110.05   # the second half's own offset
    seen.clear()
    transcriber.transcribe(samples[: 16000 * 6])        # too short to halve: one decode
    assert len(seen) == 1


def test_speech_that_truly_repeats_is_not_halved(monkeypatch: pytest.MonkeyPatch) -> None:
    """A window whose text repeats over the ratio because a sentence was said again, or a
    card read out, under the token cap and not stopped as a loop, is one decode, not halved;
    a decode that ran to its token cap, or that audio/loops.py stopped in a loop (an
    infinite ratio), is stuck."""
    import whisper

    from meetguard.audio.transcriber import get_transcriber
    from meetguard.audio.whisper_backend import _stuck

    said = " Send the contract to Ingrid at Litware." * 5
    seen: list[float] = []

    def fake(model: Any, audio: Any, **kwargs: Any) -> dict[str, Any]:
        seen.append(len(audio) / 16000)
        return {"segments": [{"compression_ratio": 3.1, "text": said, "tokens": list(range(60)), "words": [
            {"word": " Send", "start": 1.0, "end": seen[-1] - 0.5, "probability": 0.9}]}]}

    transcriber = get_transcriber("openai-whisper", "tiny.en")
    monkeypatch.setattr(whisper, "transcribe", fake)
    transcriber.transcribe(np.random.default_rng(3).normal(0, 0.1, 16000 * 26).astype(np.float32))
    assert len(seen) == 1
    assert not _stuck([{"text": said, "tokens": list(range(60))}], 224)
    assert _stuck([{"text": said, "tokens": list(range(224))}], 224)           # ran to its cap
    card = " Charge it to" + " fine" * 17 + " 4, 4, 4, 4, 4"     # tiny.en's hearing of card_master
    assert not _stuck([{"text": card, "tokens": list(range(31)), "compression_ratio": 3.7}], 86)
    assert _stuck([{"text": " Time," * 20, "tokens": list(range(41)), "compression_ratio": math.inf}], 62)
    assert not _stuck([{"text": " Thank you. Thank you. Thank you.", "tokens": []}], 224)


def test_speech_said_three_times_in_a_window_is_heard_at_temperature_zero() -> None:
    from meetguard.audio.transcriber import get_transcriber

    window = np.concatenate(list(iter_chunks(JFK, seconds=30.0)))
    window = np.concatenate([window, window, window])[: 16000 * 30]
    cues = get_transcriber("openai-whisper", "tiny.en").transcribe(window)
    text = " ".join(c.text for c in cues).casefold()
    assert text.count("ask not") >= 2 and text.count("your country") >= 4, text


def test_a_minute_of_clean_speech_is_verified_and_released(guard: Guard, tmp_path: Path) -> None:
    loop = _minute(tmp_path / "jfk_minute.wav")
    meeting = Meeting.from_files(audio=loop, attendees=["p-alice"])
    result = guard.process_sync(meeting, "summarization", "summarizer", AT, verify=True)
    assert result.decision == "release"
    assert "jfk_minute.redacted.wav" in result.outputs
    record = json.loads(Path(guard.options.audit_path or "").read_text().splitlines()[-1])
    (audio,) = [a for a in record["artefacts"] if a["kind"] == "audio"]
    assert audio["verified"] is True
    items = json.loads(result.outputs["jfk_minute.transcript.json"])["items"]
    text = " ".join(item["text"] for item in items)
    # the people addressed stays in every loop the transcript heard it: nothing of it bleeped
    assert len(re.findall(r"(?i)americans", text)) >= 4
    assert not TOKEN.search(text), "no person is named in jfk.flac"
