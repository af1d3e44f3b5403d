"""Sidecar findings of issue #19 that do not need models: consent time, reserve-then-read,
JSON errors for malformed input, job results, free-text ids. Fake guard, loopback port."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from aiohttp import FormData, web
from aiohttp.test_utils import TestClient

from meetguard.sidecar import SidecarConfig, UpstreamConfig, init_app, keys, load_config
from meetguard.sidecar.config import DEFAULT_SCOPES, Limits
from tests.fakes.guard import FakeGuard, load_meeting
from tests.fakes.sidecar_upstream import Recorder, build_upstream

TOKEN = "tok-client-7f3a"
REPLAY = "tok-replay-4c2e"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
CHAT = b"10:00:01 From Alice Martin to Everyone:\n\thello\n"
Client = TestClient[web.Request, web.Application]


@pytest.fixture
async def sidecar(aiohttp_client: Any, aiohttp_server: Any, tmp_path: Path) -> Any:
    rec = Recorder()
    server = await aiohttp_server(build_upstream(rec))
    base = f"http://127.0.0.1:{server.port}"
    ups = {"summarizer": UpstreamConfig("summarizer", f"{base}/summarize", "plain", 5.0),
           "llm-summarizer": UpstreamConfig("llm-summarizer", f"{base}/v1", "openai", 5.0, model="stub")}

    async def make(guard: FakeGuard | None = None, **kw: Any) -> tuple[Client, FakeGuard, Recorder]:
        fake = guard or FakeGuard()
        cfg = SidecarConfig(policy=tmp_path / "policy.yaml", tokens=(TOKEN, REPLAY),
                            replay_tokens=frozenset({REPLAY}), upstreams=ups, jobs_dir=tmp_path / "jobs",
                            limits=Limits(max_body_mb=2, max_jobs=2, queue=8),
                            # TOKEN may also withdraw: these tests drive /v1/withdrawals (#25 scopes)
                            token_scopes={TOKEN: DEFAULT_SCOPES | {"withdraw"}})
        client = await aiohttp_client(init_app(replace(cfg, **kw), fake, meeting_loader=load_meeting))
        return client, fake, rec
    return make


def form(at: str | None = None, **fields: str) -> FormData:
    f = FormData()
    f.add_field("purpose", fields.pop("purpose", "summarization"))
    for k, v in fields.items():
        f.add_field(k, v)
    if at is not None:
        f.add_field("at", at)
    f.add_field("chat", CHAT, filename="chat.txt", content_type="text/plain")
    return f


def chat(**headers: str) -> dict[str, Any]:
    return {"headers": {**AUTH, "X-Meetguard-Purpose": "summarization", **headers},
            "json": {"model": "stub", "messages": [{"role": "user", "content": "hi"}]}}


# -- finding 2: consent time is the server's --------------------------------------------------

async def test_a_client_at_is_refused_unless_the_token_may_replay(sidecar: Any) -> None:
    client, fake, _ = await sidecar()
    resp = await client.post("/v1/guard", data=form(at="2026-11-10T09:00:00+00:00"), headers=AUTH)
    assert resp.status == 400 and (await resp.json())["message"].startswith("at: refused")
    assert fake.audit == []
    resp = await client.post("/v1/guard", data=form(at="2026-11-10T09:00:00+00:00"),
                             headers={"Authorization": f"Bearer {REPLAY}"})
    assert resp.status == 200
    assert (await resp.json())["at_replayed"] is True


async def test_a_replayed_at_never_forwards(sidecar: Any) -> None:
    client, fake, rec = await sidecar()
    for token in (TOKEN, REPLAY):
        resp = await client.post("/v1/release", data=form(at="2026-11-10T09:00:00+00:00", recipient="summarizer"),
                                 headers={"Authorization": f"Bearer {token}"})
        assert resp.status == 400
        resp = await client.post("/v1/release", data=form(at="2026-11-10T09:00:00+00:00", recipient="summarizer"),
                                 headers={"Authorization": f"Bearer {token}", "Prefer": "respond-async"})
        assert resp.status == 400
    resp = await client.post("/v1/chat/completions", **chat(**{"X-Meetguard-At": "2026-11-10T09:00:00Z"}))
    assert resp.status == 400
    assert rec.received == [] and fake.audit == []


def test_tokens_may_be_configured_to_replay(tmp_path: Path) -> None:
    cfg = tmp_path / "sidecar.yaml"
    cfg.write_text("policy: p.yaml\ntokens: [plain-tok, {token: replay-tok, replay_at: true}, "
                   "{token: other-tok, replay_at: false}]\n")
    config = load_config(cfg, env={})
    assert config.tokens == ("plain-tok", "replay-tok", "other-tok")
    assert config.replay_tokens == frozenset({"replay-tok"})


# -- finding 5: a queue place before any byte of the body -------------------------------------

HEAD = (b"POST %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + TOKEN.encode() +
        b"\r\nContent-Type: %s\r\nContent-Length: 90000000\r\n%s\r\n")


@pytest.mark.parametrize("path,ctype,extra", [
    (b"/v1/guard", b"multipart/form-data; boundary=BB", b"Prefer: respond-async\r\n"),
    (b"/v1/release", b"multipart/form-data; boundary=BB", b"Prefer: respond-async\r\n"),
    (b"/v1/guard", b"multipart/form-data; boundary=BB", b""),
    (b"/v1/chat/completions", b"application/json", b"X-Meetguard-Purpose: summarization\r\n"),
    (b"/v1/withdrawals", b"application/json", b""),
])
async def test_a_full_queue_refuses_before_reading_the_body(sidecar: Any, tmp_path: Path, path: bytes,
                                                            ctype: bytes, extra: bytes) -> None:
    """Uploads were read (and async ones stored in jobs_dir) before a place was held."""
    client, fake, _ = await sidecar(FakeGuard(delay_s=3.0), limits=Limits(max_body_mb=100, max_jobs=1, queue=0,
                                                                           body_timeout_s=30))
    busy = asyncio.ensure_future(client.post("/v1/guard", data=form(), headers=AUTH))
    while fake.active == 0:
        await asyncio.sleep(0.01)
    reader, writer = await asyncio.open_connection("127.0.0.1", client.port)
    writer.write(HEAD % (path, ctype, extra) + b"--BB\r\n" + b"x" * 65536)
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(4096), timeout=10)   # the body never completes
    writer.close()
    assert answer.startswith(b"HTTP/1.1 503"), answer[:120]
    assert b"Retry-After" in answer
    assert [p.name for p in (tmp_path / "jobs").iterdir() if not p.name.startswith(".")] == []
    assert (await busy).status == 200


async def test_a_full_queue_holds_no_place_for_an_unsigned_zoom_request(sidecar: Any) -> None:
    """The webhook (signed by Zoom, no bearer token) takes a queue place only once its signature
    is verified (#16): an unsigned or stale request is refused before its body is read, and a
    signed event meets the full queue with 503 + Retry-After."""
    from meetguard.sidecar.zoom_config import ZoomConfig, ZoomPurpose
    from meetguard.sidecar.zoom_hook import sign

    zoom = ZoomConfig(secret_env="Z", secrets=(b"s3cret",), download_hosts=("127.0.0.1:1",),
                      purposes=(ZoomPurpose("summarization", "summarizer"),))
    client, fake, _ = await sidecar(FakeGuard(delay_s=3.0), zoom=zoom,
                                    limits=Limits(max_jobs=1, queue=0, body_timeout_s=30))
    busy = asyncio.ensure_future(client.post("/v1/guard", data=form(), headers=AUTH))
    while fake.active == 0:
        await asyncio.sleep(0.01)
    reader, writer = await asyncio.open_connection("127.0.0.1", client.port)
    writer.write(b"POST /v1/hooks/zoom HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 b"Content-Length: 500000\r\n\r\n" + b"{" * 1000)
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(4096), timeout=10)   # the body never completes
    writer.close()
    assert answer.startswith(b"HTTP/1.1 401"), answer[:120]
    assert client.app[keys.GATE].waiting == 0
    body = b'{"event": "recording.completed", "payload": {"object": {"uuid": "u1=="}}}'
    ts = str(int(time.time()))
    resp = await client.post("/v1/hooks/zoom", data=body, headers={
        "x-zm-request-timestamp": ts, "x-zm-signature": sign(b"s3cret", ts, body)})
    assert resp.status == 503 and "Retry-After" in resp.headers
    assert (await busy).status == 200
    assert client.app[keys.GATE].waiting == 0 and client.app[keys.GATE].running == 0


# -- finding 8: job results -----------------------------------------------------------------

async def _finished_job(client: Client, tmp_path: Path) -> str:
    resp = await client.post("/v1/guard", data=form(), headers={**AUTH, "Prefer": "respond-async"})
    assert resp.status == 202
    job_id = str((await resp.json())["id"])
    while not (tmp_path / "jobs" / job_id / "result.json").exists():
        await asyncio.sleep(0.02)
    return job_id


async def test_head_never_deletes_a_result(sidecar: Any, tmp_path: Path) -> None:
    client, _, _ = await sidecar()
    job_id = await _finished_job(client, tmp_path)
    for _ in range(2):
        assert (await client.head(f"/v1/jobs/{job_id}", headers=AUTH)).status == 200
    resp = await client.get(f"/v1/jobs/{job_id}", headers=AUTH)
    assert resp.status == 200 and (await resp.json())["decision"] == "release"
    assert (await client.get(f"/v1/jobs/{job_id}", headers=AUTH)).status == 404


async def test_results_expire_after_the_ttl_and_are_swept(sidecar: Any, tmp_path: Path) -> None:
    client, _, _ = await sidecar(jobs_ttl_s=3600)
    old, swept = await _finished_job(client, tmp_path), await _finished_job(client, tmp_path)
    fresh = await _finished_job(client, tmp_path)
    past = time.time() - 3700
    for job_id in (old, swept):
        os.utime(tmp_path / "jobs" / job_id / "result.json", (past, past))
    assert (await client.get(f"/v1/jobs/{old}", headers=AUTH)).status == 404
    assert keys.jobs(client.app).sweep() == 1
    assert not (tmp_path / "jobs" / swept).exists() and not (tmp_path / "jobs" / old).exists()
    assert (await client.get(f"/v1/jobs/{fresh}", headers=AUTH)).status == 200


def test_jobs_ttl_is_configurable(tmp_path: Path) -> None:
    cfg = tmp_path / "sidecar.yaml"
    cfg.write_text("policy: p.yaml\njobs: {ttl_s: 600}\n")
    assert load_config(cfg, env={}).jobs_ttl_s == 600
    assert load_config(None, env={"MEETGUARD_POLICY": "p.yaml"}).jobs_ttl_s == 86400


async def test_job_files_hold_no_unkeyed_token_digest(sidecar: Any, tmp_path: Path) -> None:
    client, _, _ = await sidecar()
    job_id = await _finished_job(client, tmp_path)
    stored = (tmp_path / "jobs" / job_id / "job.json").read_text()
    assert hashlib.sha256(TOKEN.encode()).hexdigest() not in stored
    assert TOKEN not in stored and json.loads(stored)["token_hmac"]


# -- finding 7: free-text ids are validated, never forwarded unvalidated --------------------------

@pytest.mark.parametrize("field,value", [
    ("meeting_id", "Carla's 1:1 with alice.martin@northwind.example"),
    ("meeting_id", "x" * 129),
    ("recipient", "summarizer carla"),
    ("purpose", "summarization for Carla Nunes"),
])
async def test_free_text_ids_are_refused(sidecar: Any, field: str, value: str) -> None:
    client, fake, rec = await sidecar()
    resp = await client.post("/v1/release", data=form(**{field: value}), headers=AUTH)
    body = await resp.json()
    assert resp.status == 400 and body["message"].startswith(f"{field}:")
    assert value not in json.dumps(body)
    header = {"meeting_id": "X-Meetguard-Meeting", "recipient": "X-Meetguard-Recipient",
              "purpose": "X-Meetguard-Purpose"}[field]
    resp = await client.post("/v1/chat/completions", **chat(**{header: value}))
    assert resp.status == 400 and value not in await resp.text()
    assert fake.audit == [] and rec.received == []


# -- finding 9: malformed input is a JSON 4xx and an info-level line ------------------------------

RAW = b"POST %s HTTP/1.1\r\nHost: x\r\n%sContent-Length: %d\r\nConnection: close\r\n\r\n%s"
BAD_REQUESTS = {
    "non-UTF-8 token": (b"/v1/guard", b"Authorization: Bearer tok-\xff\xfe\r\n", b""),
    "NUL in a file name": (b"/v1/guard", b"Authorization: Bearer " + TOKEN.encode() +
                           b"\r\nContent-Type: multipart/form-data; boundary=BB\r\n",
                           b'--BB\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nsummarization\r\n'
                           b'--BB\r\nContent-Disposition: form-data; name="chat"; filename="a\x00b.txt"\r\n\r\n'
                           + CHAT + b"\r\n--BB--\r\n"),
    "JSON nested 900 deep": (b"/v1/chat/completions", b"Authorization: Bearer " + TOKEN.encode() +
                             b"\r\nX-Meetguard-Purpose: summarization\r\nContent-Type: application/json\r\n",
                             b'{"messages": [{"role": "user", "content": ' + b"[" * 900 + b"]" * 900 + b"}]}"),
    "JSON nested 900 deep in arguments": (
        b"/v1/chat/completions", b"Authorization: Bearer " + TOKEN.encode() +
        b"\r\nX-Meetguard-Purpose: summarization\r\nContent-Type: application/json\r\n",
        b'{"messages": [{"role": "assistant", "tool_calls": [{"function": {"name": "f", "arguments": '
        + b'{"a": ' * 900 + b"1" + b"}" * 900 + b"}}]}]}"),
    "lone surrogate": (b"/v1/chat/completions", b"Authorization: Bearer " + TOKEN.encode() +
                       b"\r\nX-Meetguard-Purpose: summarization\r\nContent-Type: application/json\r\n",
                       b'{"messages": [{"role": "user", "content": "hi \\ud800"}]}'),
    "lone surrogate in a key": (b"/v1/chat/completions", b"Authorization: Bearer " + TOKEN.encode() +
                                b"\r\nX-Meetguard-Purpose: summarization\r\nContent-Type: application/json\r\n",
                                b'{"messages": [{"role": "user", "content": "hi"}], "\\udfff": 1}'),
}


@pytest.mark.parametrize("path,headers,body", BAD_REQUESTS.values(), ids=BAD_REQUESTS.keys())
async def test_malformed_requests_are_json_4xx_logged_at_info(sidecar: Any, caplog: pytest.LogCaptureFixture,
                                                              path: bytes, headers: bytes, body: bytes) -> None:
    client, _fake, rec = await sidecar()
    caplog.set_level(logging.INFO)
    reader, writer = await asyncio.open_connection("127.0.0.1", client.port)
    writer.write(RAW % (path, headers, len(body), body))
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), timeout=10)
    writer.close()
    head, _, payload = answer.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    assert 400 <= status < 500, answer[:200]
    assert b"application/json" in head
    assert set(json.loads(payload)) >= {"error", "message"}
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert any(r.getMessage() == "request" and r.levelno == logging.INFO for r in caplog.records)
    assert rec.received == []


async def test_a_client_that_disconnects_mid_upload_is_an_info_line(tmp_path: Path,
                                                                    caplog: pytest.LogCaptureFixture) -> None:
    """Served as ``serve`` serves it (no handler cancellation, unlike aiohttp's test server)."""
    fake = FakeGuard()
    cfg = SidecarConfig(policy=tmp_path / "policy.yaml", tokens=(TOKEN,), jobs_dir=tmp_path / "jobs")
    app = init_app(cfg, fake, meeting_loader=load_meeting)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    caplog.set_level(logging.INFO)
    try:
        _reader, writer = await asyncio.open_connection("127.0.0.1", port)
        head = (b"POST /v1/guard HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + TOKEN.encode() +
                b"\r\nContent-Type: multipart/form-data; boundary=BB\r\nContent-Length: 100000\r\n\r\n")
        writer.write(head + b'--BB\r\nContent-Disposition: form-data; name="chat"; filename="c.txt"\r\n\r\n' + CHAT)
        await writer.drain()
        while app[keys.GATE].waiting == 0:     # the server holds a place and reads the body
            await asyncio.sleep(0.01)
        writer.close()
        await writer.wait_closed()
        for _ in range(500):
            if any(r.getMessage() == "request" for r in caplog.records):
                break
            await asyncio.sleep(0.02)
    finally:
        await runner.cleanup()
    lines = [r for r in caplog.records if r.getMessage() == "request"]
    assert lines and all(r.levelno == logging.INFO and 400 <= r.status < 500 for r in lines)  # type: ignore[attr-defined]
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert app[keys.GATE].waiting == 0 and fake.audit == []


# -- finding 3: released audio over the inline limit is never one base64 JSON blob -----------------

async def _read_multipart(resp: Any) -> tuple[dict[str, Any], dict[str, bytes]]:
    from aiohttp import MultipartReader

    assert resp.headers["Content-Type"].startswith("multipart/mixed; boundary=")
    reader = MultipartReader(resp.headers, resp.content)
    first = await reader.next()
    body = json.loads(await first.read())
    parts: dict[str, bytes] = {}
    while (part := await reader.next()) is not None:
        assert part.headers["Content-Type"] == "audio/wav"
        parts[str(part.filename)] = bytes(await part.read())
    return body, parts


@pytest.mark.parametrize("prefer", [{}, {"Prefer": "respond-async"}])
async def test_large_released_audio_comes_as_multipart_parts(sidecar: Any, tmp_path: Path,
                                                             prefer: dict[str, str]) -> None:
    from meetguard.sidecar.service import INLINE_AUDIO_MAX

    client, _, _ = await sidecar(FakeGuard(audio_size=INLINE_AUDIO_MAX + 1))
    f = FormData()
    f.add_field("purpose", "summarization")
    f.add_field("audio", b"FLACDATA1234", filename="a.flac")
    resp = await client.post("/v1/guard", data=f, headers={**AUTH, **prefer})
    if prefer:
        job_id = (await resp.json())["id"]
        while not (tmp_path / "jobs" / job_id / "result.json").exists():
            await asyncio.sleep(0.02)
        assert "audio_parts" in (tmp_path / "jobs" / job_id / "result.json").read_text()
        assert (tmp_path / "jobs" / job_id / "result.json").stat().st_size < 100_000   # no base64 blob
        resp = await client.get(f"/v1/jobs/{job_id}", headers=AUTH)
    assert resp.status == 200
    body, parts = await _read_multipart(resp)
    assert body["audio"] == {} and body["audio_parts"] == ["audio.redacted.wav"]
    assert list(parts) == ["audio.redacted.wav"] and len(parts["audio.redacted.wav"]) == INLINE_AUDIO_MAX + 1
    assert parts["audio.redacted.wav"].startswith(b"RIFF-fake-FLACDATA")


async def test_small_released_audio_stays_inline(sidecar: Any) -> None:
    client, _, _ = await sidecar()
    f = FormData()
    f.add_field("purpose", "summarization")
    f.add_field("audio", b"FLACDATA1234", filename="a.flac")
    resp = await client.post("/v1/guard", data=f, headers=AUTH)
    assert resp.status == 200 and "audio_parts" not in await resp.json()


async def test_json_nested_past_the_recursion_limit_on_other_routes_is_4xx(
        sidecar: Any, caplog: pytest.LogCaptureFixture) -> None:
    """The middleware's net: a route that parses JSON itself (/v1/withdrawals) answers JSON
    nested past Python's recursion limit with a 4xx too (it was a RecursionError 500)."""
    client, _, _ = await sidecar()
    caplog.set_level(logging.INFO)
    for raw in (b"[" * 200_000 + b"]" * 200_000, b'{"a": ' * 100_000 + b"1" + b"}" * 100_000):
        resp = await client.post("/v1/withdrawals", data=raw,
                                 headers={**AUTH, "Content-Type": "application/json"})
        assert 400 <= resp.status < 500, await resp.text()
        assert set(await resp.json()) >= {"error", "message"}
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
