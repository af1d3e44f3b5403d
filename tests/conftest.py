"""Shared fixtures: where the shared sample data lives."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def _shared() -> Path:
    env = os.environ.get("MEETGUARD_SHARED")
    candidates = [Path(env)] if env else []
    candidates += [REPO.parent / "shared", REPO / "shared", Path("/work/shared")]
    for c in candidates:
        if (c / "data" / "samples" / "expected.json").is_file():
            return c
    raise RuntimeError("shared/ data not found next to the repository (set MEETGUARD_SHARED)")


SHARED = _shared()
SAMPLES = SHARED / "data" / "samples"
JFK = SHARED / "data" / "audio" / "jfk.flac"


@pytest.fixture(autouse=True)
def _isolated_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test runs in its own directory, so default audit logs land there."""
    monkeypatch.chdir(tmp_path)
