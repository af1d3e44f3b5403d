"""CPU of meetguard's own finders (issue #24, speed): every finder of ``default_registry`` over
the distinct texts of bench_guard's 3,000 messages, best of ``--rounds`` in one process.

    python benchmarks/bench_finders.py [--rounds N] [--out FILE]

Presidio's pattern recognizers (``presidio-patterns``) are timed too, but not counted in
``own_s``: their cost is how they are called (bench_guard.py), not a finder of meetguard's.
CPU seconds (``time.process_time``), so other load on the machine moves the figures less than
wall time; compare two trees in the same minutes.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from _output import emit
from bench_guard import SEED
from corpus import generate


def _best(fn: Callable[[], object], rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        t0 = time.process_time()
        fn()
        best = min(best, time.process_time() - t0)
    return round(best, 4)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--out")
    args = ap.parse_args(argv)
    from meetguard.detection._defaults import default_registry
    from meetguard.detection._finders import ScanContext

    texts = list(dict.fromkeys(m.text for m in generate(3000, seed=SEED)))
    registry = default_registry()
    registry.warm()
    ctx = ScanContext()
    per: dict[str, float] = {}
    for finder in registry.finders:
        per[finder.name] = _best(lambda f=finder: f.find_batch(texts, ctx), args.rounds)   # type: ignore[misc]
    report: dict[str, Any] = {"texts": len(texts), "rounds": args.rounds,
                              "own_s": round(sum(v for k, v in per.items() if k != "presidio-patterns"), 4),
                              "per_finder_s": per}
    emit(report, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
