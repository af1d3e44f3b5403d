"""Issue #25: withdrawals that always take effect, scoped tokens, nothing personal in the audit.

One test (or more) per finding; each failed on the main branch before the fix. The
sidecar tests run the real :class:`meetguard.Guard` (policy decision, redaction,
audit) with the fake detector of :mod:`meetguard.testing`; no model is loaded.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp import FormData, web

from meetguard import ConfigError, Guard, GuardOptions
from meetguard.cli import main
from meetguard.consent.history import in_force, learnt_order
from meetguard.policy import consent_state, load_policy
from meetguard.policy.model import ConsentEvent
from meetguard.sidecar import SidecarConfig, init_app, load_config
from meetguard.sidecar.config import DEFAULT_SCOPES, SCOPES
from meetguard.sidecar.scopes import required_scope
from meetguard.testing import FakeDetector, guard_factory

PLAIN, ADMIN, READER = "tok-plain-0001", "tok-admin-0002", "tok-reader-0003"
GRANTED_AT = "2026-11-01T09:00:00Z"
BACKDATED = "2026-10-01T00:00:00Z"          # before the grant: the attack of finding 1

# The values the tests put in requests, files and ids: none may reach an audit record.
VALUES = ("Bob Li", "Alice Martin", "123-45-6789", "bob.li@example.org", "+1 415 555 0199")

POLICY: dict[str, Any] = {
    "version": 1,
    "policy_id": "sec-25",
    "account": {"id": "acme", "ai_features": {"summarization": True}},
    "purposes": {
        "summarization": {"consent": "opt_in", "missing_consent": "exclude",
                          "recipients": ["llm"],
                          "redact": {"entities": ["PERSON", "EMAIL_ADDRESS"],
                                     "operator": "pseudonymize"},
                          "audio": "bleep"},
    },
    "participants": [
        {"id": "p-alice", "names": ["Alice Martin"],
         "consent": {"summarization": {"status": "granted", "at": GRANTED_AT}}},
        {"id": "p-bob", "names": ["Bob Li"],
         "consent": {"summarization": [{"status": "granted", "at": GRANTED_AT}]}},
    ],
}
CHAT = ("10:00:01 From Alice Martin to Everyone:\n\tthe budget is ready\n"
        "10:00:05 From Bob Li to Everyone:\n\tmy figures are in the sheet\n")


def _write_policy(tmp_path: Path) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text("# the admin's policy\n" + yaml.safe_dump(POLICY, sort_keys=False))
    return path


def _config(tmp_path: Path, tokens: list[Any]) -> Path:
    cfg = tmp_path / "sidecar.yaml"
    cfg.write_text(yaml.safe_dump({"policy": "policy.yaml", "audit": "audit.jsonl",
                                   "erasures_dir": "erasures", "tokens": tokens}))
    return cfg


def _records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _no_value_in(path: Path) -> None:
    text = path.read_text()
    for value in VALUES:
        assert value not in text, f"a test value reached {path.name}"


# -- finding 1: a back-dated withdrawal wins over every earlier-recorded grant ----------------

def _event(status: str, at: str, recorded: str | None = None) -> ConsentEvent:
    def ts(v: str) -> datetime:
        return datetime.fromisoformat(v)
    return ConsentEvent(status, ts(at), None, ts(recorded) if recorded else None)


def test_history_orders_by_when_learnt_not_by_the_time_claimed() -> None:
    grant = _event("granted", GRANTED_AT)
    late_grant = _event("granted", "2027-01-01T00:00:00Z")             # hand-written, ahead
    withdrawn = _event("withdrawn", BACKDATED, "2026-12-06T08:00:00Z")  # claims October
    history = learnt_order([grant, late_grant, withdrawn])
    assert history == (grant, late_grant, withdrawn)
    now = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
    assert in_force(history, now) is withdrawn
    # never in the past: before it was recorded the grant stood (a replay sees that)
    assert in_force(history, datetime(2026, 11, 15, tzinfo=UTC)) is grant
    # a grant written before the withdrawal never comes back, whatever it claims
    assert in_force(history, datetime(2027, 2, 1, tzinfo=UTC)) is withdrawn
    # a new grant after it (a new, explicit event) does
    regrant = _event("granted", "2026-12-07T00:00:00Z")
    assert in_force(learnt_order([*history, regrant]), datetime(2026, 12, 8, tzinfo=UTC)) is regrant
    # hand-written histories keep their meaning: by time, the cautious one on a tie
    tie = [_event("withdrawn", GRANTED_AT), _event("granted", GRANTED_AT)]
    assert in_force(learnt_order(tie), now).status == "withdrawn"  # type: ignore[union-attr]


def test_cli_backdated_withdrawal_excludes_from_the_next_guard(tmp_path: Path) -> None:
    policy = _write_policy(tmp_path)
    cfg = _config(tmp_path, [PLAIN])
    (tmp_path / "chat.txt").write_text(CHAT)
    assert main(["consent", "withdraw", "--config", str(cfg), "--participant", "p-bob",
                 "--purpose", "summarization", "--at", BACKDATED]) == 0
    loaded = load_policy(policy)
    bob = loaded.participant("p-bob")
    assert bob is not None
    ok, why = consent_state(loaded, "p-bob", loaded.purposes["summarization"], datetime.now(UTC))
    assert (ok, why) == (False, "consent withdrawn")
    event = bob.consent["summarization"][-1]
    assert event.at == datetime.fromisoformat(BACKDATED) and event.recorded is not None
    out = tmp_path / "out"
    code = main(["guard", "--policy", str(policy), "--purpose", "summarization",
                 "--recipient", "llm", "--chat", str(tmp_path / "chat.txt"), "--out", str(out),
                 "--audit", str(tmp_path / "audit.jsonl")], guard_factory=guard_factory())
    assert code == 0
    decision = json.loads((out / "decision.json").read_text())
    assert decision["excluded_participants"] == ["p-bob"]
    released = "".join(p.read_text() for p in out.rglob("*.txt"))
    assert "my figures" not in released and "the budget is ready" in released
    withdrawn = next(r for r in _records(tmp_path / "audit.jsonl")
                     if r.get("event") == "consent_withdrawn")
    assert withdrawn["at"] == BACKDATED            # the claim, kept for the audit


async def _sidecar(aiohttp_client: Any, tmp_path: Path, tokens: list[Any]) -> tuple[Any, Guard]:
    _write_policy(tmp_path)
    config = load_config(_config(tmp_path, tokens))
    guard = Guard(tmp_path / "policy.yaml", GuardOptions(audit_path=tmp_path / "audit.jsonl"),
                  detector=FakeDetector(roster=True))
    return await aiohttp_client(init_app(config, guard)), guard


def _form() -> FormData:
    form = FormData()
    form.add_field("purpose", "summarization")
    form.add_field("recipient", "llm")
    form.add_field("chat", CHAT.encode(), filename="chat.txt")
    return form


async def test_sidecar_backdated_withdrawal_excludes_from_the_next_guard(
        aiohttp_client: Any, tmp_path: Path) -> None:
    client, guard = await _sidecar(aiohttp_client, tmp_path,
                                   [PLAIN, {"token": ADMIN, "scopes": ["withdraw"]}])
    try:
        auth = {"Authorization": f"Bearer {PLAIN}"}
        before = await client.post("/v1/guard", data=_form(), headers=auth)
        assert before.status == 200 and (await before.json())["excluded_participants"] == []
        resp = await client.post("/v1/withdrawals", headers={"Authorization": f"Bearer {ADMIN}"},
                                 json={"participant": "p-bob", "purpose": "summarization",
                                       "at": BACKDATED})
        assert resp.status == 202, await resp.text()
        after = await client.post("/v1/guard", data=_form(), headers=auth)
        body = await after.json()
        assert after.status == 200 and body["excluded_participants"] == ["p-bob"]
        assert "my figures" not in json.dumps(body["content"])
    finally:
        await guard.aclose()
    _no_value_in(tmp_path / "audit.jsonl")


# -- finding 2: token scopes ------------------------------------------------------------------

def test_scopes_config_bare_scoped_and_shorthands(tmp_path: Path) -> None:
    (tmp_path / "policy.yaml").write_text("")
    config = load_config(_config(tmp_path, [
        PLAIN, {"token": ADMIN, "scopes": ["withdraw"]},
        {"token": READER, "reidentify": True, "replay_at": True}]))
    assert config.scopes_of(PLAIN) == DEFAULT_SCOPES == {"guard", "release", "passthrough"}
    assert config.scopes_of(ADMIN) == {"withdraw"}
    assert config.scopes_of(READER) == DEFAULT_SCOPES | {"reidentify", "replay_at"}
    assert "live" in SCOPES
    for bad in ({"token": ADMIN, "scopes": ["everything"]}, {"token": ADMIN, "scopes": []},
                {"token": ADMIN, "scopes": "withdraw"}):
        with pytest.raises(ConfigError, match=r"tokens\[0\]\.scopes"):
            load_config(_config(tmp_path, [bad]))


async def test_plain_token_cannot_withdraw_a_withdraw_token_can(
        aiohttp_client: Any, tmp_path: Path) -> None:
    client, guard = await _sidecar(aiohttp_client, tmp_path,
                                   [PLAIN, {"token": ADMIN, "scopes": ["withdraw"]}])
    try:
        body = {"participant": "p-bob", "purpose": "summarization"}
        policy_before = (tmp_path / "policy.yaml").read_bytes()
        resp = await client.post("/v1/withdrawals", json=body,
                                 headers={"Authorization": f"Bearer {PLAIN}"})
        assert resp.status == 403 and (await resp.json())["error"] == "forbidden"
        assert (tmp_path / "policy.yaml").read_bytes() == policy_before
        assert not (tmp_path / "erasures").exists() or not any((tmp_path / "erasures").iterdir())
        # the withdraw token may withdraw and nothing else
        admin = {"Authorization": f"Bearer {ADMIN}"}
        assert (await client.post("/v1/guard", data=_form(), headers=admin)).status == 403
        assert (await client.post("/v1/reidentify", json={}, headers=admin)).status == 403
        resp = await client.post("/v1/withdrawals", json=body, headers=admin)
        assert resp.status == 202
    finally:
        await guard.aclose()


def test_every_v1_route_names_its_scope(tmp_path: Path) -> None:
    """Structural: a route added later without a scope would be refused to every token."""
    from tests.fakes.guard import FakeGuard

    app = init_app(SidecarConfig(policy=tmp_path / "p.yaml", tokens=(PLAIN,),
                                 jobs_dir=tmp_path / "jobs"), FakeGuard())  # type: ignore[arg-type]
    routes = {r.canonical for r in app.router.resources() if r.canonical.startswith("/v1/")}
    assert routes >= {"/v1/guard", "/v1/release", "/v1/withdrawals", "/v1/reidentify"}
    for route in routes:
        scope = required_scope(route)
        assert scope is None or scope in SCOPES
    assert required_scope("/v1/withdrawals") == "withdraw"
    assert required_scope("/v1/chat/completions") == "passthrough"


# -- finding 3: every identifier that reaches the audit log is an identifier ----------------

async def test_reidentify_refuses_a_meeting_id_that_is_free_text(
        aiohttp_client: Any, tmp_path: Path) -> None:
    from meetguard.sidecar.config import VaultConfig

    (tmp_path / "policy.yaml").write_text("")
    cfg = SidecarConfig(policy=tmp_path / "policy.yaml", audit=tmp_path / "audit.jsonl",
                        tokens=(READER,), jobs_dir=tmp_path / "jobs",
                        token_scopes={READER: frozenset({"reidentify"})},
                        vault=VaultConfig(tmp_path / "vault", "K", bytes(range(32))))
    from tests.fakes.guard import FakeGuard

    client = await aiohttp_client(init_app(cfg, FakeGuard()))  # type: ignore[arg-type]
    for value in ("Bob Li", "bob.li@example.org", "x" * 129):
        resp = await client.post("/v1/reidentify", json={"meeting_id": value, "text": "hi"},
                                 headers={"Authorization": f"Bearer {READER}"})
        assert resp.status == 400
        assert value not in await resp.text()
    audit = tmp_path / "audit.jsonl"
    assert not audit.exists() or not audit.read_text().strip()


@pytest.mark.parametrize("flag,value", [("--meeting-id", "Bob Li"),
                                        ("--meeting-id", "bob.li@example.org"),
                                        ("--purpose", "Alice Martin"),
                                        ("--recipient", "bob.li@example.org")])
def test_cli_guard_refuses_free_text_ids_before_the_audit(
        tmp_path: Path, flag: str, value: str, capsys: pytest.CaptureFixture[str]) -> None:
    policy = _write_policy(tmp_path)
    (tmp_path / "chat.txt").write_text(CHAT)
    args = {"--purpose": "summarization", "--recipient": "llm", flag: value}
    argv = ["guard", "--policy", str(policy), "--chat", str(tmp_path / "chat.txt"),
            "--out", str(tmp_path / "out"), "--audit", str(tmp_path / "audit.jsonl")]
    for k, v in args.items():
        argv += [k, v]
    assert main(argv, guard_factory=guard_factory()) == 2
    assert value not in capsys.readouterr().err
    audit = tmp_path / "audit.jsonl"
    assert not audit.exists() or value not in audit.read_text()


def test_batch_meeting_ids_from_files_are_identifiers(tmp_path: Path) -> None:
    from meetguard.batch_archive import scan_archive

    arc = tmp_path / "arc"
    for folder, meta in (("ok-1", "meeting_id: mtg-001\n"), ("named", "meeting_id: Bob Li\n"),
                         ("Bob Li 123-45-6789", None)):
        (arc / folder).mkdir(parents=True)
        (arc / folder / "chat.txt").write_text(CHAT)
        if meta:
            (arc / folder / "meeting.yaml").write_text(meta)
    specs, problems = scan_archive(arc)
    assert [s.meeting_id for s in specs] == ["mtg-001"]
    assert sorted(p.name for p in problems) == ["Bob Li 123-45-6789", "named"]
    assert all("Bob Li" not in p.problem for p in problems)
    manifest = tmp_path / "m.jsonl"
    manifest.write_text(json.dumps({"name": "m1", "chat": "arc/ok-1/chat.txt",
                                    "meeting_id": "bob.li@example.org"}) + "\n")
    specs, problems = scan_archive(manifest)
    assert specs == [] and "meeting_id" in problems[0].problem
    assert "bob.li" not in problems[0].problem


# -- finding 6: pseudonym books keyed by token family and meeting; a withdrawal clears them ---

TOKEN_RE = re.compile(r"[<\[]PERSON_\d+[>\]]")


def _echo_upstream(seen: list[dict[str, Any]]) -> web.Application:
    async def chat(request: web.Request) -> web.Response:
        body = await request.json()
        seen.append(body)
        text = " ".join(m["content"] for m in body["messages"] if isinstance(m.get("content"), str))
        return web.json_response({"id": "c", "object": "chat.completion", "created": 1, "model": "stub",
                                  "choices": [{"index": 0, "finish_reason": "stop",
                                               "message": {"role": "assistant", "content": text}}]})

    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    return app


async def test_books_are_per_family_and_a_withdrawal_clears_them(
        aiohttp_client: Any, aiohttp_server: Any, tmp_path: Path) -> None:
    seen: list[dict[str, Any]] = []
    server = await aiohttp_server(_echo_upstream(seen))
    _write_policy(tmp_path)
    cfg = tmp_path / "sidecar.yaml"
    both = ["passthrough", "reidentify"]
    cfg.write_text(yaml.safe_dump({
        "policy": "policy.yaml", "audit": "audit.jsonl", "erasures_dir": "erasures",
        "upstreams": {"llm": {"url": f"http://127.0.0.1:{server.port}/v1", "kind": "openai",
                              "model": "stub"}},
        "tokens": [{"token": "tok-a-1", "scopes": both, "family": "team-a"},
                   {"token": "tok-a-2", "scopes": both, "family": "team-a"},
                   {"token": "tok-b-1", "scopes": both},
                   {"token": ADMIN, "scopes": ["withdraw"]}]}))
    guard = Guard(tmp_path / "policy.yaml", GuardOptions(audit_path=tmp_path / "audit.jsonl"),
                  detector=FakeDetector(roster=True))
    client = await aiohttp_client(init_app(load_config(cfg), guard))

    async def ask(token: str, text: str, attendees: str = "p-alice,p-bob") -> str:
        resp = await client.post("/v1/chat/completions", json={
            "model": "stub", "messages": [{"role": "user", "content": text}]}, headers={
            "Authorization": f"Bearer {token}", "X-Meetguard-Purpose": "summarization",
            "X-Meetguard-Meeting": "m-1", "X-Meetguard-Attendees": attendees,
            "X-Meetguard-Reidentify": "true"})
        assert resp.status == 200, await resp.text()
        return str((await resp.json())["choices"][0]["message"]["content"])

    try:
        assert "Bob Li" in await ask("tok-a-1", "Bob Li sent the figures")
        bob = TOKEN_RE.findall(json.dumps(seen))[0]
        assert "Bob Li" not in json.dumps(seen)
        # the same family shares the meeting's book; another family cannot probe or restore it
        assert "Bob Li" in await ask("tok-a-2", f"{bob} again", "p-alice")
        assert "Bob Li" not in await ask("tok-b-1", f"{bob} again", "p-alice")
        resp = await client.post("/v1/withdrawals", headers={"Authorization": f"Bearer {ADMIN}"},
                                 json={"participant": "p-bob", "purpose": "summarization"})
        assert resp.status == 202
        assert "Bob Li" not in await ask("tok-a-1", f"{bob} again", "p-alice")
    finally:
        await guard.aclose()
    _no_value_in(tmp_path / "audit.jsonl")


# -- finding 5: logit_bias keys are token ids, and go through the guard ---------------------

def test_logit_bias_keys_are_token_ids_guarded_like_every_number() -> None:
    from meetguard import UsageError
    from meetguard.sidecar.openai_proxy import plan_request

    def body(bias: dict[str, Any]) -> dict[str, Any]:
        return {"model": "m", "messages": [{"role": "user", "content": "hi"}], "logit_bias": bias}

    for key in ("4155550199", "+14155550199", "0042", "1e5", "Bob Li", "-1"):
        with pytest.raises(UsageError, match=r"logit_bias\.<key>: expected a token id"):
            plan_request(body({key: 5}))
    ok = plan_request(body({"50256": -100, "0": 1}))
    assert "50256" in ok.texts and "0" in ok.texts      # the guard sees every key
    assert ok.build(list(ok.texts))["logit_bias"] == {"50256": -100, "0": 1}
    # a key the guard would redact is refused, never forwarded changed or as it is
    found = plan_request(body({"555123": 5}))
    with pytest.raises(UsageError):
        found.build([t.replace("555123", "[PHONE_NUMBER_1]") for t in found.texts])


# -- the vault: the sidecar stores re-identifiable meetings, for the asking family only -----

async def test_release_stores_the_map_and_only_its_family_restores_it(
        aiohttp_client: Any, aiohttp_server: Any, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    import base64

    from tests.fakes.sidecar_upstream import Recorder, build_upstream

    monkeypatch.setenv("MG_TEST_VAULT_KEY", base64.b64encode(bytes(range(32))).decode())
    rec = Recorder()
    server = await aiohttp_server(build_upstream(rec))
    policy = json.loads(json.dumps(POLICY))
    policy["purposes"]["summarization"].update({"reidentify": True, "retention_days": 30})
    (tmp_path / "policy.yaml").write_text(yaml.safe_dump(policy, sort_keys=False))
    mine = ["release", "reidentify"]
    (tmp_path / "sidecar.yaml").write_text(yaml.safe_dump({
        "policy": "policy.yaml", "audit": "audit.jsonl", "erasures_dir": "erasures",
        "vault": {"dir": "vault", "key_env": "MG_TEST_VAULT_KEY"},
        "upstreams": {"llm": {"url": f"http://127.0.0.1:{server.port}/in"}},
        "tokens": [{"token": "tok-a-1", "scopes": mine, "family": "team-a"},
                   {"token": "tok-a-2", "scopes": ["reidentify"], "family": "team-a"},
                   {"token": "tok-b-1", "scopes": mine},
                   {"token": ADMIN, "scopes": ["withdraw"]}]}))
    guard = Guard(tmp_path / "policy.yaml",
                  GuardOptions(audit_path=tmp_path / "audit.jsonl",
                               vault=_vault_of(tmp_path)), detector=FakeDetector(roster=True))
    client = await aiohttp_client(init_app(load_config(tmp_path / "sidecar.yaml"), guard))

    def auth(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    try:
        form = _form()
        form.add_field("meeting_id", "m-9")
        resp = await client.post("/v1/release", data=form, headers=auth("tok-a-1"))
        body = await resp.json()
        assert resp.status == 200 and body["vault"] is True, body
        sent = json.dumps([r.json() for r in rec.received])
        assert "Bob Li" not in sent
        tokens = sorted(set(TOKEN_RE.findall(sent)))
        ask = {"meeting_id": "m-9", "text": " and ".join(tokens) + " will send the figures"}
        back = await client.post("/v1/reidentify", json=ask, headers=auth("tok-a-2"))
        assert back.status == 200 and "Bob Li" in (await back.json())["text"]
        other = await client.post("/v1/reidentify", json=ask, headers=auth("tok-b-1"))
        assert other.status == 404 and "Bob Li" not in await other.text()
        resp = await client.post("/v1/withdrawals", headers=auth(ADMIN),
                                 json={"participant": "p-bob", "purpose": "summarization"})
        assert resp.status == 202 and (await resp.json())["vault"].startswith("1 of 1")
        gone = await client.post("/v1/reidentify", json=ask, headers=auth("tok-a-2"))
        assert gone.status == 404
    finally:
        await guard.aclose()
    _no_value_in(tmp_path / "audit.jsonl")


def _vault_of(tmp_path: Path) -> Any:
    from meetguard.vault import Vault

    return Vault(tmp_path / "vault", bytes(range(32)))


# -- findings 4 and 7: batch (purpose `archiving` is off for the account: denied, no model) --

def _batch(tmp_path: Path, archive: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    from tests.batch_support import POLICY as BATCH_POLICY

    policy = tmp_path / "batch-policy.yaml"      # `archiving`: off for the account, denied
    policy.write_text(BATCH_POLICY.replace("ai_features: {summarization: true}",
                                           "ai_features: {summarization: true, archiving: false}")
                      .replace("participants:", "  archiving:\n    consent: opt_in\n    missing_consent: deny\n"
                               "    recipients: [summarizer]\n    redact: {entities: all, operator: redact}\n"
                               "    audio: drop\nparticipants:", 1))
    out = tmp_path / "out"
    code = main(["batch", str(archive), "--policy", str(policy), "--purpose", "archiving",
                 "--out", str(out), "--audit", str(tmp_path / "audit.jsonl"), "--workers", "1",
                 *extra])
    return code, {r["name"]: r for r in json.loads((out / "batch-summary.json").read_text())["meetings"]}


def test_batch_at_is_refused_without_replay_and_marked_with_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.batch_support import write_meeting

    arc = tmp_path / "arc"
    write_meeting(arc / "m00", 0)                 # meeting.yaml: at: 2026-11-28T12:00:00Z
    write_meeting(arc / "m01", 1, meta=False)     # no at: decided now
    code, rows = _batch(tmp_path, arc)
    assert code == 1
    assert rows["m00"]["decision"] == "error" and "--replay" in rows["m00"]["error"]
    assert not (tmp_path / "out" / "m00").exists()
    assert rows["m01"]["decision"] == "deny" and rows["m01"]["at_replayed"] is False
    capsys.readouterr()
    code, rows = _batch(tmp_path, arc, "--replay")
    assert rows["m00"]["decision"] == "deny" and rows["m00"]["at_replayed"] is True
    assert rows["m01"]["at_replayed"] is False
    table = capsys.readouterr().err
    assert "deny^" in table and "replayed" in table
    summary = json.loads((tmp_path / "out" / "batch-summary.json").read_text())
    assert summary["replayed"] == 1


def test_a_manifest_line_that_cannot_be_read_fails_alone(tmp_path: Path) -> None:
    from tests.batch_support import write_meeting

    write_meeting(tmp_path / "arc" / "a", 0, meta=False)
    write_meeting(tmp_path / "arc" / "z", 1, meta=False)
    lines = [json.dumps({"name": "first", "chat": "arc/a/chat.txt"}),
             "[" * 100_000 + "]" * 100_000,                              # nested past the limit
             json.dumps({"name": "nul", "chat": "arc/a/chat\u0000.txt"}),  # not a path
             json.dumps({"name": "last", "chat": "arc/z/chat.txt"})]
    (tmp_path / "m.jsonl").write_text("\n".join(lines) + "\n")
    code, rows = _batch(tmp_path, tmp_path / "m.jsonl")
    assert code == 1
    assert rows["first"]["decision"] == rows["last"]["decision"] == "deny"
    assert rows["line-2"]["decision"] == "error" and "not JSON" in rows["line-2"]["error"]
    assert rows["nul"]["decision"] == "error" and "cannot be read" in rows["nul"]["error"]


# -- #26: a withdrawal's diff of the policy is the new event alone ---------------------------

COMMENTED = """\
# Northwind's consent policy: reviewed in git
version: 1
policy_id: sec-25-commented
account:
  id: acme
  ai_features: {summarization: true}   # the admin's ceiling
