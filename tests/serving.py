"""`meetguard serve` as a real process, for the tests that signal or kill it."""

from __future__ import annotations

import asyncio
import socket
import sys
from pathlib import Path

import aiohttp


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_config(path: Path, policy: str | Path, port: int, token: str) -> Path:
    """A sidecar config on loopback ``port``, audit log and jobs in the working directory."""
    path.write_text(f"policy: {policy}\naudit: ./audit.jsonl\nlisten: {{host: 127.0.0.1, port: {port}}}\n"
                    f"tokens: [{token}]\njobs_dir: ./jobs\n")
    return path


async def serve(config: Path) -> asyncio.subprocess.Process:
    """``meetguard serve --config CONFIG``; stderr (the JSON log) is piped."""
    return await asyncio.create_subprocess_exec(
        sys.executable, "-c", "import sys; from meetguard.cli import main; sys.exit(main())",
        "serve", "--config", str(config),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)


async def wait_ok(http: aiohttp.ClientSession, url: str, proc: asyncio.subprocess.Process) -> None:
    """Until ``url`` answers 200 (about a minute at most); the process must stay up."""
    for _ in range(600):
        assert proc.returncode is None, "the sidecar exited"
        try:
            async with http.get(url) as r:
                if r.status == 200:
                    return
        except aiohttp.ClientConnectionError:
            pass
        await asyncio.sleep(0.1)
    raise AssertionError(f"the sidecar never answered 200 on {url}")
