"""Guard benchmark: a whole chat export through ``guard.process_sync`` against
plain Presidio on the same messages, same spaCy model, same run; and the
scaling curve (time and peak memory from 100 to 20,000 messages).

    python benchmarks/bench_guard.py [--quick] [--out FILE] [--workers N] [--rounds R] [--no-scaling] [--no-typed]

Prints a table (ratio and per-type recall side by side), then one JSON object.

Timing. Each side runs in a fresh process per round, the rounds interleaved
(meetguard with ``--workers`` detection processes, meetguard in one process,
plain Presidio, the order turning each round), and each side's fastest round
counts: on a shared machine the best of several interleaved runs is the one
least disturbed. Models are loaded before the clock starts (``warm_s``).
Plain Presidio is ``AnalyzerEngine`` with its default registry on the same
spaCy model, ``analyze`` then ``AnonymizerEngine.anonymize`` per message; a second
baseline (``presidio_all``, ``ratio_all*``; ``--no-presidio-all`` skips it) adds every
recognizer Presidio predefines for English, the set the floor runs (slower than the
default registry, so ``ratio`` is the stricter figure).
``ratio`` = Presidio's seconds / meetguard's (``--workers``) seconds;
``ratio_one_process`` compares meetguard's single process (``workers=0``), and
``ratio_cpu`` the CPU seconds of those two single processes (what each side
computes, whatever else the machine runs).

Recall, so speed is never bought with detection: ``recall_meetguard`` /
``recall_presidio`` per type on the timed messages (benchmarks/corpus.py gold,
same type); ``released_in_clear``: gold values still readable in meetguard's
released chat (from the timed runs); ``typed``: both sides per type on
benchmarks/corpus_typed.py, values as people type them, with the floor misses
(values Presidio covers more of than meetguard; tests/test_detection_floor.py
asserts 0).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from _meeting import policy_yaml, write_zoom_chat
from _output import emit
from bench_detection import run_meetguard, run_typed, score
from corpus import Message, generate

POLICY = policy_yaml("bench")
SEED = 11


def write_export(messages: Sequence[Message], path: Path) -> None:
    """A Zoom local chat export (current layout) holding the messages."""
    write_zoom_chat((m.text for m in messages), path)


def in_clear(messages: Sequence[Message], released: str) -> dict[str, int]:
    """Per type, gold values whose text is still in the released chat: each message's
    own line where the release keeps one line per message, else anywhere in it."""
    lines = [line[1:] for line in released.splitlines() if line.startswith("\t")]
    per_message = len(lines) == len(messages)
    out: dict[str, int] = defaultdict(int)
    for k, m in enumerate(messages):
        where = lines[k] if per_message else released
        for g in m.gold:
            out[g.entity_type] += g.value in where
    return dict(sorted(out.items()))


def guard_seconds(messages: Sequence[Message], workdir: Path, workers: int) -> dict[str, Any]:
    from meetguard import Guard, GuardOptions, Meeting

    policy = workdir / "policy.yaml"
    policy.write_text(POLICY)
    export = workdir / f"chat-{len(messages)}.txt"
    write_export(messages, export)
    guard = Guard.from_policy(policy, GuardOptions(audit_path=workdir / "audit.jsonl",
                                                   detection_workers=workers))
    t0 = time.perf_counter()
    guard.warm(audio=False)
    # lingua's models load on a guard's first document, not in Guard.warm (the sidecar's memory
    # bound, tests/test_audio_bomb.py): loaded here, before the clock, as Presidio's are below
    from meetguard.detection import detect_item_language

    detect_item_language("a warm-up line long enough for the language detector to read it")
    warm = time.perf_counter() - t0
    t0, c0 = time.perf_counter(), time.process_time()
    meeting = Meeting.from_files(chat=[export])
    result = guard.process_sync(meeting, "summarization")
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    guard.close()
    assert result.decision == "release", result.reasons
    released = "\n".join(v.decode("utf-8", "replace") for k, v in result.outputs.items() if k.endswith(".txt"))
    out = {"messages": len(messages), "workers": workers, "warm_s": round(warm, 2), "seconds": round(elapsed, 3),
           "msgs_per_s": round(len(messages) / elapsed, 1), "released_in_clear": in_clear(messages, released)}
    if workers == 0:   # with worker processes the parent's CPU time is not the whole
        out["cpu_s"] = round(cpu, 3)
    return out


def presidio_seconds(messages: Sequence[Message], every_recognizer: bool = False) -> dict[str, Any]:
    """Plain Presidio: analyze + anonymize per message, the same spaCy model; its default
    registry, or with ``every_recognizer`` every recognizer it predefines for English (the
    floor's own set: bench_thirdparty.presidio_all)."""
    from bench_detection import plain_presidio
    from bench_thirdparty import presidio_all
    from presidio_anonymizer import AnonymizerEngine

    t0 = time.perf_counter()
    analyzer = presidio_all("en") if every_recognizer else plain_presidio()
    anonymizer = AnonymizerEngine()
    analyzer.analyze("warm up", language="en")
    warm = time.perf_counter() - t0
    found = []
    t0, c0 = time.perf_counter(), time.process_time()
    for m in messages:
        res = analyzer.analyze(m.text, language="en")
        anonymizer.anonymize(m.text, res)
        found.append([(r.start, r.end, r.entity_type) for r in res])
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {"warm_s": round(warm, 2), "seconds": round(elapsed, 3), "cpu_s": round(cpu, 3),
            "msgs_per_s": round(len(messages) / elapsed, 1), "found": found}


def _fresh(call: str, n: int) -> dict[str, Any]:
    """``call`` (an expression over ``msgs`` and a temporary folder ``d``) in a new process."""
    code = (
        "import json, sys, tempfile, pathlib\n"
        f"sys.path[:0] = [{str(HERE)!r}, {str(HERE.parent)!r}]\n"
        "from bench_guard import guard_seconds, presidio_seconds\nfrom corpus import generate\n"
        f"msgs = generate({n}, seed={SEED})\n"
        "with tempfile.TemporaryDirectory() as d:\n"
        f"    r = {call}\n"
        "print(json.dumps(r))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"{call} failed: {out.stderr.strip()[-2000:]}")
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def interleaved(n: int, workers: int, rounds: int, every: bool = True) -> dict[str, list[dict[str, Any]]]:
    """Every side once per round, each in a fresh process, the order turning each round."""
    sides = {"guard": f"guard_seconds(msgs, pathlib.Path(d), {workers})",
             "presidio": "presidio_seconds(msgs)"}
    if every:
        sides["presidio_all"] = "presidio_seconds(msgs, every_recognizer=True)"
    if workers:
        sides["guard_one_process"] = "guard_seconds(msgs, pathlib.Path(d), 0)"
    names = list(sides)
    runs: dict[str, list[dict[str, Any]]] = {k: [] for k in names}
    for r in range(rounds):
        for name in names[r % len(names):] + names[:r % len(names)]:
            runs[name].append(_fresh(sides[name], n))
    return runs


def _best(runs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    best = dict(min(runs, key=lambda x: x["seconds"]))
    best["rounds_s"] = [x["seconds"] for x in runs]
    if all("cpu_s" in x for x in runs):
        best["cpu_s"] = min(x["cpu_s"] for x in runs)
    return best


def _scaling_point(n: int, workers: int) -> dict[str, Any]:
    """One size in a fresh process, so peak RSS belongs to that size alone."""
    code = (
        "import json, resource, sys, tempfile, pathlib\n"
        f"sys.path[:0] = [{str(HERE)!r}, {str(HERE.parent)!r}]\n"
        "from bench_guard import guard_seconds\nfrom corpus import generate\n"
        f"msgs = generate({n}, seed=7)\n"
        "with tempfile.TemporaryDirectory() as d:\n"
        f"    r = guard_seconds(msgs, pathlib.Path(d), {workers})\n"
        "from _mem import peak_rss_mb\n"
        "r['peak_rss_mb'] = peak_rss_mb()\n"
        "print(json.dumps(r))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def table(report: dict[str, Any]) -> str:
    """The ratio and, per type, both sides' recall on the timed messages and on typed values."""
    typed = report.get("typed", {}).get("recall", {})
    rows = [(f"ratio {report['ratio']}x (meetguard workers={report['workers']}, best of {report['rounds']} "
             f"interleaved rounds); one process {report.get('ratio_one_process')}x, CPU {report.get('ratio_cpu')}x; "
             f"against every predefined recognizer {report.get('ratio_all')}x, one process "
             f"{report.get('ratio_all_one_process')}x"),
            f"{'type':<18} {'recall mg':>9} {'recall P':>9} {'in clear':>8} {'typed mg':>9} {'typed P':>8}"]
    types = sorted(set(report["recall_meetguard"]) | set(typed.get("meetguard", {})))
    clear = report["guard"].get("released_in_clear", {})
    for t in types:
        rows.append(f"{t:<18} {report['recall_meetguard'].get(t, ''):>9} {report['recall_presidio'].get(t, ''):>9} "
                    f"{clear.get(t, ''):>8} {typed.get('meetguard', {}).get(t, ''):>9} "
                    f"{typed.get('presidio', {}).get(t, ''):>8}")
    if "typed" in report:
        rows.append(f"floor misses (typed values Presidio covers more of): {report['typed']['floor_miss_count']}")
    return "\n".join(rows)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="guard throughput vs plain Presidio, and scaling")
    ap.add_argument("--quick", action="store_true", help="tiny sizes (a smoke run)")
    ap.add_argument("--out", type=Path)
    ap.add_argument("--workers", type=int, default=int(os.environ.get("MEETGUARD_BENCH_WORKERS", "2")))
    ap.add_argument("--rounds", type=int, default=0, help="interleaved rounds per side (default 3; quick 1)")
    ap.add_argument("--no-scaling", action="store_true", help="only the 3,000-message comparison")
    ap.add_argument("--no-typed", action="store_true", help="skip the per-type recall on corpus_typed.py")
    ap.add_argument("--no-presidio-all", action="store_true",
                    help="skip the second baseline (Presidio with every recognizer it predefines for English)")
    args = ap.parse_args(argv)

    n = 60 if args.quick else 3000
    rounds = args.rounds or (1 if args.quick else 3)
    messages = generate(n, seed=SEED)
    runs = interleaved(n, args.workers, rounds, not args.no_presidio_all)
    mine, plain = _best(runs["guard"]), _best(runs["presidio"])
    single = _best(runs["guard_one_process"]) if "guard_one_process" in runs else mine
    theirs = score(messages, plain.pop("found"))
    for r in runs["presidio"] + runs.get("presidio_all", []):
        r.pop("found", None)
    detector = run_meetguard(messages, 0, None)   # the same detector, for the per-type recall
    report: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0],
                    "loadavg_1m": round(os.getloadavg()[0], 2)},
        "messages": n,
        "workers": args.workers,
        "rounds": rounds,
        "guard": mine,
        "guard_one_process": single,
        "presidio": plain,
        "ratio": round(plain["seconds"] / mine["seconds"], 2),
        "ratio_one_process": round(plain["seconds"] / single["seconds"], 2),
        "ratio_cpu": round(plain["cpu_s"] / single["cpu_s"], 2) if "cpu_s" in single else None,
        "baseline": "AnalyzerEngine default registry (ratio*); every predefined recognizer (ratio_all*)",
        "recall_meetguard": detector["recall"],
        "recall_presidio": theirs["recall"],
        "pii_free_unchanged_meetguard": detector["pii_free_unchanged"],
        "pii_free_unchanged_presidio": theirs["pii_free_unchanged"],
    }
    if "presidio_all" in runs:
        every = _best(runs["presidio_all"])
        every.pop("found", None)
        report["presidio_all"] = every
        report["ratio_all"] = round(every["seconds"] / mine["seconds"], 2)
        report["ratio_all_one_process"] = round(every["seconds"] / single["seconds"], 2)
        report["ratio_all_cpu"] = round(every["cpu_s"] / single["cpu_s"], 2) if "cpu_s" in single else None
    if not args.no_typed:
        report["typed"] = run_typed(n, 10)
    sizes = [100, 300] if args.quick else [100, 1000, 5000, 20000]
    # in-process detection, so each size's peak memory is one process's whole peak
    report["scaling"] = [] if args.no_scaling else [_scaling_point(s, 0) for s in sizes]
    report["machine"]["loadavg_1m_after"] = round(os.getloadavg()[0], 2)
    print(table(report))
    emit(report, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
