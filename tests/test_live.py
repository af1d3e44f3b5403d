"""Live meetings (docs/live.md) against the stand-in RTMS server (tests/fakes/rtms.py):
the real guard's decision and redaction with the fake detector, the sidecar built by
its factory, subscribers over SSE and WebSocket, the generic ingest, the audit record."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from meetguard import ConfigError, Guard, GuardOptions
from meetguard.cli import main as cli_main
from meetguard.consent.policy_file import append_withdrawal
from meetguard.live.config import LiveConfig, LivePurpose, RtmsConfig
from meetguard.live.meeting import is_private_chat
from meetguard.live.routes import LIVE
from meetguard.live.rtms_client import allowed_url
from meetguard.live.rtms_protocol import signature
from meetguard.sidecar import SidecarConfig, init_app, load_config
from meetguard.sidecar.config import Limits
from meetguard.sidecar.zoom_config import ZoomConfig, ZoomPurpose
from meetguard.testing import FakeDetector, FakeTranscriber
from tests.fakes.rtms import RtmsServerState, Step, build_rtms

HOOK_SECRET = b"zm-hook-secret-9d1"
CLIENT_ID = "rtms-client-7"
CLIENT_SECRET = b"rtms-client-secret-42"
UUID = "4444AAAiAAAAAiAiAiiAii=="
STREAM = "609340fc-9b3b-4d3a-a8d0-0c5b5b1f2b7e"
TOKEN = "live-tok"
A, B, C = "16778240", "16778241", "16778242"
EMAIL, PHONE = "alice.m@northwind.example", "555-0100"
POLICY = """\
version: 1
policy_id: live-1
account: {id: northwind, ai_features: {summarization: true}}
purposes:
  summarization:
    consent: opt_out
    missing_consent: exclude
    recipients: [notetaker]
    redact: {entities: [PERSON, EMAIL_ADDRESS, PHONE_NUMBER], operator: pseudonymize}
    audio: bleep
participants:
  - id: p-alice
    names: ["Alice Martin"]
  - id: p-bob
    names: ["Bob Stone"]
    consent: {summarization: {status: refused, at: 2026-01-01T00:00:00Z}}
  - id: p-carla
    names: ["Carla Nunes"]
"""
TOKEN_RE = r"[<\[]{}_\d+[>\]]"
Client = TestClient[web.Request, web.Application]


@dataclass
class Live:
    client: Client
    rtms: RtmsServerState
    policy: Path
    audit: Path
    events: list[dict[str, Any]] = field(default_factory=list)

    def post_hook(self, event: dict[str, Any], secret: bytes = HOOK_SECRET) -> Awaitable[Any]:
        body = json.dumps(event).encode()
        ts = str(int(time.time()))
        sig = "v0=" + hmac.new(secret, b"v0:" + ts.encode() + b":" + body, hashlib.sha256).hexdigest()
        return self.client.post("/v1/hooks/zoom", data=body, headers={
            "x-zm-request-timestamp": ts, "x-zm-signature": sig, "Content-Type": "application/json"})

    def started(self, server_urls: str | None = None, stream: str = STREAM) -> dict[str, Any]:
        return {"event": "meeting.rtms_started", "event_ts": 1764497000000, "payload": {
            "meeting_uuid": UUID, "rtms_stream_id": stream, "operator_id": "op-1",
            "server_urls": server_urls or f"{self.rtms.base}/signaling"}}

    def records(self) -> list[dict[str, Any]]:
        if not self.audit.exists():
            return []
        return [json.loads(line) for line in self.audit.read_text("utf-8").splitlines()]

    def texts(self) -> list[str]:
        return [e["text"] for e in self.events if "text" in e]


async def wait_for(cond: Callable[[], bool], what: str = "condition") -> None:
    for _ in range(2400):             # generous: the shared machine is often loaded
        if cond():
            return
        await asyncio.sleep(0.025)
    raise AssertionError(f"timed out waiting for {what}")


def parse_sse(buf: bytes) -> tuple[list[dict[str, Any]], bytes]:
    out = []
    while b"\n\n" in buf:
        block, buf = buf.split(b"\n\n", 1)
        data = [ln[5:].strip() for ln in block.decode().split("\n") if ln.startswith("data:")]
        if data:
            out.append(json.loads("\n".join(data)))
    return out, buf


async def read_sse(client: Client, path: str, into: list[dict[str, Any]], token: str = TOKEN) -> None:
    async with client.get(path, headers={"Authorization": f"Bearer {token}"}) as r:
        assert r.status == 200, await r.text()
        assert r.headers["Content-Type"].startswith("text/event-stream")
        buf = b""
        async for chunk in r.content.iter_any():
            events, buf = parse_sse(buf + chunk)
            into.extend(events)
            if any(e["type"] == "end" for e in events):
                return


LiveFactory = Callable[..., Awaitable[Live]]


async def start_and_read(env: Live, path: str = f"/v1/live/{UUID}", timeout: float = 60) -> None:
    """Subscribe at ``path``, then have Zoom say the stream started; wait for the meeting's end."""
    reader = asyncio.ensure_future(read_sse(env.client, path, env.events))
    await asyncio.sleep(0.05)
    assert (await env.post_hook(env.started())).status == 204
    await asyncio.wait_for(reader, timeout)


