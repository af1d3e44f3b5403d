"""Acceptance: the real sidecar with the real Guard (samples + dev policy) on a loopback
port, a stand-in upstream that records what it receives, and the official openai client."""

from __future__ import annotations

import asyncio
import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from aiohttp import FormData
from aiohttp.test_utils import TestClient

from meetguard import Guard, GuardOptions
from meetguard.sidecar import SidecarConfig, UpstreamConfig, init_app
from meetguard.sidecar.config import Limits
from tests.conftest import JFK, SAMPLES, require_shared
from tests.fakes.sidecar_upstream import Recorder, build_upstream
from tests.serving import free_port, serve, wait_ok, write_config

require_shared()

pytestmark = pytest.mark.models

TOKEN = "real-token-5d1e"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
EXPECTED: dict[str, Any] = json.loads((SAMPLES / "expected.json").read_text())
CASES = [name for name, case in EXPECTED.items()
         if not name.startswith("_") and case.get("input") in ("--chat", "--transcript")]


@pytest.fixture(scope="module")
def real_guard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Guard, Path]]:
    audit = tmp_path_factory.mktemp("audit") / "audit.jsonl"
    guard = Guard.from_policy(SAMPLES / "policy.yaml", GuardOptions(audit_path=audit))
    guard.warm()
    yield guard, audit
    guard.close()


def audit_records(path: Path) -> dict[str, dict[str, Any]]:
    records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return {r["hash"]: r for r in records}


@pytest.fixture
async def sidecar(aiohttp_client: Any, aiohttp_server: Any, tmp_path: Path,
                  real_guard: tuple[Guard, Path]) -> tuple[TestClient[Any, Any], Recorder, Path]:
    rec = Recorder()
    up = await aiohttp_server(build_upstream(rec))
    base = f"http://127.0.0.1:{up.port}"
    config = SidecarConfig(
        policy=SAMPLES / "policy.yaml", tokens=(TOKEN,), jobs_dir=tmp_path / "jobs",
        limits=Limits(max_body_mb=20, max_jobs=2, queue=64),
        upstreams={
            "summarizer": UpstreamConfig("summarizer", f"{base}/summarize", headers={"X-Key": "up"}),
            "llm-summarizer": UpstreamConfig("llm-summarizer", f"{base}/v1", "openai",
                                             headers={"Authorization": "Bearer upstream"}),
            "training-store": UpstreamConfig("training-store", f"http://127.0.0.1:{free_port()}/x",
                                             timeout_s=2.0),
        })
    client = await aiohttp_client(init_app(config, real_guard[0]))
    return client, rec, real_guard[1]


def sample_form(name: str, purpose: str = "summarization", recipient: str = "summarizer") -> FormData:
    case = EXPECTED[name]
    form = FormData()
    form.add_field("purpose", purpose)
    form.add_field("recipient", recipient)
    # no `at`: the sidecar decides at the time of the request (#19); the samples' decisions
    # are the same now as on the dev policy's reference day
    for a in case.get("attendees", []):
        form.add_field("attendee", a)
    field = "chat" if case["input"] == "--chat" else "transcript"
    path = SAMPLES / name
    if path.is_dir():                              # a Slack export: upload it as a zip
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            for f in sorted(path.rglob("*")):
                if f.is_file():
                    zf.write(f, f.relative_to(path.parent).as_posix())
        form.add_field(field, buf.getvalue(), filename=f"{name}.zip")
    else:
        form.add_field(field, path.read_bytes(), filename=name)
    return form


async def wait_ready(client: TestClient[Any, Any]) -> None:
    for _ in range(200):
        r = await client.get("/readyz")
        if r.status == 200:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("never ready")


