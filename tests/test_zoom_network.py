"""The Zoom webhook connects to nothing but api_base, download_hosts and the configured
upstreams: a child process with an audit hook on socket.connect / getaddrinfo runs the
sidecar against the stand-in Zoom, with one good event and one whose files point at a
foreign host and redirect to another (as test_security.py proves it for the routes), and a
fourth whose download is cut by a restart and finished by a second sidecar from its sealed
token."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO
from tests.test_zoom_hook import POLICY

_SCRIPT = r"""
import asyncio, hashlib, hmac, json, socket, sys, time
from pathlib import Path
connects, lookups = [], []
def hook(event, args):
    if event == "socket.connect" and args[0].family in (socket.AF_INET, socket.AF_INET6):
        connects.append(list(args[1][:2]))
    elif event in ("socket.getaddrinfo", "socket.gethostbyname"):
        lookups.append(str(args[0]))
sys.addaudithook(hook)

import aiohttp
from aiohttp import web
from meetguard.sidecar import SidecarConfig, UpstreamConfig, init_app
from meetguard.sidecar import app as app_module
from meetguard.sidecar.zoom_config import ZoomConfig, ZoomPurpose
from tests.fakes.guard import FakeGuard, load_meeting
from tests.fakes.sidecar_upstream import Recorder, build_upstream
from tests.fakes.zoom import ZoomState, build_cdn, build_zoom

async def serve(app):
    runner = web.AppRunner(app); await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0); await site.start()
    return runner, runner.addresses[0][1]

def event(n, base, files, token):
    recs = [{"id": f"{n}-{fid}", "file_type": ftype, "file_size": size, "status": "completed",
             "download_url": url} for fid, ftype, size, url in files]
    return {"event": "recording.completed", "event_ts": n,
            "payload": {"object": {"uuid": f"uuid-{n}==", "recording_files": recs}},
            "download_token": token}

async def main(work):
    state, foreign, rec = ZoomState(), ZoomState(), Recorder()
    state.files.update({"1-chat": b"10:00:01 From A to Everyone:\n\thi\n", "1-vtt": b"WEBVTT\n",
                        "4-chat": b"10:00:01 From A to Everyone:\n\thi\n", "4-vtt": b"WEBVTT\n"})
    runners = []
    ports = {}
    for name, app in (("zoom", build_zoom(state)), ("cdn", build_cdn(state)),
                      ("far", build_cdn(foreign, "foreign")), ("up", build_upstream(rec))):
        r, ports[name] = await serve(app); runners.append(r)
    zb = f"http://127.0.0.1:{ports['zoom']}"
    state.redirect["1-vtt"] = f"http://127.0.0.1:{ports['cdn']}/files/1-vtt"
    state.redirect["2-vtt"] = f"http://127.0.0.1:{ports['far']}/files/2-vtt"
    zoom = ZoomConfig(secret_env="Z", secrets=(b"s3cret",), download_hosts=(f"127.0.0.1:{ports['cdn']}",),
                      purposes=(ZoomPurpose("summarization", "summarizer"),), api_base=zb)
    config = SidecarConfig(policy=Path(work) / "policy.yaml", audit=Path(work) / "audit.jsonl",
                           jobs_dir=Path(work) / "jobs", zoom=zoom, upstreams={
                               "summarizer": UpstreamConfig("summarizer", f"http://127.0.0.1:{ports['up']}/in")})
    first, port = await serve(init_app(config, FakeGuard(), meeting_loader=load_meeting))
    events = [
        event(1, zb, [("chat", "CHAT", 33, f"{zb}/rec/download/1-chat"),
                      ("vtt", "TRANSCRIPT", 7, f"{zb}/rec/download/1-vtt"),
                      ("mp4", "MP4", 9, f"{zb}/rec/download/1-mp4")], state.token),
        event(2, zb, [("vtt", "TRANSCRIPT", 7, f"{zb}/rec/download/2-vtt")], state.token),
        event(3, zb, [("chat", "CHAT", 9, "https://evil.example/rec/1")], state.token),
        event(4, zb, [("vtt", "TRANSCRIPT", 7, f"{zb}/rec/download/4-vtt"),
                      ("chat", "CHAT", 33, f"{zb}/rec/download/4-chat")], state.token),
    ]
    audit = Path(work) / "audit.jsonl"

    async def records(n):
        for _ in range(2400):
            if audit.exists() and len(audit.read_text().splitlines()) >= n:
                return
            await asyncio.sleep(0.025)

    statuses = []
    state.hold, state.held = asyncio.Event(), {"4-chat"}
    async with aiohttp.ClientSession() as http:
        for ev in events:
            body = json.dumps(ev).encode(); ts = str(int(time.time()))
            sig = "v0=" + hmac.new(b"s3cret", b"v0:" + ts.encode() + b":" + body, hashlib.sha256).hexdigest()
            async with http.post(f"http://127.0.0.1:{port}/v1/hooks/zoom", data=body,
                                 headers={"x-zm-request-timestamp": ts, "x-zm-signature": sig}) as resp:
                statuses.append(resp.status)
    await records(3)
    while "4-chat" not in state.fetched():
        await asyncio.sleep(0.025)
    app_module.SHUTDOWN_GRACE_S = 0.05
    await first.cleanup()                      # the restart, in the middle of event 4's downloads
    state.hold.set()
    r, port2 = await serve(init_app(config, FakeGuard(), meeting_loader=load_meeting)); runners.append(r)
    await records(4)
    decisions = [json.loads(line)["decision"] for line in audit.read_text().splitlines()]
    for r in reversed(runners):
        await r.cleanup()
    print(json.dumps({"statuses": statuses, "connects": connects, "lookups": lookups,
                      "allowed": [port, ports["zoom"], ports["cdn"], ports["up"], port2],
                      "fetched": state.fetched(),
                      "foreign_port": ports["far"], "foreign_hits": len(foreign.hits),
                      "received": len(rec.received), "decisions": decisions}))

asyncio.run(main(sys.argv[1]))
"""


def test_zoom_jobs_connect_only_to_configured_hosts(tmp_path: Path) -> None:
    (tmp_path / "policy.yaml").write_text(POLICY, encoding="utf-8")
    proc = subprocess.run([sys.executable, "-c", _SCRIPT, str(tmp_path)], capture_output=True,
                          text=True, timeout=300, cwd=REPO, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["statuses"] == [204, 204, 204, 204]
    assert sorted(out["decisions"]) == ["error", "error", "release", "release"] and out["received"] == 2
    assert out["fetched"].count("4-vtt") == 1 and out["fetched"].count("4-chat") == 2   # resumed
    hosts = {tuple(c) for c in out["connects"]}
    allowed = {("127.0.0.1", p) for p in out["allowed"]}
    assert hosts and hosts <= allowed, hosts
    assert ("127.0.0.1", out["allowed"][1]) in hosts and ("127.0.0.1", out["allowed"][2]) in hosts
    assert ("127.0.0.1", out["foreign_port"]) not in hosts and out["foreign_hits"] == 0
    assert set(out["lookups"]) <= {"127.0.0.1"}, out["lookups"]
