"""Run the benchmark suite, plot it and write docs/benchmarks.md.

    python benchmarks/run_all.py [--quick] [--only NAME ...]   (or: make bench [QUICK=1])

Runs each bench script in its own process (``--quick`` passed through) and
keeps its JSON in ``benchmarks/results/<name>.json``; a quick run writes to
``benchmarks/results/quick/`` instead, plots and markdown included, so it never
touches the committed figures. A full run draws the PNG plots into
``docs/img/`` and regenerates ``docs/benchmarks.md`` (machine, command, date,
tables, plots). Prints a summary with meetguard's speed ratio against plain
Presidio and the corpus recall beside it. A bench that fails is reported and
makes the exit status non-zero after the others have run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shlex
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RESULTS = HERE / "results"
DOCS = REPO / "docs"


@dataclass(frozen=True)
class Bench:
    name: str
    script: str
    title: str
    quick_args: tuple[str, ...] = ()
    full_args: tuple[str, ...] = ()
    in_quick: bool = True            # False: too slow to start for the smoke run (worker pools, Ray)


BENCHES: tuple[Bench, ...] = (
    # Quick: no detection worker processes (each would load spaCy again: most of a smoke run's time).
    Bench("guard", "bench_guard.py", "Chat guard vs plain Presidio, and scaling", quick_args=("--workers", "0")),
    Bench("detection", "bench_detection.py", "Detection recall and throughput", quick_args=("--seed", "7")),
    Bench("transcribe", "bench_transcribe.py", "Transcription real-time factor"),
    Bench("sidecar", "bench_sidecar.py", "Sidecar throughput and latency"),
    Bench("longaudio", "bench_longaudio.py", "Peak memory on a one-hour recording",
          quick_args=("--minutes", "0.25", "--ref-minutes", "0.1")),
    Bench("french", "bench_french.py", "French subtitles: over-redaction and throughput next to English",
          in_quick=False),
    Bench("batch", "bench_batch.py", "meetguard batch: local and Ray, 1 and 2 workers", in_quick=False),
    Bench("audio_leaks", "bench_audio_leaks.py", "Values audible after release, leak corpus (#23)", in_quick=False),
    Bench("cli", "bench_cli.py", "The first commands vs python -c pass (#26)"),
)


def _typed_section(typed: dict[str, Any] | None) -> list[str]:
    """Per type, meetguard beside plain Presidio on benchmarks/corpus_typed.py (issue #10: Presidio is the floor)."""
    if not typed:
        return []
    rec, fps = typed["recall"], typed["false_positives"]
    types = sorted(set(typed["counts"]) | set(fps["meetguard"]) | set(fps["presidio"]))
    rows = [(t, typed["counts"].get(t, 0), rec["meetguard"].get(t, ""), rec["presidio"].get(t, ""),
             fps["meetguard"].get(t, 0), fps["presidio"].get(t, 0)) for t in types]
    out = ["### Values as people type them, per type, beside plain Presidio", "",
           (f"{typed['messages']} messages of benchmarks/corpus_typed.py (seed {typed['seed']}): every region's example "
            "phone numbers, Faker names, cities and IBANs in 14 locales, checksummed ids, each next to other numbers; "
            "a quarter lower case; a third meeting chatter. Recall: every letter and digit of the value covered (any "
            "type). FP: findings that touch no known value (on chatter mostly: Presidio's driver licences for "
            "'C4'/'v2', ORGANIZATION, times as DATE_TIME)."), ""]
    out += _table(["type", "values", "recall meetguard", "recall Presidio", "FP meetguard", "FP Presidio"], rows)
    out += ["", (f"Values where Presidio covers a character meetguard leaves (the floor): "
                 f"**{typed['floor_miss_count']}**. Detection time, same messages: meetguard "
                 f"{typed['seconds']['meetguard']} s, Presidio {typed['seconds']['presidio']} s."), ""]
    return out


def _parse_json(stdout: str) -> dict[str, Any]:
    """The JSON object a bench prints (the first line that opens one, to the end)."""
    lines = stdout.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("{"):
            obj, _ = json.JSONDecoder().raw_decode("\n".join(lines[i:]))
            if isinstance(obj, dict):
                return obj
    raise ValueError("no JSON object in the output")


def _show(path: Path) -> str:
    try:
        return str(path.relative_to(REPO))
    except ValueError:
        return str(path)


def run_bench(bench: Bench, quick: bool, out_dir: Path,
              extra: Sequence[str] = ()) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """Run one bench; returns (its JSON or None, status)."""
    script = HERE / bench.script
    out = out_dir / f"{bench.name}.json"
    cmd = [sys.executable, str(script)]
    if quick:
        cmd += ["--quick", *bench.quick_args]
    else:
        cmd += list(bench.full_args)
    cmd += list(extra)
    takes_out = '"--out"' in script.read_text(encoding="utf-8")
    if takes_out:
        cmd += ["--out", str(out)]
    print(f"run_all: {bench.name}: {shlex.join(cmd[1:])}", file=sys.stderr, flush=True)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=False, cwd=REPO)
    seconds = round(time.perf_counter() - t0, 1)
    shown = ["python", _show(script), *(_show(Path(c)) if c == str(out) else c for c in cmd[2:])]
    status: dict[str, Any] = {"rc": proc.returncode, "seconds": seconds, "command": shlex.join(shown),
                              "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")}
    if proc.returncode != 0:
        status["error"] = f"exit status {proc.returncode}"
        if out.exists():
            out.unlink()  # never leave a stale result beside a failed run
        return None, status
    try:
        data = _parse_json(proc.stdout)
    except ValueError as exc:
        status["error"] = f"bad output: {exc}"
        status["rc"] = 1
        return None, status
    out.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    return data, status