@pytest.mark.parametrize("name", CASES)
async def test_release_of_each_sample_leaks_nothing(sidecar: Any, name: str) -> None:
    client, rec, audit = sidecar
    await wait_ready(client)
    case = EXPECTED[name]
    resp = await client.post("/v1/release", data=sample_form(name), headers=AUTH)
    body = await resp.json()
    assert resp.status == 200, body
    assert body["decision"] == case["decision"] and body["delivered"] is True
    assert sorted(body["excluded_participants"]) == sorted(case["excluded"])
    assert len(rec.received) == 1
    payload = rec.received[0].json()
    assert payload["decision"] == case["decision"] and payload["policy_id"] == "northwind-dev-1"
    released = rec.everything()
    if payload.get("files"):                       # the Slack zip comes back as a zip
        import base64

        for blob in payload["files"].values():
            with zipfile.ZipFile(io.BytesIO(base64.b64decode(blob))) as zf:
                released += "\n".join(zf.read(n).decode("utf-8", "replace") for n in zf.namelist())
    for value in case["pii"]:
        assert value not in released, f"{name}: a personal value reached the upstream"
    for text in case.get("private", []):
        assert text not in released
    for text in case["keep"]:
        assert text in released
    assert TOKEN not in released
    record = audit_records(audit)[body["audit_id"]]
    assert record["delivered"] == {"delivered": True, "status": 200}


async def test_training_deny_is_403_and_nothing_forwarded(sidecar: Any) -> None:
    client, rec, audit = sidecar
    resp = await client.post("/v1/release", headers=AUTH,
                             data=sample_form("zoom_chat_local.txt", "training", "training-store"))
    assert resp.status == 403
    body = await resp.json()
    assert body["decision"] == "deny" and body["content"] == {}
    assert rec.received == []
    assert audit_records(audit)[body["audit_id"]]["decision"] == "deny"


async def test_upstream_down_is_502_and_audited_undelivered(sidecar: Any) -> None:
    client, _, audit = sidecar
    form = FormData()
    form.add_field("purpose", "training")
    form.add_field("recipient", "training-store")
    # decided now (no replayed `at` on a forwarding route): Alice alone has opted in to training
    form.add_field("chat", b"10:00:01 From Alice Martin to Everyone:\n\thello team\n", filename="c.txt")
    resp = await client.post("/v1/release", data=form, headers=AUTH)
    assert resp.status == 502, await resp.text()
    body = await resp.json()
    assert body["error"] == "upstream_failed" and "Alice" not in body["message"]
    assert audit_records(audit)[body["audit_id"]]["delivered"]["delivered"] is False


async def test_unsupported_upload_is_415(sidecar: Any) -> None:
    client, _, _ = sidecar
    form = FormData()
    form.add_field("purpose", "summarization")
    form.add_field("chat", bytes(range(256)) * 4, filename="blob.bin")
    resp = await client.post("/v1/guard", data=form, headers=AUTH)
    assert resp.status == 415
    body = await resp.json()
    assert body["error"] == "unsupported_media" and "/tmp" not in body["message"]


async def test_guard_returns_redacted_files_in_their_format(sidecar: Any) -> None:
    client, rec, _ = sidecar
    resp = await client.post("/v1/guard", data=sample_form("zoom_transcript.vtt"), headers=AUTH)
    assert resp.status == 200
    body = await resp.json()
    (name, text), = body["content"].items()
    assert name == "transcript-1.vtt" and text.startswith("WEBVTT")
    for value in EXPECTED["zoom_transcript.vtt"]["pii"]:
        assert value not in text
    assert rec.received == []                          # /v1/guard forwards nothing


