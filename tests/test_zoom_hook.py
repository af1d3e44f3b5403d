"""POST /v1/hooks/zoom against a stand-in Zoom on loopback (tests/fakes/zoom.py), with the
fake guard: signature checks on raw bytes, URL validation, idempotency, downloads
(token, redirects, size cap), who is who, consent, restart, audit and metrics."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import stat
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from meetguard import ConfigError, Meeting, PolicyError
from meetguard.audit import verify
from meetguard.policy import load_policy
from meetguard.sidecar import SidecarConfig, UpstreamConfig, init_app, keys, load_config
from meetguard.sidecar import app as app_module
from meetguard.sidecar.config import Limits
from meetguard.sidecar.zoom_config import ZoomConfig, ZoomPurpose
from tests.fakes.guard import FakeGuard, load_meeting
from tests.fakes.sidecar_upstream import Recorder, build_upstream
from tests.fakes.zoom import ZoomState, build_cdn, build_zoom

SECRET = b"zm-secret-current-1b7e"
OLD_SECRET = b"zm-secret-previous-77aa"
UUID = "4444AAAiAAAAAiAiAiiAii=="
ALICE_MAIL = "alice.martin@northwind.example"
CHAT = "10:00:01 From Alice Martin to Everyone:\n\tmail me at alice.martin@northwind.example\n"
VTT = "WEBVTT\n\n1\n00:00:01.000 --> 00:00:03.000\nAlice Martin: hello from Alice Martin\n"
M4A = b"\x00\x00\x00\x20ftypM4A fake-mixed-audio"
POLICY = """\
version: 1
policy_id: zoom-test-1
account: {id: northwind, ai_features: {summarization: true, training: true}}
purposes:
  summarization:
    consent: opt_out
    missing_consent: exclude
    recipients: [summarizer]
    redact: {entities: [PERSON, EMAIL_ADDRESS], operator: pseudonymize}
    audio: bleep
  training:
    consent: opt_in
    missing_consent: deny
    recipients: [training-store]
    redact: {entities: all, operator: redact}
    audio: drop
participants:
  - id: p-alice
    names: ["Alice Martin"]
    emails: ["Alice.Martin@northwind.example"]
    consent: {training: {status: granted, at: 2026-01-01T00:00:00Z}}
  - id: p-bob
    names: ["Bob Stone"]
    emails: ["bob.stone@northwind.example"]
    consent: {summarization: {status: refused, at: 2026-01-01T00:00:00Z}}
  - id: p-jose
    names: ["José Núñez"]
