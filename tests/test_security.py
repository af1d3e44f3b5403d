"""No leaks (issue 7.4) and the sidecar's security review (7.6); see docs/security.md.

Already covered elsewhere: 401 on each known /v1 route with bad credentials, 413 body
limit, 503 queue limit, upload names (test_sidecar.py); the CLI opens no network socket
(test_cli_samples.py); audit allowlist (test_audit.py).
"""

from __future__ import annotations

import ast
import asyncio
import hmac
import json
import logging
import os
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import FormData

from meetguard.sidecar import SidecarConfig, UpstreamConfig, init_app
from meetguard.sidecar.config import SCOPES, Limits

from .conftest import REPO, SAMPLES, require_shared, warm_guard

require_shared()

POLICY = str(SAMPLES / "policy.yaml")
AT = "2026-11-28T12:00:00Z"
EXPECTED: dict[str, Any] = json.loads((SAMPLES / "expected.json").read_text())
CASES = sorted(k for k in EXPECTED if not k.startswith("_"))
PII = sorted({v for k in CASES for v in EXPECTED[k]["pii"]} | {"Carla Nunes"}, key=len, reverse=True)
BAD_CHAT = (b"10:00:00 From Alice Martin to Everyone:\n\tcall (415) 555-0142\n"
            b"10:00:01 Carla Nunes SSN 123-45-6789 stray line\n")  # a parse error on line 3 (a raw timed line)
TOKEN = "sec-token-0a9b"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


_IDS = ("p-alice", "p-bob", "p-carla", "p-deepak")     # the policy's participant ids, not content


def leaked(text: str) -> list[str]:
    for pid in _IDS:
        text = text.replace(pid, "p-<id>")
    return [v for v in PII if v in text]


# -- 7.4 no leaks: the CLI with debug logging ---------------------------------------------

_CLI_SCRIPT = """
import sys
from meetguard.cli import main
policy, samples, work = sys.argv[1:4]
runs = [
    ["--chat", samples + "/zoom_chat_local.txt"],
    ["--transcript", samples + "/zoom_transcript.vtt"],
    ["--chat", samples + "/slack_export"],
    ["--chat", work + "/bad.txt"],
]
for i, inputs in enumerate(runs):
    code = main(["-vv", "guard", "--policy", policy, "--purpose", "summarization", "--recipient",
                 "summarizer", "--at", "2026-11-28T12:00:00Z", "--audit", work + "/audit.jsonl",
                 "--out", f"{work}/out{i}", *inputs])
    print("CODE", code, file=sys.stderr)
code = main(["-vv", "guard", "--policy", policy, "--purpose", "training", "--at", "2026-11-28T12:00:00Z",
             "--audit", work + "/audit.jsonl", "--out", work + "/deny", "--chat", samples + "/zoom_chat_local.txt"])
print("CODE", code, file=sys.stderr)
"""


@pytest.mark.models
def test_cli_debug_logs_errors_and_audit_hold_no_personal_value(tmp_path: Path) -> None:
    (tmp_path / "bad.txt").write_bytes(BAD_CHAT)
    proc = subprocess.run([sys.executable, "-c", _CLI_SCRIPT, POLICY, str(SAMPLES), str(tmp_path)],
                          capture_output=True, text=True, timeout=600, check=False)
    err = proc.stderr
    assert proc.returncode == 0, err[-3000:]
    assert [line.split()[1] for line in err.splitlines() if line.startswith("CODE ")] == ["0", "0", "0", "2", "3"]
    assert "DEBUG" in err, "debug logging was on"
    assert "bad.txt: line 3" in err
    assert leaked(err) == [], "a personal value reached stderr"
    audit = (tmp_path / "audit.jsonl").read_text()
    assert len(audit.splitlines()) == 4 and leaked(audit) == []


# -- 7.4 no leaks: the sidecar with debug logging -----------------------------------------

