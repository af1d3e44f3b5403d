"""Guard benchmark: a whole chat export through ``guard.process_sync`` against
plain Presidio on the same messages, same spaCy model, same run; and the
scaling curve (time and peak memory from 100 to 20,000 messages).

    python benchmarks/bench_guard.py [--quick] [--out FILE]

Prints one JSON object. ``ratio`` = plain Presidio's seconds / meetguard's
seconds for the same messages (models loaded beforehand in both). Recall is
the corpus recall of each side (benchmarks/corpus.py gold spans), so speed is
never bought with detection.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from _meeting import policy_yaml, write_zoom_chat
from _output import emit
from bench_detection import run_meetguard, run_presidio
from corpus import Message, generate

POLICY = policy_yaml("bench")


def write_export(messages: Sequence[Message], path: Path) -> None:
    """A Zoom local chat export (current layout) holding the messages."""
    write_zoom_chat((m.text for m in messages), path)


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
    warm = time.perf_counter() - t0
    t0 = time.perf_counter()
    meeting = Meeting.from_files(chat=[export])
    result = guard.process_sync(meeting, "summarization")
    elapsed = time.perf_counter() - t0
    guard.close()
    assert result.decision == "release", result.reasons
    return {"messages": len(messages), "warm_s": round(warm, 2), "seconds": round(elapsed, 3),
            "msgs_per_s": round(len(messages) / elapsed, 1)}


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


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="guard throughput vs plain Presidio, and scaling")
    ap.add_argument("--quick", action="store_true", help="tiny sizes (a smoke run)")
    ap.add_argument("--out", type=Path)
    ap.add_argument("--workers", type=int, default=int(os.environ.get("MEETGUARD_BENCH_WORKERS", "2")))
    ap.add_argument("--no-scaling", action="store_true", help="only the 3,000-message comparison")
    args = ap.parse_args(argv)

    n = 60 if args.quick else 3000
    messages = generate(n, seed=11)
    with tempfile.TemporaryDirectory() as d:
        mine = guard_seconds(messages, Path(d), args.workers)
    detector = run_meetguard(messages, args.workers, None)
    plain = run_presidio(messages)
    report: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "messages": n,
        "workers": args.workers,
        "guard": mine,
        "presidio": {k: plain[k] for k in ("warm_s", "seconds", "msgs_per_s")},
        "ratio": round(plain["seconds"] / mine["seconds"], 2),
        "recall_meetguard": detector["recall"],
        "recall_presidio": plain["recall"],
        "pii_free_unchanged_meetguard": detector["pii_free_unchanged"],
        "pii_free_unchanged_presidio": plain["pii_free_unchanged"],
    }
    sizes = [100, 300] if args.quick else [100, 1000, 5000, 20000]
    # in-process detection, so each size's peak memory is one process's whole peak
    report["scaling"] = [] if args.no_scaling else [_scaling_point(s, 0) for s in sizes]
    emit(report, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
