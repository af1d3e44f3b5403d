"""The video stage (docs/video.md): decode, analyse, redact, verify.

``decode`` reads and writes pictures with the bundled ffmpeg; ``analyse`` finds faces
(CenterFace) and text (RapidOCR) and gallery tiles; ``redact`` hides regions; ``stage``
runs them over a recording and verifies the released file; ``release`` is the door the
CLI and sidecar use after the run's decision.
"""

from __future__ import annotations

from .release import VIDEO_OUTPUT, release_video, text_check, video_outputs, video_plan
from .stage import VideoModels, VideoOutcome, VideoPlan, VideoWithheld, guard_video

__all__ = ["VIDEO_OUTPUT", "VideoModels", "VideoOutcome", "VideoPlan", "VideoWithheld", "guard_video",
           "release_video", "text_check", "video_outputs", "video_plan"]