async def test_openai_client_real_guard(sidecar: Any) -> None:
    client, rec, _ = sidecar
    oai = openai.AsyncOpenAI(base_url=str(client.make_url("/v1")), api_key=TOKEN, max_retries=0,
                             default_headers={"X-Meetguard-Purpose": "summarization",
                                              "X-Meetguard-Attendees": "p-alice,p-bob"})
    text = ("Bob Li said Alice Martin can be reached at alice.martin@northwind.example "
            "or (415) 555-0142.")
    answer = await oai.chat.completions.create(model="m", messages=[{"role": "user", "content": text}])
    assert answer.choices[0].message.content
    sent = rec.received[0].json()["messages"][0]["content"]
    for value in ("Bob Li", "Alice Martin", "alice.martin@northwind.example", "555-0142"):
        assert value not in rec.everything()
    assert "[PERSON_" in sent
    deny = openai.AsyncOpenAI(base_url=str(client.make_url("/v1")), api_key=TOKEN, max_retries=0,
                              default_headers={"X-Meetguard-Purpose": "summarization",
                                               "X-Meetguard-Attendees": "p-alice,p-carla"})
    with pytest.raises(openai.PermissionDeniedError):
        await deny.chat.completions.create(model="m", messages=[{"role": "user", "content": text}])
    assert len(rec.received) == 1
    await oai.close()
    await deny.close()


async def test_forty_concurrent_guards_all_answered_and_audited(sidecar: Any) -> None:
    client, _, audit = sidecar
    results = await asyncio.gather(*[
        client.post("/v1/guard", data=sample_form("teams_graph.vtt"), headers=AUTH) for _ in range(40)])
    bodies = [await r.json() for r in results]
    assert [r.status for r in results] == [200] * 40
    records = audit_records(audit)
    assert all(b["audit_id"] in records for b in bodies)
    assert len({b["audit_id"] for b in bodies}) == 40


async def test_audio_job_with_real_transcription(sidecar: Any) -> None:
    client, _, _ = sidecar
    form = FormData()
    form.add_field("purpose", "summarization")
    form.add_field("recipient", "summarizer")
    form.add_field("attendee", "p-alice")
    form.add_field("audio", JFK.read_bytes(), filename="jfk.flac")
    resp = await client.post("/v1/guard", data=form, headers={**AUTH, "Prefer": "respond-async"})
    assert resp.status == 202
    location = resp.headers["Location"]
    body: dict[str, Any] = {}
    for _ in range(600):
        r = await client.get(location, headers=AUTH)
        body = await r.json()
        if "decision" in body or "error" in body:
            break
        assert (await client.get("/healthz")).status == 200
        await asyncio.sleep(0.2)
    assert r.status == 200, body
    assert body["decision"] == "release"
    transcript = " ".join(t for n, t in body["content"].items() if n.endswith(".vtt")).lower()
    assert "fellow americans" in transcript
    assert list(body["audio"]) == ["audio.redacted.wav"]


async def test_serve_drains_in_flight_work_on_sigterm(tmp_path: Path) -> None:
    """`meetguard serve`: ready after warm-up; SIGTERM lets an in-flight guard finish
    (its answer and audit record arrive), then the process exits 0."""
    import signal

    import aiohttp

    port = free_port()
    proc = await serve(write_config(tmp_path / "sidecar.yaml", SAMPLES / "policy.yaml", port, TOKEN))
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as http:
            await wait_ok(http, f"{base}/readyz", proc)
            form = FormData()
            form.add_field("purpose", "summarization")
            form.add_field("recipient", "summarizer")
            form.add_field("attendee", "p-alice")
            form.add_field("audio", JFK.read_bytes(), filename="jfk.flac")
            pending = asyncio.ensure_future(http.post(f"{base}/v1/guard", data=form, headers=AUTH))
            await asyncio.sleep(1.0)                  # the guard is transcribing now
            proc.send_signal(signal.SIGTERM)
            resp = await pending
            assert resp.status == 200
            body = await resp.json()
        rc = await asyncio.wait_for(proc.wait(), timeout=90)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert rc == 0
    assert body["audit_id"] in audit_records(tmp_path / "audit.jsonl")
    assert proc.stderr is not None
    log_lines = [json.loads(line) for line in (await proc.stderr.read()).decode().splitlines()
                 if line.startswith("{")]
    assert any(line["msg"] == "stopped" for line in log_lines)
