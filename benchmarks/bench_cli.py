"""How fast the first commands answer: the CLI against ``python -c pass`` in the same run.

    python benchmarks/bench_cli.py [--quick] [--runs N] [--out FILE]

Each command runs ``--runs`` times in a fresh process (the console script of this
venv, this checkout first on PYTHONPATH); the median wall time and the child's CPU
time (user + system) are reported beside the baseline, a bare interpreter start
measured the same way in the same run. The targets (#26): a usage error or a
missing file under 2 s, ``policy check`` under 3 s, ``report`` of an existing
release under 3 s. The release the report reads is made once, untimed, with the
library and a scripted detector (the report's cost does not depend on how the
release was made). The first run after installing or changing a recognizer plugin
also fills the plugin entity-type cache (imports the plugins): it is reported
separately as ``cold_policy_check`` with a fresh ``MEETGUARD_CACHE``.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from _output import emit

EXAMPLES = REPO / "examples"
TARGETS_S = {"usage_error": 2.0, "missing_file": 2.0, "policy_check": 3.0, "report": 3.0}


def _meetguard() -> list[str]:
    script = Path(sys.executable).parent / "meetguard"
    return [str(script)] if script.exists() else [sys.executable, "-m", "meetguard.cli"]


def _once(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float, int]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, done.returncode


def _measure(argv: list[str], runs: int, env: dict[str, str], cwd: Path) -> dict[str, Any]:
    walls, cpus, codes = [], [], set()
    for _ in range(runs):
        wall, cpu, code = _once(argv, env, cwd)
        walls.append(wall)
        cpus.append(cpu)
        codes.add(code)
    return {"wall_s": round(statistics.median(walls), 3), "cpu_s": round(statistics.median(cpus), 3),
            "wall_max_s": round(max(walls), 3), "exit": sorted(codes)}


def _release(work: Path) -> tuple[Path, Path]:
    """A guard output folder and its audit log, made with the library (untimed)."""
    from meetguard.cli import main
    from meetguard.testing import FakeDetector, guard_factory

    out, audit = work / "released", work / "audit.jsonl"
    code = main(["guard", "--policy", str(EXAMPLES / "policy.yaml"), "--purpose", "summarization",
                 "--recipient", "summarizer", "--chat", str(EXAMPLES / "meeting" / "meeting_saved_chat.txt"),
                 "--transcript", str(EXAMPLES / "meeting" / "transcript.vtt"), "--out", str(out),
                 "--audit", str(audit)], guard_factory=guard_factory(detector=FakeDetector()))
    if code != 0:
        raise SystemExit(f"bench_cli: could not make the release (exit {code})")
    return out, audit


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="2 runs per command")
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--out", help="also write the JSON here")
    args = ap.parse_args(argv)
    runs = 2 if args.quick else args.runs
    work = Path(tempfile.mkdtemp(prefix="bench-cli-"))
    try:
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        out, audit = _release(work)
        mg = _meetguard()
        policy = str(EXAMPLES / "policy.yaml")
        commands = {
            "usage_error": [*mg, "guard", "--purpose", "summarization"],
            "missing_file": [*mg, "guard", "--policy", str(work / "missing.yaml"), "--purpose", "summarization",
                             "--chat", "chat.txt", "--out", str(work / "o")],
            "version": [*mg, "--version"],
            "policy_check": [*mg, "policy", "check", policy],
            "report": [*mg, "report", str(out), "--audit", str(audit), "--policy", policy],
        }
        cold_env = {**env, "MEETGUARD_CACHE": str(work / "cold-cache")}
        cold = _measure(commands["policy_check"], 1, cold_env, work)
        _once(commands["policy_check"], env, work)        # warm the plugin cache of this environment
        baseline = _measure([sys.executable, "-c", "pass"], runs, env, work)
        results: dict[str, Any] = {}
        for name, cmd in commands.items():
            r = _measure(cmd, runs, env, work)
            r["over_baseline_s"] = round(r["wall_s"] - baseline["wall_s"], 3)
            if name in TARGETS_S:
                r["target_s"] = TARGETS_S[name]
                r["meets_target"] = r["wall_s"] < TARGETS_S[name]
            results[name] = r
        report = {"runs": runs, "baseline_python_c_pass": baseline, "commands": results,
                  "cold_policy_check": cold, "load_avg": [round(x, 2) for x in os.getloadavg()],
                  "all_targets_met": all(r.get("meets_target", True) for r in results.values())}
        emit(report, args.out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
