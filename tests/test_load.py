"""Load (issue 7.5): 500 guard requests at concurrency 32 against the sidecar with the
real Guard. Every one is answered (200, or 429/503 with Retry-After), every 200 is in the
audit log (whose chain verifies), memory is stable, and nothing is logged as an error.

Marked ``load`` (about a minute on 2 cores): ``pytest -m load``.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
from aiohttp import FormData

from meetguard.audit import verify
from meetguard.sidecar import SidecarConfig, UpstreamConfig, init_app
from meetguard.sidecar.config import Limits

from .conftest import SAMPLES, require_shared, warm_guard

require_shared()

pytestmark = [pytest.mark.load, pytest.mark.models]

POLICY = SAMPLES / "policy.yaml"
TOKEN = "load-token-3f3f"
TOTAL = 500
CONCURRENCY = 32
INPUTS = [("chat", "zoom_chat_local.txt"), ("transcript", "zoom_transcript.vtt"),
          ("chat", "teams_chat_graph.json"), ("transcript", "teams_transcript.vtt"),
          ("chat", "zoom_chat_cloud.txt")]
PII = ["alice.martin@northwind.example", "4111 1111 1111 1111", "(415) 555-0142"]


@pytest.fixture(scope="module")
def guard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    yield from warm_guard(POLICY, tmp_path_factory.mktemp("load"))


def form(i: int) -> FormData:
    field, name = INPUTS[i % len(INPUTS)]
    f = FormData()
    f.add_field("purpose", "summarization")
    f.add_field("recipient", "summarizer")
    f.add_field("at", "2026-11-28T12:00:00Z")
    f.add_field(field, (SAMPLES / name).read_bytes(), filename=name)
    return f


async def test_500_requests_at_concurrency_32(aiohttp_client: Any, tmp_path: Path, guard: Any,
                                              caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    config = SidecarConfig(policy=POLICY, tokens=(TOKEN,), replay_tokens=frozenset({TOKEN}), jobs_dir=tmp_path / "jobs",
                           limits=Limits(max_body_mb=20),      # the defaults: 2 running, 32 waiting
                           upstreams={"summarizer": UpstreamConfig("summarizer", "http://127.0.0.1:9/x")})
    client = await aiohttp_client(init_app(config, guard))
    proc = psutil.Process()
    sem = asyncio.Semaphore(CONCURRENCY)
    answers: list[tuple[int, dict[str, Any], str | None]] = []
    rss: dict[int, int] = {}

    async def one(i: int) -> None:
        async with sem:
            resp = await client.post("/v1/guard", data=form(i), headers={"Authorization": f"Bearer {TOKEN}"})
            answers.append((resp.status, await resp.json(), resp.headers.get("Retry-After")))
        done = sum(1 for a in answers if a[0] == 200)
        if done in (100, TOTAL // 2) and done not in rss:
            gc.collect()
            rss[done] = proc.memory_info().rss

    await asyncio.wait_for(asyncio.gather(*(one(i) for i in range(TOTAL))), timeout=600)
    gc.collect()
    end_rss = proc.memory_info().rss
    # then a burst past the queue (2 + 32 places): the excess is refused at once, politely
    sem = asyncio.Semaphore(10_000)
    await asyncio.wait_for(asyncio.gather(*(one(i) for i in range(80))), timeout=600)

    statuses = [a[0] for a in answers]
    assert set(statuses) <= {200, 429, 503}, sorted(set(statuses))
    for status, body, retry in answers:
        if status != 200:
            assert retry is not None and retry.isdigit() and body["error"] in ("overloaded", "too_many_requests")
        else:
            assert body["decision"] in ("release", "partial")
            assert not any(v in json.dumps(body) for v in PII)
    assert len(answers) == TOTAL + 80
    ok = [a[1] for a in answers if a[0] == 200]
    assert statuses[:TOTAL].count(200) == TOTAL, "at concurrency 32 the queue holds every request"
    assert 34 <= statuses[TOTAL:].count(200) < 80, "the burst is partly refused"
    audit = guard.audit_path
    hashes = {json.loads(line)["hash"] for line in audit.read_text().splitlines()}
    assert {b["audit_id"] for b in ok} <= hashes and len(hashes) == len(ok)
    assert verify(audit).ok
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [(r.name, r.getMessage(), getattr(r, "error_type", None)) for r in errors[:5]]
    grown = (end_rss - rss[100]) / 2**20
    print(f"\nserved {len(ok)}, refused {len(answers) - len(ok)}, RSS +{grown:.1f} MB after the first 100")
    assert grown < 64, f"RSS grew {grown:.0f} MB between request 100 and {TOTAL}"
