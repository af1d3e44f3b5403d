"""Two-voice mixed recordings for the speaker-silencing tests (#28), built at test time.

Alice's lines are the committed clips in piper's ``joe`` voice; Bob's are Kokoro's
``jf_alpha`` (clips.txt: ``voice2_*``): two different synthetic voices. Each line is
placed after a pause; :func:`build` returns the recording and every turn (who, start,
end, text) on its clock, from which :func:`zoom_timeline` and :func:`zoom_vtt` write what
Zoom would give for it.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .conftest import FFMPEG, SPEECH

ALICE = ["alice_track", "train", "mixed"]            # joe (piper)
BOB = ["voice2_a", "voice2_b"]                        # jf_alpha (Kokoro)
USERS = {
    "alice": {"username": "Alice Martin", "user_id": "16778240", "email_address": "alice@example.com",
              "multiple_people": False, "client_type": 5},
    "bob": {"username": "Bob Stone", "user_id": "16779264", "email_address": "Bob@Example.com",
            "multiple_people": False, "client_type": 5},
}
NAMES = {"alice": "Alice Martin", "bob": "Bob Stone"}
RATE = 16000

POLICY = """version: 1
policy_id: t-silence
account: {id: acct, ai_features: {summarization: true}}
purposes:
  summarization:
    consent: opt_out
    missing_consent: exclude
    recipients: [llm]
    redact: {entities: [PHONE_NUMBER, EMAIL_ADDRESS], operator: pseudonymize}
    audio: bleep
participants:
  - id: p-alice
    names: [Alice Martin]
    emails: [alice@example.com]
  - id: p-bob
    names: [Bob Stone]
    emails: [bob@example.com]
    consent:
      summarization:
        - {status: refused, at: "2026-01-01T00:00:00Z"}
"""


def said() -> dict[str, str]:
    lines = (SPEECH / "clips.txt").read_text("utf-8").splitlines()
    return {name.removesuffix(".flac"): text for name, _, text in (ln.partition("\t") for ln in lines)
            if text}


@dataclass(frozen=True)
class Turn:
    who: str
    start: float
    end: float
    text: str


def clip(name: str) -> np.ndarray:
    from meetguard.audio.decode import load

    seg = load(SPEECH / f"{name}.flac").set_frame_rate(RATE).set_channels(1)
    return np.array(seg.get_array_of_samples(), dtype=np.int16)


def build(dest: Path, lines: list[tuple[str, str, float]], tail: float = 0.5) -> list[Turn]:
    """Write ``dest`` (WAV, or M4A by its suffix): each ``(who, clip, at)`` placed at ``at``
    seconds (overlapping lines are mixed). Returns the turns."""
    texts = said()
    placed = [(who, name, at, clip(name)) for who, name, at in lines]
    n = max(int(at * RATE) + len(x) for _, _, at, x in placed) + int(tail * RATE)
    mix = np.zeros(n, dtype=np.int32)
    turns = []
    for who, name, at, x in placed:
        k = int(at * RATE)
        mix[k:k + len(x)] += x
        turns.append(Turn(who, k / RATE, (k + len(x)) / RATE, texts[name]))
    pcm = np.clip(mix, -32768, 32767).astype("<i2").tobytes()
    cmd = [FFMPEG or "ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "s16le", "-ar", str(RATE), "-ac", "1",
           "-i", "-"] + (["-c:a", "aac", "-b:a", "96k"] if dest.suffix == ".m4a" else []) + [str(dest)]
    subprocess.run(cmd, input=pcm, check=True)
    return turns


def alternating(dest: Path, gap: float = 1.2) -> list[Turn]:
    """Alice, Bob, Alice, Bob, Alice, each after ``gap`` seconds of silence."""
    order = [("alice", ALICE[0]), ("bob", BOB[0]), ("alice", ALICE[1]), ("bob", BOB[1]), ("alice", ALICE[2])]
    at, lines = 0.5, []
    for who, name in order:
        lines.append((who, name, at))
        at += len(clip(name)) / RATE + gap
    return build(dest, lines)


def ts(t: float) -> str:
    h, rest = divmod(t, 3600)
    m, s = divmod(rest, 60)
    return f"{int(h):02d}:{int(m):02d}:{s:06.3f}"


def zoom_timeline(turns: list[Turn], dest: Path, gaps: bool = True) -> Path:
    """Zoom's TIMELINE JSON: an entry where the active speakers change (several at once
    when lines overlap), an entry with no users where nobody speaks; ``gaps=False``: no
    such entry, each speaker holds until the next one talks."""
    marks = sorted({t.start for t in turns} | ({t.end for t in turns} if gaps else set()))
    timeline: list[dict[str, Any]] = []
    for m in marks:
        users = [USERS[t.who] for t in turns if t.start <= m < t.end]
        if users or gaps:
            timeline.append({"ts": ts(m), "users": users})
    dest.write_text(json.dumps({"timeline": timeline}, indent=1), "utf-8")
    return dest


def zoom_vtt(turns: list[Turn], dest: Path) -> Path:
    """Zoom's cloud transcript: a numbered cue per line, ``Name: text``."""
    out = ["WEBVTT", ""]
    for k, t in enumerate(turns, 1):
        out += [str(k), f"{ts(t.start)} --> {ts(t.end)}", f"{NAMES[t.who]}: {t.text}", ""]
    dest.write_text("\n".join(out), "utf-8")
    return dest


def samples(wav: bytes | Path) -> tuple[np.ndarray, int]:
    """The released WAV's samples (mono int16) and rate."""
    import io
    import wave

    data = wav.read_bytes() if isinstance(wav, Path) else bytes(wav)
    with wave.open(io.BytesIO(data)) as w:
        rate = w.getframerate()
        x = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").reshape(-1, w.getnchannels())
    return x[:, 0].astype(np.int32), rate


def peak(x: np.ndarray, rate: int, start: float, end: float) -> int:
    part = x[max(0, int(start * rate)):int(end * rate)]
    return int(np.abs(part).max()) if part.size else 0


def words(text: str) -> list[str]:
    from meetguard.audio.verify import normalise_tokens

    return normalise_tokens(text)
