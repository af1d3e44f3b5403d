"""A sidecar process for memory checks: the real Guard (real audio decoding and
redaction) with the fake detector and transcriber, served on loopback.

    python -m tests.fakes.sidecar_process POLICY WORKDIR PORT_FILE

Writes the port it listens on to PORT_FILE, then serves until killed.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from aiohttp import web

from meetguard import Guard, GuardOptions
from meetguard.sidecar import SidecarConfig, init_app
from meetguard.testing import FakeDetector, FakeTranscriber


async def main(policy: Path, work: Path, port_file: Path) -> None:
    guard = Guard(policy, GuardOptions(audit_path=work / "audit.jsonl"), detector=FakeDetector(),
                  transcriber=FakeTranscriber([(0.0, 1.0, "hello")]))
    config = SidecarConfig(policy=policy, audit=work / "audit.jsonl", jobs_dir=work / "jobs")
    runner = web.AppRunner(init_app(config, guard))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port_file.write_text(str(runner.addresses[0][1]))
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])))
