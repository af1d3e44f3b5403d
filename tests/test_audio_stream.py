"""Streaming audio redaction (redact_to_wav) against the in-memory apply + to_wav_bytes path."""

from __future__ import annotations

import io
import subprocess
import tracemalloc
import wave
from pathlib import Path

import numpy as np
import pytest

from meetguard import InputError
from meetguard.audio.decode import load
from meetguard.redaction import audio_stream
from meetguard.redaction.audio import apply, to_wav_bytes
from meetguard.redaction.audio_stream import redact_to_wav

from .conftest import JFK, require_shared

require_shared()

WINDOWS = [(-0.5, 0.3), (0.5, 1.2), (1.9, 2.0), (2.05, 2.6), (2.5, 3.1), (5.5, 7.0), (10.9, 12.0)]


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *args], check=True)


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("stream")
    out = {"stereo44": d / "stereo44.flac", "mono16": d / "mono16.wav"}
    _ffmpeg("-i", str(JFK), "-sample_fmt", "s16", str(out["stereo44"]))
    _ffmpeg("-i", str(JFK), "-ac", "1", "-ar", "16000", "-sample_fmt", "s16", str(out["mono16"]))
    # Speech-like noise with stretches of digital silence: bleeps there take
    # their loudness from a second either side, across chunk edges and earlier bleeps.
    rng = np.random.default_rng(3)
    x = (rng.normal(0, 3000, 16000 * 6)).astype(np.int16)
    x[16000 * 2 : 16000 * 4] = 0
    gaps = d / "gaps.wav"
    with wave.open(str(gaps), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(x.tobytes())
    out["gaps"] = gaps
    return out


def _decoded(path: Path) -> tuple[np.ndarray, int, int]:
    seg = load(path).set_sample_width(2)
    frames = np.frombuffer(seg.raw_data, dtype=np.int16).reshape(-1, seg.channels)
    return frames, int(seg.frame_rate), int(seg.channels)


def _wav_frames(data: bytes) -> tuple[np.ndarray, int, int]:
    with wave.open(io.BytesIO(data), "rb") as w:
        assert w.getsampwidth() == 2
        raw = w.readframes(w.getnframes())
        frames = np.frombuffer(raw, dtype=np.int16).reshape(-1, w.getnchannels())
        assert frames.shape[0] == w.getnframes()
        return frames, w.getframerate(), w.getnchannels()


@pytest.mark.parametrize("clip", ["stereo44", "mono16"])
@pytest.mark.parametrize("mode", ["bleep", "silence"])
@pytest.mark.parametrize("chunk", [1 << 16, 777])
def test_stream_is_bit_identical_to_in_memory_path(
    clips: dict[str, Path], clip: str, mode: str, chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(audio_stream, "_CHUNK_FRAMES", chunk)
    path = clips[clip]
    expected = to_wav_bytes(apply(load(path), WINDOWS, mode))  # type: ignore[arg-type]
    buf = io.BytesIO()
    redact_to_wav(path, WINDOWS, mode, buf)  # type: ignore[arg-type]
    assert buf.getvalue() == expected

    got, rate, channels = _wav_frames(buf.getvalue())
    source, src_rate, src_channels = _decoded(path)
    assert (rate, channels) == (src_rate, src_channels) == ((44100, 2) if clip == "stereo44" else (16000, 1))
    inside = np.zeros(got.shape[0], dtype=bool)
    for start, end in WINDOWS:
        inside[max(0, int(np.floor(start * rate))) : int(np.ceil(end * rate))] = True
    assert got.shape == source.shape
    assert np.array_equal(got[~inside], source[~inside])
    assert not np.array_equal(got[inside], source[inside])
    if mode == "silence":
        assert not got[inside].any()


@pytest.mark.parametrize("chunk", [1 << 16, 500, 16001])
def test_silent_windows_take_loudness_from_their_surroundings_like_apply(
    clips: dict[str, Path], chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(audio_stream, "_CHUNK_FRAMES", chunk)
    windows = [(1.5, 2.1), (2.4, 2.6), (3.2, 3.5), (3.9, 4.4)]
    path = clips["gaps"]
    expected = to_wav_bytes(apply(load(path), windows, "bleep"))
    buf = io.BytesIO()
    redact_to_wav(path, windows, "bleep", buf)
    assert buf.getvalue() == expected
    got, rate, _ = _wav_frames(buf.getvalue())
    # The window in pure silence got a tone, not silence.
    assert np.abs(got[int(2.45 * rate) : int(2.55 * rate)]).max() > 1000


def test_jfk_24bit_source_matches_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(audio_stream, "_CHUNK_FRAMES", 3000)
    expected = to_wav_bytes(apply(load(JFK), WINDOWS, "bleep"))
    buf = io.BytesIO()
    redact_to_wav(JFK, WINDOWS, "bleep", buf)
    assert buf.getvalue() == expected


class _Pipe(io.RawIOBase):
    """A write-only, non-seekable sink."""

    def __init__(self) -> None:
        self.data = bytearray()

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def write(self, b: bytes) -> int:  # type: ignore[override]
        self.data += b
        return len(b)


def test_non_seekable_output_gets_correct_sizes(clips: dict[str, Path]) -> None:
    path = clips["mono16"]
    pipe = _Pipe()
    redact_to_wav(path, WINDOWS, "silence", pipe)  # type: ignore[arg-type]
    assert bytes(pipe.data) == to_wav_bytes(apply(load(path), WINDOWS, "silence"))


def test_writes_after_existing_content_of_a_seekable_file(clips: dict[str, Path], tmp_path: Path) -> None:
    path = clips["mono16"]
    target = tmp_path / "out.bin"
    with open(target, "wb") as fh:
        fh.write(b"prefix")
        redact_to_wav(path, [(1.0, 2.0)], "bleep", fh)
    assert target.read_bytes() == b"prefix" + to_wav_bytes(apply(load(path), [(1.0, 2.0)], "bleep"))


def test_corrupt_input_is_one_input_error(tmp_path: Path, clips: dict[str, Path]) -> None:
    bad = tmp_path / "cut.flac"
    bad.write_bytes(clips["stereo44"].read_bytes()[:5000])
    with pytest.raises(InputError) as err:
        redact_to_wav(bad, [], "bleep", io.BytesIO())
    assert str(bad) in str(err.value)
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"not audio at all" * 10)
    with pytest.raises(InputError):
        redact_to_wav(junk, [], "bleep", io.BytesIO())
    with pytest.raises(ValueError):
        redact_to_wav(clips["mono16"], [], "mute", io.BytesIO())  # type: ignore[arg-type]


def test_memory_stays_bounded_on_a_long_recording(tmp_path: Path) -> None:
    """Ten minutes of 44.1 kHz stereo (~100 MB decoded) redacted with ~3 MB of Python/numpy memory."""
    src = tmp_path / "long.flac"
    _ffmpeg("-f", "lavfi", "-i", "sine=frequency=300:sample_rate=44100:duration=600",
            "-ac", "2", "-sample_fmt", "s16", str(src))
    windows = [(float(t), t + 0.8) for t in range(5, 600, 37)]
    out = tmp_path / "out.wav"
    tracemalloc.start()
    try:
        with open(out, "wb") as fh:
            redact_to_wav(src, windows, "bleep", fh)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    with wave.open(str(out), "rb") as w:
        assert w.getnframes() == 44100 * 600 and w.getnchannels() == 2
    decoded_bytes = 44100 * 600 * 2 * 2
    assert peak < decoded_bytes / 20, peak