@pytest.fixture(scope="module")
def real_guard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    yield from warm_guard(POLICY, tmp_path_factory.mktemp("sec"))


def sample_form(name: str, purpose: str = "summarization", recipient: str | None = "summarizer",
                data: bytes | None = None, at: str | None = AT) -> FormData:
    form = FormData()
    form.add_field("purpose", purpose)
    if recipient:
        form.add_field("recipient", recipient)
    if at is not None:
        form.add_field("at", at)
    case = EXPECTED.get(name, {"input": "--chat"})
    for a in case.get("attendees", []):
        form.add_field("attendee", a)
    field = case["input"].lstrip("-")
    form.add_field(field, data if data is not None else (SAMPLES / name).read_bytes(), filename=name)
    return form


@pytest.mark.models
async def test_sidecar_debug_logs_bodies_metrics_audit_hold_no_personal_value(
        aiohttp_client: Any, aiohttp_server: Any, tmp_path: Path, real_guard: Any,
        caplog: pytest.LogCaptureFixture) -> None:
    from meetguard.sidecar.logs import JsonFormatter
    from tests.fakes.sidecar_upstream import Recorder, build_upstream

    caplog.set_level(logging.DEBUG)              # every logger, third-party ones too
    rec = Recorder()
    up = await aiohttp_server(build_upstream(rec))
    base = f"http://127.0.0.1:{up.port}"
    config = SidecarConfig(policy=Path(POLICY), tokens=(TOKEN,), replay_tokens=frozenset({TOKEN}), jobs_dir=tmp_path / "jobs",
                           upstreams={"summarizer": UpstreamConfig("summarizer", f"{base}/in"),
                                      "llm-summarizer": UpstreamConfig("llm-summarizer", f"{base}/v1",
                                                                       "openai", model="m")})
    client = await aiohttp_client(init_app(config, real_guard))
    bodies: list[str] = []

    async def call(method: str, path: str, **kw: Any) -> int:
        resp = await client.request(method, path, **kw)
        bodies.append(await resp.text())
        bodies.extend(f"{k}: {v}" for k, v in resp.headers.items())
        return resp.status

    statuses = [
        await call("POST", "/v1/guard", data=sample_form("zoom_chat_local.txt"), headers=AUTH),
        await call("POST", "/v1/guard", data=sample_form("teams_chat_graph.json"), headers=AUTH),
        # forwarding is always now: a replayed `at` is refused there (#19)
        await call("POST", "/v1/release", data=sample_form("zoom_transcript.vtt", at=None), headers=AUTH),
        await call("POST", "/v1/guard", data=sample_form("zoom_chat_local.txt", "training", None), headers=AUTH),
        await call("POST", "/v1/guard", data=sample_form("bad.txt", data=BAD_CHAT), headers=AUTH),
        await call("POST", "/v1/guard", data=sample_form("Carla Nunes.xyz", data=b"\x00Carla Nunes"),
                   headers=AUTH),
        await call("POST", "/v1/chat/completions", headers={
            **AUTH, "X-Meetguard-Purpose": "summarization", "X-Meetguard-Recipient": "llm-summarizer",
            "X-Meetguard-Attendees": "p-alice"},
            json={"model": "m", "user": "Alice Martin", "messages": [
                {"role": "user", "name": "Alice Martin",
                 "content": "Alice Martin (alice.martin@northwind.example, (415) 555-0142) asked Bob Li"}]}),
        await call("POST", "/v1/chat/completions", headers={**AUTH, "X-Meetguard-Purpose": "summarization"},
                   data=b'{"messages": [{"role": "user", "content": "Carla Nunes"}'),
        await call("POST", "/v1/guard", data=sample_form("zoom_chat_local.txt"),
                   headers={"Authorization": "Bearer Alice Martin"}),
    ]
    assert statuses == [200, 200, 200, 403, 422, 415, 200, 400, 401], statuses
    metrics = await (await client.get("/metrics")).text()
    fmt = JsonFormatter()
    logs = "\n".join(fmt.format(r) for r in caplog.records)
    assert '"msg": "request"' in logs and len(caplog.records) > 9
    assert leaked(logs) == [], "a personal value reached a log record"
    assert leaked("\n".join(bodies)) == [], "a personal value reached a response"
    assert leaked(metrics) == []
    assert leaked(real_guard.audit_path.read_text()) == []
    assert leaked(rec.everything()) == [], "a personal value was forwarded"


