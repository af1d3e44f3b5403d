"""A recording -> a transcript :class:`~meetguard.Document`, in bounded memory.

The recording is streamed from ffmpeg (16 kHz mono float32) and cut into
windows of at most ``max_seconds`` (30 s: one Whisper window). Each cut is made
at the quietest 20 ms frame in the window's last ``search_seconds``, so a word
is not split between two windows; the rest carries over to the next window.
Memory therefore stays at about two windows whatever the recording's length.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np

from .._errors import MeetguardError, TranscriptionError
from .._files import sha256_file
from .._model import AudioInput, Cue, Document, Speaker
from .backend import MAIN, DecodeVariant, Transcriber, accepts_variant
from .decode import SAMPLE_RATE, duration, iter_chunks

__all__ = ["file_sha256", "recording_language", "split_points", "transcribe_audio", "windows"]

Progress = Callable[[float, float], None]
_FRAME = SAMPLE_RATE // 50  # 20 ms


def file_sha256(path: Path) -> str:
    return sha256_file(path)


def _quietest_cut(buf: np.ndarray, lo: int, hi: int) -> int:
    """Sample index of the centre of the quietest 20 ms frame in ``buf[lo:hi]``."""
    lo = max(0, lo)
    n = (hi - lo) // _FRAME
    if n <= 0:
        return hi
    frames = buf[lo : lo + n * _FRAME].reshape(n, _FRAME)
    energy = np.mean(frames.astype(np.float64) ** 2, axis=1)
    # The latest of the (near-)quietest frames keeps windows long.
    quiet = np.flatnonzero(energy <= energy.min() * 1.05 + 1e-12)
    return lo + int(quiet[-1]) * _FRAME + _FRAME // 2


def split_points(buf: np.ndarray, max_len: int, search: int) -> int:
    """Where to end the first window of ``buf`` (the whole buffer if it fits)."""
    if len(buf) <= max_len:
        return len(buf)
    return _quietest_cut(buf, max_len - search, max_len)


def windows(
    chunks: Iterator[np.ndarray], *, max_seconds: float = 30.0, search_seconds: float = 5.0
) -> Iterator[tuple[float, np.ndarray]]:
    """``(offset_seconds, samples)`` windows cut at quiet points, from a chunk stream."""
    max_len = int(max_seconds * SAMPLE_RATE)
    search = min(int(search_seconds * SAMPLE_RATE), max_len // 2)
    buf = np.zeros(0, dtype=np.float32)
    start = 0
    for chunk in chunks:
        buf = np.concatenate([buf, chunk]) if buf.size else chunk
        while len(buf) > max_len:
            cut = split_points(buf, max_len, search)
            yield start / SAMPLE_RATE, buf[:cut]
            start += cut
            buf = buf[cut:]
    if buf.size:
        yield start / SAMPLE_RATE, buf


def recording_language(path: Path, transcriber: Transcriber, seconds: float = 30.0) -> str:
    """The language spoken in a recording's first ``seconds``, by the transcriber's own
    detection (Whisper's ``detect_language``); ``"en"`` for an English-only transcriber,
    which is then never asked (nothing is decoded)."""
    from .transcriber import LanguageTranscriber, heard_language

    if not isinstance(transcriber, LanguageTranscriber):
        return "en"
    parts: list[np.ndarray] = []
    have = 0
    for chunk in iter_chunks(path, seconds=10.0):
        parts.append(chunk)
        have += len(chunk)
        if have >= seconds * SAMPLE_RATE:
            break
    samples = np.concatenate(parts)[: int(seconds * SAMPLE_RATE)] if parts else np.zeros(0, np.float32)
    try:
        return heard_language(transcriber, samples)
    except MeetguardError:
        raise
    except Exception as exc:  # a plugin's own exception: one line, no content
        raise TranscriptionError(f"language detection of {path.stem} failed: {type(exc).__name__}") from exc


def transcribe_audio(
    rec: AudioInput,
    transcriber: Transcriber,
    prompt: str | None,
    progress: Progress | None = None,
    *,
    max_seconds: float = 30.0,
    variant: DecodeVariant = MAIN,
) -> Document:
    """Transcribe one recording into a ``meetguard-json`` transcript document.

    Cues are numbered in order; for a track each cue's speaker is
    ``Speaker(label=participant_id)``, for mixed audio ``None``. ``progress``
    is called with ``(done_seconds, total_seconds)`` after each window.
    ``variant`` picks the backend's decode (``"verify"``: the verification's
    independent hearing of the original, #23); a backend without it gets its one decode.
    Raises :class:`InputError` for an undecodable file and
    :class:`TranscriptionError` when the backend fails.
    """
    path = Path(rec.path)
    digest = file_sha256(path)
    total = duration(path)
    speaker = Speaker(label=rec.participant_id) if rec.participant_id else None
    cues: list[Cue] = []
    done = 0.0
    for offset, samples in windows(iter_chunks(path, seconds=10.0), max_seconds=max_seconds):
        try:
            if variant == MAIN or not accepts_variant(transcriber):
                got = transcriber.transcribe(samples, prompt=prompt, offset=offset)
            else:
                got = transcriber.transcribe(samples, prompt=prompt, offset=offset, variant=variant)
        except MeetguardError:
            raise
        except Exception as exc:  # a plugin's own exception: one line, no content
            raise TranscriptionError(f"transcription of {rec.stem} failed: {type(exc).__name__}") from exc
        for cue in got:
            cues.append(replace(cue, index=len(cues), speaker=speaker))
        done = offset + len(samples) / SAMPLE_RATE
        if progress is not None:
            progress(done, max(total, done))
    return Document(
        name=f"{rec.stem}.transcript",
        format="meetguard-json",
        kind="transcript",
        items=tuple(cues),
        sha256=digest,
    )
