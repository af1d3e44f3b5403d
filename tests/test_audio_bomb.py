"""Bounded audio (issue #19, finding 3): a decompression bomb is refused before decoding.

The bomb is made here with the bundled ffmpeg: a FLAC of 2 minutes of silence at
384 kHz with 8 channels (tens of KB; 737 MB as PCM). Sent to a sidecar process
running the real Guard (real decoding and audio redaction, fake detector and
transcriber), it is refused with 422 and the server's peak memory (VmHWM) stays
under 500 MB; before the limits it answered a 983 MB body with 3.7 GB peak.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

from meetguard import InputError, InputTooLarge
from meetguard.audio.decode import ffmpeg_exe
from meetguard.audio.limits import AudioLimits, check_audio_limits

from .conftest import JFK, REPO, SAMPLES, needs_shared

PEAK_LIMIT_KB = 500 * 1024


def make_audio(path: Path, rate: int, layout: str, seconds: float) -> Path:
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-v", "error", "-f", "lavfi", "-i",
                    f"anullsrc=r={rate}:cl={layout}", "-t", str(seconds), "-c:a", "flac",
                    "-compression_level", "12", "-frame_size", "65535", "-y", str(path)], check=True)
    return path


@pytest.fixture(scope="module")
def bomb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_audio(tmp_path_factory.mktemp("bomb") / "bomb.flac", 384000, "7.1", 120)


def test_the_bomb_is_small(bomb: Path) -> None:
    assert bomb.stat().st_size < 200_000


@needs_shared
def test_limits_refuse_rate_channels_and_length(tmp_path: Path, bomb: Path) -> None:
    with pytest.raises(InputError, match="sample rate 384000 Hz"):
        check_audio_limits(bomb, AudioLimits())
    with pytest.raises(InputError, match="8 channels"):
        check_audio_limits(bomb, AudioLimits(max_sample_rate=400000))
    long = make_audio(tmp_path / "long.flac", 8000, "mono", 130)
    with pytest.raises(InputTooLarge, match="2 minutes"):
        check_audio_limits(long, AudioLimits(max_audio_minutes=2))
    check_audio_limits(JFK, AudioLimits())          # 16 kHz mono, 11 s: fine


def _peak_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


def _post(port: int, audio: bytes) -> tuple[int, dict[str, object]]:
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nsummarization\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"recipient\"\r\n\r\nsummarizer\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"audio\"; filename=\"a.flac\"\r\n"
            f"Content-Type: audio/flac\r\n\r\n").encode() + audio + f"\r\n--{boundary}--\r\n".encode()
    req = urllib.request.Request(f"http://127.0.0.1:{port}/v1/guard", data=body, method="POST",
                                 headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    try:
        with urllib.request.urlopen(req, timeout=120) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc (Linux)")
@needs_shared
def test_the_server_refuses_the_bomb_within_500_mb(tmp_path: Path, bomb: Path) -> None:
    port_file = tmp_path / "port"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-m", "tests.fakes.sidecar_process", str(SAMPLES / "policy.yaml"),
                             str(tmp_path), str(port_file)], cwd=REPO, env=env)
    try:
        for _ in range(2400):            # start-up: up to 2 minutes on a loaded machine
            if port_file.exists() and port_file.read_text():
                break
            assert proc.poll() is None, "the sidecar process exited"
            time.sleep(0.05)
        port = int(port_file.read_text())
        status, body = _post(port, bomb.read_bytes())
        peak = _peak_kb(proc.pid)
        assert status == 422 and "sample rate" in str(body["message"]), body
        assert peak < PEAK_LIMIT_KB, f"peak {peak // 1024} MB"
        status, body = _post(port, JFK.read_bytes())             # a normal recording is still decided
        assert status in (200, 403) and body["decision"] in ("release", "partial", "deny"), body
    finally:
        proc.kill()
        proc.wait()