# --- summary ---------------------------------------------------------------------------------------


def _mean(values: Sequence[float]) -> float | None:
    return round(sum(values) / len(values), 4) if values else None


def _recall_line(recall: dict[str, float] | None) -> str:
    if not recall:
        return "n/a"
    low = min(recall.values())
    line = f"mean {_mean(list(recall.values()))}, min {low}"
    lowest = [k for k, v in recall.items() if v == low]
    if low < 1 and len(lowest) <= 3:
        line += f" ({', '.join(lowest)})"
    return line


def summary_lines(results: dict[str, dict[str, Any]]) -> list[str]:
    lines: list[str] = []
    g = results.get("guard")
    if g:
        lines.append(
            f"guard vs plain Presidio: ratio {g.get('ratio')}x "
            f"({g['guard']['msgs_per_s']} vs {g['presidio']['msgs_per_s']} msg/s, {g.get('messages')} messages)"
            f" | recall meetguard {_recall_line(g.get('recall_meetguard'))}"
            f" | recall Presidio {_recall_line(g.get('recall_presidio'))}"
        )
        for p in g.get("scaling", []):
            lines.append(f"  scaling {p['messages']:>6} msgs: {p['seconds']} s, peak {p.get('peak_rss_mb')} MB")
    d = results.get("detection")
    if d:
        lines.append(f"detector: {d['meetguard'].get('msgs_per_s')} msg/s, speedup {d.get('speedup')}x over Presidio,"
                     f" recall {_recall_line(d['meetguard'].get('recall'))}")
    f = results.get("french")
    if f:
        tp = f.get("throughput_cues_per_s", {})
        lines.append(f"French detection: {tp.get('fr')} cues/s vs English {tp.get('en')} (ratio "
                     f"{f.get('french_over_english')}); ordinary words replaced "
                     f"{f['french_detector']['ordinary_share_of_words']:.2%} vs "
                     f"{f['english_detector']['ordinary_share_of_words']:.2%} with the English detector")
        es = f.get("spanish")
        if es:
            lines.append(f"  Spanish subtitles: ordinary words replaced {es['english_detector']['ordinary_share_of_words']:.2%}"
                         f" (English detector), {es['french_detector']['ordinary_share_of_words']:.2%} (French)")
    t = results.get("transcribe")
    if t:
        for backend, clips in t.get("rtf", {}).items():
            lines.append(f"transcribe {backend}: RTF " + ", ".join(f"{c} {v}" for c, v in clips.items()))
        po = t.get("pipeline_overhead")
        if po:
            lines.append(f"  pipeline overhead: {po.get('overhead_s')} s ({po.get('ratio')}x bare backend)")
    s = results.get("sidecar")
    if s:
        for c, v in s.get("concurrency", {}).items():
            lines.append(f"sidecar {c}: {v['rps']} req/s, p50 {v['p50_ms']} ms, p99 {v['p99_ms']} ms")
    la = results.get("longaudio")
    if la:
        lines.append(
            f"long audio: peak RSS {la['long']['minutes']} min {la['long']['streaming']['peak_rss_mb']} MB vs "
            f"{la['short']['minutes']} min {la['short']['streaming']['peak_rss_mb']} MB "
            f"(ratio {la['ratio_streaming_peak']}); in-memory redaction {la['long']['in_memory']['peak_rss_mb']} MB"
            f" vs {la['short']['in_memory']['peak_rss_mb']} MB (ratio {la['ratio_in_memory_peak']})"
        )
    return lines


