"""Peak memory guarding a one-hour recording against a three-minute one.

    python benchmarks/bench_longaudio.py [--quick] [--out FILE] [--minutes M] [--ref-minutes R]

Builds the recordings by looping speech (espeak-ng reading seeded corpus chat
messages, en-us at 150 wpm: about 6 minutes, 45 s for --quick) with ffmpeg's ``-stream_loop``
into AAC ``.m4a`` files (44.1 kHz stereo) in a temp dir, then for each runs, in a fresh process so its peak RSS is its own:

- ``streaming``: ``transcribe_audio`` (openai-whisper tiny.en) -> windows
  (one finding per cue, on its second word: many windows, like a busy
  meeting) -> ``redact_to_wav`` into a WAV file. Peak RSS is read after each
  stage (``ru_maxrss``; ffmpeg runs as a separate small process);
- ``in_memory``: the same windows through the whole-recording path
  (``decode.load`` + ``apply`` + ``to_wav_bytes``), no transcription, for
  contrast.

Prints one JSON object with both sizes and the ratios long/short. ``--quick``:
2 minutes against 1 minute (a smoke run), and ``--ref-minutes`` / ``--minutes``
override the lengths.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from _output import emit


def _peak_mb() -> float:
    """This process's peak RSS (ffmpeg's, a separate small process, is not included)."""
    from _mem import peak_rss_mb

    return peak_rss_mb()


def make_speech(messages: int, dest: Path) -> Path:
    """Varied speech: ``messages`` seeded corpus chat messages (names, numbers, emails) read by espeak-ng
    where it is installed, else the committed speech clips (espeak-ng is optional).

    Varied on purpose: a loop shorter than Whisper's 30 s window (jfk.flac is
    11 s) repeats its text inside a window, and Whisper's repetition guard then
    re-decodes every window at higher temperatures, several times slower.
    """
    if shutil.which("espeak-ng") is None:
        return _fixture_speech(dest)
    sys.path.insert(0, str(HERE))
    from corpus import generate

    text = dest.with_suffix(".txt")
    text.write_text("\n".join(m.text.rstrip(".!?") + "." for m in generate(messages, seed=5)) + "\n")
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(dest), "-f", str(text)], check=True, capture_output=True)
    return dest


def _fixture_speech(dest: Path) -> Path:
    """Without espeak-ng: the committed test speech clips (about 50 s, varied text) end to end."""
    clips = sorted((HERE.parent / "tests" / "fixtures" / "speech").glob("*.flac"))
    inputs = [arg for clip in clips for arg in ("-i", str(clip))]
    joined = "".join(f"[{i}:a]" for i in range(len(clips))) + f"concat=n={len(clips)}:v=0:a=1[out]"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *inputs, "-filter_complex", joined,
                    "-map", "[out]", str(dest)], check=True)
    return dest


def make_recording(seconds: float, speech: Path, dest: Path) -> Path:
    """``seconds`` of ``speech`` looped (ffmpeg ``-stream_loop``) as AAC .m4a, 44.1 kHz stereo like a meeting export."""
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-y", "-stream_loop", "-1", "-i", str(speech),
         "-t", f"{seconds:.3f}", "-ac", "2", "-ar", "44100", "-c:a", "aac", "-b:a", "96k", str(dest)],
        check=True,
    )
    return dest


def _child_streaming(path: Path, windows_out: Path, backend: str, model: str) -> dict[str, Any]:
    from meetguard._model import AudioInput, Cue, Finding
    from meetguard.audio.decode import duration
    from meetguard.audio.transcribe import transcribe_audio
    from meetguard.audio.transcriber import get_transcriber
    from meetguard.redaction.audio import windows_for
    from meetguard.redaction.audio_stream import redact_to_wav

    t0 = time.perf_counter()
    tx = get_transcriber(backend, model)
    load_s = time.perf_counter() - t0
    after_load = _peak_mb()
    t0 = time.perf_counter()
    doc = transcribe_audio(AudioInput(path, None, path.stem), tx, None)
    transcribe_s = time.perf_counter() - t0
    after_transcribe = _peak_mb()
    tx.close()
    cues = [c for c in doc.items if isinstance(c, Cue)]
    findings: list[list[Finding]] = []
    for cue in cues:
        spans = cue.word_offsets() if len(cue.words) > 1 else []
        if spans:
            s, e = spans[1]
            findings.append([Finding(s, e, "PERSON", 0.9, "x")])
        else:
            findings.append([])
    windows = windows_for(cues, findings)
    windows_out.write_text(json.dumps(windows))
    t0 = time.perf_counter()
    out = path.with_suffix(".redacted.wav")
    with open(out, "wb") as fh:
        redact_to_wav(path, windows, "bleep", fh)
    redact_s = time.perf_counter() - t0
    size = out.stat().st_size
    out.unlink()
    audio_s = duration(path)
    return {
        "cues": len(cues), "windows": len(windows), "wav_bytes": size,
        "load_s": round(load_s, 2), "transcribe_s": round(transcribe_s, 2), "redact_s": round(redact_s, 2),
        "rtf": round(transcribe_s / audio_s, 3) if audio_s else None,
        "peak_rss_mb_after_load": after_load, "peak_rss_mb_after_transcribe": after_transcribe,
        "peak_rss_mb": _peak_mb(),
    }


def _child_in_memory(path: Path, windows_in: Path) -> dict[str, Any]:
    from meetguard.audio.decode import load
    from meetguard.redaction.audio import apply, to_wav_bytes

    windows = [tuple(w) for w in json.loads(windows_in.read_text())]
    base = _peak_mb()
    t0 = time.perf_counter()
    data = to_wav_bytes(apply(load(path), windows, "bleep"))
    return {"redact_s": round(time.perf_counter() - t0, 2), "wav_bytes": len(data),
            "peak_rss_mb_before": base, "peak_rss_mb": _peak_mb()}


def _run_child(*args: str) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, __file__, "--child", *args], capture_output=True, text=True,
                          check=False)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr[-4000:])
        raise SystemExit(f"bench_longaudio: child {args[0]} failed ({proc.returncode})")
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def measure(seconds: float, speech: Path, workdir: Path, backend: str, model: str) -> dict[str, Any]:
    t0 = time.perf_counter()
    path = make_recording(seconds, speech, workdir / f"looped-{int(seconds)}s.m4a")
    build_s = time.perf_counter() - t0
    windows = workdir / f"windows-{int(seconds)}.json"
    print(f"bench_longaudio: {seconds / 60:.1f} min recording built; transcribing", file=sys.stderr, flush=True)
    streaming = _run_child("streaming", str(path), str(windows), backend, model)
    in_memory = _run_child("in_memory", str(path), str(windows))
    return {"minutes": round(seconds / 60, 2), "file_mb": round(path.stat().st_size / 2**20, 1),
            "build_s": round(build_s, 1), "streaming": streaming, "in_memory": in_memory}


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "--child":
        kind, rest = argv[1], argv[2:]
        if kind == "streaming":
            result = _child_streaming(Path(rest[0]), Path(rest[1]), rest[2], rest[3])
        else:
            result = _child_in_memory(Path(rest[0]), Path(rest[1]))
        print(json.dumps(result))
        return 0
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--quick", action="store_true", help="2 minutes against 1 minute (smoke run)")
    ap.add_argument("--out", type=Path, help="also write the JSON here")
    ap.add_argument("--minutes", type=float, help="length of the long recording (default 60; quick 2)")
    ap.add_argument("--ref-minutes", type=float, help="length of the reference recording (default 3; quick 1)")
    ap.add_argument("--backend", default="openai-whisper")
    ap.add_argument("--model", default="tiny.en")
    args = ap.parse_args(argv)
    long_min = args.minutes if args.minutes is not None else (2.0 if args.quick else 60.0)
    ref_min = args.ref_minutes if args.ref_minutes is not None else (1.0 if args.quick else 3.0)
    with tempfile.TemporaryDirectory(prefix="mg-longaudio-") as tmp:
        from meetguard.audio.decode import duration, ensure_ffmpeg_on_path

        ensure_ffmpeg_on_path()  # the bundled ffmpeg, by name, for the ffmpeg calls here (no ffprobe)
        speech = make_speech(8 if args.quick else 50, Path(tmp) / "speech.wav")
        speech_s = duration(speech)
        short = measure(ref_min * 60, speech, Path(tmp), args.backend, args.model)
        long = measure(long_min * 60, speech, Path(tmp), args.backend, args.model)
    report: dict[str, Any] = {
        "bench": "longaudio",
        "quick": args.quick,
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "source": (f"{speech_s:.0f} s of espeak-ng speech (seeded corpus chat messages) looped with ffmpeg "
                   "-stream_loop into AAC .m4a, 44.1 kHz stereo"),
        "backend": args.backend, "model": args.model,
        "short": short, "long": long,
        "ratio_streaming_peak": round(long["streaming"]["peak_rss_mb"] / short["streaming"]["peak_rss_mb"], 3),
        "ratio_in_memory_peak": round(long["in_memory"]["peak_rss_mb"] / short["in_memory"]["peak_rss_mb"], 3),
    }
    emit(report, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