@pytest.fixture
def live(aiohttp_client: Any, tmp_path: Path) -> LiveFactory:
    async def start(script: list[Step], *, secret: bytes = CLIENT_SECRET, hosts: tuple[str, ...] | None = None,
                    media: tuple[str, ...] = ("transcript", "chat"), tokens: tuple[str, ...] = (TOKEN,),
                    zoom_purposes: tuple[ZoomPurpose, ...] = (ZoomPurpose("summarization", "notetaker"),),
                    forward: str | None = None, consent: Any = None, **config_kw: Any) -> Live:
        policy = tmp_path / "policy.yaml"
        policy.write_text(POLICY, encoding="utf-8")
        state = RtmsServerState(CLIENT_ID, CLIENT_SECRET, UUID, STREAM, script)
        server = TestServer(build_rtms(state))
        await server.start_server()
        state.base = f"ws://127.0.0.1:{server.port}"
        audit = tmp_path / "audit.jsonl"
        rtms = RtmsConfig(CLIENT_ID, "RTMS_SECRET", hosts or (f"127.0.0.1:{server.port}",), media,
                          client_secret=secret)
        zoom = ZoomConfig(secret_env="ZOOM_SECRET", download_hosts=("127.0.0.1",) if zoom_purposes else (),
                          purposes=zoom_purposes, secrets=(HOOK_SECRET,))
        config = SidecarConfig(policy=policy, audit=audit, tokens=(*tokens, "plain-tok"),
                               token_scopes={t: frozenset({"live"}) for t in tokens}, jobs_dir=tmp_path / "jobs",
                               limits=Limits(max_body_mb=2), zoom=zoom,
                               live=LiveConfig((LivePurpose("summarization", "notetaker", forward),), rtms),
                               **config_kw)
        guard = Guard(policy, GuardOptions(audit_path=audit),
                      detector=FakeDetector({EMAIL: "EMAIL_ADDRESS", PHONE: "PHONE_NUMBER"}),
                      transcriber=FakeTranscriber([]), consent=consent)
        client = await aiohttp_client(init_app(config, guard))
        env = Live(client, state, policy, audit)
        env.server = server  # type: ignore[attr-defined]
        return env
    return start


def meeting_script(env_ref: list[Live]) -> list[Step]:
    async def carla_released() -> None:
        await wait_for(lambda: any("Carla before" in t for t in env_ref[0].texts()), "Carla's first segment")

    async def alice_released() -> None:
        await wait_for(lambda: any("Alice goes on" in t for t in env_ref[0].texts()), "Alice's segment")

    async def carla_withdraws() -> None:
        append_withdrawal(env_ref[0].policy, "p-carla", "summarization", datetime.now(UTC))

    return [
        ("join", A, "Alice Martin"), ("join", B, "Bob Stone"), ("join", C, "Carla Nunes"),
        ("keepalive",),
        ("transcript", A, "Alice Martin", f"Hello all, mail me at {EMAIL} today"),
        ("transcript", B, "Bob Stone", "zebra plan lives at twelve Elm Road"),
        ("chat", B, "Bob Stone", "quokka notes from Bob"),
        ("chat", A, "Alice Martin", f"Everyone: call {PHONE} and ask Bob Stone"),
        ("chat", A, "Alice Martin", "psst aardvark between us", {"to_user_id": C}),
        ("transcript", C, "Carla Nunes", "Carla before withdrawal: the budget is fine"),
        ("await", carla_released),
        ("await", carla_withdraws),
        ("transcript", C, "Carla Nunes", "walrus plan from Carla"),
        ("chat", C, "Carla Nunes", "walrus chat from Carla"),
        ("transcript", A, "Alice Martin", "after the withdrawal Alice goes on"),
        ("await", alice_released),
        ("drop", 2),
        ("transcript", A, "Alice Martin", "after the drop we continue"),
        ("keepalive",),
        ("end",),
    ]