# --- plots -----------------------------------------------------------------------------------------


def draw_plots(results: dict[str, dict[str, Any]], img_dir: Path) -> dict[str, str]:
    """PNG plots for the results at hand; returns name -> file name."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    img_dir.mkdir(parents=True, exist_ok=True)
    made: dict[str, str] = {}

    def save(fig: Any, name: str) -> None:
        fig.tight_layout()
        fig.savefig(img_dir / f"{name}.png", dpi=100)
        plt.close(fig)
        made[name] = f"{name}.png"

    g = results.get("guard")
    if g:
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
        names = ["meetguard Guard", "plain Presidio"]
        rates = [g["guard"]["msgs_per_s"], g["presidio"]["msgs_per_s"]]
        ax1.bar(names, rates, color=["tab:blue", "tab:gray"])
        ax1.set_ylabel("messages / s")
        ax1.set_title(f"throughput ({g.get('messages')} messages): {g.get('ratio')}x")
        rm, rp = g.get("recall_meetguard", {}), g.get("recall_presidio", {})
        types = list(rm)
        x = range(len(types))
        ax2.bar([i - 0.2 for i in x], [rm[t] for t in types], 0.4, label="meetguard")
        ax2.bar([i + 0.2 for i in x], [rp.get(t, 0) for t in types], 0.4, label="Presidio", color="tab:gray")
        ax2.set_xticks(list(x), types, rotation=60, ha="right", fontsize=7)
        ax2.set_ylim(0, 1.25)
        ax2.set_yticks([0, 0.2, 0.4, 0.6, 0.8, 1.0])
        ax2.set_title("corpus recall per entity type")
        ax2.legend(fontsize=8, loc="upper left", ncol=2)
        save(fig, "guard_vs_presidio")
        pts = g.get("scaling", [])
        if pts:
            fig, ax = plt.subplots(figsize=(6, 4))
            n = [p["messages"] for p in pts]
            ax.plot(n, [p["seconds"] for p in pts], "o-", label="seconds")
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlabel("messages in the chat")
            ax.set_ylabel("guard seconds (models warm)")
            ax2 = ax.twinx()
            ax2.plot(n, [p.get("peak_rss_mb", 0) for p in pts], "s--", color="tab:red", label="peak RSS")
            ax2.set_ylabel("peak RSS (MB)", color="tab:red")
            ax2.set_ylim(bottom=0)
            ax.set_title("scaling: time and peak memory")
            save(fig, "scaling")
    t = results.get("transcribe")
    if t and t.get("rtf"):
        fig, ax = plt.subplots(figsize=(6, 4))
        backends = list(t["rtf"])
        clips = sorted({c for v in t["rtf"].values() for c in v})
        width = 0.8 / max(1, len(clips))
        for k, clip in enumerate(clips):
            ax.bar([i + k * width for i in range(len(backends))],
                   [t["rtf"][b].get(clip, 0) for b in backends], width, label=clip)
        ax.set_xticks([i + width * (len(clips) - 1) / 2 for i in range(len(backends))], backends)
        ax.set_ylabel("real-time factor (lower is faster)")
        ax.set_title("transcription RTF (tiny.en, CPU)")
        ax.legend(fontsize=8)
        save(fig, "transcribe_rtf")
    s = results.get("sidecar")
    if s and s.get("concurrency"):
        conc = s["concurrency"]
        keys = list(conc)
        xs = [int(k.lstrip("c")) for k in keys]
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
        ax1.plot(xs, [conc[k]["rps"] for k in keys], "o-")
        ax1.set_xlabel("concurrent clients")
        ax1.set_ylabel("requests / s")
        ax1.set_ylim(bottom=0)
        ax1.set_title("sidecar throughput")
        ax2.plot(xs, [conc[k]["p50_ms"] for k in keys], "o-", label="p50")
        ax2.plot(xs, [conc[k]["p99_ms"] for k in keys], "s--", label="p99")
        ax2.set_xlabel("concurrent clients")
        ax2.set_ylabel("latency (ms)")
        ax2.set_title("sidecar latency")
        ax2.legend()
        save(fig, "sidecar")
    la = results.get("longaudio")
    if la:
        fig, ax = plt.subplots(figsize=(6, 4))
        labels = [f"{la['short']['minutes']:g} min", f"{la['long']['minutes']:g} min"]
        stream = [la["short"]["streaming"]["peak_rss_mb"], la["long"]["streaming"]["peak_rss_mb"]]
        mem = [la["short"]["in_memory"]["peak_rss_mb"], la["long"]["in_memory"]["peak_rss_mb"]]
        ax.bar([0 - 0.2, 1 - 0.2], stream, 0.4, label="transcribe + redact_to_wav (streaming)")
        ax.bar([0 + 0.2, 1 + 0.2], mem, 0.4, label="load + apply + to_wav_bytes (in memory)", color="tab:gray")
        ax.set_xticks([0, 1], labels)
        ax.set_ylabel("peak RSS (MB)")
        ax.set_title("guarding a long recording: peak memory")
        ax.legend(fontsize=8)
        save(fig, "longaudio_memory")
    return made


# --- markdown --------------------------------------------------------------------------------------


def _machine() -> dict[str, Any]:
    info: dict[str, Any] = {"cpus": os.cpu_count(), "platform": platform.platform(),
                            "python": platform.python_version()}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                info["memory_gb"] = round(int(line.split()[1]) / 2**20, 1)
                break
    except OSError:
        pass
    return info


def _leaks_section(r: dict[str, Any] | None) -> list[str]:
    """bench_audio_leaks: per clip, values audible / partly in the transcript / words to keep lost."""
    if not r:
        return []
    ears = [k[len("audible_"):] for k in r.get("tuning", {}) if k.startswith("audible_")]
    md = ["## Audio leaks after release (#23)", "",
          ("Every clip of tests/fixtures/speech/leaks guarded whole (tiny.en transcript, base verification; "
           "names, emails, phones, cards, places redacted, audio bleeped), then the released WAV heard again by "
           "sphinx (CMU PocketSphinx: a model the product did not use) and whisper-base (the product's own "
           "verification model, primed with the roster: not independent, but the sharpest ear here) and the "
           "released transcript read: values with any "
           "piece still audible (a name word, an email word, 3+ digits), values with a piece in the transcript, "
           "share of the words to keep lost. A refused release (verification failed closed) releases nothing "
           "and loses every word to keep."), ""]
    for part, label in (("tuning", "Tuning clips"), ("held_out", "Held out (voice and wordings not looked at)")):
        t = r.get(part) or {}
        if t.get("clips"):
            md.append(f"- {label}: {t['clips']} clips, {t['values']} values: audible "
                      + ", ".join(f"{t.get('audible_' + e)} ({e})" for e in ears)
                      + f"; partly in the transcript {t['partial']}; refused {t['refused']}; words to keep lost "
                      f"{t['keep_lost_mean']:.1%} on average.")
    head = ["clip", "voice", "decision", "values", *[f"audible ({e})" for e in ears], "partial", "keep lost"]
    rows = [(c["clip"].split("__")[0], c["voice"] + (" (held out)" if c["held_out"] else ""), c["decision"],
             c["values"], *[c.get("audible_" + e) for e in ears], c["partial"], f"{c['keep_lost']:.0%}")
            for c in r.get("clips", [])]
    return [*md, "", *_table(head, rows), ""]


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return out


def _guard_fairness(g: dict[str, Any]) -> list[str]:
    """How the guard's ratio was measured, and per type the recall beside it (bench_guard.py)."""
    if "rounds" not in g:
        return []
    one, machine = g.get("guard_one_process", {}), g.get("machine", {})
    out = [(f"Each side in a fresh process per round, {g['rounds']} rounds interleaved, fastest round shown "
            f"(meetguard with {g.get('workers')} detection workers: {g['guard'].get('rounds_s')} s; in one process: "
            f"{one.get('rounds_s')} s; Presidio: {g['presidio'].get('rounds_s')} s). In one process meetguard is "
            f"**{g.get('ratio_one_process')}x** faster; in CPU seconds of the two single processes "
            f"**{g.get('ratio_cpu')}x** ({one.get('cpu_s')} s against {g['presidio'].get('cpu_s')} s). "
            f"1-minute load average {machine.get('loadavg_1m')} before, {machine.get('loadavg_1m_after')} after, "
            f"on {machine.get('cpus')} CPUs."), ""]
    every = g.get("presidio_all")
    if every:
        out += [(f"Presidio above is its default registry. Against Presidio running every recognizer it "
                 f"predefines for English (the floor's set; rounds {every.get('rounds_s')} s, CPU "
                 f"{every.get('cpu_s')} s), meetguard is **{g.get('ratio_all')}x** faster with "
                 f"{g.get('workers')} workers, **{g.get('ratio_all_one_process')}x** in one process, "
                 f"**{g.get('ratio_all_cpu')}x** in CPU seconds."), ""]
    typed = g.get("typed", {}).get("recall", {})
    rm, rp, clear = g.get("recall_meetguard", {}), g.get("recall_presidio", {}), g["guard"].get("released_in_clear", {})
    types = sorted(set(rm) | set(typed.get("meetguard", {})))
    out += _table(["type", "recall meetguard", "recall Presidio", "values in clear after meetguard",
                   "typed recall meetguard", "typed recall Presidio"],
                  [(t, rm.get(t, ""), rp.get(t, ""), clear.get(t, ""), typed.get("meetguard", {}).get(t, ""),
                    typed.get("presidio", {}).get(t, "")) for t in types])
    if "typed" in g:
        out += ["", (f"Recall on the timed messages (benchmarks/corpus.py gold, same type); values in clear: gold "
                     f"values still readable in the released chat of the timed run; typed: "
                     f"{g['typed'].get('messages')} messages of benchmarks/corpus_typed.py (any type covering "
                     f"every letter and digit), floor misses **{g['typed'].get('floor_miss_count')}**.")]
    return [*out, ""]