# -- 7.4 no outbound connection except configured upstreams -------------------------------

_NET_SCRIPT = """
import asyncio, json, socket, sys
connects, lookups = [], []
def hook(event, args):
    if event == "socket.connect" and args[0].family in (socket.AF_INET, socket.AF_INET6):
        connects.append(list(args[1][:2]))
    elif event == "socket.getaddrinfo":
        lookups.append(str(args[0]))
    elif event == "socket.gethostbyname":
        lookups.append(str(args[0]))
sys.addaudithook(hook)

import aiohttp
from aiohttp import web
from meetguard import Guard, GuardOptions
from meetguard.sidecar import SidecarConfig, UpstreamConfig, init_app
from meetguard.sidecar.config import Limits
from tests.fakes.sidecar_upstream import Recorder, build_upstream

async def main(policy, chat, work):
    rec = Recorder()
    up_runner = web.AppRunner(build_upstream(rec)); await up_runner.setup()
    up_site = web.TCPSite(up_runner, "127.0.0.1", 0); await up_site.start()
    up_port = up_runner.addresses[0][1]
    base = f"http://127.0.0.1:{up_port}"
    guard = Guard.from_policy(policy, GuardOptions(audit_path=work + "/audit.jsonl"))
    from pathlib import Path
    config = SidecarConfig(policy=Path(policy), tokens=("t0k",), jobs_dir=Path(work) / "jobs", upstreams={
        "summarizer": UpstreamConfig("summarizer", base + "/in"),
        "llm-summarizer": UpstreamConfig("llm-summarizer", base + "/v1", "openai", model="m")})
    runner = web.AppRunner(init_app(config, guard)); await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0); await site.start()
    port = runner.addresses[0][1]
    auth = {"Authorization": "Bearer t0k"}
    statuses = []
    async with aiohttp.ClientSession() as http:
        for path in ("/v1/guard", "/v1/release"):
            form = aiohttp.FormData()
            form.add_field("purpose", "summarization"); form.add_field("recipient", "summarizer")
            form.add_field("chat", open(chat, "rb").read(), filename="c.txt")
            async with http.post(f"http://127.0.0.1:{port}{path}", data=form, headers=auth) as r:
                statuses.append(r.status)
        async with http.post(f"http://127.0.0.1:{port}/v1/chat/completions", json={
                "model": "m", "messages": [{"role": "user", "content": "hi from Alice Martin"}]},
                headers={**auth, "X-Meetguard-Purpose": "summarization",
                         "X-Meetguard-Recipient": "llm-summarizer", "X-Meetguard-Attendees": "p-alice"}) as r:
            statuses.append(r.status)
    await runner.cleanup(); await up_runner.cleanup(); guard.close()
    print(json.dumps({"statuses": statuses, "connects": connects, "lookups": lookups,
                      "allowed": [port, up_port], "received": len(rec.received)}))

asyncio.run(main(*sys.argv[1:4]))
"""


@pytest.mark.models
def test_sidecar_connects_only_to_configured_upstreams(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-c", _NET_SCRIPT, POLICY, str(SAMPLES / "zoom_chat_local.txt"),
                           str(tmp_path)], capture_output=True, text=True, timeout=300, cwd=REPO, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["statuses"] == [200, 200, 200] and out["received"] == 2
    sidecar_port, upstream_port = out["allowed"]
    hosts = {tuple(c) for c in out["connects"]}
    assert hosts, "the audit hook saw the connections"
    assert hosts <= {("127.0.0.1", sidecar_port), ("127.0.0.1", upstream_port)}, hosts
    assert ("127.0.0.1", upstream_port) in hosts
    assert set(out["lookups"]) <= {"127.0.0.1"}, out["lookups"]