"""

Client = TestClient[web.Request, web.Application]


@dataclass
class Env:
    client: Client
    guard: FakeGuard
    zoom: ZoomState
    upstream: Recorder
    config: SidecarConfig
    zoom_base: str
    cdn_base: str
    foreign_base: str
    foreign: ZoomState

    @property
    def audit_path(self) -> Path:
        assert self.config.audit is not None
        return self.config.audit

    def events(self) -> list[dict[str, Any]]:
        if not self.audit_path.exists():
            return []
        lines = self.audit_path.read_text(encoding="utf-8").splitlines()
        return [r for r in map(json.loads, lines) if "event" in r]

    async def wait_events(self, n: int = 1) -> list[dict[str, Any]]:
        for _ in range(400):
            if len(self.events()) >= n:
                return self.events()
            await asyncio.sleep(0.025)
        raise AssertionError("the zoom job did not finish")

    def post(self, body: bytes, ts: str | None = None, secret: bytes = SECRET,
             headers: dict[str, str] | None = None) -> Awaitable[Any]:
        ts = str(int(time.time())) if ts is None else ts
        sig = "v0=" + hmac.new(secret, b"v0:" + ts.encode() + b":" + body, hashlib.sha256).hexdigest()
        hdrs = {"x-zm-request-timestamp": ts, "x-zm-signature": sig,
                "Content-Type": "application/json", **(headers or {})}
        return self.client.post("/v1/hooks/zoom", data=body, headers=hdrs)


def recording_file(base: str, fid: str, ftype: str, data: bytes | None, **kw: Any) -> dict[str, Any]:
    return {"id": fid, "meeting_id": UUID, "recording_start": "2026-11-30T10:00:00Z",
            "recording_end": "2026-11-30T10:30:00Z", "file_type": ftype,
            "file_extension": {"TRANSCRIPT": "VTT", "CHAT": "TXT"}.get(ftype, ftype),
            "file_size": len(data) if data is not None else 123456,
            "download_url": f"{base}/rec/download/{fid}", "status": "completed",
            "recording_type": "audio_only", **kw}


def recording_event(env: Env, *, tracks: list[dict[str, Any]] | None = None, token: str | None = None,
                    event: str = "recording.completed", topic: str = "Weekly sync",
                    timeline: bool = False) -> dict[str, Any]:
    """A recording event; ``timeline``: with a TIMELINE entry (then the hook may fetch it to
    silence refusing speakers in the mixed audio: tests/test_silence_zoom.py)."""
    z = env.zoom_base
    files = [recording_file(z, "f-mp4", "MP4", None, recording_type="shared_screen_with_speaker_view"),
             recording_file(z, "f-m4a", "M4A", env.zoom.files.get("f-m4a")),
             recording_file(z, "f-vtt", "TRANSCRIPT", env.zoom.files["f-vtt"]),
             recording_file(z, "f-chat", "CHAT", env.zoom.files["f-chat"])]
    if timeline:
        files.append(recording_file(z, "f-timeline", "TIMELINE", env.zoom.files.get("f-timeline"),
                                    recording_type="timeline", file_extension="JSON"))
    return {"event": event, "event_ts": 1764497000123,
            "payload": {"account_id": "acct-1", "object": {
                "uuid": UUID, "id": 81234567890, "host_id": "h-1", "host_email": ALICE_MAIL,
                "topic": topic, "start_time": "2026-11-30T10:00:00Z", "duration": 30,
                "recording_files": files, "participant_audio_files": tracks or []}},
            "download_token": token or env.zoom.token}


def dumps(event: dict[str, Any]) -> bytes:
    return json.dumps(event, ensure_ascii=False, indent=1).encode("utf-8")


EnvFactory = Callable[..., Awaitable[Env]]


@pytest.fixture
def start(aiohttp_client: Any, aiohttp_server: Any, tmp_path: Path) -> EnvFactory:
    servers: dict[str, Any] = {}

    async def _start(guard: FakeGuard | None = None, purposes: tuple[ZoomPurpose, ...] | None = None,
                     limits: Limits | None = None, **zoom_kw: Any) -> Env:
        if not servers:
            state, foreign = ZoomState(), ZoomState()
            state.files.update({"f-m4a": M4A, "f-vtt": VTT.encode(), "f-chat": CHAT.encode()})
            servers.update(state=state, foreign=foreign, rec=Recorder(),
                           zoom=await aiohttp_server(build_zoom(state)),
                           cdn=await aiohttp_server(build_cdn(state)),
                           far=await aiohttp_server(build_cdn(foreign, "foreign")))
            servers["up"] = await aiohttp_server(build_upstream(servers["rec"]))
            (tmp_path / "policy.yaml").write_text(POLICY, encoding="utf-8")
        base = {k: f"http://127.0.0.1:{servers[k].port}" for k in ("zoom", "cdn", "far", "up")}
        zoom_kw.setdefault("secrets", (SECRET, OLD_SECRET))
        zoom = ZoomConfig(secret_env="ZOOM_SECRET", secrets_env_previous=("ZOOM_SECRET_OLD",),
                          download_hosts=(f"127.0.0.1:{servers['cdn'].port}",),
                          purposes=purposes or (ZoomPurpose("summarization", "summarizer"),),
                          api_base=base["zoom"], **zoom_kw)
        ups = {n: UpstreamConfig(n, f"{base['up']}/{n}", "plain", 5.0, {"X-Up": "k"})
               for n in ("summarizer", "training-store")}
        config = SidecarConfig(policy=tmp_path / "policy.yaml", audit=tmp_path / "audit.jsonl",
                               tokens=("client-tok",), upstreams=ups, jobs_dir=tmp_path / "jobs",
                               limits=limits or Limits(max_body_mb=2), zoom=zoom)
        fake = guard or FakeGuard(secrets=("Alice Martin", ALICE_MAIL), recipients={
            "summarization": ("summarizer",), "training": ("training-store",)})
        client = await aiohttp_client(init_app(config, fake, meeting_loader=load_meeting))
        return Env(client, fake, servers["state"], servers["rec"], config, base["zoom"], base["cdn"],
                   base["far"], servers["foreign"])
    return _start


def job_files(env: Env) -> str:
    """Everything the sidecar keeps on disk for zoom jobs, as text."""
    root = env.config.jobs_dir / "zoom"
    return "\n".join(p.read_text("utf-8", "replace") for p in root.rglob("*") if p.is_file())


# -- a valid event, end to end ------------------------------------------------------------

async def test_valid_event_is_guarded_forwarded_and_audited(start: EnvFactory) -> None:
    env = await start()
    env.zoom.redirect["f-vtt"] = f"{env.cdn_base}/files/f-vtt"        # Zoom -> download host
    tracks = [{"id": "t-jose", "file_type": "M4A", "file_name": "Audio only - José Núñez",
               "participant_name": "José Núñez", "file_size": 11,
               "download_url": f"{env.zoom_base}/rec/download/t-jose", "status": "completed"}]
    env.zoom.files["t-jose"] = b"jose-track!"
    body = dumps(recording_event(env, tracks=tracks, topic="Réunion d’équipe — Zoë Ångström"))
    assert "Ångström".encode() in body                                 # raw UTF-8 on the wire
    resp = await env.post(body)
    assert resp.status == 204 and await resp.read() == b""
    [record] = await env.wait_events()

    # downloads: bearer to Zoom only, not to the download host; MP4 and TIMELINE never fetched
    assert sorted(env.zoom.fetched()) == ["f-chat", "f-m4a", "f-vtt", "f-vtt", "t-jose"]
    for server, _path, auth in env.zoom.hits:
        assert auth == (f"Bearer {env.zoom.token}" if server == "zoom" else None)
    # guarded and forwarded once, as /v1/release forwards
    [got] = env.upstream.received
    payload = got.json()
    assert got.path == "/summarizer" and got.headers["X-Up"] == "k"
    assert payload["meeting_id"] == UUID and payload["purpose"] == "summarization"
    assert "[PERSON_1]" in payload["content"]["chat-1.txt"] and "Alice Martin" not in got.body.decode()
    assert set(payload["audio"]) == {"audio.redacted.wav", "p-jose.redacted.wav"}   # by policy id
    # audited: the event, files by type, decision, delivered; no token, name or topic
    assert record["meeting_id"] == UUID and record["decision"] == "release"
    ev = record["event"]
    assert ev["type"] == "recording.completed" and ev["source"] == "zoom"
    assert ev["files"] == {"audio": 1, "chat": 1, "track": 1, "transcript": 1}
    assert ev["not_fetched"] == {"MP4": 1}
    assert [(p["purpose"], p["decision"], p["delivered"]) for p in ev["purposes"]] == [
        ("summarization", "release", True)]
    assert record["delivered"] == {"delivered": True, "count": 1}
    audit_text = env.audit_path.read_text(encoding="utf-8")
    for secret in (env.zoom.token, "José", "Zoë", "Réunion", ALICE_MAIL, SECRET.decode()):
        assert secret not in audit_text and secret not in job_files(env)
    assert verify(env.audit_path).ok
    metrics = await (await env.client.get("/metrics")).text()
    assert 'meetguard_hook_events_total{outcome="accepted",source="zoom"} 1.0' in metrics
    assert 'meetguard_hook_jobs_total{outcome="delivered",source="zoom"} 1.0' in metrics
    jdir = next(d for d in (env.config.jobs_dir / "zoom").iterdir() if len(d.name) == 64)   # not delivered/
    assert stat.S_IMODE(jdir.stat().st_mode) == 0o700 and not (jdir / "inputs").exists()
    assert stat.S_IMODE((jdir / "job.json").stat().st_mode) == 0o600


# -- signature ------------------------------------------------------------------------------

async def test_url_validation_answers_only_after_the_signature(start: EnvFactory) -> None:
    env = await start()
    body = json.dumps({"event": "endpoint.url_validation", "event_ts": 1,
                       "payload": {"plainToken": "qgg8vlvZRS6UYooatFL8Aw"}}).encode()
    resp = await env.post(body)
    assert resp.status == 200
    want = hmac.new(SECRET, b"qgg8vlvZRS6UYooatFL8Aw", hashlib.sha256).hexdigest()
    assert await resp.json() == {"plainToken": "qgg8vlvZRS6UYooatFL8Aw", "encryptedToken": want}
    forged = await env.post(body, secret=b"not-the-secret")
    assert forged.status == 401 and "encryptedToken" not in await forged.text()
    unsigned = await env.client.post("/v1/hooks/zoom", data=body)
    assert unsigned.status == 401


async def test_wrong_signature_and_reserialised_body_are_refused(start: EnvFactory) -> None:
    env = await start()
    event = recording_event(env)
    body = dumps(event)
    ts = str(int(time.time()))
    good = "v0=" + hmac.new(SECRET, b"v0:" + ts.encode() + b":" + body, hashlib.sha256).hexdigest()
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    resp = await env.client.post("/v1/hooks/zoom", data=body,
                                 headers={"x-zm-request-timestamp": ts, "x-zm-signature": bad})
    assert resp.status == 401
    assert (await resp.json())["error"] == "unauthorized"
    # the same event, re-serialised with reordered keys, under the original bytes' signature
    reordered = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    assert reordered != body and json.loads(reordered) == json.loads(body)
    resp = await env.client.post("/v1/hooks/zoom", data=reordered,
                                 headers={"x-zm-request-timestamp": ts, "x-zm-signature": good})
    assert resp.status == 401
    for sig in ("", "v0=", good.upper(), good + "0", good[:-1], "v1=" + good[3:]):
        resp = await env.client.post("/v1/hooks/zoom", data=body,
                                     headers={"x-zm-request-timestamp": ts, "x-zm-signature": sig})
        assert resp.status == 401, sig
    await asyncio.sleep(0.1)
    assert env.zoom.hits == [] and env.guard.audit == [] and env.events() == []
    assert not any((env.config.jobs_dir / "zoom").iterdir())
    metrics = await (await env.client.get("/metrics")).text()
    assert 'meetguard_hook_events_total{outcome="rejected",source="zoom"} 8.0' in metrics


async def test_non_ascii_body_verifies_on_raw_bytes(start: EnvFactory) -> None:
    env = await start()
    tracks = [{"id": "t-1", "file_type": "M4A", "participant_name": "José Núñez", "file_size": 3,
               "file_name": "Audio only - José Núñez", "status": "completed",
               "download_url": f"{env.zoom_base}/rec/download/t-1"}]
    env.zoom.files["t-1"] = b"abc"
    body = dumps(recording_event(env, tracks=tracks, topic="Ärger über Öl — 会议 ✓"))
    resp = await env.post(body, headers={"X-ZM-Signature-Ignored": "x"})
    assert resp.status == 204
    [record] = await env.wait_events()
    assert record["event"]["files"]["track"] == 1


async def test_stale_or_malformed_timestamps_are_refused(start: EnvFactory) -> None:
    env = await start()
    body = dumps(recording_event(env))
    now = int(time.time())
    for ts in (str(now - 5701), str(now + 5701), "+" + str(now), f"{now} 1", f"{now}.0", f"0{now}0",
               "١٧٦٤٤٩٧٠٠٠", "0x10", "-1", ""):
        resp = await env.post(body, ts=ts)
        assert resp.status == 401, ts
        assert (await resp.json())["error"] == "unauthorized"
    assert env.zoom.hits == [] and env.events() == []
    assert (await env.post(body, ts=str(now - 5600))).status == 204        # inside the window


async def test_rotated_secret_and_header_case(start: EnvFactory) -> None:
    env = await start()
    body = dumps(recording_event(env))
    ts = str(int(time.time()))
    sig = "v0=" + hmac.new(OLD_SECRET, b"v0:" + ts.encode() + b":" + body, hashlib.sha256).hexdigest()
    resp = await env.client.post("/v1/hooks/zoom", data=body,
                                 headers={"X-ZM-REQUEST-TIMESTAMP": ts, "X-Zm-Signature": sig})
    assert resp.status == 204
    await env.wait_events()
    assert len(env.upstream.received) == 1


async def test_every_secret_is_compared_in_constant_time(start: EnvFactory,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """hmac.compare_digest against each configured secret, whichever matches or none."""
    env = await start()
    calls: list[int] = []
    real = hmac.compare_digest

    def counting(a: Any, b: Any) -> bool:
        calls.append(1)
        return real(a, b)

    body = json.dumps({"event": "meeting.ended", "payload": {}}).encode()
    monkeypatch.setattr(hmac, "compare_digest", counting)
    for secret, status in ((SECRET, 204), (OLD_SECRET, 204), (b"wrong", 401)):
        calls.clear()
        assert (await env.post(body, secret=secret)).status == status
        assert len(calls) == 2, secret                 # no early exit


async def test_unknown_event_is_ignored(start: EnvFactory) -> None:
    env = await start()
    resp = await env.post(json.dumps({"event": "meeting.started", "payload": {}}).encode())
    assert resp.status == 204
    assert (await env.post(b"[1, 2]")).status == 400                     # signed, but no event
    await asyncio.sleep(0.05)
    assert env.zoom.hits == [] and env.events() == []


async def test_hook_needs_no_bearer_but_other_routes_still_do(start: EnvFactory) -> None:
    env = await start()
    assert (await env.client.post("/v1/hooks/zoom", data=b"{}")).status == 401   # unsigned
    assert (await env.client.post("/v1/guard", data=b"{}")).status == 401        # no bearer
    assert (await env.client.get("/v1/hooks/zoom")).status == 405


# -- idempotency ----------------------------------------------------------------------------

async def test_redelivery_is_processed_once(start: EnvFactory) -> None:
    env = await start()
    body = dumps(recording_event(env))
    first, second = await asyncio.gather(env.post(body), env.post(body))
    assert first.status == second.status == 204
    await env.wait_events()
    assert (await env.post(body, ts=str(int(time.time()) - 60))).status == 204   # a later retry
    await asyncio.sleep(0.2)
    assert len(env.events()) == 1 and len(env.upstream.received) == 1
    assert sorted(env.zoom.fetched()) == ["f-chat", "f-m4a", "f-vtt"]
    metrics = await (await env.client.get("/metrics")).text()
    assert 'meetguard_hook_events_total{outcome="duplicate",source="zoom"} 2.0' in metrics
    # the transcript event for the same meeting is another event: processed on its own, but
    # its files were all delivered already (same file ids): nothing is fetched or sent again
    assert (await env.post(dumps(recording_event(env, event="recording.transcript_completed")))).status == 204
    assert len(await env.wait_events(2)) == 2
    assert len(env.upstream.received) == 1 and len(env.zoom.fetched()) == 3


# -- downloads fail closed ------------------------------------------------------------------

async def test_redirect_to_a_foreign_host_is_refused(start: EnvFactory) -> None:
    env = await start()
    env.foreign.files["f-vtt"] = b"WEBVTT\n"
    env.zoom.redirect["f-vtt"] = f"{env.foreign_base}/files/f-vtt"
    assert (await env.post(dumps(recording_event(env)))).status == 204
    [record] = await env.wait_events()
    assert record["decision"] == "error"
    assert any("host not in zoom.download_hosts" in r for r in record["reasons"])
    assert env.foreign.hits == [] and env.upstream.received == [] and env.guard.audit == []
    assert env.foreign_base not in json.dumps(record)


async def test_download_url_outside_the_allowed_hosts_is_never_requested(start: EnvFactory) -> None:
    env = await start()
    event = recording_event(env)
    event["payload"]["object"]["recording_files"][2]["download_url"] = f"{env.foreign_base}/files/f-vtt"
    assert (await env.post(dumps(event))).status == 204
    [record] = await env.wait_events()
    assert record["decision"] == "error" and env.foreign.hits == [] and env.upstream.received == []


async def test_oversized_file_is_refused(start: EnvFactory) -> None:
    env = await start(max_download_mb=1)
    env.zoom.files["f-chat"] = b"x" * (1024 * 1024 + 1)
    event = recording_event(env)
    assert (await env.post(dumps(event))).status == 204
    [record] = await env.wait_events()
    assert record["decision"] == "error"
    assert any("exceeds zoom.max_download_mb" in r for r in record["reasons"])
    assert env.upstream.received == [] and not list((env.config.jobs_dir / "zoom").rglob("chat-*"))


async def test_size_other_than_file_size_is_refused(start: EnvFactory) -> None:
    env = await start()
    event = recording_event(env)
    event["payload"]["object"]["recording_files"][3]["file_size"] = len(CHAT) + 5
    assert (await env.post(dumps(event))).status == 204
    [record] = await env.wait_events()
    assert record["decision"] == "error" and env.upstream.received == []
    assert any("file_size" in r for r in record["reasons"])


async def test_expired_token_fails_closed_with_the_reason(start: EnvFactory) -> None:
    env = await start()
    stale = "dl-tok-expired-0000"
    assert (await env.post(dumps(recording_event(env, token=stale)))).status == 204
    [record] = await env.wait_events()
    assert record["decision"] == "error"
    assert any("download token expired or refused (HTTP 401)" in r for r in record["reasons"])
    assert env.upstream.received == [] and env.guard.audit == []
    assert stale not in env.audit_path.read_text() and stale not in job_files(env)
    metrics = await (await env.client.get("/metrics")).text()
    assert 'meetguard_hook_jobs_total{outcome="failed",source="zoom"} 1.0' in metrics


async def test_event_without_download_token_fails_closed(start: EnvFactory) -> None:
    env = await start()
    event = recording_event(env)
    del event["download_token"]
    assert (await env.post(dumps(event))).status == 204
    [record] = await env.wait_events()
    assert record["decision"] == "error" and env.zoom.hits == [] and env.upstream.received == []
    assert any("no download_token" in r for r in record["reasons"])


# -- who is who, consent --------------------------------------------------------------------

async def test_refused_participant_track_is_never_fetched_nor_guarded(start: EnvFactory) -> None:
    env = await start()
    z = env.zoom_base
    env.zoom.files.update({"t-alice": b"alice-voice", "t-bob": b"bob-voice", "t-who": b"who-voice"})
    tracks = [
        {"id": "t-alice", "file_type": "M4A", "participant_email": ALICE_MAIL.upper(), "file_size": 11,
         "status": "completed", "download_url": f"{z}/rec/download/t-alice"},
        {"id": "t-bob", "file_type": "M4A", "participant_email": "bob.stone@northwind.example",
         "file_size": 9, "status": "completed", "download_url": f"{z}/rec/download/t-bob"},
        # only a file name: never mapped from it, so an unknown speaker
        {"id": "t-who", "file_type": "M4A", "file_name": "Audio only - Alice Martin", "file_size": 9,
         "status": "completed", "download_url": f"{z}/rec/download/t-who"},
    ]
    assert (await env.post(dumps(recording_event(env, tracks=tracks)))).status == 204
    [record] = await env.wait_events()
    assert "t-bob" not in env.zoom.fetched() and "t-who" not in env.zoom.fetched()
    assert "f-m4a" not in env.zoom.fetched()        # mixed audio: an unknown speaker is present
    [payload] = [r.json() for r in env.upstream.received]
    assert set(payload["audio"]) == {"p-alice.redacted.wav"}
    ev = record["event"]
    assert ev["unknown_speaker_tracks"] == 1
    assert ev["files"] == {"audio": 1, "chat": 1, "track": 2, "transcript": 1}
    assert ev["fetched"] == {"chat": 1, "track": 1, "transcript": 1}
    assert record["decision"] == "partial" and "1 participant track(s) withheld" in ev["purposes"][0]["reason"]


@pytest.mark.parametrize("bob_status", ["completed", "processing"])
async def test_mixed_audio_is_not_fetched_while_a_present_participant_refuses(
        start: EnvFactory, bob_status: str) -> None:
    """Without a TIMELINE, the mixed recording carries the refusing participant's voice with
    nothing to silence it by: it is neither fetched nor guarded (even where their own file
    cannot be fetched: they are present all the same); the consenting participant's own
    track is. (With a timeline: tests/test_silence_zoom.py.)"""
    env = await start()
    z = env.zoom_base
    env.zoom.files.update({"t-alice": b"alice-voice", "t-bob": b"bob-voice"})
    tracks = [
        {"id": "t-alice", "file_type": "M4A", "participant_name": "Alice Martin", "file_size": 11,
         "status": "completed", "download_url": f"{z}/rec/download/t-alice"},
        {"id": "t-bob", "file_type": "M4A", "participant_name": "Bob Stone", "file_size": 9,
         "file_name": "Audio only - Alice Martin",        # the file name is never an identity
         "status": bob_status, "download_url": f"{z}/rec/download/t-bob"},
    ]
    assert (await env.post(dumps(recording_event(env, tracks=tracks)))).status == 204
    [record] = await env.wait_events()
    assert sorted(env.zoom.fetched()) == ["f-chat", "f-vtt", "t-alice"]
    [got] = env.upstream.received
    assert set(got.json()["audio"]) == {"p-alice.redacted.wav"}
    [call] = env.guard.audit
    assert record["event"]["unknown_speaker_tracks"] == 0
    reason = record["event"]["purposes"][0]["reason"]
    assert ("1 participant track(s) withheld: no consent" in reason) is (bob_status == "completed")
    assert "mixed audio withheld: not everyone present consents" in reason
    assert record["decision"] == "partial" and call["decision"] == "release"


async def test_unknown_speaker_denies_a_purpose_that_needs_everyone(start: EnvFactory) -> None:
    env = await start(purposes=(ZoomPurpose("summarization", "summarizer"),
                                ZoomPurpose("training", "training-store")))
    tracks = [{"id": "t-who", "file_type": "M4A", "file_name": "Audio only - Alice Martin",
               "file_size": 9, "status": "completed",
               "download_url": f"{env.zoom_base}/rec/download/t-who"}]
    assert (await env.post(dumps(recording_event(env, tracks=tracks)))).status == 204
    [record] = await env.wait_events()
    rows = {p["purpose"]: p for p in record["event"]["purposes"]}
    assert rows["training"]["decision"] == "deny" and not rows["training"]["delivered"]
    assert rows["summarization"]["decision"] == "partial"         # the unknown track is withheld
    assert "unknown speaker track(s) not fetched" in rows["summarization"]["reason"]
    assert record["decision"] == "partial"
    assert [r.path for r in env.upstream.received] == ["/summarizer"]


# -- restart --------------------------------------------------------------------------------

@dataclass
class HoldTraining(FakeGuard):
    """Guards summarization at once and hangs on training (until the sidecar stops)."""

    async def process(self, meeting: Meeting, purpose: str, recipient: str | None = None,
                      at: Any = None, **options: Any) -> Any:
        if purpose == "training":
            await asyncio.Event().wait()
        return await super().process(meeting, purpose, recipient, at, **options)


async def test_restart_in_the_middle_of_a_job_finishes_once(start: EnvFactory,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app_module, "SHUTDOWN_GRACE_S", 0.05)
    both = (ZoomPurpose("summarization", "summarizer"), ZoomPurpose("training", "training-store"))
    recipients = {"summarization": ("summarizer",), "training": ("training-store",)}
    env = await start(guard=HoldTraining(recipients=recipients), purposes=both)
    body = dumps(recording_event(env))
    assert (await env.post(body)).status == 204
    for _ in range(2400):                       # a bound, not a timing: 60 s on a busy machine
        if env.upstream.received:
            break
        await asyncio.sleep(0.025)
    await asyncio.sleep(0.1)
    await env.client.close()                    # stops in the middle: training not yet guarded
    assert [r.path for r in env.upstream.received] == ["/summarizer"] and env.events() == []
    fetched_before = len(env.zoom.hits)

    env2 = await start(guard=FakeGuard(recipients=recipients), purposes=both)
    [record] = await env2.wait_events()
    assert [r.path for r in env2.upstream.received] == ["/summarizer", "/training-store"]
    assert len(env2.zoom.hits) == fetched_before          # files came from the spool
    assert [p["purpose"] for p in record["event"]["purposes"]] == ["summarization", "training"]
    assert (await env2.post(body)).status == 204          # and a redelivery is still a no-op
    await asyncio.sleep(0.1)
    assert len(env2.events()) == 1 and len(env2.upstream.received) == 2


async def wait_for(cond: Callable[[], bool]) -> None:
    for _ in range(2400):                       # a bound, not a timing: 60 s on a busy machine
        if cond():
            return
        await asyncio.sleep(0.025)
    raise AssertionError("condition not reached")


def job_record(env: Env) -> dict[str, Any]:
    [jdir] = [d for d in (env.config.jobs_dir / "zoom").iterdir() if len(d.name) == 64]
    data: dict[str, Any] = json.loads((jdir / "job.json").read_text(encoding="utf-8"))
    return data


async def test_restart_during_the_downloads_finishes_once(start: EnvFactory,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """The chat download hangs until the first sidecar is closed; the second one (its secret
    rotated: the old one is now 'previous') opens the sealed token, fetches only the chat,
    guards and delivers once, and writes one audit record."""
    monkeypatch.setattr(app_module, "SHUTDOWN_GRACE_S", 0.05)
    env = await start()
    env.zoom.hold, env.zoom.held = asyncio.Event(), {"f-chat"}
    body = dumps(recording_event(env))
    assert (await env.post(body)).status == 204
    await wait_for(lambda: "f-chat" in env.zoom.fetched())
    jdir = env.config.jobs_dir / "zoom" / job_record(env)["key"]
    assert job_record(env)["fetched"] == ["audio.m4a", "transcript-1.vtt"]
    sealed = jdir / "token.sealed"
    assert sealed.exists() and stat.S_IMODE(sealed.stat().st_mode) == 0o600
    assert env.zoom.token not in job_files(env)               # kept sealed, never in plaintext
    await env.client.close()                                  # the restart, mid-download
    env.zoom.hold.set()
    assert env.upstream.received == [] and env.events() == []

    env2 = await start(secrets=(b"zm-secret-rotated-in", SECRET))
    [record] = await env2.wait_events()
    assert sorted(env2.zoom.fetched()) == ["f-chat", "f-chat", "f-m4a", "f-vtt"]   # the chat again only
    assert record["decision"] == "release" and record["delivered"] == {"delivered": True, "count": 1}
    [got] = env2.upstream.received
    assert set(got.json()["content"]) >= {"chat-1.txt", "transcript-1.vtt"}
    assert len(env2.guard.audit) == 1
    assert not sealed.exists() and not (jdir / "inputs").exists()
    assert (await env2.post(body)).status == 204              # a redelivery is still a no-op
    await asyncio.sleep(0.1)
    assert len(env2.events()) == 1 and len(env2.upstream.received) == 1


async def test_restart_with_the_secret_rotated_away_fails_closed(
        start: EnvFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app_module, "SHUTDOWN_GRACE_S", 0.05)
    env = await start()
    env.zoom.hold = asyncio.Event()             # every download hangs
    body = dumps(recording_event(env))
    assert (await env.post(body)).status == 204
    await wait_for(lambda: bool(env.zoom.hits))
    await env.client.close()
    env.zoom.hold.set()
    hits = len(env.zoom.hits)
    env2 = await start(secrets=(b"zm-secret-rotated-in",))   # neither old secret is configured
    [record] = await env2.wait_events()
    assert record["decision"] == "error" and env2.upstream.received == [] and env2.guard.audit == []
    assert any(r.startswith("download_token_unsealable:") for r in record["reasons"])
    assert len(env2.zoom.hits) == hits                        # nothing fetched without a token
    marker = env2.config.jobs_dir / "zoom" / record_key(body)
    await wait_for(lambda: not marker.exists())               # removed: a resent event may run
    metrics = await (await env2.client.get("/metrics")).text()
    assert 'meetguard_hook_jobs_total{outcome="failed",source="zoom"} 1.0' in metrics


@pytest.mark.parametrize("written", [True, False])
async def test_a_restart_between_the_audit_write_and_done_audits_once(
        start: EnvFactory, written: bool) -> None:
    """The job's state on disk as a crash leaves it after its event record was saved for
    writing (phase ``auditing``): with the record in the log already, a restart adds none;
    without it, the restart writes it. Never two, and nothing is guarded or sent again."""
    env = await start()
    assert (await env.post(dumps(recording_event(env)))).status == 204
    [logged] = await env.wait_events()
    await env.client.close()
    seal_fields = {"seq", "ts", "prev_hash", "mac", "hash"}
    entry = {k: v for k, v in logged.items() if k not in seal_fields}
    assert entry["event"]["job"] == job_record(env)["key"]
    crashed = {**job_record(env), "phase": "auditing", "audit": {"entry": entry, "drop": False}}
    crashed.pop("done_at")
    if not written:
        env.audit_path.unlink()
    (env.config.jobs_dir / "zoom" / crashed["key"] / "job.json").write_text(json.dumps(crashed))
    env2 = await start()
    await wait_for(lambda: job_record(env2)["phase"] == "done")
    assert len(env2.events()) == 1 and len(env2.upstream.received) == 1
    assert env2.zoom.fetched().count("f-chat") == 1 and verify(env2.audit_path).ok


def record_key(body: bytes) -> str:
    from meetguard.sidecar.zoom_event import event_key

    return event_key(json.loads(body))


def test_sealed_token_opens_only_for_its_job_its_secrets_and_its_lifetime() -> None:
    from meetguard.sidecar.zoom_seal import (
        TOKEN_LIFETIME_S,
        TokenExpired,
        TokenUnsealable,
        open_token,
        seal_token,
    )

    now = 1_800_000_000.0
    sealed = seal_token(SECRET, "k" * 64, "dl-tok-9f2c41", now)
    assert "dl-tok-9f2c41" not in json.dumps(sealed)
    assert sealed["expires_at"] == int(now) + TOKEN_LIFETIME_S == int(now) + 24 * 3600
    assert open_token((b"other", SECRET), "k" * 64, sealed, now + 60) == "dl-tok-9f2c41"
    assert open_token((SECRET,), "k" * 64, sealed, now + TOKEN_LIFETIME_S) == "dl-tok-9f2c41"
    with pytest.raises(TokenExpired):
        open_token((SECRET,), "k" * 64, sealed, now + TOKEN_LIFETIME_S + 1)
    for secrets, key, record in (((OLD_SECRET,), "k" * 64, sealed),          # rotated away
                                 ((SECRET,), "j" * 64, sealed),              # another job
                                 ((SECRET,), "k" * 64, {**sealed, "expires_at": sealed["expires_at"] + 9}),
                                 ((SECRET,), "k" * 64, {**sealed, "sealed": "AAAA"}),
                                 ((SECRET,), "k" * 64, {**sealed, "v": 2})):
        with pytest.raises(TokenUnsealable):
            open_token(secrets, key, record, now)
    assert seal_token(SECRET, "k" * 64, "t", now)["sealed"] != seal_token(SECRET, "k" * 64, "t", now)["sealed"]


# -- the same file in two events of one meeting --------------------------------------------

async def test_a_transcript_in_two_events_is_delivered_once(start: EnvFactory,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app_module, "SHUTDOWN_GRACE_S", 0.05)
    env = await start()
    assert (await env.post(dumps(recording_event(env)))).status == 204
    await env.wait_events()
    assert len(env.upstream.received) == 1
    # recording.transcript_completed for the same meeting lists the same TRANSCRIPT file id
    only_vtt = recording_event(env, event="recording.transcript_completed")
    obj = only_vtt["payload"]["object"]
    obj["recording_files"] = [f for f in obj["recording_files"] if f["id"] == "f-vtt"]
    assert (await env.post(dumps(only_vtt))).status == 204
    _, second = await env.wait_events(2)
    assert len(env.upstream.received) == 1 and env.zoom.fetched().count("f-vtt") == 1
    assert second["decision"] == "deny" and second["delivered"]["count"] == 0
    [row] = second["event"]["purposes"]
    assert row["decision"] == "duplicate" and row["reason"] == "1 file(s) already delivered for this meeting"
    await env.client.close()

    env2 = await start()                        # the record survives a restart
    env2.zoom.files["f-vtt-2"] = b"WEBVTT\n\n00:00:05.000 --> 00:00:06.000\nnew cue\n"
    again = json.loads(dumps(only_vtt))
    again["event_ts"] += 1                      # another delivery: a new event key
    again["payload"]["object"]["recording_files"].append(
        recording_file(env2.zoom_base, "f-vtt-2", "TRANSCRIPT", env2.zoom.files["f-vtt-2"]))
    assert (await env2.post(dumps(again))).status == 204
    third = (await env2.wait_events(3))[-1]
    [got] = env2.upstream.received[1:]
    assert list(got.json()["content"]) == ["transcript-2.vtt"]          # only the new file
    assert env2.zoom.fetched().count("f-vtt") == 1 and "f-vtt-2" in env2.zoom.fetched()
    assert third["decision"] == "partial" and "already delivered" in third["event"]["purposes"][0]["reason"]
    metrics = await (await env2.client.get("/metrics")).text()
    assert 'meetguard_hook_jobs_total{outcome="delivered",source="zoom"} 1.0' in metrics
    delivered_dir = env2.config.jobs_dir / "zoom" / "delivered"
    assert UUID not in "".join(p.name + p.read_text() for p in delivered_dir.iterdir())


async def test_two_events_of_one_meeting_at_once_deliver_the_transcript_once(start: EnvFactory) -> None:
    env = await start()
    env.zoom.hold = asyncio.Event()             # both jobs are accepted before either downloads
    only_vtt = recording_event(env, event="recording.transcript_completed")
    obj = only_vtt["payload"]["object"]
    obj["recording_files"] = [f for f in obj["recording_files"] if f["id"] == "f-vtt"]
    a, b = await asyncio.gather(env.post(dumps(recording_event(env))), env.post(dumps(only_vtt)))
    assert a.status == b.status == 204
    env.zoom.hold.set()
    await env.wait_events(2)
    sent = [name for r in env.upstream.received for name in r.json()["content"]]
    assert sorted(sent) == ["chat-1.txt", "transcript-1.vtt"]      # the transcript once
    assert env.zoom.fetched().count("f-vtt") == 1


# -- unsigned senders hold no queue place --------------------------------------------------

async def test_unsigned_senders_do_not_block_a_signed_event(start: EnvFactory) -> None:
    env = await start(limits=Limits(max_body_mb=2, max_jobs=1, queue=1, body_timeout_s=60))
    now = str(int(time.time()))
    head = (b"POST /v1/hooks/zoom HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"x-zm-request-timestamp: %s\r\nx-zm-signature: v0=" + b"0" * 64 + b"\r\n")
    writers = []
    for extra, sent in ((b"Content-Length: 500000\r\n\r\n", b"{" * 100),            # slow
                        (b"Transfer-Encoding: chunked\r\n\r\n", b"80000\r\n" + b"{" * 0x80000)):  # big
        for _ in range(2):
            _, writer = await asyncio.open_connection("127.0.0.1", env.client.port)
            writer.write(head % now.encode() + extra + sent)
            await writer.drain()
            writers.append(writer)
    # a stale timestamp is refused before its body is read
    reader, stale = await asyncio.open_connection("127.0.0.1", env.client.port)
    stale.write(head % str(int(time.time()) - 9000).encode() + b"Content-Length: 500000\r\n\r\n")
    await stale.drain()
    answer = await asyncio.wait_for(reader.read(4096), timeout=30)
    assert answer.startswith(b"HTTP/1.1 401"), answer[:80]
    stale.close()
    gate = env.client.app[keys.GATE]
    assert gate.waiting == 0                    # the four unsigned bodies hold no place
    resp = await env.post(dumps(recording_event(env)))
    assert resp.status == 204
    [record] = await env.wait_events()
    assert record["decision"] == "release" and len(env.upstream.received) == 1
    for writer in writers:
        writer.close()
    assert gate.waiting == 0 and gate.running == 0


# -- config and policy ----------------------------------------------------------------------

def test_zoom_config_from_file_and_environment(tmp_path: Path) -> None:
    (tmp_path / "policy.yaml").write_text(POLICY)
    cfg = tmp_path / "sidecar.yaml"
    cfg.write_text("policy: policy.yaml\nupstreams: {summarizer: {url: 'http://127.0.0.1:9/x'}}\n"
                   "zoom:\n  secret_env: ZS\n  secrets_env_previous: [ZS_OLD]\n"
                   "  download_hosts: [zoom.us, 'ssrweb.zoom.us:443']\n"
                   "  purposes: [{purpose: summarization, recipient: summarizer}]\n")
    env = {"ZS": "s1", "ZS_OLD": "s0"}
    zoom = load_config(cfg, env).zoom
    assert zoom is not None and zoom.secrets == (b"s1", b"s0") and zoom.replay_window_s == 5700
    assert zoom.download_hosts == ("zoom.us", "ssrweb.zoom.us:443") and zoom.api_host == "zoom.us"
    assert "s1" not in repr(zoom)
    over = load_config(cfg, {**env, "MEETGUARD_ZOOM_REPLAY_WINDOW_S": "60",
                             "MEETGUARD_ZOOM_DOWNLOAD_HOSTS": "a.example,b.example:8443"}).zoom
    assert over is not None and over.replay_window_s == 60
    assert over.download_hosts == ("a.example", "b.example:8443")
    assert load_config(None, {"MEETGUARD_POLICY": "p"}).zoom is None
    for bad_env, text, needle in (
            ({"ZS_OLD": "s0"}, cfg.read_text(), "ZS is not set"),
            (env, cfg.read_text().replace("recipient: summarizer", "recipient: nobody"), "nobody"),
            (env, cfg.read_text().replace("zoom.us, ", "'https://zoom.us', "), "download_hosts"),
            (env, cfg.read_text() + "  bogus: 1\n", "zoom.bogus: unknown key")):
        cfg.write_text(text)
        with pytest.raises(ConfigError, match=needle):
            load_config(cfg, bad_env)


def test_policy_emails(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(POLICY)
    assert load_policy(path).participant("p-alice").emails == ("alice.martin@northwind.example",)  # type: ignore[union-attr]
    for bad, needle in (('emails: ["not-an-email"]', "not an email"),
                        ('emails: ["BOB.STONE@northwind.example"]', "shared with participant")):
        path.write_text(POLICY.replace('emails: ["Alice.Martin@northwind.example"]', bad))
        with pytest.raises(PolicyError, match=needle):
            load_policy(path)

