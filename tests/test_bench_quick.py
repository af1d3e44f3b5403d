"""`make bench QUICK=1` (benchmarks/run_all.py --quick) runs and writes valid results.

No timing is asserted here: benchmarks never run as timed assertions. The
quick suite runs once per session into a temp dir (never into the repo).
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
RUN_ALL = REPO / "benchmarks" / "run_all.py"

EXPECTED: dict[str, tuple[str, ...]] = {
    "guard": ("messages", "guard", "presidio", "ratio", "recall_meetguard", "recall_presidio", "scaling"),
    "detection": ("messages", "meetguard", "presidio", "speedup"),
    "transcribe": ("rtf", "pipeline_overhead"),
    "sidecar": ("concurrency", "library_p50_ms"),
    "longaudio": ("short", "long", "ratio_streaming_peak", "ratio_in_memory_peak"),
    "cli": ("baseline_python_c_pass", "commands", "cold_policy_check"),
}
PNG = b"\x89PNG\r\n\x1a\n"


def _load_run_all() -> ModuleType:
    spec = importlib.util.spec_from_file_location("run_all_under_test", RUN_ALL)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def quick(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path]:
    out = tmp_path_factory.mktemp("bench-quick")
    proc = subprocess.run([sys.executable, str(RUN_ALL), "--quick", "--results-dir", str(out)],
                          capture_output=True, text=True, cwd=REPO, timeout=900, check=False)
    return proc, out


def _json(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


@pytest.mark.models
def test_quick_suite_exits_zero_and_prints_ratio_with_recall(
    quick: tuple[subprocess.CompletedProcess[str], Path]
) -> None:
    proc, _ = quick
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    line = next(x for x in proc.stdout.splitlines() if x.startswith("guard vs plain Presidio"))
    assert re.search(r"ratio [0-9.]+x", line) and "recall meetguard mean" in line and "recall Presidio" in line


@pytest.mark.models
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_result_is_json_with_the_expected_keys(
    quick: tuple[subprocess.CompletedProcess[str], Path], name: str
) -> None:
    _, out = quick
    data = _json(out / f"{name}.json")
    missing = [k for k in EXPECTED[name] if k not in data]
    assert not missing, f"{name}.json lacks {missing}"
    if name == "guard":
        assert data["ratio"] == pytest.approx(data["presidio"]["seconds"] / data["guard"]["seconds"], rel=0.02)
        assert set(data["recall_meetguard"]) >= set(data["recall_presidio"])
        assert all(0 <= v <= 1 for v in data["recall_meetguard"].values())
        sizes = [p["messages"] for p in data["scaling"]]
        assert sizes == sorted(sizes) and len(sizes) >= 2
        assert all(p["seconds"] > 0 and p["peak_rss_mb"] > 0 for p in data["scaling"])
    elif name == "transcribe":
        assert data["rtf"]["openai-whisper"] and all(v > 0 for v in data["rtf"]["openai-whisper"].values())
    elif name == "sidecar":
        assert set(data["concurrency"]) == {"c1", "c8", "c32"}
        for v in data["concurrency"].values():
            assert v["rps"] > 0 and v["p99_ms"] >= v["p50_ms"] > 0
    elif name == "longaudio":
        assert data["long"]["minutes"] > data["short"]["minutes"]
        for size in ("short", "long"):
            r = data[size]
            # Both paths release the same recording: same WAV length.
            assert r["streaming"]["wav_bytes"] == r["in_memory"]["wav_bytes"] > 44
            assert r["streaming"]["peak_rss_mb"] >= r["streaming"]["peak_rss_mb_after_load"] > 0
        ratio = data["long"]["streaming"]["peak_rss_mb"] / data["short"]["streaming"]["peak_rss_mb"]
        assert data["ratio_streaming_peak"] == pytest.approx(ratio, abs=0.002)


@pytest.mark.models
def test_run_record_markdown_and_plots(quick: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    _, out = quick
    run = _json(out / "run.json")
    assert run["quick"] is True and run["machine"]["cpus"]
    assert set(run["benches"]) == set(EXPECTED)
    assert all(s["rc"] == 0 and "error" not in s for s in run["benches"].values())
    md = (out / "benchmarks.md").read_text(encoding="utf-8")
    for heading in ("## 1.", "## 2.", "## 3.", "## 4.", "## 5."):
        assert heading in md
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md)
    assert len(images) >= 5
    for name in images:
        assert (out / name).read_bytes()[:8] == PNG


def test_a_failing_bench_makes_run_all_fail_after_running_the_others(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_all = _load_run_all()
    bad = tmp_path / "bench_bad.py"
    bad.write_text("import sys\nsys.exit(3)\n")
    good = tmp_path / "bench_good.py"
    good.write_text("import json, sys\nprint('noise first')\nprint(json.dumps({'quick': '--quick' in sys.argv}))\n")
    benches = (run_all.Bench("bad", str(bad), "fails"), run_all.Bench("good", str(good), "works"))
    monkeypatch.setattr(run_all, "BENCHES", benches)
    out = tmp_path / "results"
    rc = run_all.main(["--quick", "--results-dir", str(out)])
    assert rc == 1
    assert _json(out / "good.json") == {"quick": True}
    assert not (out / "bad.json").exists()
    run = _json(out / "run.json")
    assert run["benches"]["bad"]["rc"] == 3 and "error" in run["benches"]["bad"]
    assert run["benches"]["good"]["rc"] == 0
