"""Withdrawal of consent: the policy edit, erasure requests to a stand-in recipient on
loopback (signatures, retry after a restart), the recipients answer, bad input."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import stat
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from aiohttp import web
from aiohttp.test_utils import TestServer

from meetguard.audit import AuditLog, verify
from meetguard.cli import main
from meetguard.consent import (
    ErasureDispatcher,
    ErasureStore,
    append_withdrawal,
    read_records,
    releases_holding,
    sign,
    signature_valid,
)
from meetguard.policy import load_policy
from meetguard.sidecar.config import load_config
from meetguard.sidecar.withdrawals import withdrawal_settings

from .conftest import needs_shared

AT = "2026-11-28T12:00:00Z"
ADMIN = "tok-consent-admin"          # a token with the withdraw scope (#25)
AUTH = {"Authorization": f"Bearer {ADMIN}"}
KEYS = {"ER_KEY_SUMMARIZER": "k-summarizer-secret", "ER_KEY_ARCHIVE": "k-archive-secret"}

POLICY: dict[str, Any] = {
    "version": 1,
    "policy_id": "consent-test-1",
    "account": {"id": "acme", "ai_features": {"summarization": True, "training": True}},
    "purposes": {
        "summarization": {"consent": "opt_out", "missing_consent": "exclude",
                          "recipients": ["summarizer", "archive", "notes"],
                          "redact": {"entities": ["PERSON", "EMAIL_ADDRESS"],
                                     "operator": "pseudonymize"},
                          "audio": "bleep"},
        "training": {"consent": "opt_in", "missing_consent": "deny", "recipients": ["summarizer"],
                     "redact": {"entities": "all", "operator": "redact"}, "audio": "drop"},
    },
    "participants": [
        {"id": "p-alice", "names": ["Alice Martin"],
         "consent": {"summarization": {"status": "granted", "at": "2026-11-01T09:00:00Z"}}},
        {"id": "p-bob", "names": ["Bob Li"],
         "consent": {"training": [{"status": "granted", "at": "2026-11-01T09:00:00Z"}]}},
    ],
}


@dataclass
class Receiver:
    """A stand-in recipient: checks every signature; answers ``down`` 503s first."""

    keys: dict[str, bytes]
    down: dict[str, int] = field(default_factory=dict)
    got: list[tuple[str, dict[str, Any], bool]] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        body = await request.read()
        ok = signature_valid(self.keys[name], request.headers["X-Meetguard-Timestamp"], body,
                             request.headers["X-Meetguard-Signature"])
        self.got.append((name, json.loads(body), ok))
        if self.down.get(name, 0) > 0:
            self.down[name] -= 1
            return web.json_response({"error": "down"}, status=503)
        return web.json_response({"ok": True}, status=202 if ok else 401)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/erase/{name}", self.handle)
        return app


Setup = tuple[Path, Path, Path, Receiver]


def _release(audit: AuditLog, meeting: str, recipient: str, people: list[str],
             delivered: bool | None, purpose: str = "summarization") -> str:
    out = {f"{meeting}.txt": hashlib.sha256(meeting.encode()).hexdigest()}
    rec = audit.append({
        "policy_id": "consent-test-1", "policy_sha256": "0" * 64, "purpose": purpose,
        "recipient": recipient, "meeting_id": meeting, "decision": "release", "reasons": [],
        "excluded_participants": [], "entity_counts": {}, "retention_days": None,
        "input_sha256": [], "output_sha256": out,
        "delivered": None if delivered is None else {"delivered": delivered, "status": 200},
        "participants": people,
        "artefacts": [{"kind": "chat", "sha256": h} for h in out.values()],
    })
    return str(rec["hash"])


@pytest.fixture
async def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                aiohttp_server: Callable[..., Awaitable[TestServer]]) -> Setup:
    for k, v in KEYS.items():
        monkeypatch.setenv(k, v)
    receiver = Receiver({"summarizer": KEYS["ER_KEY_SUMMARIZER"].encode(),
                         "archive": KEYS["ER_KEY_ARCHIVE"].encode()})
    server = await aiohttp_server(receiver.app(), host="127.0.0.1")
    base = f"http://127.0.0.1:{server.port}/erase"
    policy = tmp_path / "policy.yaml"
    policy.write_text("# the admin's policy\n" + yaml.safe_dump(POLICY, sort_keys=False))
    audit = tmp_path / "audit.jsonl"
    config = tmp_path / "sidecar.yaml"
    config.write_text(yaml.safe_dump({
        "policy": "policy.yaml", "audit": "audit.jsonl", "erasures_dir": "erasures",
        "tokens": [{"token": ADMIN, "scopes": ["withdraw"]}],
        "upstreams": {
            "summarizer": {"url": "http://127.0.0.1:9/s", "erasure_url": f"{base}/summarizer",
                           "erasure_key_env": "ER_KEY_SUMMARIZER"},
            "archive": {"url": "http://127.0.0.1:9/a", "erasure_url": f"{base}/archive",
                        "erasure_key_env": "ER_KEY_ARCHIVE"},
            "notes": {"url": "http://127.0.0.1:9/n"},
        }}))
    return policy, audit, config, receiver


def _meetings(audit_path: Path, key: bytes | None = None) -> dict[str, str]:
    """Three meetings released to two recipients, plus releases that must not be asked."""
    log = AuditLog(audit_path, key=key)
    return {
        "m1": _release(log, "m1", "summarizer", ["p-alice", "p-bob"], True),   # sidecar, delivered
        "m2": _release(log, "m2", "archive", ["p-bob"], None),                  # CLI release
        "m3": _release(log, "m3", "summarizer", ["p-alice"], True),            # not Bob's
        "m4": _release(log, "m4", "summarizer", ["p-bob"], False),             # never delivered
        "m5": _release(log, "m5", "summarizer", ["p-bob"], None, "training"),  # other purpose
        "m6": _release(log, "m6", "notes", ["p-bob"], None),                    # no erasure_url
    }


async def _cli(*argv: str) -> int:
    return await asyncio.get_running_loop().run_in_executor(None, main, list(argv))


async def test_withdrawal_reaches_exactly_the_releases_and_resumes_after_restart(
        setup: Setup, capsys: pytest.CaptureFixture[str]) -> None:
    policy, audit, config, receiver = setup
    ids = _meetings(audit)
    receiver.down["archive"] = 1                       # the archive is down at first
    code = await _cli("consent", "withdraw", "--config", str(config), "--participant", "p-bob",
                      "--purpose", "summarization", "--at", AT)
    assert code == 0
    out = capsys.readouterr().out
    assert "notify by hand" in out and "3 release(s)" in out
    # the policy now says so, and the old file is kept
    edited = load_policy(policy)
    events = edited.participant("p-bob").consent["summarization"]  # type: ignore[union-attr]
    assert [e.status for e in events] == ["withdrawn"]
    assert policy.with_name("policy.yaml.bak").read_text().startswith("# the admin's policy")
    # exactly the releases that held Bob's content and reached their recipient
    asked = {name: {a["audit_id"] for a in body["artefacts"]} for name, body, _ in receiver.got}
    assert asked == {"summarizer": {ids["m1"]}, "archive": {ids["m2"]}}
    assert all(ok for _, _, ok in receiver.got)
    body = receiver.got[0][1]
    assert body["basis"] == "gdpr-art17-1b" and body["participant_id"] == "p-bob"
    assert body["purpose"] == "summarization" and body["due_at"] > body["submitted_at"]
    assert {a["kind"] for a in body["artefacts"]} == {"chat"}

    # restart: a new dispatcher from the persisted state, once the retry is due
    settings = withdrawal_settings(load_config(config))
    later = ErasureDispatcher(ErasureStore(settings.store_dir), settings.endpoints,
                              AuditLog(audit), clock=lambda: time.time() + 3600)
    async with aiohttp.ClientSession() as session:
        states = await later.run_due(session)
    assert [(s.request.recipient, s.state) for s in states] == [("archive", "acknowledged")]
    assert sorted(name for name, _, _ in receiver.got) == ["archive", "archive", "summarizer"]
    archive_ids = {body["request_id"] for name, body, _ in receiver.got if name == "archive"}
    assert len(archive_ids) == 1                       # the same request, resent
    assert verify(audit).ok

    code = await _cli("consent", "recipients", "--participant", "p-bob", "--audit", str(audit),
                      "--json")
    assert code == 0
    rows = json.loads(capsys.readouterr().out)["recipients"]
    got = {(r["meeting_id"], r["recipient"], r["purpose"], r["delivery"],
            tuple(e["state"] for e in r["erasure_requests"])) for r in rows}
    assert got == {("m1", "summarizer", "summarization", "delivered", ("acknowledged",)),
                   ("m2", "archive", "summarization", "released", ("acknowledged",)),
                   ("m5", "summarizer", "training", "released", ()),
                   ("m6", "notes", "summarization", "released", ("manual",))}


async def test_a_second_withdrawal_does_not_ask_again(setup: Setup) -> None:
    _policy, audit, config, receiver = setup
    _meetings(audit)
    for _ in range(2):
        assert await _cli("consent", "withdraw", "--config", str(config), "--participant",
                          "p-bob", "--purpose", "summarization") == 0
    assert sorted(name for name, _, _ in receiver.got) == ["archive", "summarizer"]


async def test_sidecar_route_records_and_sends(setup: Setup,
                                               aiohttp_client: Callable[..., Awaitable[Any]]
                                               ) -> None:
    from meetguard.sidecar import init_app
    from tests.fakes.guard import FakeGuard

    policy, audit, config, _receiver = setup
    ids = _meetings(audit)
    client = await aiohttp_client(init_app(load_config(config), guard=FakeGuard()))  # type: ignore[arg-type]
    resp = await client.post("/v1/withdrawals", json={"participant": "p-bob",
                                                      "purpose": "summarization", "at": AT},
                             headers=AUTH)
    assert resp.status == 202
    answer = await resp.json()
    assert set(answer["releases"]) == {ids["m1"], ids["m2"], ids["m6"]}
    assert answer["notify_by_hand"] == ["notes"]
    store = ErasureStore(policy.parent / "erasures")
    async with asyncio.timeout(30):                # the sender runs in the background
        while sorted(s.state for s in store.all()) != ["acknowledged", "acknowledged", "manual"]:
            await asyncio.sleep(0.05)
    bad = await client.post("/v1/withdrawals", json={"participant": "p-nobody",
                                                     "purpose": "summarization"}, headers=AUTH)
    assert bad.status == 400 and (await bad.json())["error"] == "bad_request"


async def test_sidecar_resumes_pending_requests_at_start(
        setup: Setup, aiohttp_client: Callable[..., Awaitable[Any]]) -> None:
    from dataclasses import replace

    from meetguard.sidecar import init_app
    from tests.fakes.guard import FakeGuard

    policy, audit, config, receiver = setup
    _meetings(audit)
    receiver.down.update({"summarizer": 1, "archive": 1})      # both down at first
    assert await _cli("consent", "withdraw", "--config", str(config), "--participant", "p-bob",
                      "--purpose", "summarization") == 0
    store = ErasureStore(policy.parent / "erasures")
    assert sorted(s.state for s in store.all()) == ["manual", "pending", "pending"]
    for state in store.all():          # as if the backoff had passed while nothing ran
        if state.state == "pending":
            store.save(replace(state, next_attempt_at=0.0))
    await aiohttp_client(init_app(load_config(config), guard=FakeGuard()))  # type: ignore[arg-type]
    async with asyncio.timeout(30):
        while sorted(s.state for s in store.all()) != ["acknowledged", "acknowledged", "manual"]:
            await asyncio.sleep(0.05)
    assert len(receiver.got) == 4 and all(ok for _, _, ok in receiver.got)
    assert verify(audit).ok


def _snapshot(policy: Path, audit: Path) -> tuple[bytes, bytes, list[str]]:
    erasures = policy.parent / "erasures"
    files = sorted(p.name for p in erasures.iterdir()) if erasures.exists() else []
    return policy.read_bytes(), audit.read_bytes(), files


@pytest.mark.parametrize("case", ["unknown participant", "unknown purpose", "read-only policy",
                                  "backup not writable", "signing key unset", "dated ahead"])
async def test_bad_input_is_one_line_exit_2_and_changes_nothing(
        setup: Setup, case: str, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    policy, audit, config, receiver = setup
    _meetings(audit)
    participant, purpose, at = "p-bob", "summarization", AT
    if case == "unknown participant":
        participant = "p-zed"
    elif case == "unknown purpose":
        purpose = "marketing"
    elif case == "read-only policy":
        policy.chmod(stat.S_IRUSR | stat.S_IRGRP)
    elif case == "signing key unset":
        monkeypatch.delenv("ER_KEY_ARCHIVE")
    elif case == "dated ahead":
        at = "2999-01-01T00:00:00Z"
    else:
        policy.with_name("policy.yaml.bak").mkdir()
    before = _snapshot(policy, audit)
    code = await _cli("consent", "withdraw", "--config", str(config), "--participant",
                      participant, "--purpose", purpose, "--at", at)
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert _snapshot(policy, audit) == before
    assert receiver.got == []
    assert not [p for p in policy.parent.iterdir() if p.name.startswith(".policy.yaml.")]


def test_policy_edit_keeps_json_json_and_history(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    path = tmp_path / "policy.json"
    path.write_text(json.dumps(POLICY))
    edit = append_withdrawal(path, "p-alice", "summarization", datetime(2026, 11, 20, tzinfo=UTC))
    data = json.loads(path.read_text())
    assert [e["status"] for e in data["participants"][0]["consent"]["summarization"]] == [
        "granted", "withdrawn"]
    assert edit.policy.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert os.stat(path).st_mode & 0o777 == os.stat(edit.backup).st_mode & 0o777


def test_config_wants_a_key_variable_with_an_erasure_url(tmp_path: Path) -> None:
    from meetguard import ConfigError

    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump({"policy": "p.yaml", "upstreams": {
        "s": {"url": "http://127.0.0.1:9/s", "erasure_url": "http://127.0.0.1:9/e"}}}))
    with pytest.raises(ConfigError, match=r"upstreams\.s\.erasure_key_env: required"):
        load_config(cfg)


def test_signature_is_hmac_of_timestamp_dot_body() -> None:
    import hmac

    body = b'{"request_id":"er-1"}'
    expected = hmac.new(b"key", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert sign(b"key", "1700000000", body) == "v1=" + expected
    assert signature_valid(b"key", "1700000000", body, "v1=" + expected, now=1700000010)
    assert not signature_valid(b"key", "1700000000", body + b" ", "v1=" + expected, now=1700000010)
    assert not signature_valid(b"key", "1700000000", body, "v1=" + expected, now=1700009999)


def test_undelivered_and_other_purposes_are_not_releases_holding(tmp_path: Path) -> None:
    ids = _meetings(tmp_path / "a.jsonl")
    found = releases_holding(read_records(tmp_path / "a.jsonl"), "p-bob", "summarization")
    assert {r.audit_id for r in found} == {ids["m1"], ids["m2"], ids["m6"]}


@needs_shared
@pytest.mark.models
def test_guard_release_records_name_participants_and_artefacts(tmp_path: Path) -> None:
    from .conftest import SAMPLES

    audit = tmp_path / "audit.jsonl"
    code = main(["guard", "--policy", str(SAMPLES / "policy.yaml"), "--purpose", "summarization",
                 "--recipient", "summarizer", "--at", AT, "--out", str(tmp_path / "out"),
                 "--chat", str(SAMPLES / "zoom_chat_local.txt"), "--audit", str(audit)])
    assert code == 0
    rec = read_records(audit)[-1]
    # Carla refused (excluded); Deepak has no event under opt-out; nobody unknown
    assert rec["participants"] == ["p-alice", "p-bob", "p-deepak"]
    assert rec["excluded_participants"] == ["p-carla"]
    assert rec["artefacts"] == [{"kind": "chat", "sha256": h}
                                for _, h in sorted(rec["output_sha256"].items())]


@needs_shared
@pytest.mark.models
async def test_real_releases_then_withdrawal_asks_exactly_their_recipients(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        aiohttp_server: Callable[..., Awaitable[TestServer]]) -> None:
    """Three meetings guarded by the real pipeline for two recipients; Bob speaks in two."""
    from .conftest import SAMPLES

    monkeypatch.setenv("ER_KEY_SUMMARIZER", "k1")
    monkeypatch.setenv("ER_KEY_LLM", "k2")
    receiver = Receiver({"summarizer": b"k1", "llm-summarizer": b"k2"})
    server = await aiohttp_server(receiver.app(), host="127.0.0.1")
    policy = tmp_path / "policy.yaml"
    policy.write_bytes((SAMPLES / "policy.yaml").read_bytes())
    alice_only = tmp_path / "alice_chat.txt"
    alice_only.write_text("10:00:00 From Alice Martin to Everyone:\n\tquick update on Q3\n")
    audit = tmp_path / "audit.jsonl"
    runs = [("m1", "summarizer", "--chat", SAMPLES / "zoom_chat_local.txt"),
            ("m2", "summarizer", "--chat", alice_only),
            ("m3", "llm-summarizer", "--transcript", SAMPLES / "teams_transcript.vtt")]
    for meeting, recipient, flag, path in runs:
        assert await _cli("guard", "--policy", str(policy), "--purpose", "summarization",
                          "--recipient", recipient, "--at", AT, "--meeting-id", meeting,
                          "--out", str(tmp_path / meeting), flag, str(path),
                          "--audit", str(audit)) == 0
    config = tmp_path / "sidecar.yaml"
    base = f"http://127.0.0.1:{server.port}/erase"
    config.write_text(yaml.safe_dump({"policy": "policy.yaml", "audit": "audit.jsonl",
                                      "upstreams": {
        "summarizer": {"url": "http://127.0.0.1:9/s", "erasure_url": f"{base}/summarizer",
                       "erasure_key_env": "ER_KEY_SUMMARIZER"},
        "llm-summarizer": {"url": "http://127.0.0.1:9/l", "kind": "openai",
                           "erasure_url": f"{base}/llm-summarizer", "erasure_key_env": "ER_KEY_LLM"},
    }}))
    assert await _cli("consent", "withdraw", "--config", str(config), "--participant", "p-bob",
                      "--purpose", "summarization") == 0
    released = {r.meeting_id: r for r in releases_holding(read_records(audit), "p-bob")}
    assert sorted(released) == ["m1", "m3"]
    asked = {name: {(a["meeting_id"], a["sha256"]) for a in body["artefacts"]}
             for name, body, _ in receiver.got}
    assert asked == {"summarizer": {("m1", a.sha256) for a in released["m1"].artefacts},
                     "llm-summarizer": {("m3", a.sha256) for a in released["m3"].artefacts}}
    assert all(ok for _, _, ok in receiver.got)
    assert verify(audit).ok
    released_file = hashlib.sha256((tmp_path / "m1" / "chat-1.txt").read_bytes())   # kind and index (#25)
    assert ("m1", released_file.hexdigest()) in asked["summarizer"]   # the bytes it received


async def test_a_broken_chain_is_said_not_hidden(setup: Setup,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    _policy, audit, config, _receiver = setup
    _meetings(audit)
    lines = audit.read_text().splitlines()
    lines[2] = lines[2].replace('"m3"', '"m9"')       # tamper with the third record
    audit.write_text("\n".join(lines) + "\n")
    assert await _cli("consent", "withdraw", "--config", str(config), "--participant", "p-bob",
                      "--purpose", "summarization") == 0
    assert "warning: audit chain: chain broken at seq 3" in capsys.readouterr().err
    record = next(r for r in read_records(audit) if r.get("event") == "consent_withdrawn")
    assert record["erasure"]["audit_chain"].startswith("chain broken at seq 3")


async def test_a_keyed_audit_chain_stays_keyed(setup: Setup,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    policy, audit, config, receiver = setup
    data = yaml.safe_load(policy.read_text())
    data["audit"] = {"key_env": "AUDIT_KEY"}
    policy.write_text(yaml.safe_dump(data, sort_keys=False))
    monkeypatch.setenv("AUDIT_KEY", "audit-secret")
    _meetings(audit, key=b"audit-secret")
    assert await _cli("consent", "withdraw", "--config", str(config), "--participant", "p-bob",
                      "--purpose", "summarization") == 0
    assert len(receiver.got) == 2
    assert verify(audit, key=b"audit-secret").ok
    assert all(r.get("mac") for r in read_records(audit))
