"""Shared fixtures: where the shared sample data lives."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from meetguard.audio.decode import ensure_ffmpeg_on_path

REPO = Path(__file__).resolve().parent.parent


def _shared() -> Path:
    """The shared data beside the checkout: ``../shared`` (``../../shared`` from a worktree in
    ``wt/NAME``), or ``$MEETGUARD_SHARED``. Never an absolute path; it may be absent."""
    env = os.environ.get("MEETGUARD_SHARED")
    candidates = [Path(env)] if env else [REPO.parent / "shared", REPO.parent.parent / "shared"]
    for c in candidates:
        if (c / "data" / "samples" / "expected.json").is_file():
            return c
    return candidates[0]


SHARED = _shared()
SAMPLES = SHARED / "data" / "samples"
JFK = SHARED / "data" / "audio" / "jfk.flac"
HAVE_SHARED = (SAMPLES / "expected.json").is_file() and JFK.is_file()
# Speech clips committed with the tests (tests/fixtures/speech/README.md says what each says).
SPEECH = REPO / "tests" / "fixtures" / "speech"

# pydub looks ffmpeg up on PATH when imported, and some tests run ``ffmpeg`` by name: put
# the bundled one (imageio-ffmpeg's, as .venv/bin/ffmpeg) first even when PATH lacks .venv/bin.
FFMPEG = ensure_ffmpeg_on_path()


needs_shared = pytest.mark.skipif(not HAVE_SHARED, reason="shared data (../shared) is not beside this checkout")


def require_shared() -> None:
    """Skip the calling test module where ../shared is not beside the checkout."""
    if not HAVE_SHARED:
        pytest.skip("shared data (../shared) is not beside this checkout", allow_module_level=True)


def warm_guard(policy: str | Path, workdir: Path) -> Iterator[Any]:
    """For module-scoped fixtures (``yield from``): a real Guard of ``policy``, its text
    models loaded, its audit log ``workdir/audit.jsonl``; closed afterwards."""
    from meetguard import Guard, GuardOptions

    guard = Guard.from_policy(policy, GuardOptions(audit_path=workdir / "audit.jsonl"))
    try:
        guard.warm(audio=False)
        yield guard
    finally:
        guard.close()


@pytest.fixture(autouse=True)
def _isolated_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test runs in its own directory, so default audit logs land there."""
    monkeypatch.chdir(tmp_path)


def fake_release(policy: Any, audio: Any, transcriber: Any, values: dict[str, str], src: Any) -> tuple[str, Any]:
    """Guard ``audio`` (made from ``src``) under ``policy`` with the fake ``transcriber`` and a
    fake detector of ``values`` (no roster), verified: assert it is released, and return
    :func:`released` of it."""
    from meetguard import Guard, GuardOptions, Meeting
    from meetguard.testing import FakeDetector, MemoryAuditSink

    guard = Guard(policy, GuardOptions(), transcriber=transcriber, audit=MemoryAuditSink(),
                  detector=FakeDetector(values, roster=False))
    result = guard.process_sync(Meeting.from_files(audio=audio, attendees=["p-alice"]), "summarization",
                                "summarizer", verify=True)
    assert result.decision == "release"
    return released(result, src)


def released(result: Any, src: Any, stem: str = "rec") -> tuple[str, Any]:
    """A guard's release of ``stem``'s recording, made from ``src`` (int16 samples, 16 kHz):
    its transcript's text (the items joined) and the times (s) of the samples it changed."""
    import json

    import numpy as np

    text = " ".join(item["text"] for item in json.loads(result.text(f"{stem}.transcript.json"))["items"])
    got = np.frombuffer(bytes(result.outputs[f"{stem}.redacted.wav"])[44:], dtype=np.int16)
    return text, np.flatnonzero(got != src) / 16000