def render_markdown(run: dict[str, Any], results: dict[str, dict[str, Any]], plots: dict[str, str],
                    img_prefix: str) -> str:
    m = run["machine"]
    md = [
        "# Benchmarks",
        "",
        "Generated by `benchmarks/run_all.py` from the JSON in `benchmarks/results/`; do not edit by hand.",
        ("`make bench` runs the whole suite (the one-hour recording alone takes 30-60 minutes of openai-whisper "
        "tiny.en on 2 busy cores, about 10 with `--long-backend faster-whisper`; `--long-minutes N` shortens it, `--only NAME ...` "
        "reruns some benches and keeps the others' results). `make bench QUICK=1` is a smoke run with tiny "
        "sizes into `benchmarks/results/quick/`; the test suite runs it and checks its JSON, never its timings."),
        "",
        f"- command: `{run['command']}`",
        f"- date: {run['date']}",
        (f"- machine: {m.get('cpu', '?')}, {m.get('cpus')} CPUs, {m.get('memory_gb', '?')} GB RAM, "
        f"{m.get('platform')}, Python {m.get('python')}"),
        f"- git: `{run.get('git', '?')}`",
        "",
        ("Timings on a small shared machine are noisy: compare the ratios measured within one run "
        "(meetguard against Presidio, long against short) rather than absolute numbers across runs."),
        "",
    ]
    status_rows = [(n, "ok" if "error" not in s else f"FAILED ({s['error']})", s["seconds"], s.get("date", ""),
                    f"`{s.get('command', '')}`") for n, s in run["benches"].items()]
    md += _table(["bench", "status", "wall s", "ran", "command"], status_rows) + [""]

    def plot(name: str) -> None:
        if name in plots:
            md.extend([f"![{name}]({img_prefix}{plots[name]})", ""])

    g = results.get("guard")
    if g:
        md += ["## 1. Chat guard throughput vs plain Presidio", "",
               (f"The same {g.get('messages')} synthetic chat messages (benchmarks/corpus.py), models loaded "
               "beforehand on both sides: meetguard's whole `guard.process` (parse, decide, detect, pseudonymize, "
               "release, audit) against Presidio's `AnalyzerEngine` + `AnonymizerEngine` per message with the "
               "same spaCy model."), ""]
        md += _table(["", "msg/s", "seconds", "mean recall", "PII-free messages unchanged"], [
            ("meetguard", g["guard"]["msgs_per_s"], g["guard"]["seconds"], _mean(list(g["recall_meetguard"].values())),
             g.get("pii_free_unchanged_meetguard")),
            ("plain Presidio", g["presidio"]["msgs_per_s"], g["presidio"]["seconds"],
             _mean(list(g["recall_presidio"].values())), g.get("pii_free_unchanged_presidio")),
        ])
        md += ["", (f"**Ratio: {g.get('ratio')}x** plain Presidio's time, with recall "
               f"{_recall_line(g.get('recall_meetguard'))} (Presidio: {_recall_line(g.get('recall_presidio'))})."), ""]
        md += _guard_fairness(g)
        plot("guard_vs_presidio")
        if g.get("scaling"):
            md += ["## 2. Scaling (messages 100 -> 20,000)", "",
                   ("Each size in a fresh process with in-process detection (`detection_workers=0`); "
                    "peak RSS is that process's VmHWM, models included."), ""]
            md += _table(["messages", "seconds", "msg/s", "peak RSS MB"],
                         [(p["messages"], p["seconds"], p.get("msgs_per_s"), p.get("peak_rss_mb"))
                          for p in g["scaling"]])
            md.append("")
            plot("scaling")
    d = results.get("detection")
    if d:
        md += ["### Detector alone", ""]
        rows = [("meetguard", d["meetguard"].get("msgs_per_s"), _mean(list(d["meetguard"].get("recall", {}).values())),
                 d["meetguard"].get("pii_free_unchanged"))]
        if "presidio" in d:
            rows.append(("plain Presidio", d["presidio"].get("msgs_per_s"),
                         _mean(list(d["presidio"].get("recall", {}).values())), d["presidio"].get("pii_free_unchanged")))
        md += _table(["detector", "msg/s", "mean recall", "PII-free unchanged"], rows)
        md += ["", f"{d.get('messages')} messages; speedup {d.get('speedup')}x; targets: "
               + ", ".join(f"{k} {'yes' if v else 'NO'}" for k, v in d.get("targets_met", {}).items()), ""]
        md += _typed_section(d.get("typed"))
    t = results.get("transcribe")
    if t:
        md += ["## 3. Transcription real-time factor and pipeline overhead", "",
               "Seconds of compute per second of audio (lower is faster), best of the runs, tiny.en on CPU.", ""]
        clips = sorted({c for v in t.get("rtf", {}).values() for c in v})
        md += _table(["backend", *clips], [(b, *(v.get(c, "") for c in clips)) for b, v in t.get("rtf", {}).items()])
        po = t.get("pipeline_overhead")
        if po:
            md += ["", (f"Pipeline overhead (`transcribe_audio`: decode, quiet-point chunking, hashing, document) on "
                   f"{po.get('clip')}: {po.get('transcribe_audio_s')} s against {po.get('bare_backend_s')} s of bare "
                   f"backend calls, **{po.get('overhead_s')} s ({po.get('ratio')}x)**.")]
        wg = t.get("whole_guard")
        if wg:
            md += ["", (f"Whole guard of a {wg.get('minutes'):g}-minute recording (the leak corpus looped; "
                   f"{wg.get('decodes')}, detection, bleeping): **{wg.get('guard_rtf')}x real time**, beside bare "
                   f"tiny.en on the same file in the same run {wg.get('bare_rtf')}x ({wg.get('guard_over_bare')}x "
                   f"bare); decision: {wg.get('decision')}.")]
        md.append("")
        plot("transcribe_rtf")
    md += _leaks_section(results.get("audio_leaks"))
    s = results.get("sidecar")
    if s:
        md += ["## 4. Sidecar requests/s and latency", "", f"{s.get('payload', '')}.", ""]
        md += _table(["concurrency", "requests", "req/s", "p50 ms", "p99 ms"],
                     [(k.lstrip("c"), v.get("requests"), v["rps"], v["p50_ms"], v["p99_ms"])
                      for k, v in s.get("concurrency", {}).items()])
        md += ["", (f"In-process `guard.process` p50: {s.get('library_p50_ms')} ms; HTTP overhead at p50: "
               f"{s.get('overhead_ms_p50')} ms ({s.get('overhead_ratio_p50')}x). {s.get('note', '')}"), ""]
        plot("sidecar")
    la = results.get("longaudio")
    if la:
        md += ["## 5. Peak memory guarding a one-hour recording", "",
               (f"{la.get('source')}. Each run in a fresh process: `transcribe_audio` ({la.get('backend')} "
               f"{la.get('model')}) -> windows (one per cue) -> `redact_to_wav` (streaming), and for contrast the "
               "same windows through the whole-recording path (`decode.load` + `apply` + `to_wav_bytes`)."), ""]
        lrows: list[tuple[Any, ...]] = []
        for key in ("short", "long"):
            r = la[key]
            st = r["streaming"]
            lrows.append((r["minutes"], st["cues"], st["windows"], st.get("rtf"), st["peak_rss_mb_after_load"],
                         st["peak_rss_mb_after_transcribe"], st["peak_rss_mb"], r["in_memory"]["peak_rss_mb"]))
        md += _table(["minutes", "cues", "windows", "RTF", "peak MB after model load", "peak MB after transcription",
                      "peak MB after redact_to_wav", "peak MB in-memory redaction"], lrows)
        md += ["", (f"**Streaming peak ratio long/short: {la['ratio_streaming_peak']}** (in-memory path: "
               f"{la['ratio_in_memory_peak']}). `redact_to_wav` added "
               f"{round(la['long']['streaming']['peak_rss_mb'] - la['long']['streaming']['peak_rss_mb_after_transcribe'], 1)}"
               f" MB over the transcription peak on the {la['long']['minutes']:g}-minute recording, which is "
               f"{la['long']['minutes'] / la['short']['minutes']:.0f}x the reference's length."), ""]
        plot("longaudio_memory")
    md += _batch_section(results.get("batch"))
    if str(HERE) not in sys.path:  # imported by file (tests), not run as a script
        sys.path.insert(0, str(HERE))
    from _cli_section import cli_section

    md += cli_section(results.get("cli"))
    return "\n".join(md) + "\n"


