"""Test videos built at test time from pictures shipped in PyPI wheels (scikit-image's
sample photographs), written with the bundled ffmpeg."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np

W, H, FPS = 640, 360, 4
NAMES = ("Alice Moreno", "Bruno Keller", "Chiara Rossi", "Dmitri Volkov")
EMAIL, PHONE = "alice.moreno@example.com", "+1 415 555 0134"
GAP = 8


def _faces() -> list[np.ndarray]:
    from skimage import data

    astro = data.astronaut()[0:300, 100:400]
    camera = np.stack([data.camera()] * 3, axis=2)[40:300, 150:410]
    return [astro, astro[:, ::-1], camera, np.clip(astro.astype(np.int16) * 0.7 + 40, 0, 255).astype(np.uint8)]


def gallery_frame(shift: int = 0, labels: bool = True) -> np.ndarray:
    import cv2

    frame = np.full((H, W, 3), 20, np.uint8)
    tw, th = (W - 3 * GAP) // 2, (H - 3 * GAP) // 2
    for i, (face, name) in enumerate(zip(_faces(), NAMES, strict=True)):
        x0, y0 = GAP + (i % 2) * (tw + GAP), GAP + (i // 2) * (th + GAP)
        tile = np.full((th, tw, 3), 70, np.uint8)
        fh = th - 10
        fw = int(face.shape[1] * fh / face.shape[0])
        small = cv2.resize(face, (fw, fh), interpolation=cv2.INTER_AREA)
        fx = (tw - fw) // 2 + shift
        tile[5 : 5 + fh, fx : fx + fw] = small
        if labels:
            cv2.rectangle(tile, (0, th - 26), (10 + 11 * len(name), th), (0, 0, 0), -1)
            cv2.putText(tile, name, (5, th - 8), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1, cv2.LINE_AA)
        frame[y0 : y0 + th, x0 : x0 + tw] = tile
    return frame


def tile_box(i: int) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) of gallery tile ``i`` (0: Alice, top left)."""
    tw, th = (W - 3 * GAP) // 2, (H - 3 * GAP) // 2
    x0, y0 = GAP + (i % 2) * (tw + GAP), GAP + (i // 2) * (th + GAP)
    return x0, y0, x0 + tw, y0 + th


def screen_frame() -> np.ndarray:
    import cv2

    frame = np.full((H, W, 3), 245, np.uint8)
    cv2.putText(frame, "Customer follow-up", (30, 60), cv2.FONT_HERSHEY_SIMPLEX, 0.9, (30, 30, 30), 2, cv2.LINE_AA)
    cv2.putText(frame, f"Email: {EMAIL}", (30, 150), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (0, 0, 0), 2, cv2.LINE_AA)
    cv2.putText(frame, f"Phone: {PHONE}", (30, 230), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (0, 0, 0), 2, cv2.LINE_AA)
    return frame


def plain_frame(i: int) -> np.ndarray:
    """No face, no text: soft gradients that move a little."""
    y, x = np.mgrid[0:H, 0:W]
    r = (x + 3 * i) % 256
    g = (y * 255 // H).astype(np.int64)
    b = np.full_like(r, 120)
    return np.stack([r, g, b], axis=2).astype(np.uint8)


def write_video(path: Path, frames: list[np.ndarray], fps: int = FPS, tone: bool = True) -> Path:
    from meetguard.audio.decode import ffmpeg_exe

    seconds = len(frames) / fps
    cmd = [ffmpeg_exe(), "-nostdin", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24",
           "-s", f"{W}x{H}", "-r", str(fps), "-i", "pipe:0"]
    if tone:
        cmd += ["-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}:sample_rate=16000",
                "-c:a", "aac", "-shortest"]
    cmd += ["-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-pix_fmt", "yuv420p", str(path)]
    subprocess.run(cmd, input=b"".join(f.tobytes() for f in frames), check=True)
    return path


def meeting_video(path: Path) -> Path:
    """2 s of gallery view (4 tiles, name labels), then 1 s of a shared screen."""
    frames = [gallery_frame(shift=i % 3) for i in range(2 * FPS)] + [screen_frame()] * FPS
    return write_video(path, frames)