# -- 7.6 the sidecar's security review ---------------------------------------------------

@pytest.fixture
async def fake_sidecar(aiohttp_client: Any, tmp_path: Path) -> Any:
    from tests.fakes.guard import FakeGuard, load_meeting

    async def make(**kw: Any) -> tuple[Any, FakeGuard]:
        guard = kw.pop("guard", None) or FakeGuard()
        kw.setdefault("token_scopes", {TOKEN: frozenset(SCOPES)})   # every route (#25 scopes)
        config = SidecarConfig(policy=Path(POLICY), tokens=kw.pop("tokens", (TOKEN,)),
                               jobs_dir=tmp_path / "jobs", **kw)
        return await aiohttp_client(init_app(config, guard, meeting_loader=load_meeting)), guard
    return make


async def test_every_v1_route_in_the_router_requires_auth(fake_sidecar: Any) -> None:
    """Structural: any /v1 route added later is covered too."""
    client, fake = await fake_sidecar()
    checked = 0
    for resource in client.app.router.resources():
        path = resource.canonical
        if not path.startswith("/v1"):
            # /openapi.json (#26) describes the routes, no data: public like the probes
            assert path in ("/healthz", "/readyz", "/metrics", "/openapi.json"), \
                f"unauthenticated route {path}"
            continue
        url = path.replace("{id}", "a" * 24)
        for route in resource:
            if route.method == "HEAD":
                continue
            resp = await client.request(route.method, url, data=b"{}")
            assert resp.status == 401, (route.method, path)
            checked += 1
    assert checked >= 4 and fake.audit == [] and fake.seen_texts == []