def _batch_section(b: dict[str, Any] | None) -> list[str]:
    if not b:
        return []
    md = ["## 6. Batch: an archive on the local pool and on Ray", "",
          (f"`meetguard batch` over one archive of {b.get('meetings')} meetings ({b.get('messages')} chat messages), "
           "each run the whole command into a fresh folder and audit log: workers start and load spaCy, guard, "
           "stage, and the driver appends every record to the one chain. Ray was started once beforehand "
           f"({b.get('ray_init_s')} s); its actors start inside each run, like the pool's processes. "
           "`busy s` sums the workers' per-meeting seconds, so wall minus busy/workers is start-up. "
           f"Each configuration ran {b.get('repeat', 1)} times, interleaved, and the fastest is shown; the "
           f"machine's 1-minute load average was {b.get('load_average_before')} before and "
           f"{b.get('load_average_after')} after on {b.get('machine', {}).get('cpus')} CPUs (shared), "
           "which caps what a second worker can add."), ""]
    md += _table(["engine", "workers", "wall s", "busy s", "meetings/min", "messages/s",
                  "steady messages/s", "per-worker peak MB"],
                 [(r["engine"], r["workers"], r["wall_s"], r["busy_s"], r["meetings_per_min"], r["messages_per_s"],
                   r.get("messages_per_busy_s"), ", ".join(f"{m:g}" for m in r["worker_peak_mb"]))
                  for r in b.get("runs", [])])
    md += ["", ("Speed-up from 1 to 2 workers (wall time, start-up included): "
                + ", ".join(f"{e} {v}x" for e, v in b.get("speedup_2_workers", {}).items())
                + ". `steady messages/s` is messages / busy s x workers: the rate once the workers are up. "
                "With the machine's two cores already loaded by other work, a second worker mostly adds its own "
                "start-up (a process or actor importing meetguard and loading spaCy); the batch needs free cores "
                "(or nodes) to scale, and a long archive to amortise start-up."), ""]
    md += _HUNDRED_NODES.splitlines()
    md += ["", (f"Measured in this run: the audit writer alone appends {b.get('audit_appends_per_s')} "
                "decision records/s on this machine's disk (flock + tail read + fsync each).")]
    return md


