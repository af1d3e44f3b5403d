"""aiohttp's own protocol errors answered as our JSON errors (#19 finding 10), served as
``serve`` serves (SidecarRunner), on raw sockets to 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

import pytest
from aiohttp import web

from meetguard.sidecar import SidecarConfig, init_app
from meetguard.sidecar.protocol import SidecarRunner
from tests.fakes.guard import FakeGuard, load_meeting

MARK = b"carla.nunes@example.org"
MALFORMED = {
    "request_line": b"GET /" + MARK + b" HTTP/1.1 extra\r\nHost: x\r\n\r\n",
    "header_bytes": b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-" + MARK + b"\x01: " + MARK + b"\x7f\r\n\r\n",
    "oversize_header": b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + MARK * 400 + b"\r\n\r\n",
    "bad_chunk": (b"POST /v1/withdrawals HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                  b"Content-Type: application/json\r\n\r\n" + MARK + b"\r\n{}\r\n0\r\n\r\n"),
    "bad_version": b"GET /healthz HTTP/9." + MARK + b"\r\nHost: x\r\n\r\n",
}


@pytest.mark.parametrize("raw", MALFORMED.values(), ids=MALFORMED.keys())
async def test_protocol_errors_are_json_without_echoed_bytes(tmp_path: Path, caplog: pytest.LogCaptureFixture,
                                                             raw: bytes) -> None:
    cfg = SidecarConfig(policy=tmp_path / "policy.yaml", tokens=(), jobs_dir=tmp_path / "jobs")
    runner = SidecarRunner(init_app(cfg, FakeGuard(), meeting_loader=load_meeting), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    caplog.set_level(logging.INFO)
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", runner.addresses[0][1])
        writer.write(raw)
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(), timeout=10)
        writer.close()
    finally:
        await runner.cleanup()
    head, _, payload = answer.partition(b"\r\n\r\n")
    assert head.split(b" ", 2)[1].startswith(b"4"), answer[:200]
    assert b"application/json" in head
    body = json.loads(payload)
    assert set(body) == {"error", "message"} and body["error"] == "bad_request"
    assert MARK not in answer and MARK.split(b"@")[0] not in answer
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    logged = [r for r in caplog.records if r.getMessage() == "protocol error"]
    assert logged and all(r.levelno == logging.INFO for r in logged)
    assert all("carla" not in r.getMessage() + str(r.__dict__) for r in caplog.records)
