"""The video stage (#29, docs/video.md) as a factor of real time at 720p, beside ffmpeg's plain
re-encode of the same file in the same run.

A 1280x720, 25 fps test video is built from scikit-image's sample photographs (gallery view:
four tiles with faces and name labels, moving a little; then a shared screen with an email
address and a phone number; the gallery again): tests/_video_samples.py, scaled up. Then:

- **stage**: ``guard_video`` end to end (decode, CenterFace at 2 fps, RapidOCR on changed
  pictures through the run's real detector and roster, hiding, H.264 encode, verification
  at 1.3 fps), with one participant refusing so a tile is blacked out;
- **plain**: ``ffmpeg -i in.mp4 -c:v libx264 -preset veryfast -crf 23 -c:a aac out.mp4``,
  the same encoder settings with nothing analysed.

Each is reported as seconds of work per second of video (RTF: 1.0 is real time) and as
frames per second; models are loaded before the clock starts. CPU seconds (this process
and its ffmpeg children) are reported beside wall time: on shared cores the wall time
depends on the neighbours, the CPU time much less.

    python benchmarks/bench_video.py [--seconds 20] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

W, H, FPS = 1280, 720, 25


def build(path: Path, seconds: int) -> Path:
    import cv2
    from _video_samples import gallery_frame, screen_frame

    from meetguard.audio.decode import ffmpeg_exe

    third = max(1, seconds // 3)
    frames = []
    for i in range(seconds * FPS):
        sec = i // FPS
        small = screen_frame() if third <= sec < 2 * third else gallery_frame(shift=(i // 5) % 4)
        frames.append(cv2.resize(small, (W, H), interpolation=cv2.INTER_LINEAR).tobytes())
    cmd = [ffmpeg_exe(), "-nostdin", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24",
           "-s", f"{W}x{H}", "-r", str(FPS), "-i", "pipe:0",
           "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}:sample_rate=16000",
           "-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p",
           "-c:a", "aac", "-shortest", str(path)]
    subprocess.run(cmd, input=b"".join(frames), check=True)
    return path


def _cpu() -> float:
    """CPU seconds of this process and its finished children (ffmpeg), user + system."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=int, default=20)
    ap.add_argument("--out", metavar="FILE")
    args = ap.parse_args()

    from meetguard.audio.decode import ffmpeg_exe
    from meetguard.detection import Detector
    from meetguard.pipeline import build_roster
    from meetguard.policy.schema import parse_policy
    from meetguard.video import VideoModels, guard_video, text_check
    from meetguard.video.release import video_plan

    policy_path = ROOT / "tests" / "conf" / "policies" / "good_video.yaml"
    policy = parse_policy(policy_path.read_bytes(), str(policy_path))
    detector = Detector()
    detector.warm()
    models = VideoModels()
    check = text_check(detector, build_roster(policy, {}))
    plan = video_plan(policy, "training", ["p-alice"])
    with tempfile.TemporaryDirectory() as tmp:
        src = build(Path(tmp) / "in.mp4", args.seconds)
        t0, cpu0 = time.perf_counter(), _cpu()
        subprocess.run([ffmpeg_exe(), "-nostdin", "-v", "error", "-y", "-i", str(src), "-c:v", "libx264",
                        "-preset", "veryfast", "-crf", "23", "-c:a", "aac", str(Path(tmp) / "plain.mp4")],
                       check=True)
        plain, plain_cpu = time.perf_counter() - t0, _cpu() - cpu0
        t0, cpu0 = time.perf_counter(), _cpu()
        outcome = guard_video(src, plan, models, check, None)
        stage, stage_cpu = time.perf_counter() - t0, _cpu() - cpu0
    frames = args.seconds * FPS
    result = {
        "video": f"{W}x{H} {FPS} fps, {args.seconds} s", "cpus": os.cpu_count(),
        "load_avg_1m": round(os.getloadavg()[0], 2),
        "stage_s": round(stage, 2), "stage_rtf": round(stage / args.seconds, 3),
        "stage_fps": round(frames / stage, 1),
        "stage_cpu_s": round(stage_cpu, 2), "plain_cpu_s": round(plain_cpu, 2),
        "plain_s": round(plain, 2), "plain_rtf": round(plain / args.seconds, 3),
        "plain_fps": round(frames / plain, 1), "stage_over_plain": round(stage / plain, 1),
        "sampled": outcome.sampled, "faces": outcome.faces, "text_boxes": outcome.text_boxes,
        "black_tiles": outcome.black_tiles, "verified_frames": outcome.verified_frames,
    }
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
