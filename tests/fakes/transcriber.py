"""The scripted transcriber now lives in :mod:`meetguard.testing`; kept for old imports."""

from meetguard.testing import SAMPLE_RATE, FakeTranscriber, script_cues

__all__ = ["SAMPLE_RATE", "FakeTranscriber", "script_cues"]
