"""Batch benchmark: one synthetic archive through ``meetguard batch`` with 1 and 2
workers, on the local process pool and on Ray, in the same run.

    python benchmarks/bench_batch.py [--quick] [--meetings N] [--messages M] [--out FILE]

Prints one JSON object. Each run is the whole command (scan, resume check,
workers starting and loading their models, guarding, staging, audit, summary)
into a fresh output folder and audit log; Ray is started once beforehand
(``ray_init_s``) and its actors are started inside each run, like the pool's
processes. ``busy_s`` is the sum of the workers' per-meeting seconds, so
``wall_s - busy_s / workers`` is roughly the start-up cost. Per-worker peak
memory is each worker's VmHWM, models included. Compare the ratios within a
run (2 workers against 1), not absolute numbers across machines.
"""

from __future__ import annotations

import argparse
import json
import os
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
from corpus import generate

POLICY = policy_yaml("bench-batch")


def build_archive(root: Path, meetings: int, per_meeting: int) -> tuple[Path, Path, int]:
    """(archive, policy, messages): one Zoom chat export per meeting folder."""
    policy = root / "policy.yaml"
    policy.write_text(POLICY)
    archive = root / "archive"
    messages = generate(meetings * per_meeting, seed=5)
    for m in range(meetings):
        folder = archive / f"meeting-{m:03d}"
        folder.mkdir(parents=True)
        write_zoom_chat((msg.text for msg in messages[m * per_meeting:(m + 1) * per_meeting]),
                        folder / "chat.txt", first_hour=10)
        (folder / "meeting.yaml").write_text(f"meeting_id: bench-{m:03d}\n")
    return archive, policy, len(messages)


def run_once(archive: Path, policy: Path, work: Path, engine: str, workers: int,
             messages: int) -> dict[str, Any]:
    from meetguard.audit import verify
    from meetguard.batch_run import BatchCommand, run_batch

    work.mkdir(parents=True, exist_ok=True)
    out = work / f"out-{engine}-{workers}"
    audit = work / f"audit-{engine}-{workers}.jsonl"
    cmd = BatchCommand(archive=str(archive), policy=str(policy), purpose="summarization",
                       out=str(out), audit=str(audit), workers=workers, engine=engine)
    t0 = time.perf_counter()
    code = run_batch(cmd)
    wall = time.perf_counter() - t0
    assert code == 0, f"{engine} x{workers}: exit {code}"
    assert verify(audit).ok, "the audit chain must verify"
    rows = json.loads((out / "batch-summary.json").read_text())["meetings"]
    peaks: dict[str, float] = {}
    for r in rows:
        peaks[r["worker"]] = max(peaks.get(r["worker"], 0.0), r["worker_peak_mb"])
    busy = sum(r["seconds"] for r in rows)
    return {"engine": engine, "workers": workers, "meetings": len(rows), "wall_s": round(wall, 2),
            "busy_s": round(busy, 2), "meetings_per_min": round(len(rows) / wall * 60, 1),
            "messages_per_s": round(messages / wall, 1),
            "messages_per_busy_s": round(messages / busy * workers, 1) if busy else None,
            "worker_peak_mb": sorted(peaks.values())}


def audit_appends_per_s(work: Path, n: int) -> float:
    """The single writer's ceiling: appends/s of one decision-sized record (flock, tail read, fsync)."""
    from meetguard.audit import AuditLog

    log = AuditLog(work / "rate.jsonl")
    record = {"policy_id": "bench-batch", "policy_sha256": "0" * 64, "purpose": "summarization",
              "recipient": "summarizer", "meeting_id": "bench", "decision": "release", "reasons": [],
              "excluded_participants": [], "entity_counts": {"PERSON": 3}, "retention_days": 30,
              "input_sha256": ["1" * 64], "output_sha256": {"chat.txt": "2" * 64}}
    t0 = time.perf_counter()
    for _ in range(n):
        log.append(record)
    return round(n / (time.perf_counter() - t0), 1)


def start_ray(cpus: int) -> tuple[Any, float]:
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    import ray

    t0 = time.perf_counter()
    ray.init(num_cpus=cpus, include_dashboard=False,
             log_to_driver=False, configure_logging=False)
    return ray, time.perf_counter() - t0


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="meetguard batch: local and Ray, 1 and 2 workers")
    ap.add_argument("--quick", action="store_true", help="a tiny archive, local engine only (a smoke run)")
    ap.add_argument("--meetings", type=int)
    ap.add_argument("--messages", type=int, help="messages per meeting")
    ap.add_argument("--repeat", type=int, default=2,
                    help="runs of each configuration, interleaved; the fastest is kept (a busy machine)")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args(argv)
    meetings = args.meetings or (4 if args.quick else 40)
    per = args.messages or (10 if args.quick else 100)
    engines = ["local"] if args.quick else ["local", "ray"]
    report: dict[str, Any] = {"machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
                              "meetings": meetings, "messages_per_meeting": per, "runs": []}
    with tempfile.TemporaryDirectory() as d:
        work = Path(d)
        archive, policy, messages = build_archive(work, meetings, per)
        report["messages"] = messages
        report["audit_appends_per_s"] = audit_appends_per_s(work, 50 if args.quick else 1000)
        ray = None
        if "ray" in engines:
            ray, report["ray_init_s"] = start_ray(2)
            report["ray_init_s"] = round(report["ray_init_s"], 2)
        report["load_average_before"] = round(os.getloadavg()[0], 2)
        best: dict[tuple[str, int], dict[str, Any]] = {}
        try:
            for rep in range(max(1, args.repeat)):
                order = [(e, w) for e in engines for w in (1, 2)]
                for engine, workers in order if rep % 2 == 0 else reversed(order):
                    r = run_once(archive, policy, work / f"rep{rep}", engine, workers, messages)
                    if (engine, workers) not in best or r["wall_s"] < best[(engine, workers)]["wall_s"]:
                        best[(engine, workers)] = r
        finally:
            if ray is not None:
                ray.shutdown()
        report["runs"] = [best[(e, w)] for e in engines for w in (1, 2)]
        report["repeat"] = max(1, args.repeat)
        report["load_average_after"] = round(os.getloadavg()[0], 2)
    by = {(r["engine"], r["workers"]): r for r in report["runs"]}
    report["speedup_2_workers"] = {e: round(by[(e, 1)]["wall_s"] / by[(e, 2)]["wall_s"], 2) for e in engines}
    emit(report, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
