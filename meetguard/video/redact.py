"""Hiding what a frame must not show: faces and text pixelated past recognition, a
refusing participant's tile blacked out, a frame that could not be analysed hidden whole."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .analyse import Box

__all__ = ["Regions", "apply_regions", "hide"]

# A hidden box keeps at most this many blocks along its longer side (then smoothed):
# at 6 blocks a face is a few colour patches, which neither eyes nor CenterFace read as a face.
_BLOCKS = 6


@dataclass
class Regions:
    """What one sampled frame asks to hide; held over the frames around it."""

    blur: list[Box] = field(default_factory=list)
    black: list[Box] = field(default_factory=list)
    whole: bool = False          # analysis failed: the frame is hidden whole

    def union(self, *others: Regions | None) -> Regions:
        out = Regions(list(self.blur), list(self.black), self.whole)
        for o in others:
            if o is not None:
                out.blur += o.blur
                out.black += o.black
                out.whole = out.whole or o.whole
        return out


def hide(frame: np.ndarray, box: Box) -> None:
    """Pixelate ``box`` of ``frame`` in place into a few blocks, scaled back up smoothly (bilinear:
    as unreadable as flat blocks, without their hard edges, and far cheaper than a large blur)."""
    import cv2

    roi = frame[box.y0 : box.y1, box.x0 : box.x1]
    h, w = roi.shape[:2]
    if h < 2 or w < 2:
        return
    n = max(h, w)
    small = cv2.resize(roi, (max(1, w * _BLOCKS // n), max(1, h * _BLOCKS // n)), interpolation=cv2.INTER_AREA)
    frame[box.y0 : box.y1, box.x0 : box.x1] = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def apply_regions(frame: np.ndarray, regions: Regions) -> np.ndarray:
    """A copy of ``frame`` with ``regions`` hidden (black over blur)."""
    out = frame.copy()
    h, w = out.shape[:2]
    if regions.whole:
        hide(out, Box(0, 0, w, h))
    for box in dict.fromkeys(regions.blur):       # the samples around a frame repeat boxes
        hide(out, box)
    for box in dict.fromkeys(regions.black):
        out[box.y0 : box.y1, box.x0 : box.x1] = 0
    return out
