"""The Zoom hook with a TIMELINE (#28): a plain ``recording.completed`` (M4A, TIMELINE,
TRANSCRIPT, CHAT; no per-participant files) against the stand-in Zoom delivers the mixed
audio with the refusing speaker silenced, once. The Guard is the real one (real decoding,
real Silero VAD, real silencing) with a scripted transcriber and detector."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from meetguard import Guard, GuardOptions
from meetguard.audit import verify
from meetguard.redaction.silence import PAD
from meetguard.sidecar import SidecarConfig, UpstreamConfig, init_app
from meetguard.sidecar.config import Limits
from meetguard.sidecar.zoom_config import ZoomConfig, ZoomPurpose
from meetguard.testing import FakeDetector, FakeTranscriber
from tests.fakes.sidecar_upstream import Recorder, build_upstream
from tests.fakes.zoom import ZoomState, build_cdn, build_zoom

from . import silence_support as s2

SECRET = b"zoom-silence-secret"
UUID = "SiLeNcE1234567890abcd=="
CHAT = "10:00:01 From Alice Martin to Everyone:\n\tthe slides are in the folder\n"


@dataclass
class Hook:
    client: Any
    state: ZoomState
    upstream: Recorder
    audit: Path
    base: str
    turns: list[s2.Turn]

    def event(self, files: list[str]) -> bytes:
        types = {"m4a": "M4A", "vtt": "TRANSCRIPT", "chat": "CHAT", "timeline": "TIMELINE"}
        entries = [{"id": f, "file_type": types[f], "file_size": len(self.state.files.get(f, b"x")),
                    "status": "completed", "download_url": f"{self.base}/rec/download/{f}",
                    "recording_type": "timeline" if f == "timeline" else "audio_only"} for f in files]
        event = {"event": "recording.completed", "event_ts": 1764497000999, "download_token": self.state.token,
                 "payload": {"object": {"uuid": UUID, "topic": "Launch sync", "recording_files": entries}}}
        return json.dumps(event).encode()

    async def post(self, body: bytes) -> int:
        ts = str(int(time.time()))
        sig = "v0=" + hmac.new(SECRET, b"v0:" + ts.encode() + b":" + body, hashlib.sha256).hexdigest()
        resp = await self.client.post("/v1/hooks/zoom", data=body,
                                      headers={"x-zm-request-timestamp": ts, "x-zm-signature": sig})
        return int(resp.status)

    async def events(self, n: int = 1) -> list[dict[str, Any]]:
        for _ in range(2400):                # a bound, not a timing: 60 s on a busy machine
            rows = [json.loads(x) for x in self.audit.read_text().splitlines()] if self.audit.exists() else []
            if sum("event" in r for r in rows) >= n:
                return rows
            await asyncio.sleep(0.025)
        raise AssertionError("the zoom job did not finish")


@pytest.fixture
async def hook(aiohttp_client: Any, aiohttp_server: Any, tmp_path: Path) -> AsyncIterator[Hook]:
    (tmp_path / "policy.yaml").write_text(s2.POLICY, "utf-8")
    turns = s2.alternating(tmp_path / "meeting.m4a")
    state, rec = ZoomState(), Recorder()
    state.files.update({
        "m4a": (tmp_path / "meeting.m4a").read_bytes(),
        "vtt": s2.zoom_vtt(turns, tmp_path / "t.vtt").read_bytes(),
        "chat": CHAT.encode(),
        "timeline": s2.zoom_timeline(turns, tmp_path / "timeline.json").read_bytes()})
    zoom_srv, cdn_srv = await aiohttp_server(build_zoom(state)), await aiohttp_server(build_cdn(state))
    up = await aiohttp_server(build_upstream(rec))
    base = f"http://127.0.0.1:{zoom_srv.port}"
    audit = tmp_path / "audit.jsonl"
    alice = [(t.start, t.end, t.text) for t in turns if t.who == "alice"]
    guard = Guard(tmp_path / "policy.yaml", GuardOptions(audit_path=audit),
                  detector=FakeDetector(roster=False), transcriber=FakeTranscriber(alice))
    config = SidecarConfig(
        policy=tmp_path / "policy.yaml", audit=audit, jobs_dir=tmp_path / "jobs", limits=Limits(max_body_mb=2),
        upstreams={"llm": UpstreamConfig("llm", f"http://127.0.0.1:{up.port}/in")},
        zoom=ZoomConfig(secret_env="Z", secrets=(SECRET,), api_base=base,
                        download_hosts=(f"127.0.0.1:{cdn_srv.port}",),
                        purposes=(ZoomPurpose("summarization", "llm"),)))
    client = await aiohttp_client(init_app(config, guard))
    try:
        yield Hook(client, state, rec, audit, base, turns)
    finally:
        await client.close()
        guard.close()


async def test_the_mixed_audio_is_delivered_with_the_refusing_speaker_silenced_once(hook: Hook) -> None:
    body = hook.event(["m4a", "timeline", "vtt", "chat"])
    assert await hook.post(body) == 204
    rows = await hook.events()
    assert sorted(hook.state.fetched()) == ["chat", "m4a", "timeline", "vtt"]
    [got] = hook.upstream.received
    payload = got.json()
    assert payload["decision"] == "partial" and set(payload["audio"]) == {"audio.redacted.wav"}
    x, rate = s2.samples(base64.b64decode(payload["audio"]["audio.redacted.wav"]))
    for t in hook.turns:
        if t.who == "bob":
            assert s2.peak(x, rate, t.start - PAD, t.end + PAD) == 0
        else:
            assert s2.peak(x, rate, t.start, t.end) > 1000
    # Bob's cues are dropped from the transcript; the released one names nobody
    assert "warehouse" not in got.body.decode() and "Bob Stone" not in got.body.decode()
    guard_rec, event_rec = rows[-2], rows[-1]
    assert {s["participant"] for s in guard_rec["silenced"]} == {"p-bob"}
    assert guard_rec["silenced_seconds"] > 8 and guard_rec["excluded_participants"] == ["p-bob"]
    assert event_rec["event"]["fetched"] == {"audio": 1, "chat": 1, "timeline": 1, "transcript": 1}
    assert event_rec["decision"] == "partial"
    # once: the redelivered event is a no-op
    assert await hook.post(body) == 204
    await asyncio.sleep(0.2)
    assert len(hook.upstream.received) == 1
    assert verify(hook.audit).ok
    log = hook.audit.read_text()
    for secret in ("Bob Stone", "Alice Martin", "example.com", hook.state.token):
        assert secret not in log


async def test_without_its_timeline_the_mixed_audio_is_not_fetched(hook: Hook) -> None:
    del hook.state.files["timeline"]                      # Zoom answers 404 for it
    assert await hook.post(hook.event(["m4a", "timeline", "vtt", "chat"])) == 204
    rows = await hook.events()
    assert "m4a" not in hook.state.fetched() and "timeline" in hook.state.fetched()
    [got] = hook.upstream.received
    assert got.json()["audio"] == {} and rows[-1]["decision"] == "partial"
    assert "mixed audio withheld" in rows[-1]["event"]["purposes"][0]["reason"]


async def test_the_sidecar_speakers_field(aiohttp_client: Any, tmp_path: Path) -> None:
    """POST /v1/guard with ``audio`` and ``speakers`` (a Zoom VTT here): the refusing speaker is
    silenced and the answer carries ``silenced``; ``speakers`` without ``audio`` is a 400."""
    from aiohttp import FormData

    (tmp_path / "policy.yaml").write_text(s2.POLICY, "utf-8")
    turns = s2.alternating(tmp_path / "meeting.wav")
    alice = [(t.start, t.end, t.text) for t in turns if t.who == "alice"]
    guard = Guard(tmp_path / "policy.yaml", GuardOptions(audit_path=tmp_path / "audit.jsonl"),
                  detector=FakeDetector(roster=False), transcriber=FakeTranscriber(alice))
    config = SidecarConfig(policy=tmp_path / "policy.yaml", audit=tmp_path / "audit.jsonl", tokens=("tok-s",),
                           jobs_dir=tmp_path / "jobs", limits=Limits(max_body_mb=4))
    client = await aiohttp_client(init_app(config, guard))
    auth = {"Authorization": "Bearer tok-s"}
    try:
        for _ in range(2400):                # a bound, not a timing: the guard warms first
            if (await client.get("/readyz")).status == 200:
                break
            await asyncio.sleep(0.025)
        form = FormData()
        form.add_field("purpose", "summarization")
        form.add_field("audio", (tmp_path / "meeting.wav").read_bytes(), filename="meeting.wav")
        form.add_field("speakers", s2.zoom_vtt(turns, tmp_path / "t.vtt").read_bytes(), filename="t.vtt")
        resp = await client.post("/v1/guard", data=form, headers=auth)
        body = await resp.json()
        assert resp.status == 200, body
        assert body["decision"] == "partial" and {s["participant"] for s in body["silenced"]} == {"p-bob"}
        x, rate = s2.samples(base64.b64decode(body["audio"]["audio.redacted.wav"]))
        assert all(s2.peak(x, rate, t.start, t.end) == 0 for t in turns if t.who == "bob")
        alone = FormData()
        alone.add_field("purpose", "summarization")
        alone.add_field("speakers", b"WEBVTT\n", filename="t.vtt")
        bad = await client.post("/v1/guard", data=alone, headers=auth)
        assert bad.status == 400 and "speakers" in (await bad.json())["message"]
    finally:
        await client.close()
        guard.close()
