"""Leaks in released audio (#23): guard every clip of the leak corpus, hear the release again.

For each clip of ``tests/fixtures/speech/leaks`` (manifest.json: the values said and the
words to keep) the whole guard runs (summarization: names, emails, phones, cards and
places redacted, speakers pseudonymised, audio bleeped, verification on). Then:

- **audible**: the released WAV is re-transcribed by ears the product did not use for
  that run: CMU PocketSphinx (its en-us model ships in the pocketsphinx wheel; no Whisper
  at all) and, as a second ear, Whisper ``small.en``/``base`` where given by
  ``--ear-whisper`` (default ``base``, the one the product's verification used: reported
  apart, as it is not independent of the run). A value counts as audible when an ear
  hears one of its words (a name word, a local-part or domain word of an email) or 3+
  consecutive digits of its number.
- **partial**: the same test on the released transcript (the JSON's text).
- **keep lost**: the share of the clip's words to keep missing from the released transcript.

A clip whose release is refused (verification failed closed) releases nothing: it counts
0 audible, 0 partial, and every word to keep lost. Held-out clips (voices and a set
of wordings not looked at while tuning) are summed apart.

    python benchmarks/bench_audio_leaks.py [--only SUBSTR[,SUBSTR...]] [--out FILE] [--ear-whisper none]
        [--whisper-model base]   # the transcript's model (default: tiny.en for English; base then verifies)
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _output import emit

CORPUS = ROOT / "tests" / "fixtures" / "speech" / "leaks"
AT = datetime(2026, 12, 1, 12, tzinfo=UTC)
_DIGIT_WORDS = {"zero": "0", "oh": "0", "o": "0", "one": "1", "two": "2", "three": "3", "four": "4",
                "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9"}
_TENS = {"twenty": "2", "thirty": "3", "forty": "4", "fifty": "5", "sixty": "6", "seventy": "7",
         "eighty": "8", "ninety": "9"}


def corpus_policy(manifest: dict[str, Any]) -> str:
    """The corpus's policy: its roster as consenting participants; names, emails, phones,
    cards and places redacted; speakers pseudonymised; audio bleeped."""
    lines = ["version: 1", "policy_id: leak-corpus", "account: {id: corpus, ai_features: {summarization: true}}",
             "purposes:", "  summarization:", "    consent: opt_out", "    missing_consent: exclude",
             "    recipients: [summarizer]", "    redact:",
             "      entities: [PERSON, EMAIL_ADDRESS, PHONE_NUMBER, CREDIT_CARD, US_SSN, LOCATION, URL]",
             "      operator: pseudonymize", "      speakers: pseudonymize", "    audio: bleep",
             "participants:"]
    for member in manifest["roster"]:
        lines.append(f"  - id: {member['id']}")
        lines.append(f"    names: {json.dumps(member['names'])}")
        lines.append("    consent: {summarization: {status: granted, at: 2026-11-01T09:00:00Z}}")
    return "\n".join(lines) + "\n"


def tokens(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower())


def digit_runs(text: str) -> list[str]:
    """Runs of digits as heard: numerals and spoken digit words, across separators. A
    numeral fused with letters counts too: "250C" (tiny.en's "two fifty Cedar") holds 250."""
    runs, cur = [], ""
    for tok in re.findall(r"[0-9]+|[a-z']+", text.lower()):
        if tok.isdigit():
            cur += tok
        elif tok in _DIGIT_WORDS:
            cur += _DIGIT_WORDS[tok]
        elif tok in _TENS:
            cur += _TENS[tok] + "0"
        else:
            if cur:
                runs.append(cur)
            cur = ""
    if cur:
        runs.append(cur)
    return runs


_SPELLED = re.compile(r"(?<![\w'])[A-Za-z](?:(?:[ ,.-]|\.\s){1,3}[A-Za-z](?![\w'])){2,}")


def heard_parts(value: dict[str, Any], text: str) -> list[str]:
    """What of ``value`` is in ``text``: its words (also spelled out letter by letter: "V-A-N-D-E-R"
    holds 4+ letters of "vandermeer"), and 3+ digit pieces of its number."""
    toks = set(tokens(text))
    found = [w for w in value.get("words", []) if w in toks]
    for m in _SPELLED.finditer(text):
        letters = "".join(c for c in m.group() if c.isalpha()).lower()
        found += [f"<spelled {w}>" for w in value.get("words", [])
                  if letters == w or (len(letters) >= 4 and (letters in w or w in letters))]
    digits = value.get("digits", "")
    if len(digits) >= 3:
        for run in digit_runs(text):
            if any(run[i:i + 3] in digits for i in range(len(run) - 2)):
                found.append("<digits>")
                break
    return found


def keep_lost(keep: Sequence[str], text: str) -> float:
    toks = set(tokens(text))
    return sum(1 for w in keep if w not in toks) / len(keep) if keep else 0.0


class Sphinx:
    """CMU PocketSphinx with its bundled en-us model: an ear with no Whisper in it."""

    def __init__(self) -> None:
        from pocketsphinx import Decoder

        self.decoder = Decoder(samprate=16000, logfn="/dev/null")

    def hear(self, path: Path) -> str:
        from meetguard.audio.decode import ffmpeg_exe

        pcm = subprocess.run([ffmpeg_exe(), "-nostdin", "-v", "error", "-i", str(path), "-ac", "1", "-ar",
                              "16000", "-f", "s16le", "-"], capture_output=True, check=True).stdout
        self.decoder.start_utt()
        self.decoder.process_raw(pcm, full_utt=True)
        self.decoder.end_utt()
        hyp = self.decoder.hyp()
        return hyp.hypstr if hyp is not None else ""


class WhisperEar:
    def __init__(self, model: str, prompt: str) -> None:
        from meetguard.audio.transcriber import get_transcriber

        self.transcriber, self.prompt = get_transcriber("openai-whisper", model), prompt

    def hear(self, path: Path) -> str:
        from meetguard import VerificationError
        from meetguard.audio.decode import load, to_whisper_input

        samples = to_whisper_input(load(path))
        try:
            cues = self.transcriber.transcribe(samples, prompt=self.prompt, variant="verify")
        except VerificationError:  # its beam search looped: hear it greedily rather than not at all
            cues = self.transcriber.transcribe(samples, prompt=self.prompt)
        return " ".join(c.text for c in cues)


def run_clip(guard: Any, clip: dict[str, Any], attendees: list[str], ears: dict[str, Any],
             workdir: Path) -> dict[str, Any]:
    from meetguard import MeetguardError, Meeting

    src = CORPUS / clip["file"]
    stem = Path(clip["file"]).stem
    row: dict[str, Any] = {"clip": stem, "voice": clip["voice"], "held_out": clip["held_out"],
                           "values": len(clip["values"])}
    started, cpu = time.perf_counter(), time.process_time()
    try:
        result = guard.process_sync(Meeting.from_files(audio=src, attendees=attendees), "summarization",
                                    "summarizer", AT, verify=True)
        outputs, row["decision"] = dict(result.outputs), result.decision
        if result.decision != "release":
            row["reasons"] = list(result.reasons)
    except MeetguardError as exc:   # fails closed: nothing released
        outputs, row["decision"], row["reasons"] = {}, "refused", [f"{exc.code}: {exc}"]
    row["guard_s"] = round(time.perf_counter() - started, 1)
    row["guard_cpu_s"] = round(time.process_time() - cpu, 1)  # this process's CPU (all its threads)
    transcript = ""
    if f"{stem}.transcript.json" in outputs:
        data = json.loads(outputs[f"{stem}.transcript.json"])
        transcript = " ".join(item["text"] for item in data["items"])
    row["released_transcript"] = transcript
    row["partial"] = sum(1 for v in clip["values"] if heard_parts(v, transcript))
    row["keep_lost"] = round(keep_lost(clip["keep"], transcript), 3)
    wav = outputs.get(f"{stem}.redacted.wav")
    for ear_name, ear in ears.items():
        heard = ""
        if wav is not None:
            path = workdir / f"{stem}.wav"
            path.write_bytes(bytes(wav))
            try:
                heard = ear.hear(path)
            except subprocess.CalledProcessError:   # a release the ear cannot open: counted as heard
                row[f"heard_{ear_name}"], row[f"audible_{ear_name}"] = None, len(clip["values"])
                continue
        row[f"heard_{ear_name}"] = heard
        row[f"audible_{ear_name}"] = sum(1 for v in clip["values"] if heard_parts(v, heard))
    return row


def totals(rows: Iterable[dict[str, Any]], ears: Iterable[str]) -> dict[str, Any]:
    rows = list(rows)
    out: dict[str, Any] = {"clips": len(rows), "values": sum(r["values"] for r in rows),
                           "refused": sum(1 for r in rows if r["decision"] != "release"),
                           "partial": sum(r["partial"] for r in rows),
                           "keep_lost_mean": round(sum(r["keep_lost"] for r in rows) / max(1, len(rows)), 3)}
    for ear in ears:
        out[f"audible_{ear}"] = sum(r[f"audible_{ear}"] for r in rows)
    return out


def table(rows: Sequence[dict[str, Any]], ears: Sequence[str]) -> str:
    head = ["clip", "voice", "decision", "values"] + [f"audible ({e})" for e in ears] + ["partial", "keep lost"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [r["clip"].split("__")[0], r["voice"] + (" (held out)" if r["held_out"] else ""), r["decision"],
                 str(r["values"])] + [str(r[f"audible_{e}"]) for e in ears] + [str(r["partial"]),
                                                                               f"{r['keep_lost']:.0%}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--only", default="", help="only clips whose file name contains this (or one of these, comma-separated)")
    parser.add_argument("--held-out", choices=["with", "without", "only"], default="with")
    parser.add_argument("--ear-whisper", default="base", help="second ear (a Whisper model), or 'none'")
    parser.add_argument("--whisper-model", default=None,
                        help="the transcript's model (GuardOptions.whisper_model; default: by the policy's languages)")
    parser.add_argument("--shard", default="0/1", help="I/N: only every N-th clip from the I-th (parallel runs)")
    parser.add_argument("--out", default=None)
    parser.add_argument("--rows", default=None, help="also append each clip's row to this JSON-lines file")
    parser.add_argument("--table", action="store_true", help="also print the markdown table")
    args = parser.parse_args(argv)

    from meetguard import Guard, GuardOptions
    from meetguard.audio.decode import ensure_ffmpeg_on_path
    from meetguard.pipeline import build_roster, verify_prompt

    ensure_ffmpeg_on_path()
    manifest = json.loads((CORPUS / "manifest.json").read_text("utf-8"))
    clips = [c for c in manifest["clips"] if any(part in c["file"] for part in args.only.split(","))]
    if args.held_out == "without":
        clips = [c for c in clips if not c["held_out"]]
    elif args.held_out == "only":
        clips = [c for c in clips if c["held_out"]]
    shard, shards = (int(x) for x in args.shard.split("/"))
    clips = clips[shard::shards]
    attendees = [m["id"] for m in manifest["roster"]]
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "policy.yaml").write_text(corpus_policy(manifest))
        guard = Guard.from_policy(work / "policy.yaml", GuardOptions(audit_path=work / "audit.jsonl",
                                                                       whisper_model=args.whisper_model))
        ears: dict[str, Any] = {"sphinx": Sphinx()}
        if args.ear_whisper != "none":
            ears[f"whisper-{args.ear_whisper}"] = WhisperEar(args.ear_whisper,
                                                             verify_prompt(build_roster(guard.policy, {})))
        rows = []
        for k, clip in enumerate(clips):
            rows.append(run_clip(guard, clip, attendees, ears, work))
            if args.rows:
                with open(args.rows, "a", encoding="utf-8") as fh:
                    fh.write(json.dumps(rows[-1]) + "\n")
            print(f"[{k + 1}/{len(clips)}] {clip['file']}: {rows[-1]['decision']}", file=sys.stderr, flush=True)
        guard.close()
    names = list(ears)
    report = {"bench": "audio_leaks", "clips": rows,
              "tuning": totals((r for r in rows if not r["held_out"]), names),
              "held_out": totals((r for r in rows if r["held_out"]), names),
              "wall_s": round(time.perf_counter() - started, 1)}
    emit(report, args.out)
    if args.table:
        print(table(rows, names))
    return report


if __name__ == "__main__":
    main()