purposes:
  summarization:
    consent: opt_in                     # ask first
    missing_consent: exclude
    recipients: [llm]
    redact: {entities: [PERSON, EMAIL_ADDRESS], operator: pseudonymize}
    audio: bleep
participants:
  - id: p-alice
    names: ["Alice Martin"]
    consent:
      summarization: {status: granted, at: 2026-11-01T09:00:00Z}   # signed form 17
  - id: p-bob
    names: ["Bob Li"]
    consent:
      summarization:
        - {status: granted, at: 2026-11-01T09:00:00Z}   # by email
  - id: p-carla
    names: ["Carla Nunes"]
unknown_speakers: non_consenting
"""


def _diff(old: str, new: str) -> tuple[list[str], list[str]]:
    import difflib

    lines = list(difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="", n=0))
    body = [ln for ln in lines if not ln.startswith(("---", "+++", "@@"))]
    return [ln[1:] for ln in body if ln.startswith("-")], [ln[1:] for ln in body if ln.startswith("+")]


@pytest.mark.parametrize("participant,removed,added", [
    ("p-bob", 0, 1),            # a history: one line, the event
    ("p-carla", 0, 3),          # no consent yet: consent, the purpose, the event
    ("p-alice", 1, 3),          # one event on the purpose's line: it moves under the key, unchanged
])
def test_withdrawal_diff_of_the_policy_is_the_new_event(
        tmp_path: Path, participant: str, removed: int, added: int) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(COMMENTED)
    cfg = _config(tmp_path, [PLAIN])
    assert main(["consent", "withdraw", "--config", str(cfg), "--participant", participant,
                 "--purpose", "summarization", "--at", BACKDATED]) == 0
    gone, new = _diff(COMMENTED, policy.read_text())
    assert (len(gone), len(new)) == (removed, added), (gone, new)
    assert new[-1].strip().startswith("- {status: withdrawn, at: 2026-10-01T00:00:00Z, recorded: ")
    if gone:                       # the old event's text, comment included, is kept as it was
        old_event = gone[0].split(": ", 1)[1]
        assert any(line.strip() == "- " + old_event for line in new)
    state = load_policy(policy)
    ok, _ = consent_state(state, participant, state.purposes["summarization"], datetime.now(UTC))
    assert not ok


# -- lows ------------------------------------------------------------------------------------

async def test_a_lone_surrogate_in_an_upstream_event_ends_the_stream_with_event_error(
        aiohttp_client: Any, aiohttp_server: Any, tmp_path: Path) -> None:
    from meetguard.sidecar import UpstreamConfig
    from tests.fakes.guard import FakeGuard, load_meeting

    async def chat(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        good = {"choices": [{"index": 0, "delta": {"content": "fine "}}]}
        await resp.write(f"data: {json.dumps(good)}\n\n".encode())
        await resp.write(b'data: {"choices": [{"index": 0, "delta": {"content": "\\ud800"}}]}\n\n')
        await resp.write(b"data: [DONE]\n\n")
        return resp

    up_app = web.Application()
    up_app.router.add_post("/v1/chat/completions", chat)
    server = await aiohttp_server(up_app)
    (tmp_path / "policy.yaml").write_text("")
    up = UpstreamConfig("llm-summarizer", f"http://127.0.0.1:{server.port}/v1", "openai", 5.0, model="m")
    cfg = SidecarConfig(policy=tmp_path / "policy.yaml", tokens=(READER,), jobs_dir=tmp_path / "jobs",
                        reidentify_tokens=frozenset({READER}), upstreams={"llm-summarizer": up})
    client = await aiohttp_client(init_app(cfg, FakeGuard(), meeting_loader=load_meeting))  # type: ignore[arg-type]
    for restore in ("true", "false"):
        resp = await client.post("/v1/chat/completions", json={
            "model": "m", "stream": True, "messages": [{"role": "user", "content": "hi"}]}, headers={
            "Authorization": f"Bearer {READER}", "X-Meetguard-Purpose": "summarization",
            "X-Meetguard-Meeting": "m-1", "X-Meetguard-Reidentify": restore})
        assert resp.status == 200
        text = (await resp.read()).decode("utf-8", "replace")
        if restore == "true":
            assert "event: error" in text and "meetguard_stream_error" in text
        assert "HTTP/1.1" not in text


async def test_unterminated_multipart_is_400(aiohttp_client: Any, tmp_path: Path) -> None:
    from tests.fakes.guard import FakeGuard, load_meeting

    (tmp_path / "policy.yaml").write_text("")
    cfg = SidecarConfig(policy=tmp_path / "policy.yaml", tokens=(PLAIN,), jobs_dir=tmp_path / "jobs")
    client = await aiohttp_client(init_app(cfg, FakeGuard(), meeting_loader=load_meeting))  # type: ignore[arg-type]
    for body in (b'--BB\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nsummar',
                 (b'--BB\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nsummarization\r\n'
                  b'--BB\r\nContent-Disposition: form-data; name="chat"; filename="c.txt"\r\n\r\nBob Li')):
        resp = await client.post("/v1/guard", data=body, headers={
            "Authorization": f"Bearer {PLAIN}", "Content-Type": "multipart/form-data; boundary=BB"})
        assert resp.status == 400 and (await resp.json())["error"] == "bad_request"
        assert "Bob Li" not in await resp.text()


async def test_withdrawal_errors_name_no_path_and_echo_no_value(
        aiohttp_client: Any, tmp_path: Path) -> None:
    client, guard = await _sidecar(aiohttp_client, tmp_path, [{"token": ADMIN, "scopes": ["withdraw"]}])
    auth = {"Authorization": f"Bearer {ADMIN}"}
    try:
        for body in ({"participant": "Bob Li", "purpose": "summarization"},
                     {"participant": "p-nobody-123-45-6789", "purpose": "summarization"},
                     {"participant": "p-bob", "purpose": "bob.li@example.org"},
                     {"participant": "p-bob", "purpose": "summarization", "at": "2099-01-01T00:00:00Z"}):
            resp = await client.post("/v1/withdrawals", json=body, headers=auth)
            text = await resp.text()
            assert resp.status == 400, text
            assert str(tmp_path) not in text and "policy.yaml" not in text
            assert all(str(v) not in text for v in body.values()), text
        (tmp_path / "policy.yaml").chmod(0o444)      # cannot be written: 500, still no path
        resp = await client.post("/v1/withdrawals", json={"participant": "p-bob",
                                                          "purpose": "summarization"}, headers=auth)
        text = await resp.text()
        assert resp.status == 500 and str(tmp_path) not in text and "policy.yaml" not in text
    finally:
        (tmp_path / "policy.yaml").chmod(0o644)
        await guard.aclose()


def test_cli_outputs_are_named_by_kind_and_index_never_by_an_input_name(tmp_path: Path) -> None:
    policy = _write_policy(tmp_path)
    chat = tmp_path / "Bob Li 123-45-6789.txt"
    chat.write_text(CHAT)
    vtt = tmp_path / "bob.li@example.org.vtt"
    vtt.write_text("WEBVTT\n\n00:00:01.000 --> 00:00:03.000\nAlice Martin: the budget is ready\n")
    out = tmp_path / "out"
    code = main(["guard", "--policy", str(policy), "--purpose", "summarization", "--recipient", "llm",
                 "--chat", str(chat), "--transcript", str(vtt), "--out", str(out), "--report",
                 "--audit", str(tmp_path / "audit.jsonl")], guard_factory=guard_factory())
    assert code == 0
    assert sorted(p.name for p in out.iterdir()) == ["chat-1.txt", "decision.json", "report.html",
                                                     "transcript-1.vtt"]
    for path in (out / "decision.json", out / "report.html", tmp_path / "audit.jsonl"):
        _no_value_in(path)
        assert "123-45-6789" not in path.read_text()