async def test_scripted_meeting_reaches_subscribers_guarded(live: LiveFactory) -> None:
    ref: list[Live] = []
    env = await live(meeting_script(ref))
    ref.append(env)
    await start_and_read(env, f"/v1/live/{UUID}?purpose=summarization", 90)
    out = json.dumps(env.events, ensure_ascii=False)
    # no value, no word of the refusing participant, no private chat, nothing after the withdrawal
    for leaked in (EMAIL, PHONE, "Bob Stone", "zebra", "Elm Road", "quokka", "aardvark", "walrus",
                   "Alice Martin", "Carla Nunes"):
        assert leaked not in out, leaked
    texts = env.texts()
    assert re.search(TOKEN_RE.format("EMAIL_ADDRESS"), texts[0])
    assert any(re.search(TOKEN_RE.format("PHONE_NUMBER"), t) for t in texts)
    assert any("Carla before withdrawal" in t for t in texts)
    # the drop: the server resent its last two items; each went out once
    assert sum("after the withdrawal Alice goes on" in t for t in texts) == 1
    assert sum("after the drop we continue" in t for t in texts) == 1
    ids = [e["id"] for e in env.events]
    assert ids == sorted(set(ids))
    people = [e for e in env.events if e["type"] == "participants"]
    assert people and all(set(e["participants"]) <= {"p-alice", "p-carla"} for e in people)
    assert "p-carla" not in people[-1]["participants"]          # withdrawn: no longer listed
    assert env.events[-1]["type"] == "end"
    st = env.rtms
    assert st.ready_acks == 2 and st.subscriptions == 2          # reconnected once, one session
    assert st.keepalive_answers == 4 and st.refused == 0
    await wait_for(lambda: any(r.get("event") == "live_session" for r in env.records()), "audit")
    full = next(r for r in env.records() if r.get("event") == "live_session")
    record = full["live"]
    assert full["meeting_id"] == UUID and record["sessions"] == 2 and record["end_reason"] == "terminated"
    assert record["participants"] == ["p-alice", "p-bob", "p-carla"]
    assert record["purposes"][0]["other"]["rtms:reconnects"] == 1
    assert record["purposes"][0]["other"]["rtms:duplicates_skipped"] == 2
    (purpose,) = record["purposes"]
    assert purpose["withdrawals_applied"] == ["p-carla"]
    assert purpose["dropped"]["no_consent"] == 4 and purpose["dropped"]["private_chat"] == 1
    assert purpose["released"] == {"chat": 1, "transcript": 4}
    assert purpose["entity_counts"] == {"EMAIL_ADDRESS": 1, "PERSON": 1, "PHONE_NUMBER": 1}
    assert purpose["released_participants"] == ["p-alice", "p-carla"]
    audit_text = env.audit.read_text("utf-8")
    for leaked in (EMAIL, PHONE, "zebra", "Bob Stone", "Hello all", "walrus"):
        assert leaked not in audit_text
    # meetguard report renders the session like a release
    html_path = env.audit.parent / "live.html"
    assert cli_main(["report", "--live", UUID, "--audit", str(env.audit), "--policy", str(env.policy),
                     "--html", str(html_path)]) == 0
    page = html_path.read_text("utf-8")
    assert ">live<" in page and "withdrew consent during the meeting" in page
    assert "dropped 4 item(s): no_consent" in page and "verified" in page
    assert re.search(r"p-bob.*excluded", page) and re.search(r"p-alice.*included", page)
    for leaked in (EMAIL, PHONE, "zebra", "Bob Stone", "Hello all", "walrus"):
        assert leaked not in page


async def test_websocket_subscriber_and_clean_close(live: LiveFactory) -> None:
    async def hold() -> None:
        await asyncio.sleep(30)
    env = await live([("join", A, "Alice Martin"), ("transcript", A, "Alice Martin", f"write {EMAIL}"),
                      ("await", hold)])
    async with env.client.ws_connect(f"/v1/live/{UUID}", headers={"Authorization": f"Bearer {TOKEN}"}) as ws:
        assert (await env.post_hook(env.started())).status == 204
        got: list[dict[str, Any]] = []
        while not any(e.get("type") == "transcript" for e in got):
            got.append(await asyncio.wait_for(ws.receive_json(), 60))
        stop = {"event": "meeting.rtms_stopped", "payload": {"meeting_uuid": UUID, "rtms_stream_id": STREAM}}
        assert (await env.post_hook(stop)).status == 204
        while got[-1].get("type") != "end":
            got.append(await asyncio.wait_for(ws.receive_json(), 60))
    assert EMAIL not in json.dumps(got) and "Alice Martin" not in json.dumps(got)
    assert env.rtms.close_requests == 1
    assert got[-1]["reason"] == "closed"


async def test_bad_signature_is_refused_and_nothing_streams(live: LiveFactory) -> None:
    env = await live([("transcript", A, "Alice Martin", "never sent")], secret=b"wrong-secret")
    assert (await env.post_hook(env.started())).status == 204
    await wait_for(lambda: any(r.get("event") == "live_session" for r in env.records()), "audit")
    record = next(r for r in env.records() if r.get("event") == "live_session")["live"]
    assert record["end_reason"] == "refused" and record["sessions"] == 0
    assert env.rtms.refused == 1 and env.rtms.ready_acks == 0 and not env.rtms.sent
    # the webhook's own signature: a wrong one is refused before anything starts
    r = await env.post_hook(env.started(stream="other-stream"), secret=b"not-the-hook-secret")
    assert r.status == 401
    assert len(env.rtms.handshakes) == 1


async def test_host_outside_the_allow_list_is_never_contacted(live: LiveFactory) -> None:
    env = await live([("transcript", A, "Alice Martin", "never sent")], hosts=("rtms.zoom.us",))
    r = await env.post_hook(env.started())
    assert r.status == 400 and "server_hosts" in (await r.json())["message"]
    r = await env.post_hook(env.started("wss://evil.example/signaling"))
    assert r.status == 400
    await asyncio.sleep(0.1)
    assert env.rtms.handshakes == []


async def test_one_session_per_stream(live: LiveFactory) -> None:
    async def hold() -> None:
        await asyncio.sleep(30)
    env = await live([("await", hold)])
    assert (await env.post_hook(env.started())).status == 204
    assert (await env.post_hook(env.started())).status == 204
    await wait_for(lambda: env.rtms.ready_acks == 1, "ready")
    await asyncio.sleep(0.1)
    assert len(env.rtms.handshakes) == 1