_HUNDRED_NODES = """\
### On paper: a 100-node cluster

What scales: the guarding itself. Each actor holds its own Guard (spaCy, Presidio, Whisper loaded once) and a \
meeting needs nothing from any other, so throughput grows with actors until something shared saturates. Model \
loading is paid once per actor, not per meeting (presidio#670's 30 minutes for 50k files came from re-serialising \
spaCy per task).

The bottlenecks, in the order they would bite:

1. **The single audit writer.** Every record goes through the driver: one `flock`, read of the tail, append and \
`fsync` per meeting. At a few ms per fsync that is a few hundred meetings/s, well above what 100 nodes guard \
(a meeting of real audio takes seconds to minutes of CPU), but it is one machine and one disk: it caps throughput \
on text-only archives and is a single point of failure.
2. **The driver's data path.** Results (redacted text and WAV) travel through Ray's object store to the driver, \
which writes every output folder. An hour of redacted 48 kHz stereo audio is ~700 MB: on a real cluster the \
actors should write their staging folders straight to the shared file system and send back only hashes.
3. **The shared file system** that every actor reads inputs from and writes outputs to.

How to shard: split the archive by a stable hash of the meeting id into S shards, one driver per shard (its own \
actors, its own `--out`, its own audit chain file). Each chain stays one verifiable chain; to keep one answer to \
"was this meeting guarded?", a small top-level log records each shard chain's final `hash` and `seq` when the \
shard finishes (a chain of chains, verified by `audit verify` per shard plus the top log). Resume works per \
shard unchanged, because it keys on meeting, purpose, recipient, policy and input hashes, not on position."""


