"""`meetguard batch --engine ray` on one session-scoped local Ray instance
(make setup installs the `ray` extra, so CI runs this)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from meetguard.batch_ray import LOOPBACK_ENV
from meetguard.cli import main

from .batch_support import (
    assert_chain_ok,
    audit_records,
    batch_argv,
    decided_per_meeting,
    guarded_meetings,
    make_archive,
    summary,
)

pytestmark = pytest.mark.models


@pytest.fixture(scope="session")
def ray_session() -> Iterator[Any]:
    os.environ[LOOPBACK_ENV] = "0"          # as RayEngine does for a local instance
    ray = pytest.importorskip("ray")
    saved = os.environ.get("RAY_USAGE_STATS_ENABLED")
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    ray.init(num_cpus=2, include_dashboard=False,
             log_to_driver=False, configure_logging=False)
    try:
        yield ray
    finally:
        ray.shutdown()
        if saved is None:
            os.environ.pop("RAY_USAGE_STATS_ENABLED", None)
        else:
            os.environ["RAY_USAGE_STATS_ENABLED"] = saved


def test_ray_engine_guards_the_archive_with_one_audit_chain(ray_session: Any, tmp_path: Path) -> None:
    archive, policy = make_archive(tmp_path, 6)
    out, audit = tmp_path / "out", tmp_path / "audit.jsonl"
    argv = batch_argv(archive, policy, out, audit, "--engine", "ray", "--workers", "2")
    assert main(argv) == 0
    assert_chain_ok(audit)
    assert decided_per_meeting(audit) == {f"mtg-{i:03d}": 1 for i in range(6)}
    assert len(list(guarded_meetings(out, audit, 6))) == 6
    rows = summary(out)["meetings"]
    assert summary(out)["engine"] == "ray"
    assert all(r["worker"] and r["worker_peak_mb"] > 0 for r in rows)
    assert ray_session.is_initialized(), "a cluster the batch joined is left running"
    assert ray_session.util.get_node_ip_address() == "127.0.0.1", "Ray left loopback"

    # Resumable on Ray too: the same command skips all six and audits nothing more.
    assert main(argv) == 0
    assert summary(out)["skipped"] == 6 and len(audit_records(audit)) == 6
    assert_chain_ok(audit)
