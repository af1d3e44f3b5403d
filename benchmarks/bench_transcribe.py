"""Transcription speed: real-time factor per backend, and meetguard's overhead.

    python benchmarks/bench_transcribe.py [--quick] [--loops N]

Prints one JSON object:
- ``rtf``: seconds of compute per second of audio (lower is better) for
  openai-whisper (the converted tiny.en) and faster-whisper (the plugin, when
  installed) on jfk.flac, and on a looped clip of ``--loops`` x jfk unless
  ``--quick``;
- ``pipeline_overhead``: ``transcribe_audio`` (decode, chunking, hashing,
  document building) over one bare backend call on the same samples, in
  seconds and as a ratio;
- ``verify_decode``: per backend, the real-time factor of the independent
  verification decode (``variant="verify"``) next to the main one on jfk.flac,
  measured interleaved in the same run, and their ratio (verification's cost).
- ``whole_guard`` (``--guard-minutes``, 10 unless ``--quick``): a recording of that
  length made of the leak corpus's clips (tests/fixtures/speech/leaks, looped) is
  guarded whole with verification (tiny.en transcript; base hearing the original and
  the release: both decodes, detection, bleeping), as a factor of real time, beside
  bare Whisper tiny.en on the same file (30 s windows, nothing else) in the same run;
  ``decodes_bare`` and ``decodes_guard`` count every openai-whisper decode of each, per
  model and search (tiny greedy, base greedy: the original's hearing and disputes, base
  beam: the release's), with the seconds of audio decoded and the seconds it took.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from meetguard._errors import MeetguardError
from meetguard._model import AudioInput
from meetguard.audio.backend import DecodeVariant
from meetguard.audio.decode import iter_chunks
from meetguard.audio.transcribe import transcribe_audio
from meetguard.audio.transcriber import Transcriber, get_transcriber

JFK = Path(os.environ.get("MEETGUARD_JFK", "/work/shared/data/audio/jfk.flac"))


def _samples(path: Path) -> np.ndarray:
    return np.concatenate(list(iter_chunks(path)))


def _rtf(tx: Transcriber, samples: np.ndarray, repeat: int) -> float:
    tx.transcribe(samples[: 16000 * 2])  # warm-up
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        tx.transcribe(samples)
        best = min(best, time.perf_counter() - t0)
    return best / (len(samples) / 16000)


def _verify_cost(tx: Transcriber, samples: np.ndarray, repeat: int) -> dict[str, float]:
    """Main and verification decodes, interleaved, best of ``repeat`` each."""
    best = {"main": float("inf"), "verify": float("inf")}
    variants: tuple[DecodeVariant, ...] = ("main", "verify")
    for _ in range(repeat):
        for variant in variants:
            t0 = time.perf_counter()
            tx.transcribe(samples, variant=variant)
            best[variant] = min(best[variant], time.perf_counter() - t0)
    seconds = len(samples) / 16000
    return {"main_rtf": round(best["main"] / seconds, 4), "verify_rtf": round(best["verify"] / seconds, 4),
            "ratio": round(best["verify"] / best["main"], 3)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="jfk.flac only, one run each")
    ap.add_argument("--loops", type=int, default=6, help="length of the looped clip, in jfk clips")
    ap.add_argument("--guard-minutes", type=float, default=None,
                    help="length of the whole-guard recording (default 10, 0 with --quick; 0: skip)")
    ap.add_argument("--only-guard", action="store_true", help="measure only the whole guard")
    ap.add_argument("--skip-bare", action="store_true",
                    help="whole guard without bare tiny.en beside it (only its factor of real time)")
    args = ap.parse_args()
    minutes = args.guard_minutes if args.guard_minutes is not None else (0.0 if args.quick else 10.0)
    if args.only_guard:
        print(json.dumps({"whole_guard": whole_guard(minutes or 10.0, bare=not args.skip_bare)}, indent=2))
        return
    repeat = 1 if args.quick else 3
    result: dict[str, Any] = {"audio": str(JFK), "cpu_count": os.cpu_count(), "rtf": {}}
    clips: dict[str, Path] = {"jfk": JFK}
    with tempfile.TemporaryDirectory() as tmp:
        if not args.quick:
            looped = Path(tmp) / "looped.wav"
            subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-stream_loop", str(args.loops - 1),
                            "-i", str(JFK), str(looped)], check=True)
            clips[f"jfk_x{args.loops}"] = looped
        backends: dict[str, Transcriber] = {}
        t0 = time.perf_counter()
        backends["openai-whisper"] = get_transcriber("openai-whisper", "tiny.en")
        result["load_s"] = {"openai-whisper": round(time.perf_counter() - t0, 3)}
        try:
            t0 = time.perf_counter()
            backends["faster-whisper"] = get_transcriber("faster-whisper", "tiny.en")
            result["load_s"]["faster-whisper"] = round(time.perf_counter() - t0, 3)
        except MeetguardError as exc:  # plugin not installed or model missing
            result["faster-whisper"] = f"unavailable: {type(exc).__name__}"
        for clip, path in clips.items():
            samples = _samples(path)
            for name, tx in backends.items():
                result["rtf"].setdefault(name, {})[clip] = round(_rtf(tx, samples, repeat), 4)
        jfk = _samples(JFK)
        result["verify_decode"] = {name: _verify_cost(tx, jfk, repeat) for name, tx in backends.items()}
        tx = backends["openai-whisper"]
        path = clips[list(clips)[-1]]
        samples = _samples(path)
        bare = 0.0
        for start in range(0, len(samples), 30 * 16000):
            s0 = time.perf_counter()
            tx.transcribe(samples[start : start + 30 * 16000], offset=start / 16000)
            bare += time.perf_counter() - s0
        t0 = time.perf_counter()
        doc = transcribe_audio(AudioInput(path, None, path.stem), tx, None)
        piped = time.perf_counter() - t0
        result["pipeline_overhead"] = {
            "clip": path.name,
            "bare_backend_s": round(bare, 3),
            "transcribe_audio_s": round(piped, 3),
            "overhead_s": round(piped - bare, 3),
            "ratio": round(piped / bare, 3) if bare else None,
            "cues": len(doc.items),
        }
        for tx in backends.values():
            tx.close()
    if minutes:
        result["whole_guard"] = whole_guard(minutes)
    print(json.dumps(result, indent=2))


LEAKS = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "speech" / "leaks"


def _meeting_recording(minutes: float, dest: Path) -> Path:
    """The leak corpus's clips one after another, looped to ``minutes`` (16 kHz mono): the
    clips of rounds up to 12 (those without ``added`` in the manifest), so that the recording,
    and the figures measured on it, stay the same as the corpus grows."""
    from meetguard.audio.decode import ffmpeg_exe

    manifest = json.loads((LEAKS / "manifest.json").read_text("utf-8"))
    files = sorted(LEAKS / c["file"] for c in manifest["clips"] if "added" not in c)
    listing = dest.with_suffix(".txt")
    listing.write_text("".join(f"file '{p}'\n" for p in files))
    once = dest.with_name("once.wav")
    subprocess.run([ffmpeg_exe(), "-nostdin", "-v", "error", "-y", "-f", "concat", "-safe", "0", "-i", str(listing),
                    "-ac", "1", "-ar", "16000", str(once)], check=True)
    subprocess.run([ffmpeg_exe(), "-nostdin", "-v", "error", "-y", "-stream_loop", "-1", "-i", str(once),
                    "-t", str(minutes * 60), "-c:a", "pcm_s16le", str(dest)], check=True)
    return dest


class _DecodeCount:
    """Every openai-whisper decode of the run, per model and search (greedy or beam):
    how many, over how many seconds of audio, in how many seconds of wall time and of this
    process's CPU time (the profile of a guard); and below each decode, whisper's own passes
    (``passes``: one per 30 s mel window it decodes and per temperature it tries, so a
    window heard again from its last word, or at a higher temperature, counts again;
    ``fallbacks``: the passes above temperature 0) and the audio encoder's runs
    (``encodings``; counted for models loaded after the counter is made, as in
    ``--only-guard``: a model loaded before keeps the encoder it was given)."""

    def __init__(self) -> None:
        from whisper.decoding import DecodingTask
        from whisper.model import AudioEncoder

        from meetguard.audio import whisper_backend

        self.tally: dict[str, dict[str, float]] = {}
        self.inner: dict[str, dict[str, int]] = {}
        self._cls = whisper_backend.WhisperTranscriber
        self._orig = self._cls._decode
        self._run, self._encode = DecodingTask.run, AudioEncoder.forward
        count = self

        def counted(tx: Any, audio: Any, prompt: Any, language: Any, search: dict[str, Any]) -> Any:
            t0, c0 = time.perf_counter(), time.process_time()
            try:
                return count._orig(tx, audio, prompt, language, search)
            finally:
                model = Path(tx.model_path).name.split(".pt")[0]
                key = f"{model} {'beam' if search.get('beam_size') else 'greedy'}"
                row = count.tally.setdefault(key, {"decodes": 0, "audio_s": 0.0, "compute_s": 0.0, "cpu_s": 0.0})
                row["decodes"] += 1
                row["audio_s"] = round(row["audio_s"] + len(audio) / 16000, 1)
                row["compute_s"] = round(row["compute_s"] + time.perf_counter() - t0, 1)
                row["cpu_s"] = round(row["cpu_s"] + time.process_time() - c0, 1)

        def run(task: Any, mel: Any) -> Any:
            row = count._row(task.model.dims.n_text_state)
            row["passes"] += 1
            row["fallbacks"] += int(task.options.temperature > 0)
            return count._run(task, mel)

        def encode(encoder: Any, x: Any) -> Any:
            count._row(encoder.ln_post.normalized_shape[0])["encodings"] += 1
            return count._encode(encoder, x)

        self._cls._decode = counted  # type: ignore[method-assign]
        DecodingTask.run = run  # type: ignore[method-assign]
        AudioEncoder.forward = encode  # type: ignore[method-assign]

    def _row(self, width: int) -> dict[str, int]:
        name = {384: "tiny", 512: "base"}.get(width, f"width {width}")
        return self.inner.setdefault(name, {"passes": 0, "fallbacks": 0, "encodings": 0})

    def take(self) -> dict[str, Any]:
        out: dict[str, Any] = {**self.tally, "whisper": self.inner}
        self.tally, self.inner = {}, {}
        return out

    def close(self) -> None:
        from whisper.decoding import DecodingTask
        from whisper.model import AudioEncoder

        self._cls._decode = self._orig  # type: ignore[method-assign]
        DecodingTask.run = self._run  # type: ignore[method-assign]
        AudioEncoder.forward = self._encode  # type: ignore[method-assign]


def whole_guard(minutes: float, bare: bool = True) -> dict[str, Any]:
    """The whole guard of a ``minutes`` recording (both decodes) against bare tiny.en
    (``bare=False``: the guard alone, its factor of real time only)."""
    from meetguard import Guard, GuardOptions, Meeting

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_audio_leaks import corpus_policy

    manifest = json.loads((LEAKS / "manifest.json").read_text("utf-8"))
    with tempfile.TemporaryDirectory() as tmp:
        rec = _meeting_recording(minutes, Path(tmp) / "meeting.wav")
        seconds = minutes * 60
        counter = _DecodeCount()
        tx = get_transcriber("openai-whisper", "tiny.en")
        samples = _samples(rec) if bare else np.zeros(0, dtype=np.float32)
        t0, c0 = time.perf_counter(), time.process_time()
        for start in range(0, len(samples), 30 * 16000):
            tx.transcribe(samples[start : start + 30 * 16000], offset=start / 16000)
        bare_s = time.perf_counter() - t0 if bare else None
        bare_cpu = time.process_time() - c0 if bare else None
        bare_decodes = counter.take()
        (Path(tmp) / "policy.yaml").write_text(corpus_policy(manifest))
        guard = Guard.from_policy(Path(tmp) / "policy.yaml", GuardOptions(audit_path=Path(tmp) / "audit.jsonl"))
        guard.warm(audio=True)
        guard.backends.verify_transcriber()
        meeting = Meeting.from_files(audio=rec, attendees=[m["id"] for m in manifest["roster"]])
        t0, c0 = time.perf_counter(), time.process_time()
        refusal: dict[str, str] | None = None
        try:
            res = guard.process_sync(meeting, "summarization", "summarizer", verify=True)
            outcome = f"{res.decision}: {'released' if 'meeting.redacted.wav' in res.outputs else 'no audio out'}"
        except MeetguardError as exc:   # the code and the check's fixed word, never content
            outcome, refusal = "refused", {"code": exc.code, "reason": str(getattr(exc, "reason", "-"))}
        whole, whole_cpu = time.perf_counter() - t0, time.process_time() - c0
        guard.close()
        counter.close()
    return {"minutes": minutes, "bare_tiny_en_s": None if bare_s is None else round(bare_s, 1),
            "bare_rtf": None if bare_s is None else round(bare_s / seconds, 3),
            "guard_s": round(whole, 1), "guard_rtf": round(whole / seconds, 3),
            "guard_over_bare": None if bare_s is None else round(whole / bare_s, 2),
            "cpu": {"bare_tiny_en_s": None if bare_cpu is None else round(bare_cpu, 1), "guard_s": round(whole_cpu, 1),
                    "guard_rtf": round(whole_cpu / seconds, 3),
                    "guard_over_bare": None if not bare_cpu else round(whole_cpu / bare_cpu, 2)},
            "decision": outcome, "refusal": refusal,
            "decodes": "tiny.en (transcript) + base verify (original) + base verify (release)",
            "decodes_bare": bare_decodes, "decodes_guard": counter.take()}


if __name__ == "__main__":
    main()
