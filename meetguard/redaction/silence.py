"""Silencing excluded speakers in a mixed recording (``--speakers``), before it is heard.

The platform says who spoke when (:mod:`meetguard.audio.speakers`); the decision says who
is excluded for the purpose. Here:

1. every turn of an excluded speaker (a policy participant who does not consent, or an
   unknown speaker when ``unknown_speakers`` does not consent), widened by :data:`PAD` on
   both sides, is silenced: digital zero over every channel, whoever else speaks then
   (overlapping speech of a consenting participant goes too). A turn whose last
   :data:`PAD` seconds the VAD hears as silent ends :data:`PAD` after its last speech
   instead (never past the turn): an active-speaker timeline holds a speaker until the
   next one talks, and the next one's first words stay;
2. speech the voice-activity detector finds (:mod:`meetguard.audio.vad`) that no turn,
   widened by :data:`PAD`, covers is an unknown speaker's: silenced unless the policy's
   unknown speakers consent (pieces shorter than :data:`MIN_UNKNOWN` are ignored:
   the VAD's own edges);
3. the silenced recording (PCM16 WAV at the recording's own rate and channels) replaces
   the original for the rest of the run: the transcript, the value bleeps and the
   verification decode all work on it, so the main decode never hears the excluded voice.

What the excluded speakers said (their cues in the platform's transcript, else a decode of
the original inside their intervals) gives the *distinctive* words that the verification
decode of the released audio must not hear (:func:`distinctive_words`,
:func:`heard_silenced`). ``silenced`` lists policy ids (or ``unknown``), never names.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._errors import ConfigError
from .._model import AudioInput, Speaker, SpeakerTurn

__all__ = ["MIN_UNKNOWN", "PAD", "SilenceOutcome", "Silenced", "distinctive_words", "heard_silenced",
           "plan_silence", "silence_recording", "union"]

PAD = 0.5               # seconds added before and after each excluded turn
MIN_UNKNOWN = 0.3       # seconds: shorter uncovered speech is the VAD's edge, not a speaker
UNKNOWN = "unknown"     # the participant of speech no turn covers
_MIN_WORD = 4           # a distinctive word has at least this many letters
_LEAD = 0.3             # seconds: speech starting this close to a turn's end is the next speaker's

Interval = tuple[float, float]


@dataclass(frozen=True)
class Silenced:
    """One silenced stretch of a recording: whose, from when to when (seconds)."""

    participant: str        # policy id, unknown-n, or "unknown" (speech no turn covers)
    start: float
    end: float

    def to_json(self) -> dict[str, Any]:
        return {"participant": self.participant, "start": round(self.start, 3), "end": round(self.end, 3)}


@dataclass
class SilenceOutcome:
    """A recording's silencing: the recording to use from now on and what was done."""

    recording: AudioInput
    silenced: list[Silenced] = field(default_factory=list)
    words: frozenset[str] = frozenset()      # what the excluded speakers said (tokens)
    reasons: list[str] = field(default_factory=list)


