"""The released video as a contact sheet: a few of its frames, each with the boxes the video
stage hid in it outlined (docs/video.md, docs/report.md).

The frames are read from the *released* ``video.mp4`` (already redacted); the boxes come
from the video stage's audit record (``video.sheet``: frame numbers and rectangles, geometry
only), found by the sha256 of the released file. Thumbnails are JPEG inlined as ``data:``
URIs: no script, no external reference.
"""

from __future__ import annotations

import base64
import hashlib
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from html import escape
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["THUMB_WIDTH", "contact_sheet", "sheet_frames", "video_record"]

THUMB_WIDTH = 320
HIDDEN = (255, 140, 0)      # outline of a hidden (pixelated) box: orange
BLACK = (220, 30, 30)       # outline of a blacked-out tile: red


def video_record(records: Sequence[Mapping[str, Any]], video: bytes) -> Mapping[str, Any] | None:
    """The video stage's audit record of exactly this released file (None when not found)."""
    digest = hashlib.sha256(video).hexdigest()
    rec: Mapping[str, Any]
    for rec in reversed(records):
        shas = rec.get("output_sha256")
        if isinstance(rec.get("video"), Mapping) and isinstance(shas, Mapping) and shas.get("video.mp4") == digest:
            return rec
    return None


def sheet_frames(video: bytes, numbers: Sequence[int], width: int = THUMB_WIDTH) -> list[np.ndarray]:
    """Frames ``numbers`` of ``video`` (in the order of the file), scaled to ``width``."""
    from ..audio.decode import ffmpeg_exe
    from ..video.decode import probe_video

    if not numbers:
        return []
    with tempfile.TemporaryDirectory(prefix="meetguard-sheet-") as tmp:
        path = Path(tmp) / "video.mp4"
        path.write_bytes(video)
        info = probe_video(path)
        h = max(2, round(info.height * width / max(1, info.width)) // 2 * 2)
        pick = "+".join(f"eq(n\\,{int(n)})" for n in sorted(set(numbers)))
        cmd = [ffmpeg_exe(), "-nostdin", "-hide_banner", "-v", "error", "-protocol_whitelist", "file,pipe",
               "-i", str(path), "-map", "0:v:0", "-vf", f"select={pick},scale={width}:{h}", "-fps_mode", "passthrough",
               "-pix_fmt", "rgb24", "-f", "rawvideo", "pipe:1"]
        raw = subprocess.run(cmd, capture_output=True, timeout=120, check=True).stdout
    size = width * h * 3
    return [np.frombuffer(raw[i : i + size], np.uint8).reshape(h, width, 3).copy()
            for i in range(0, len(raw) - size + 1, size)]


def _outline(frame: np.ndarray, entry: Mapping[str, Any], scale: float) -> np.ndarray:
    import cv2

    out = np.ascontiguousarray(frame)
    for key, colour in (("hidden", HIDDEN), ("black", BLACK)):
        for box in entry.get(key) or []:
            x0, y0, x1, y1 = (round(float(v) * scale) for v in box)
            cv2.rectangle(out, (x0, y0), (max(x0, x1 - 1), max(y0, y1 - 1)), colour, 2)
    if entry.get("whole"):
        cv2.rectangle(out, (0, 0), (out.shape[1] - 1, out.shape[0] - 1), HIDDEN, 4)
    return out


def _jpeg(frame: np.ndarray) -> str:
    import cv2

    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(frame, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 80])
    if not ok:
        raise ValueError("could not encode a thumbnail")
    return base64.b64encode(buf.tobytes()).decode("ascii")


def contact_sheet(video: bytes, record: Mapping[str, Any] | None) -> str:
    """HTML: the sheet's frames of the released ``video`` with their hidden boxes outlined,
    or, without the stage's record, a few frames with no outline and a note saying why."""
    meta = record.get("video") if record is not None else None
    entries = [e for e in (meta.get("sheet") or []) if isinstance(e, Mapping)] if isinstance(meta, Mapping) else []
    if not entries:
        note = ("the video stage's audit record was not found: frames shown without their boxes"
                if record is None else "the video stage kept no frame for the sheet")
        frames = sheet_frames(video, [0])
        first = "".join(f'<figure><img alt="frame" src="data:image/jpeg;base64,{_jpeg(f)}"></figure>' for f in frames)
        return f'<p class="muted">{escape(note)}</p><div class="sheet">{first}</div>'
    width = float((meta or {}).get("size", [THUMB_WIDTH])[0] or THUMB_WIDTH)
    frames = sheet_frames(video, [int(e["frame"]) for e in entries])
    cells: list[str] = []
    for entry, frame in zip(sorted(entries, key=lambda e: int(e["frame"])), frames, strict=False):
        pic = _outline(frame, entry, frame.shape[1] / width)
        n_hidden, n_black = len(entry.get("hidden") or []), len(entry.get("black") or [])
        caption = f"{float(entry.get('t', 0)):.1f} s: {n_hidden} hidden, {n_black} black"
        if entry.get("whole"):
            caption += ", hidden whole"
        cells.append(f'<figure><img alt="frame at {escape(caption)}" src="data:image/jpeg;base64,{_jpeg(pic)}">'
                     f"<figcaption>{escape(caption)}</figcaption></figure>")
    return ('<p>Released frames; outlined in orange: boxes hidden (faces, text holding a value or a '
            'name), in red: tiles blacked out (a refusing participant).</p>'
            f'<div class="sheet">{"".join(cells)}</div>')
