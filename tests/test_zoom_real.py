"""Acceptance: a Zoom recording event end to end with the real Guard (Whisper, spaCy,
Presidio, ffmpeg): the stand-in Zoom serves a chat, a transcript and two
per-participant M4A tracks (made from jfk.flac with the bundled ffmpeg); one
participant refused consent, so their track is never downloaded, never transcribed
and never forwarded; the rest is redacted, forwarded and audited."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from meetguard import Guard, GuardOptions
from meetguard.audio.decode import ffmpeg_exe
from meetguard.audit import verify
from meetguard.sidecar import SidecarConfig, UpstreamConfig, init_app
from meetguard.sidecar.config import Limits
from meetguard.sidecar.zoom_config import ZoomConfig, ZoomPurpose
from tests.conftest import JFK, require_shared
from tests.fakes.sidecar_upstream import Recorder, build_upstream
from tests.fakes.zoom import ZoomState, build_cdn, build_zoom
from tests.test_zoom_hook import ALICE_MAIL, CHAT, POLICY, VTT

pytestmark = pytest.mark.models
require_shared()
SECRET = b"real-zoom-secret"


def m4a(tmp: Path) -> bytes:
    out = tmp / "track.m4a"
    subprocess.run([ffmpeg_exe(), "-nostdin", "-loglevel", "error", "-i", str(JFK), "-c:a", "aac",
                    "-b:a", "32k", str(out)], check=True, timeout=120)
    return out.read_bytes()


async def test_real_guard_end_to_end(aiohttp_client: Any, aiohttp_server: Any, tmp_path: Path) -> None:
    (tmp_path / "policy.yaml").write_text(POLICY, encoding="utf-8")
    track = m4a(tmp_path)
    state, rec = ZoomState(), Recorder()
    state.files.update({"chat": CHAT.encode(), "vtt": VTT.encode(), "t-alice": track, "t-bob": track,
                        "mp4": b"video-bytes"})
    zoom_srv, cdn_srv = await aiohttp_server(build_zoom(state)), await aiohttp_server(build_cdn(state))
    up = await aiohttp_server(build_upstream(rec))
    zb = f"http://127.0.0.1:{zoom_srv.port}"
    state.redirect["t-alice"] = f"http://127.0.0.1:{cdn_srv.port}/files/t-alice"
    audit = tmp_path / "audit.jsonl"
    guard = Guard.from_policy(tmp_path / "policy.yaml", GuardOptions(audit_path=audit))
    config = SidecarConfig(
        policy=tmp_path / "policy.yaml", audit=audit, jobs_dir=tmp_path / "jobs",
        limits=Limits(max_body_mb=2),
        upstreams={"summarizer": UpstreamConfig("summarizer", f"http://127.0.0.1:{up.port}/in")},
        zoom=ZoomConfig(secret_env="Z", secrets=(SECRET,), api_base=zb,
                        download_hosts=(f"127.0.0.1:{cdn_srv.port}",),
                        purposes=(ZoomPurpose("summarization", "summarizer"),)))
    client = await aiohttp_client(init_app(config, guard))

    def entry(fid: str, ftype: str, **kw: Any) -> dict[str, Any]:
        return {"id": fid, "file_type": ftype, "file_size": len(state.files[fid]),
                "status": "completed", "download_url": f"{zb}/rec/download/{fid}", **kw}

    event = {"event": "recording.completed", "event_ts": 1764497000123, "download_token": state.token,
             "payload": {"object": {
                 "uuid": "real-uuid-1==", "topic": "Planung — Zoë",
                 "recording_files": [entry("chat", "CHAT"), entry("vtt", "TRANSCRIPT"),
                                     entry("mp4", "MP4")],
                 "participant_audio_files": [
                     entry("t-alice", "M4A", participant_email=ALICE_MAIL),
                     entry("t-bob", "M4A", participant_email="bob.stone@northwind.example")]}}}
    body = json.dumps(event, ensure_ascii=False).encode()
    ts = str(int(time.time()))
    sig = "v0=" + hmac.new(SECRET, b"v0:" + ts.encode() + b":" + body, hashlib.sha256).hexdigest()
    try:
        resp = await client.post("/v1/hooks/zoom", data=body,
                                 headers={"x-zm-request-timestamp": ts, "x-zm-signature": sig})
        assert resp.status == 204
        for _ in range(2400):
            records = [json.loads(x) for x in audit.read_text().splitlines()] if audit.exists() else []
            if any("event" in r for r in records):
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("the zoom job did not finish")
    finally:
        await client.close()
        guard.close()

    assert "t-bob" not in state.fetched() and "mp4" not in state.fetched()
    [got] = rec.received
    payload = got.json()
    assert payload["meeting_id"] == "real-uuid-1==" and payload["decision"] == "release"
    assert "p-alice.transcript.vtt" in payload["content"]
    assert not any("p-bob" in name for name in (*payload["content"], *payload["audio"]))
    text = got.body.decode("utf-8")
    assert "Alice Martin" not in text and ALICE_MAIL not in text
    guard_rec, event_rec = records[-2], records[-1]
    assert guard_rec["decision"] == "release" and guard_rec["excluded_participants"] == ["p-bob"]
    assert guard_rec["delivered"]["delivered"] is True and guard_rec["meeting_id"] == "real-uuid-1=="
    assert event_rec["event"]["fetched"] == {"chat": 1, "track": 1, "transcript": 1}
    assert event_rec["decision"] == "partial"          # the hook withheld Bob's track
    assert "withheld: no consent" in event_rec["event"]["purposes"][0]["reason"]
    assert event_rec["event"]["purposes"][0]["audit_id"] == guard_rec["hash"]
    assert verify(audit).ok
    log = audit.read_text()
    for secret in (state.token, "Zoë", ALICE_MAIL, "Alice Martin"):
        assert secret not in log