def union(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted, merged where they overlap or touch."""
    out: list[list[float]] = []
    for s, e in sorted(intervals):
        if e <= s:
            continue
        if out and s <= out[-1][1]:
            out[-1][1] = max(out[-1][1], e)
        else:
            out.append([s, e])
    return [(s, e) for s, e in out]


def _minus(spans: Sequence[Interval], covered: Sequence[Interval]) -> list[Interval]:
    out: list[Interval] = []
    for s, e in spans:
        cur = s
        for cs, ce in covered:
            if ce <= cur or cs >= e:
                continue
            if cs > cur:
                out.append((cur, cs))
            cur = max(cur, ce)
        if cur < e:
            out.append((cur, e))
    return out


def _turn_end(turn: SpeakerTurn, speech: Sequence[Interval], pad: float) -> float:
    """Where an excluded turn's silence ends: ``end + pad``; but a turn that runs on after
    its speaker stopped (Zoom's active speaker holds until somebody else speaks) ends
    ``pad`` after the last speech the VAD hears in it when the last ``pad`` seconds before
    the switch are silent, never later than the turn itself, so the next speaker's first
    words are kept."""
    # a run starting in the turn's last LEAD seconds is the next speaker's (the VAD's edge)
    inside = [min(e, turn.end) for s, e in speech if s < turn.end - _LEAD and e > turn.start]
    if math.isinf(turn.end) or not inside:
        return turn.end + pad
    last = max(inside)
    if last < turn.end - pad:
        return min(turn.end, last + pad)
    return turn.end + pad


def plan_silence(turns: Sequence[SpeakerTurn], attribution: Mapping[Speaker, str],
                 excluded: Iterable[str], speech: Sequence[Interval], unknown_ok: bool,
                 duration: float, pad: float = PAD) -> list[Silenced]:
    """What to silence: excluded speakers' padded turns, and (unless unknown speakers
    consent) speech no padded turn covers; merged per participant, clamped to the audio."""
    out: list[Silenced] = []
    gone = set(excluded)
    spans: dict[str, list[Interval]] = {}
    for t in turns:
        pid = attribution[t.speaker]
        if pid in gone:
            spans.setdefault(pid, []).append((max(0.0, t.start - pad),
                                              min(duration, _turn_end(t, speech, pad))))
    for pid in sorted(spans):
        out += [Silenced(pid, s, e) for s, e in union(spans[pid])]
    if not unknown_ok:
        covered = union((max(0.0, t.start - pad), min(duration, t.end + pad)) for t in turns)
        loose = [iv for iv in _minus(union(speech), covered) if iv[1] - iv[0] >= MIN_UNKNOWN]
        out += [Silenced(UNKNOWN, max(0.0, s - pad), min(duration, e + pad)) for s, e in loose]
    return sorted(out, key=lambda x: (x.start, x.participant))


def _tokens(text: str) -> list[str]:
    from ..audio.verify import normalise_tokens

    return normalise_tokens(text)


def _stop_words() -> frozenset[str]:
    from .._wordlists import words

    return words("stop_words")


def distinctive_words(said: Iterable[str], released: Iterable[str] = ()) -> frozenset[str]:
    """The words of what the excluded speakers said that the check listens for: at least
    four letters, no digits, no stop word, and not said in what is released."""
    stop = _stop_words()
    kept = {w for text in released for w in _tokens(text)}
    return frozenset(w for text in said for w in _tokens(text)
                     if len(w) >= _MIN_WORD and w.isalpha() and w not in stop and w not in kept)


def heard_silenced(heard: str, words: Iterable[str]) -> int:
    """How many of ``words`` the decode of the released audio heard."""
    got = set(_tokens(heard))
    return sum(1 for w in set(words) if w in got)


def _pieces(path: Path, intervals: Sequence[Interval]) -> Iterator[np.ndarray]:
    """The 16 kHz samples of ``path`` inside ``intervals``, each followed by 0.5 s of zeros."""
    from ..audio.decode import iter_chunks

    rate = 16000
    pos = 0
    gap = np.zeros(rate // 2, dtype=np.float32)
    for chunk in iter_chunks(path, seconds=10.0):
        lo, hi = pos, pos + len(chunk)
        for s, e in intervals:
            a, b = max(lo, int(s * rate)), min(hi, int(e * rate))
            if b > a:
                yield chunk[a - lo:b - lo]
                if int(e * rate) <= hi:
                    yield gap
        pos = hi


def hear_intervals(path: Path, intervals: Sequence[Interval], transcribe: Callable[[np.ndarray], str]) -> str:
    """The main decode of the original recording inside ``intervals`` only."""
    from ..audio.transcribe import windows

    return " ".join(transcribe(samples) for _, samples in windows(_pieces(path, intervals)))


def silence_recording(rec: AudioInput, attribution: Mapping[Speaker, str], excluded: Iterable[str],
                      unknown_ok: bool, scratch: Path, said: Sequence[str],
                      hear: Callable[[Path, Sequence[Interval]], str], label: str = "audio",
                      fill: str = "silence") -> SilenceOutcome:
    """Silence ``rec``'s excluded and unattributed speech into a private WAV under
    ``scratch``; ``said``: the platform transcript's text of the excluded speakers (when
    empty, ``hear`` decodes the original inside their intervals). ``label`` names the
    recording in reasons ("audio 1": never its file name, which may carry a name). ``fill``:
    ``silence`` (digital zero) or ``tone`` (the bleep tone, :mod:`.audio`)."""
    if fill not in ("silence", "tone"):
        raise ConfigError(f"speaker_fill: {fill[:20]!r} is not silence or tone")
    from ..audio.decode import duration as declared
    from ..audio.vad import speech_segments
    from .audio_stream import redact_to_wav

    turns = rec.turns or ()
    gone = frozenset(excluded)
    speech = speech_segments(rec.path)
    length = max(declared(rec.path), max((e for _, e in speech), default=0.0))
    plan = plan_silence(turns, attribution, gone, speech, unknown_ok, length)
    dest = scratch / f"silenced-{len(os.listdir(scratch)) + 1}.wav"
    with open(os.open(dest, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600), "wb") as fh:
        redact_to_wav(rec.path, union((s.start, s.end) for s in plan), "bleep" if fill == "tone" else "silence", fh)
    theirs = [(s.start, s.end) for s in plan if s.participant != UNKNOWN]
    texts = list(said) or ([hear(rec.path, theirs)] if theirs else [])
    out = SilenceOutcome(AudioInput(dest, None, rec.stem, rec.turns), plan, distinctive_words(texts))
    if theirs:
        who = sorted({s.participant for s in plan if s.participant != UNKNOWN})
        out.reasons.append(f"{label}: the speech of {', '.join(who)} is silenced "
                           f"({sum(e - s for s, e in theirs):.1f} s)")
    loose = sum(s.end - s.start for s in plan if s.participant == UNKNOWN)
    if loose:
        out.reasons.append(f"{label}: {loose:.1f} s of speech no platform speaker covers is "
                           f"silenced (unknown speakers do not consent)")
    return out
