"""The main decode's settings on the leak corpus (#23 words to keep): one Whisper model's
own hearing of each tuning clip, no guard, under one search setting.

Per clip: the share of its words to keep missing from the decode's raw text (an upper
bound on what the released transcript can keep: the guard only removes words), whether
each value's words are in that text (``valwords``: what the detector could find; a
hearing that loses them leaves the value to the other decode and the release check),
the decode's CPU seconds and its text. Held-out clips are never read.

Settings: ``cur`` (the product's main decode as another checkpoint's greedy hearing runs it:
greedy, temperature fallback, roster prompt, halving a stuck decode), ``transcript`` (the
transcript's: greedy at temperature 0, unsure windows heard again by beam search,
``WhisperTranscriber(transcript=True)``), ``beam`` (beam search of 5), ``noprompt`` (no roster prompt),
``p:TEXT`` (TEXT as the prompt). The prompt is the corpus roster's, as ``roster_prompt``
writes it.

    MEETGUARD_TORCH_THREADS=1 nice -n 10 .venv/bin/python benchmarks/sweep_main_decode.py tiny.en cur [--only a,b]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_audio_leaks import CORPUS, heard_parts, keep_lost


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("model", help="tiny.en, base, ...")
    parser.add_argument("setting", help="cur, transcript, beam, noprompt or p:PROMPT")
    parser.add_argument("--only", default="", help="clips whose file name contains one of these (comma-separated)")
    args = parser.parse_args()

    from meetguard.audio import whisper_backend as wb
    from meetguard.audio.decode import ensure_ffmpeg_on_path, load, to_whisper_input
    from meetguard.audio.transcriber import get_transcriber

    ensure_ffmpeg_on_path()
    manifest = json.loads((CORPUS / "manifest.json").read_text("utf-8"))
    clips = [c for c in manifest["clips"] if not c["held_out"]]
    only = [s for s in args.only.split(",") if s]
    if only:
        clips = [c for c in clips if any(s in c["file"] for s in only)]
    prompt = "Meeting with " + ", ".join(m["names"][0] for m in manifest["roster"]) + "."
    t: Any = get_transcriber("openai-whisper", args.model, transcript=args.setting == "transcript")

    def hear(audio: Any) -> list[Any]:
        if args.setting in ("cur", "transcript"):
            return list(t._main(audio, prompt, 0.0, "en"))
        opts: dict[str, Any] = {"sample_len": wb.sample_len_for(len(audio) / 16000),
                                "temperature": wb.MAIN_TEMPERATURES, "compression_ratio_threshold": None}
        said: str | None = prompt
        if args.setting == "beam":
            opts["beam_size"] = 5
        elif args.setting == "noprompt":
            said = None
        elif args.setting.startswith("p:"):
            said = args.setting[2:]
        return wb._cues(t._decode(audio, said, "en", opts), 0.0)

    lost_sum = cpu_sum = 0.0
    for clip in clips:
        audio = to_whisper_input(load(CORPUS / clip["file"]))
        cpu = time.process_time()
        text = " ".join(c.text for c in hear(audio))
        cpu = time.process_time() - cpu
        lost = keep_lost(clip["keep"], text)
        lost_sum, cpu_sum = lost_sum + lost, cpu_sum + cpu
        found = sum(1 for v in clip["values"] if heard_parts(v, text))
        print(json.dumps({"clip": Path(clip["file"]).stem, "lost": round(lost, 2),
                          "valwords": f"{found}/{len(clip['values'])}", "cpu": round(cpu, 2), "text": text}),
              flush=True)
    n = max(1, len(clips))
    print(f"TOTAL {args.model} {args.setting} clips={len(clips)} lost_mean={lost_sum / n:.3f} cpu_s={cpu_sum:.1f}")


if __name__ == "__main__":
    main()