def _git() -> str:
    try:
        proc = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              cwd=REPO, check=False, timeout=10)
        return proc.stdout.strip() or "?"
    except (OSError, subprocess.SubprocessError):
        return "?"


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="run the benchmark suite")
    ap.add_argument("--quick", action="store_true", help="tiny sizes; results under benchmarks/results/quick/")
    ap.add_argument("--only", nargs="+", choices=[b.name for b in BENCHES], help="run just these benches")
    ap.add_argument("--render-only", action="store_true", help="redraw plots and markdown from the saved JSON")
    ap.add_argument("--long-minutes", type=float,
                    help="length of bench_longaudio's long recording (default: its own, 60 min)")
    ap.add_argument("--long-backend", help="bench_longaudio's transcriber backend (default: openai-whisper)")
    ap.add_argument("--results-dir", type=Path,
                    help="write JSON, plots and markdown all here (default: see above)")
    args = ap.parse_args(argv)
    own_dir = args.quick or args.results_dir is not None
    out_dir = args.results_dir or (RESULTS / "quick" if args.quick else RESULTS)
    out_dir.mkdir(parents=True, exist_ok=True)
    img_dir = out_dir if own_dir else DOCS / "img"
    md_path = out_dir / "benchmarks.md" if own_dir else DOCS / "benchmarks.md"
    img_prefix = "" if own_dir else "img/"

    run_path = out_dir / "run.json"
    previous: dict[str, Any] = json.loads(run_path.read_text()) if run_path.exists() else {}
    selected = [b for b in BENCHES if (not args.only or b.name in args.only) and (b.in_quick or not args.quick)]
    results: dict[str, dict[str, Any]] = {}
    statuses: dict[str, dict[str, Any]] = dict(previous.get("benches", {})) if (args.only or args.render_only) else {}
    failed: list[str] = []
    if args.render_only:
        selected = []
    if args.only or args.long_minutes or args.long_backend or args.results_dir:
        command = shlex.join(["python", "benchmarks/run_all.py", *(argv if argv is not None else sys.argv[1:])])
    else:
        command = "make bench" + (" QUICK=1" if args.quick else "")
    for bench in selected:
        extra: list[str] = []
        if bench.name == "longaudio":
            extra += ["--minutes", f"{args.long_minutes:g}"] if args.long_minutes else []
            extra += ["--backend", args.long_backend] if args.long_backend else []
        data, status = run_bench(bench, args.quick, out_dir, extra)
        status["run_by"] = command
        statuses[bench.name] = status
        if data is None:
            failed.append(bench.name)
            print(f"run_all: {bench.name} FAILED: {status['error']}", file=sys.stderr, flush=True)
    for bench in BENCHES:
        path = out_dir / f"{bench.name}.json"
        if bench.name not in failed and path.exists() and bench.name in statuses:
            results[bench.name] = json.loads(path.read_text())
    if args.render_only:
        command = str(previous.get("command", "python benchmarks/run_all.py"))
    else:  # the invocations that produced the results shown, in order
        shown = list(dict.fromkeys(str(st.get("run_by", command)) for st in statuses.values()))
        command = "; then ".join(shown) if shown else command
    run = {"command": command,
           "date": previous.get("date") if args.render_only else dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
           "machine": _machine(), "git": previous.get("git", "?") if args.render_only else _git(), "quick": args.quick, "benches": statuses}
    run_path.write_text(json.dumps(run, indent=1) + "\n", encoding="utf-8")
    plots = draw_plots(results, img_dir)
    md_path.write_text(render_markdown(run, results, plots, img_prefix), encoding="utf-8")
    print("\n".join(["", "== meetguard benchmarks ==", *summary_lines(results)]))
    if failed:
        print(f"FAILED: {', '.join(failed)}")
        return 1
    print(f"results: {out_dir}/  report: {md_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
