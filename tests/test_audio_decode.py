"""Decoding: the containers meetings come in, and refusing broken files."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from meetguard import InputError
from meetguard.audio.decode import (
    check_readable,
    duration,
    ensure_ffmpeg_on_path,
    ffmpeg_version,
    iter_chunks,
    layout,
    load,
    probe,
    to_whisper_input,
)

from .conftest import FFMPEG, JFK


def _ffmpeg(*args: str) -> None:
    subprocess.run([FFMPEG, "-nostdin", "-v", "error", "-y", *args], check=True)


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 3 s stereo 44.1 kHz WAV: a tone on the left, a different one on the right."""
    path = tmp_path_factory.mktemp("audio") / "src.wav"
    _ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:duration=3:sample_rate=44100",
            "-f", "lavfi", "-i", "sine=frequency=660:duration=3:sample_rate=44100",
            "-filter_complex", "[0][1]join=inputs=2:channel_layout=stereo", str(path))
    return path


@pytest.fixture(scope="module")
def encoded(source: Path) -> dict[str, Path]:
    out: dict[str, Path] = {}
    for ext, codec in [("m4a", "aac"), ("webm", "libopus"), ("ogg", "libvorbis"), ("mp3", "libmp3lame"),
                       ("flac", "flac")]:
        path = source.with_name(f"rec.{ext}")
        _ffmpeg("-i", str(source), "-c:a", codec, str(path))
        out[ext] = path
    return out


@pytest.mark.parametrize("ext", ["m4a", "webm", "ogg", "mp3", "flac"])
def test_containers_decode(encoded: dict[str, Path], ext: str) -> None:
    path = encoded[ext]
    check_readable(path)
    assert duration(path) == pytest.approx(3.0, abs=0.1)
    seg = load(path)
    assert seg.channels == 2
    # Opus always decodes at 48 kHz; the others keep the source rate.
    assert seg.frame_rate == (48000 if ext == "webm" else 44100)
    assert len(seg) == pytest.approx(3000, abs=100)
    mono = to_whisper_input(seg)
    assert mono.dtype == np.float32 and abs(len(mono) - 48000) < 1600
    spectrum = np.abs(np.fft.rfft(mono[4000:20000]))
    peaks = sorted(np.argsort(spectrum)[-2:] * 16000 / 16000)
    assert peaks[0] == pytest.approx(440, abs=3) and peaks[1] == pytest.approx(660, abs=3)


def test_iter_chunks_streams_16k_mono(source: Path) -> None:
    chunks = list(iter_chunks(source, seconds=1.0))
    assert [len(c) for c in chunks] == [16000, 16000, 16000]
    assert all(c.dtype == np.float32 for c in chunks)


def _truncate(path: Path, dest: Path, keep: float = 0.6) -> Path:
    data = path.read_bytes()
    dest.write_bytes(data[: int(len(data) * keep)])
    return dest


@pytest.mark.parametrize("ext", ["m4a", "webm", "ogg", "mp3", "flac", "wav"])
def test_truncated_file_is_refused_naming_the_path(encoded: dict[str, Path], source: Path,
                                                    tmp_path: Path, ext: str) -> None:
    original = source if ext == "wav" else encoded[ext]
    bad = _truncate(original, tmp_path / f"cut.{ext}")
    with pytest.raises(InputError) as err:
        check_readable(bad)
    assert str(bad) in str(err.value)
    assert "\n" not in str(err.value)


def test_garbage_empty_missing_and_folder_are_refused(tmp_path: Path) -> None:
    garbage = tmp_path / "noise.wav"
    garbage.write_bytes(b"RIFF\x00\x00not really audio" * 10)
    empty = tmp_path / "empty.m4a"
    empty.write_bytes(b"")
    for path, problem in [(garbage, "not a readable"), (empty, "empty"), (tmp_path / "nope.wav", "no such"),
                          (tmp_path, "not a file")]:
        with pytest.raises(InputError, match=problem) as err:
            check_readable(path)
        assert err.value.path == str(path)


def test_text_file_is_not_audio(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("hello\n" * 50)
    with pytest.raises(InputError):
        check_readable(text)


def test_corrupted_middle_is_refused(encoded: dict[str, Path], tmp_path: Path) -> None:
    data = bytearray(encoded["flac"].read_bytes())
    mid = len(data) // 2
    data[mid : mid + 4000] = bytes(4000)
    bad = tmp_path / "broken.flac"
    bad.write_bytes(bytes(data))
    with pytest.raises(InputError, match="broken.flac"):
        check_readable(bad)


def test_load_refuses_undecodable(tmp_path: Path) -> None:
    bad = tmp_path / "x.ogg"
    bad.write_bytes(b"OggS" + bytes(100))
    with pytest.raises(InputError, match="x.ogg"):
        load(bad)


@pytest.mark.skipif(not JFK.exists(), reason="shared data missing")
def test_jfk_is_readable() -> None:
    check_readable(JFK)
    assert duration(JFK) == pytest.approx(11.0, abs=0.1)


def test_probe_and_load_need_no_ffprobe(source: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """With nothing at all on PATH, probing and loading still work: ffmpeg alone, found by path."""
    monkeypatch.setenv("PATH", str(tmp_path))
    info = probe(source)
    (audio,) = [s for s in info["streams"] if s["codec_type"] == "audio"]
    assert (audio["channels"], audio["sample_rate"], audio["codec_name"]) == (2, "44100", "pcm_s16le")
    assert float(info["format"]["duration"]) == pytest.approx(3.0, abs=0.05)
    seg = load(source)
    assert (seg.channels, seg.frame_rate, seg.sample_width) == (2, 44100, 2)


def test_deep_flac_keeps_32_bit_width(source: Path, tmp_path: Path) -> None:
    deep = tmp_path / "deep.flac"
    _ffmpeg("-i", str(source), "-c:a", "flac", "-sample_fmt", "s32", str(deep))
    assert layout(deep) == (44100, 2, 4)
    assert load(deep).sample_width == 4


def test_bundled_ffmpeg_is_put_on_path_as_ffmpeg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    exe = ensure_ffmpeg_on_path()
    found = shutil.which("ffmpeg")
    assert found is not None and Path(found).resolve() == Path(exe).resolve()
    assert re.fullmatch(r"[\w.+~-]+", ffmpeg_version())
    # pydub finds it by name at import, so it does not warn (an error under -W error).
    proc = subprocess.run([sys.executable, "-W", "error::RuntimeWarning", "-c", "import pydub"], capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 0, proc.stderr


def test_a_playlist_cannot_make_ffmpeg_reach_the_network(tmp_path: Path) -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        server.settimeout(0.5)
        port = server.getsockname()[1]
        playlist = tmp_path / "rec.m3u8"
        playlist.write_text(f"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\nhttp://127.0.0.1:{port}/a.ts\n"
                            "#EXT-X-ENDLIST\n")
        with pytest.raises(InputError):
            check_readable(playlist)
        with pytest.raises(TimeoutError):
            server.accept()
