"""A/B of round 11's call-path changes (#24 speed): the guard in one process on the bench's
3,000 messages (``bench_guard.guard_seconds``, workers=0), fresh process per run, interleaved,
with the changes on (``new``) or switched off by patching (``old``: no gc pause around the text
pass, the items' languages read serially, no digit-run gate before the Presidio prefilters).

    python benchmarks/ab_callpath.py [ROUNDS]

Prints each run's wall and CPU seconds (the process's, lingua's threads included) and, per
side, the best wall and the best and median CPU seconds.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

CODE = r'''
import contextlib, json, pathlib, sys, tempfile
sys.path[:0] = [HERE, str(pathlib.Path(HERE).parent)]
mode = sys.argv[1]
if mode == "old":
    import meetguard.detection as D
    import meetguard.detection._engine as E
    import meetguard.detection._presidio as PR
    import meetguard.pipeline as P
    D.collector_paused = E.paused = contextlib.nullcontext
    PR._digit_run = lambda prefilter: 0
    languages = P.document_languages
    P.document_languages = lambda *a, **k: languages(*a, **{**k, "parallel": False})
from bench_guard import guard_seconds
from corpus import generate
msgs = generate(3000, seed=11)
with tempfile.TemporaryDirectory() as d:
    r = guard_seconds(msgs, pathlib.Path(d), 0)
print(json.dumps({"mode": mode, "seconds": r["seconds"], "cpu_s": r["cpu_s"]}))
'''.replace("HERE", repr(str(HERE)))


def main() -> int:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 4
    res: dict[str, list[tuple[float, float]]] = {"old": [], "new": []}
    for k in range(rounds):
        for mode in (("old", "new") if k % 2 == 0 else ("new", "old")):
            out = subprocess.run([sys.executable, "-c", CODE, mode], capture_output=True, text=True, check=True)
            r = json.loads(out.stdout.strip().splitlines()[-1])
            res[mode].append((r["seconds"], r["cpu_s"]))
            print(r, "load", round(os.getloadavg()[0], 2), flush=True)
    for mode, runs in res.items():
        cpu = sorted(x[1] for x in runs)
        print(mode, "best wall", min(x[0] for x in runs), "best cpu", cpu[0], "median cpu", cpu[len(cpu) // 2])
    return 0


if __name__ == "__main__":
    sys.exit(main())