async def test_token_check_is_constant_time(fake_sidecar: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """hmac.compare_digest against every configured token, whichever matches or none."""
    tokens = ("tok-aaaaaaaaaaaa", "tok-bbbbbbbbbbbb", "tok-cccccccccccc")
    client, _ = await fake_sidecar(tokens=tokens)
    calls: list[int] = []
    real = hmac.compare_digest

    def counting(a: Any, b: Any) -> bool:
        calls.append(1)
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", counting)
    for presented in (tokens[0], tokens[2], "tok-aaaaaaaaaaab", "x", "tok-aaaaaaaaaaaa" + "a" * 100):
        calls.clear()
        resp = await client.get("/v1/jobs/" + "a" * 24, headers={"Authorization": f"Bearer {presented}"})
        assert resp.status == (404 if presented in tokens else 401)
        assert len(calls) == len(tokens), (presented, len(calls))   # no early exit


def _calls(tree: ast.AST) -> Iterator[tuple[str, ast.Call]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            f = node.func
            name = (f"{f.value.id}.{f.attr}" if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name)
                    else f.id if isinstance(f, ast.Name) else "")
            yield name, node


def test_no_shell_and_no_string_commands_anywhere_in_meetguard() -> None:
    spawners = {"subprocess.run", "subprocess.Popen", "subprocess.call", "subprocess.check_call",
                "subprocess.check_output", "asyncio.create_subprocess_exec"}
    banned = {"os.system", "os.popen", "subprocess.getoutput", "subprocess.getstatusoutput",
              "asyncio.create_subprocess_shell", "os.execl", "os.execlp", "os.spawnl", "eval", "exec"}
    seen = 0
    for path in sorted((REPO / "meetguard").rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        for name, call in _calls(tree):
            assert name not in banned, f"{path}:{call.lineno}: {name}"
            for kw in call.keywords:
                assert not (kw.arg == "shell" and not (isinstance(kw.value, ast.Constant) and not kw.value.value)), \
                    f"{path}:{call.lineno}: shell=True"
            if name in spawners:
                seen += 1
                first = call.args[0] if call.args else None
                assert not isinstance(first, (ast.Constant, ast.JoinedStr, ast.BinOp)), \
                    f"{path}:{call.lineno}: a command string (must be an argument list)"
    assert seen >= 3


async def test_uploads_live_in_private_temp_files_removed_after(fake_sidecar: Any, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.fakes.guard import FakeGuard

    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    client, _ = await fake_sidecar(guard=FakeGuard(delay_s=0.5))
    form = FormData()
    form.add_field("purpose", "summarization")
    form.add_field("chat", b"10:00:00 From A to Everyone:\n\thi\n", filename="../../c.txt")
    pending = asyncio.ensure_future(client.post("/v1/guard", data=form, headers=AUTH))
    await asyncio.sleep(0.25)
    (work,) = list(tmp.iterdir())
    assert stat.S_IMODE(work.stat().st_mode) == 0o700
    files = list(work.iterdir())
    assert [f.name for f in files] == ["chat-1.txt"]
    assert all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in files)
    assert (await pending).status == 200
    assert list(tmp.iterdir()) == [], "the upload is deleted once answered"
    # async jobs: private directories and files too
    form = FormData()
    form.add_field("purpose", "summarization")
    form.add_field("chat", b"10:00:00 From A to Everyone:\n\thi\n", filename="c.txt")
    resp = await client.post("/v1/guard", data=form, headers={**AUTH, "Prefer": "respond-async"})
    assert resp.status == 202
    jobs = tmp_path / "jobs"
    assert stat.S_IMODE(jobs.stat().st_mode) == 0o700
    for p in jobs.rglob("*"):
        assert stat.S_IMODE(p.stat().st_mode) == (0o700 if p.is_dir() else 0o600), p
    assert os.stat(jobs).st_uid == os.getuid()


_STALLED_HEAD = (b"POST %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + TOKEN.encode() +
                 b"\r\nContent-Type: %s\r\nContent-Length: 100000\r\n%s\r\n")


@pytest.mark.parametrize("path,ctype,extra,first", [
    (b"/v1/guard", b"multipart/form-data; boundary=BB", b"",
     b'--BB\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nsummarization\r\n--BB\r\n'),
    (b"/v1/guard", b"multipart/form-data; boundary=BB", b"Prefer: respond-async\r\n", b"--BB\r\n"),
    (b"/v1/chat/completions", b"application/json", b"X-Meetguard-Purpose: summarization\r\n", b'{"mess'),
    (b"/v1/withdrawals", b"application/json", b"", b'{"partic'),
])
async def test_a_stalled_body_times_out_and_frees_its_queue_place(
        fake_sidecar: Any, path: bytes, ctype: bytes, extra: bytes, first: bytes) -> None:
    """Slowloris: one place in all (max_jobs 1, queue 0); a client that stops sending
    is answered 408 after the body time limit and the next request is served."""
    llm = UpstreamConfig("llm-summarizer", "http://127.0.0.1:9/v1", "openai")
    client, fake = await fake_sidecar(limits=Limits(max_body_mb=2, max_jobs=1, queue=0, body_timeout_s=1),
                                      upstreams={"llm-summarizer": llm})
    reader, writer = await asyncio.open_connection("127.0.0.1", client.port)
    writer.write(_STALLED_HEAD % (path, ctype, extra) + first)
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(4096), timeout=5)
    writer.close()
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert b'"error": "request_timeout"' in answer
    form = FormData()
    form.add_field("purpose", "summarization")
    form.add_field("chat", b"10:00:00 From A to Everyone:\n\thi\n", filename="c.txt")
    resp = await client.post("/v1/guard", data=form, headers=AUTH)
    assert resp.status == 200
    assert len(fake.audit) == 1