async def test_live_routes_need_a_token_with_the_live_scope(live: LiveFactory) -> None:
    env = await live([])
    r = await env.client.get(f"/v1/live/{UUID}")
    assert r.status == 401
    for path in (f"/v1/live/{UUID}", "/v1/live/ingest", "/v1/live/ab%2Fcd=="):   # a token without the scope
        r = await env.client.get(path, headers={"Authorization": "Bearer plain-tok"})
        assert r.status == 403
    r = await env.client.get(f"/v1/live/{UUID}?purpose=training", headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status == 400


async def test_ingest_feed_is_guarded_resumed_and_audited(live: LiveFactory) -> None:
    env = await live([])
    reader = asyncio.ensure_future(read_sse(env.client, "/v1/live/teams-42?purpose=summarization", env.events))
    auth = {"Authorization": f"Bearer {TOKEN}"}
    async with env.client.ws_connect("/v1/live/ingest", headers=auth) as ws:
        async def send(msg: dict[str, Any]) -> dict[str, Any]:
            await ws.send_json(msg)
            answer: dict[str, Any] = await asyncio.wait_for(ws.receive_json(), 60)
            return answer
        assert (await send({"type": "transcript", "user_id": "u1", "text": "x", "seq": 1}))["type"] == "error"
        assert (await send({"type": "start", "meeting_id": "teams-42", "source": "teams-bot"}))["last_seq"] == 0
        await send({"type": "join", "user_id": "u1", "name": "Alice Martin"})
        await send({"type": "join", "user_id": "u2", "name": "Bob Stone"})
        await send({"type": "transcript", "user_id": "u1", "name": "Alice Martin", "text": f"mail {EMAIL}", "seq": 1})
        await send({"type": "transcript", "user_id": "u2", "name": "Bob Stone", "text": "zebra from Bob", "seq": 2})
        await send({"type": "chat", "user_id": "u1", "name": "Alice Martin", "text": "aardvark dm", "to": "u2",
                    "seq": 3})
    async with env.client.ws_connect("/v1/live/ingest", headers=auth) as ws:   # the bot reconnects
        await ws.send_json({"type": "start", "meeting_id": "teams-42"})
        assert (await ws.receive_json())["last_seq"] == 3
        await ws.send_json({"type": "transcript", "user_id": "u1", "name": "Alice Martin",
                            "text": f"mail {EMAIL}", "seq": 1})
        assert (await ws.receive_json())["duplicate"] is True
        await ws.send_json({"type": "chat", "user_id": "u1", "name": "Alice Martin", "text": "all good", "seq": 4,
                            "to": "everyone"})
        await ws.receive_json()
        await ws.send_json({"type": "end"})
        assert (await ws.receive_json())["type"] == "ended"
    await asyncio.wait_for(reader, 60)
    out = json.dumps(env.events)
    for leaked in (EMAIL, "zebra", "aardvark", "Alice Martin", "Bob Stone"):
        assert leaked not in out
    assert [e["type"] for e in env.events if "text" in e] == ["transcript", "chat"]
    record = next(r for r in env.records() if r.get("event") == "live_session")["live"]
    assert record["source"] == "ingest:teams-bot" and record["sessions"] == 2
    assert record["purposes"][0]["dropped"] == {"no_consent": 1, "private_chat": 1}


class SharedConsent:
    """The consent events of the shared state backend (state: {backend: postgres}), as
    another replica records them: the source /v1/guard and every live decision read."""

    def __init__(self) -> None:
        self.events: dict[str, dict[str, tuple[Any, ...]]] = {}
        self.reads = 0
        self.down = False

    async def consent_events(self, policy_id: str) -> Any:
        from meetguard._errors import StateUnavailable

        self.reads += 1
        if self.down:
            raise StateUnavailable("state: the postgres database cannot be reached")
        return self.events

    def withdraw(self, participant: str) -> None:
        from meetguard.policy.model import ConsentEvent

        now = datetime.now(UTC)
        self.events[participant] = {"summarization": (ConsentEvent("withdrawn", now, None, now),)}


async def test_a_withdrawal_in_the_shared_state_applies_to_the_next_message_and_the_list(
        live: LiveFactory) -> None:
    ref: list[Live] = []
    shared = SharedConsent()
    policy_before: list[bytes] = []

    async def carla_released() -> None:
        await wait_for(lambda: any("Carla before" in t for t in ref[0].texts()), "Carla's first segment")

    async def carla_withdraws_elsewhere() -> None:
        policy_before.append(ref[0].policy.read_bytes())
        shared.withdraw("p-carla")

    async def alice_released() -> None:
        await wait_for(lambda: any("Alice goes on" in t for t in ref[0].texts()), "Alice's segment")
    env = await live([("join", A, "Alice Martin"), ("join", C, "Carla Nunes"), ("keepalive",),
                      ("transcript", C, "Carla Nunes", "Carla before withdrawal"), ("await", carla_released),
                      ("await", carla_withdraws_elsewhere),
                      ("transcript", C, "Carla Nunes", "walrus plan from Carla"),
                      ("chat", C, "Carla Nunes", "walrus chat from Carla"),
                      ("transcript", A, "Alice Martin", "after the withdrawal Alice goes on"),
                      ("await", alice_released), ("end",)], consent=shared)
    ref.append(env)
    await start_and_read(env)
    assert not any("walrus" in t for t in env.texts())                  # the very next message
    assert env.policy.read_bytes() == policy_before[0]                  # recorded in the state alone
    lists = [e["participants"] for e in env.events if e["type"] == "participants"]
    assert ["p-alice", "p-carla"] in lists and lists[-1] == ["p-alice"]  # the list follows the state
    record = next(r for r in env.records() if r.get("event") == "live_session")["live"]
    assert record["purposes"][0]["withdrawals_applied"] == ["p-carla"]
    assert record["purposes"][0]["dropped"] == {"no_consent": 2}
    assert shared.reads >= 5                                            # every decision read it


async def test_forward_posts_only_guarded_public_content_upstream(live: LiveFactory) -> None:
    from meetguard.sidecar.config import UpstreamConfig

    got: list[tuple[dict[str, Any], str]] = []

    async def receive(request: web.Request) -> web.Response:
        got.append((await request.json(), request.headers.get("Authorization", "")))
        return web.Response(status=204)
    app = web.Application()
    app.router.add_post("/events", receive)
    upstream = TestServer(app)
    await upstream.start_server()
    ref: list[Live] = []

    async def alice_forwarded() -> None:
        await wait_for(lambda: any("after" in b.get("text", "") for b, _ in got), "Alice's segment upstream")
    script = [("join", A, "Alice Martin"), ("join", B, "Bob Stone"), ("keepalive",),
              ("transcript", A, "Alice Martin", f"Hello all, mail me at {EMAIL} today"),
              ("transcript", B, "Bob Stone", "zebra plan lives at twelve Elm Road"),
              ("chat", B, "Bob Stone", "quokka notes from Bob"),
              ("chat", A, "Alice Martin", "psst aardvark between us", {"to_user_id": C}),
              ("chat", A, "Alice Martin", f"Everyone: call {PHONE} and ask Bob Stone"),
              ("transcript", A, "Alice Martin", "after that Alice goes on"),
              ("await", alice_forwarded), ("end",)]
    env = await live(script, forward="coach", upstreams={"coach": UpstreamConfig(
        "coach", f"http://127.0.0.1:{upstream.port}/events", headers={"Authorization": "Bearer up-key"})})
    ref.append(env)
    assert (await env.post_hook(env.started())).status == 204
    await wait_for(lambda: any(b["type"] == "end" for b, _ in got), "the end upstream")
    await upstream.close()
    bodies = [b for b, _ in got]
    assert {auth for _, auth in got} == {"Bearer up-key"}
    assert all(b["meeting_id"] == UUID and b["purpose"] == "summarization" for b in bodies)
    assert [b["id"] for b in bodies] == sorted(b["id"] for b in bodies)          # in order
    texts = [b["text"] for b in bodies if "text" in b]
    assert len(texts) == 3 and [b["type"] for b in bodies if "text" in b] == ["transcript", "chat", "transcript"]
    out = json.dumps(bodies)
    for leaked in ("zebra", "quokka", "aardvark", EMAIL, PHONE, "Bob Stone", "Alice Martin", B, A):
        assert leaked not in out                    # no refuser, no private chat, no value, no platform id
    assert re.search(TOKEN_RE.format("EMAIL_ADDRESS"), texts[0])
    assert all(set(b["participants"]) <= {"p-alice"} for b in bodies if b["type"] == "participants")
    record = next(r for r in env.records() if r.get("event") == "live_session")["live"]
    assert record["purposes"][0]["other"]["forwarded:ok"] >= 3


async def test_the_shared_state_unreadable_lists_nobody_and_releases_nothing(live: LiveFactory) -> None:
    ref: list[Live] = []
    shared = SharedConsent()

    async def state_down() -> None:
        await wait_for(lambda: any(e["type"] == "participants" for e in ref[0].events), "the first list")
        shared.down = True

    async def alice_dropped() -> None:
        await wait_for(lambda: any("guard_error:state_unavailable" in json.dumps(m.tally)
                                   for m in ref[0].client.app[LIVE].hub.meetings.values()), "the drop")
    env = await live([("join", A, "Alice Martin"), ("keepalive",), ("await", state_down),
                      ("join", C, "Carla Nunes"), ("transcript", A, "Alice Martin", "while the state is away"),
                      ("await", alice_dropped), ("end",)], consent=shared)
    ref.append(env)
    await start_and_read(env)
    lists = [(e["participants"], e["others"]) for e in env.events if e["type"] == "participants"]
    assert lists[0] == (["p-alice"], 0) and lists[-1] == ([], 2)        # fail closed: nobody listed
    assert env.texts() == []
    record = next(r for r in env.records() if r.get("event") == "live_session")["live"]
    assert record["purposes"][0]["dropped"] == {"guard_error:state_unavailable": 1}


def test_private_chat_fails_closed() -> None:
    assert not is_private_chat({"user_id": 1, "data": "hi"})
    assert not is_private_chat({"to": "everyone"})
    assert not is_private_chat({"chat_type": "public", "is_private": False, "attribute": 1})
    for content in ({"to_user_id": 7}, {"chat_group_id": "g1"}, {"is_private": True}, {"to": {"id": 1}},
                    {"chat_type": "private"}, {"receiver_name": "Bob"}, {"toUserId": 5}, {"isPrivate": True},
                    {"dm": True}, {"private_group": "x"}):
        assert is_private_chat(content), content


def test_media_servers_from_the_signaling_answer() -> None:
    from meetguard.live.rtms_protocol import ProtocolError, media_urls

    kinds = frozenset({"transcript", "chat"})
    split = {"media_server": {"server_urls": {"transcript": "wss://a/t", "all": "wss://a/all"}}}
    assert media_urls(split, kinds) == {"wss://a/t": frozenset({"transcript"}), "wss://a/all": frozenset({"chat"})}
    assert media_urls({"media_server_url": "wss://a/m"}, kinds) == {"wss://a/m": kinds}
    with pytest.raises(ProtocolError):
        media_urls({"media_server": {}}, kinds)


def test_signature_and_hosts() -> None:
    expected = hmac.new(b"s", b"cid,m==,st", hashlib.sha256).hexdigest()
    assert signature("cid", "m==", "st", b"s") == expected
    hosts = ("rtms.zoom.us", "127.0.0.1:8443")
    assert allowed_url("wss://rtms.zoom.us/ws", hosts)
    assert allowed_url("ws://127.0.0.1:8443/x", hosts)
    for url in ("ws://rtms.zoom.us/ws", "wss://evil.example/", "wss://u@rtms.zoom.us/", "https://rtms.zoom.us/",
                "wss://127.0.0.1:9999/"):
        assert not allowed_url(url, hosts), url


def test_config_sections(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text(POLICY)
    base = ("policy: p.yaml\nlisten: {host: 127.0.0.1, port: 8080}\ntokens: [{token: t, scopes: [live]}]\n"
            "upstreams: {notetaker: {url: 'http://127.0.0.1:9/x'}}\n"
            "zoom: {secret_env: ZS, download_hosts: [zoom.us], purposes: [{purpose: summarization, "
            "recipient: notetaker}], rtms: {client_id: cid, client_secret_env: RS, server_hosts: [rtms.zoom.us]"
            "%s}}\nlive: [{purpose: summarization, recipient: notetaker, forward: notetaker}]\n")
    env = {"ZS": "hook", "RS": "client-secret"}
    path = tmp_path / "c.yaml"
    path.write_text(base % "")
    config = load_config(path, env)
    assert config.live is not None and config.live.rtms is not None
    assert config.live.rtms.client_secret == b"client-secret" and config.live.rtms.media == ("transcript", "chat")
    assert config.live.purposes[0].forward == "notetaker"
    for extra, needle in ((", media: [video]", "media"), (", colour: red", "unknown key"),
                          (", audio_delay_ms: 5", "audio_delay_ms")):
        path.write_text(base % extra)
        with pytest.raises(ConfigError, match=needle):
            load_config(path, env)
    path.write_text(base % "")
    with pytest.raises(ConfigError, match="RS is not set"):
        load_config(path, {"ZS": "hook"})


def test_rtms_alone_needs_no_recording_keys(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text(POLICY)
    head = ("policy: p.yaml\nlisten: {host: 127.0.0.1, port: 8080}\ntokens: [{token: t, scopes: [live]}]\n"
            "live: [{purpose: summarization, recipient: notetaker}]\n")
    path, env = tmp_path / "c.yaml", {"ZS": "hook", "RS": "client-secret"}
    path.write_text(head + "zoom: {secret_env: ZS, rtms: {client_id: cid, client_secret_env: RS, "
                    "server_hosts: [rtms.zoom.us]}}\n")
    config = load_config(path, env)
    assert config.zoom is not None and config.zoom.purposes == () and config.zoom.download_hosts == ()
    assert config.live is not None and config.live.rtms is not None
    path.write_text(head + "zoom: {rtms: {client_id: cid, client_secret_env: RS, server_hosts: [rtms.zoom.us]}}\n")
    with pytest.raises(ConfigError, match="zoom.secret_env: required"):      # its events are still signed
        load_config(path, env)
    path.write_text(head + "zoom: {secret_env: ZS, download_hosts: [zoom.us], rtms: {client_id: cid, "
                    "client_secret_env: RS, server_hosts: [rtms.zoom.us]}}\n")
    with pytest.raises(ConfigError, match="zoom.purposes: required"):        # recordings half-configured
        load_config(path, env)
    path.write_text(head.replace("live: [{purpose: summarization, recipient: notetaker}]\n", "")
                    + "zoom: {secret_env: ZS}\n")
    with pytest.raises(ConfigError, match="zoom.download_hosts: required"):  # no rtms: the recording webhook
        load_config(path, env)


async def test_rtms_only_webhook_ignores_recordings_and_runs_live(live: LiveFactory) -> None:
    ref: list[Live] = []

    async def released() -> None:
        await wait_for(lambda: bool(ref[0].texts()), "Alice's segment")
    env = await live([("join", A, "Alice Martin"), ("keepalive",), ("transcript", A, "Alice Martin", "hello from Alice"),
                      ("await", released), ("end",)], zoom_purposes=())
    ref.append(env)
    reader = asyncio.ensure_future(read_sse(env.client, f"/v1/live/{UUID}", env.events))
    await asyncio.sleep(0.05)
    recording = {"event": "recording.completed", "event_ts": 1764497000000, "download_token": "t",
                 "payload": {"object": {"uuid": UUID, "id": 1, "recording_files": []}}}
    r = await env.post_hook(recording)
    assert r.status == 204
    assert not (env.audit.parent / "jobs" / "zoom").exists() or not any((env.audit.parent / "jobs" / "zoom").iterdir())
    assert (await env.post_hook(env.started())).status == 204
    await asyncio.wait_for(reader, 60)
    assert env.texts() == ["hello from Alice"]


# -- live audio spans, with a guard that "hears" a marker level --------------------------------

class MarkerGuard:
    """Finds the value wherever the samples sit at exactly the marker level (a stand-in for
    Whisper + the detector, so the span, delay and bleep logic is checked exactly);
    refuses p-bob; ``slow`` seconds per span; ``fail``: every hearing fails."""

    MARK = 12345

    def __init__(self, policy_text: str, slow: float = 0.0, fail: bool = False) -> None:
        from meetguard.audit import MemoryAuditSink
        from meetguard.policy import parse_policy

        self.policy = parse_policy(policy_text.encode(), "policy.yaml")
        self.audit = MemoryAuditSink()
        self.slow, self.fail = slow, fail
        self.heard: list[tuple[str, int]] = []       # (attendee, samples) per span heard
        self.calls = 0

    async def policy_in_force(self) -> Any:
        return self.policy

    async def live_audio_many(self, spans: Any, at: datetime) -> list[tuple[bool, list[tuple[float, float]]]]:
        self.calls += 1
        return [await self.live_audio(s, p, r, a, at) for s, p, r, a in spans]

    async def live_audio(self, samples: Any, purpose: str, recipient: str | None, attendees: Any,
                         at: datetime) -> tuple[bool, list[tuple[float, float]]]:
        import numpy as np

        from meetguard import MeetguardError

        await asyncio.sleep(self.slow)
        self.heard.append((attendees[0], len(samples)))
        if self.fail:
            raise MeetguardError("the model failed")
        if attendees == ["p-bob"]:
            return False, []
        hit = np.flatnonzero(np.round(np.asarray(samples) * 32768) == self.MARK)
        return True, [(hit[0] / 16000, (hit[-1] + 1) / 16000)] if hit.size else []


def marked(pcm: Any) -> bool:
    """Whether ``pcm`` still holds the value: two samples in a row at the marker level (the
    bleep, a sine at about that level, meets it in one sample at most)."""
    import numpy as np

    at = np.asarray(pcm) == MarkerGuard.MARK
    return bool(np.any(at[1:] & at[:-1]))


def speech(seconds: float, mark: tuple[float, float], pause: tuple[float, float] | None = None) -> Any:
    """A 'voice' at a steady level with a little noise, the value at the marker level, and
    digital silence for the pause."""
    import numpy as np

    rng = np.random.default_rng(7)
    pcm = (300 + rng.integers(-40, 40, int(seconds * 16000))).astype("<i2")
    if pause:
        pcm[int(pause[0] * 16000):int(pause[1] * 16000)] = 0
    pcm[int(mark[0] * 16000):int(mark[1] * 16000)] = MarkerGuard.MARK
    return pcm


async def feed_speech(meeting: Any, pcm: Any, arrived: dict[int, float] | None = None) -> float:
    """Send ``pcm`` as 20 ms packets on a real-time schedule; how far (s) it fell behind it."""
    start, late = time.monotonic(), 0.0
    for i, k in enumerate(range(0, pcm.size, 320)):
        ts = 1764497000000 + k // 16
        now = time.monotonic()
        late = max(late, now - (start + i * 0.02))
        if arrived is not None:
            arrived[ts] = now
        meeting.audio("16778240", "Alice Martin", pcm[k:k + 320].tobytes(), ts)
        meeting.audio("16778241", "Bob Stone", pcm[k:k + 320].tobytes(), ts)
        await asyncio.sleep(max(0.0, start + (i + 1) * 0.02 - time.monotonic()))
    return late


def drain(meeting: Any, sub: Any, published: dict[int, float]) -> list[dict[str, Any]]:
    events = [sub.queue.get_nowait() for _ in range(sub.queue.qsize())]
    return [e for e in events if e and e["type"] in ("audio", "audio_dropped")]


def watch_publish(meeting: Any) -> dict[int, float]:
    """When each audio event was published (by its ts)."""
    channel = meeting.channels["summarization"]
    published: dict[int, float] = {}
    inner = channel.publish

    def publish(event: dict[str, Any]) -> Any:
        if event.get("type") == "audio":
            published[event["ts"]] = time.monotonic()
        return inner(event)
    channel.publish = publish
    return published


async def test_audio_span_heard_once_cut_at_the_pause_bleeped_and_held_the_delay() -> None:
    import base64

    import numpy as np

    from meetguard.live.meeting import LiveMeeting

    delay = 1.0                                   # spans: from 0.25 s at a pause, at most 0.5 s
    pcm = speech(2.0, mark=(0.2, 0.32), pause=(0.34, 0.8))
    for _attempt in range(3):
        # where a span is cut follows the packets' arrival: a process starved of CPU for a
        # pause's length (a loaded CI) is a stalled stream, cut where it stalled; try again
        guard = MarkerGuard(POLICY)
        meeting = LiveMeeting("m-1", "zoom_rtms", (LivePurpose("summarization", "notetaker"),), guard, delay)
        sub = meeting.channels["summarization"].subscribe()
        published, arrived = watch_publish(meeting), {}
        late = await feed_speech(meeting, pcm, arrived)
        await meeting.finish("terminated")
        if late < 0.1:
            break
    events = drain(meeting, sub, published)
    audio = [e for e in events if e["type"] == "audio"]
    assert audio and {e["participant"] for e in events} == {"p-alice"}          # never Bob
    assert not [e for e in events if e["type"] == "audio_dropped"]
    alice = [n for who, n in guard.heard if who == "p-alice"]
    assert sum(alice) == pcm.size                                 # every sample heard exactly once
    ends = np.cumsum(alice) / 16000
    assert not any(0.2 < t < 0.32 for t in ends)                  # the value never split between spans
    assert any(0.34 <= t <= 0.82 for t in ends)                   # the first span ended in the pause
    assert max(alice) <= delay / 2 * 16000 + 320                   # no span longer than half the delay
    out = np.frombuffer(b"".join(base64.b64decode(e["data"]) for e in audio), dtype="<i2")
    assert out.size == pcm.size and not marked(out)                        # all of it, bleeped
    keep = np.ones(pcm.size, bool)
    keep[int(0.19 * 16000):int(0.33 * 16000)] = False
    assert np.array_equal(out[keep], pcm[keep])                               # and nothing else changed
    assert all(e["ms"] <= 200 for e in audio)
    for e in audio:                                               # each slice exactly the delay after it came
        assert published[e["ts"]] - arrived[e["ts"]] >= delay - 0.01
    record = guard.audit.records[-1]["live"]["purposes"][0]
    assert record["dropped"]["audio_no_consent"] >= 3 and record["released"]["audio"] == len(audio)
    assert record["other"]["audio:ms_released"] == 2000 and record["other"]["audio:bleeped_windows"] == 1
    assert guard.calls < len(guard.heard)                 # Alice's and Bob's spans shared model calls


def test_spans_heard_in_one_call_get_their_own_words_back() -> None:
    import numpy as np

    from meetguard._model import Cue, Word
    from meetguard.audio.packed import GAP_S, hear_packed

    class OneCall:
        def __init__(self) -> None:
            self.heard: list[int] = []

        def transcribe(self, samples: Any, *, prompt: str | None = None, offset: float = 0.0,
                       variant: str = "main") -> list[Cue]:
            self.heard.append(len(samples))
            words = (Word("call", 0.2, 0.5), Word("five", 1.6, 1.95), Word("five", 2.0, 2.3),   # span 1: 0-2 s
                     Word("one", 2.95, 3.3), Word("two", 3.4, 3.7))                         # span 2: 3-4.5 s
            return [Cue(0, 0.2, 3.7, None, "call five five one two", words),
                    Cue(1, 3.8, 4.4, None, "555-0100", (Word("555", 3.8, 4.0), Word("-0100", 4.0, 4.4)))]

    t = OneCall()
    spans = [np.zeros(32000, np.float32), np.zeros(24000, np.float32)]
    first, second = hear_packed(t, spans, prompt="Alice")
    assert t.heard == [32000 + int(GAP_S * 16000) + 24000]                     # one call
    assert [w.text for w in first[0].words] == ["call", "five", "five"] and first[0].text == "call five five"
    assert first[0].words[-1].end == 2.0                                       # clamped to its span
    assert [(w.text, w.start, w.end) for w in second[0].words] == [("one", 0.0, 0.3), ("two", 0.4, 0.7)]
    assert second[1].text == "555-0100"                        # one value, not "555 -0100"


@pytest.mark.parametrize("slow, fail, reason", [(0.4, False, "guard_behind"), (0.0, True, "guard_error")])
async def test_audio_is_dropped_and_said_so_when_the_guard_cannot_keep_up(slow: float, fail: bool,
                                                                          reason: str) -> None:
    import base64

    import numpy as np

    from meetguard.live.meeting import LiveMeeting

    guard = MarkerGuard(POLICY, slow=slow, fail=fail)
    meeting = LiveMeeting("m-2", "zoom_rtms", (LivePurpose("summarization", "notetaker"),), guard, 0.5)
    sub = meeting.channels["summarization"].subscribe()
    await feed_speech(meeting, speech(1.5, mark=(0.5, 0.6)))
    await meeting.finish("terminated")
    events = drain(meeting, sub, {})
    dropped = [e for e in events if e["type"] == "audio_dropped"]
    released = [e for e in events if e["type"] == "audio"]
    assert dropped and all(e["reason"] == reason for e in dropped)
    assert {e["participant"] for e in events} == {"p-alice"}
    assert sum(e["ms"] for e in dropped + released) == 1500      # every span out guarded, or said dropped
    for e in released:                                           # what did go out was heard in full
        assert not marked(np.frombuffer(base64.b64decode(e["data"]), dtype="<i2"))
    record = guard.audit.records[-1]["live"]["purposes"][0]
    assert record["dropped"][f"audio_{reason}"] == len(dropped)
    if not fail:          # behind, it skips what it could not hear in time rather than falling further back
        assert len([w for w, _ in guard.heard if w == "p-alice"]) < len(dropped)
