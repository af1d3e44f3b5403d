"""docs/benchmarks.md's section on the first commands (bench_cli.py), for run_all.py."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return out


def cli_section(c: dict[str, Any] | None) -> list[str]:
    """Each command's median against `python -c pass` in the same run (#26)."""
    if not c:
        return []
    base = c["baseline_python_c_pass"]
    md = ["## The first commands: answered before any model loads", "",
          (f"Each command {c['runs']} times in a fresh process (`benchmarks/bench_cli.py`); the baseline "
           f"`python -c pass` in the same run took {base['wall_s']} s wall, {base['cpu_s']} s CPU. "
           f"Load average during the run: {', '.join(str(x) for x in c.get('load_avg', []))} "
           "(a loaded machine stretches wall time; CPU time is the command's own). "
           "Targets: a usage error or a missing file under 2 s, `policy check` and `report` under 3 s."), ""]
    rows = [(f"`{name}`", r["wall_s"], r["cpu_s"], r["over_baseline_s"], r.get("target_s", ""),
             {True: "yes", False: "**no**"}.get(r.get("meets_target"), ""), ",".join(map(str, r["exit"])))
            for name, r in c["commands"].items()]
    md += _table(["command", "median wall s", "median CPU s", "over baseline s", "target s", "met", "exit"], rows)
    cold = c.get("cold_policy_check", {})
    md += ["", (f"The first `policy check` after a recognizer plugin is installed or changed imports the "
                f"plugins once to cache their entity types: {cold.get('wall_s')} s wall, {cold.get('cpu_s')} s "
                "CPU here; every later command reads the cache."), ""]
    return md
