"""Live guarding latency (#30): the time a transcript segment or chat message takes from
the RTMS server to a subscriber, with N meetings streaming at once.

    python benchmarks/bench_live.py [--meetings 20] [--seconds 40] [--quick] [--out FILE]
    python benchmarks/bench_live.py --audio [--streams 2] [--seconds 30] [--delay-ms 10000] [--backend B]

Serves the real sidecar (a real Guard: spaCy + Presidio, the policy below) on loopback
with a live section, and one stand-in RTMS server per meeting (tests/fakes/rtms.py,
the protocol of Zoom's event reference). Each meeting is started by a signed
``meeting.rtms_started``; a subscriber reads its SSE stream. Every meeting sends a
transcript segment or a chat message (names, e-mails, phone numbers in some) every
1-3 s (seeded), like people talking. Latency = subscriber receive time - server send
time, per item. The same run is repeated with a relay guard that releases every item
as it is (the transport and protocol alone): the baseline. Prints one JSON object:
p50/p95/p99/max per run, the guard's p99 minus the relay's (the time the guard adds),
items, drops, CPU count and load average.

``--audio``: N meetings, each one participant streaming speech (the committed clip
call.flac, looped) as an RTMS individual audio stream in real time (20 ms packets),
guarded with the embedded Whisper model and the configured delay (each span of speech
heard once, docs/live.md "Audio"). Prints the slices released and the spans dropped,
the observed delay (subscriber receive - the slice's first packet sent) against the
configured one, the spans heard and the real-time factor the guard measured per stream.
The delay is held when nothing was dropped.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import random
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks._output import emit
from meetguard import Guard, GuardOptions
from meetguard._result import GuardResult
from meetguard.live.config import LiveConfig, LivePurpose, RtmsConfig
from meetguard.sidecar import SidecarConfig, init_app
from meetguard.sidecar.config import Limits
from meetguard.sidecar.zoom_config import ZoomConfig, ZoomPurpose
from tests.fakes.rtms import RtmsServerState, Step, build_rtms

HOOK_SECRET, CLIENT_ID, CLIENT_SECRET, TOKEN = b"bench-hook", "bench-client", b"bench-secret", "bench-tok"
POLICY = """\
version: 1
policy_id: bench-live
account: {id: acme, ai_features: {summarization: true}}
purposes:
  summarization:
    consent: opt_out
    missing_consent: exclude
    recipients: [notetaker]
    redact: {entities: all, operator: pseudonymize}
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
PEOPLE = [("1001", "Alice Martin"), ("1002", "Bob Stone"), ("1003", "Carla Nunes")]
LINES = [
    "let us go through the roadmap for the next quarter",
    "you can reach me at carla.nunes@acme-corp.example after the call",
    "Bob Stone said the supplier in Lisbon will confirm by Friday",
    "my direct line is 415-555-0134 if anything breaks",
    "the budget review moved to next Tuesday at ten",
    "Alice Martin will send the notes to the whole team",
    "we should double check the invoice number INV-20931 with finance",
    "thanks everyone, that was a productive discussion",
]


class RelayGuard:
    """The baseline: every item released as it came (no decision, no detection)."""

    def __init__(self, guard: Guard) -> None:
        self._guard = guard

    async def redact_live(self, texts: Sequence[str], purpose: str, recipient: str | None,
                          attendees: Sequence[str], at: datetime, *, book: Any) -> tuple[GuardResult, list[str]]:
        result = GuardResult(decision="release", reasons=(), outputs={}, audit_id="", purpose=purpose,
                             recipient=recipient, meeting_id=None, policy_id="", policy_sha256="", at="")
        return result, list(texts)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._guard, name)


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(q * (len(s) - 1)))] if s else float("nan")


def script(m: int, seconds: float, sent: dict[str, float], rng: random.Random) -> list[Step]:
    steps: list[Step] = [("join", uid, name) for uid, name in PEOPLE]
    t, n = 0.0, 0
    while t < seconds:
        gap = rng.uniform(1.0, 3.0)
        t += gap
        n += 1
        uid, name = PEOPLE[0] if rng.random() < 0.5 else PEOPLE[2]
        marker = f"segment m{m}n{n}"

        async def stamp(marker: str = marker, gap: float = gap) -> None:
            await asyncio.sleep(gap)
            sent[marker] = time.perf_counter()
        steps.append(("await", stamp))
        kind = "chat" if rng.random() < 0.25 else "transcript"
        steps.append((kind, uid, name, f"{marker}: {rng.choice(LINES)}"))
    steps.append(("end",))
    return steps


async def subscribe(http: aiohttp.ClientSession, url: str, got: dict[str, float]) -> None:
    async with http.get(url, headers={"Authorization": f"Bearer {TOKEN}"}) as r:
        buf = b""
        async for chunk in r.content.iter_any():
            buf += chunk
            while b"\n\n" in buf:
                block, buf = buf.split(b"\n\n", 1)
                data = [ln[5:].strip() for ln in block.decode().split("\n") if ln.startswith("data:")]
                if not data:
                    continue
                event = json.loads("\n".join(data))
                if event["type"] == "end":
                    return
                text = event.get("text", "")
                if text.startswith("segment "):
                    got[text.split(":", 1)[0]] = time.perf_counter()


def hook(base: str, state: RtmsServerState) -> tuple[bytes, dict[str, str]]:
    body = json.dumps({"event": "meeting.rtms_started", "event_ts": 1, "payload": {
        "meeting_uuid": state.meeting_uuid, "rtms_stream_id": state.stream_id,
        "server_urls": f"{state.base}/signaling"}}).encode()
    ts = str(int(time.time()))
    sig = "v0=" + hmac.new(HOOK_SECRET, b"v0:" + ts.encode() + b":" + body, hashlib.sha256).hexdigest()
    return body, {"x-zm-request-timestamp": ts, "x-zm-signature": sig, "Content-Type": "application/json"}


async def one_run(guard: Any, meetings: int, seconds: float, tmp: Path, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    sent: dict[str, float] = {}
    got: dict[str, float] = {}
    states, servers = [], []
    for m in range(meetings):
        st = RtmsServerState(CLIENT_ID, CLIENT_SECRET, f"meeting{m}AAAA==", f"stream-{m}", script(m, seconds, sent, rng))
        server = TestServer(build_rtms(st))
        await server.start_server()
        st.base = f"ws://127.0.0.1:{server.port}"
        states.append(st)
        servers.append(server)
    hosts = tuple(f"127.0.0.1:{s.port}" for s in servers)
    config = SidecarConfig(
        policy=tmp / "policy.yaml", audit=tmp / f"audit-{seed}.jsonl", tokens=(TOKEN,),
        token_scopes={TOKEN: frozenset({"live"})}, jobs_dir=tmp / "jobs", limits=Limits(max_body_mb=2),
        zoom=ZoomConfig(secret_env="Z", download_hosts=("127.0.0.1",), secrets=(HOOK_SECRET,),
                        purposes=(ZoomPurpose("summarization", "notetaker"),)),
        live=LiveConfig((LivePurpose("summarization", "notetaker"),),
                        RtmsConfig(CLIENT_ID, "S", hosts, ("transcript", "chat"), client_secret=CLIENT_SECRET)))
    app = init_app(config, guard)
    sidecar = TestServer(app)
    await sidecar.start_server()
    base = f"http://127.0.0.1:{sidecar.port}"
    try:
        async with aiohttp.ClientSession() as http:
            readers = [asyncio.ensure_future(subscribe(http, f"{base}/v1/live/{st.meeting_uuid}", got))
                       for st in states]
            await asyncio.sleep(0.2)
            for st in states:
                body, headers = hook(base, st)
                async with http.post(f"{base}/v1/hooks/zoom", data=body, headers=headers) as r:
                    assert r.status == 204, await r.text()
            await asyncio.wait_for(asyncio.gather(*readers), seconds * 3 + 60)
    finally:
        await sidecar.close()
        for server in servers:
            await server.close()
    lat = [(got[k] - sent[k]) * 1000 for k in got if k in sent]
    return {"items_sent": len(sent), "items_received": len(lat),
            "p50_ms": round(pct(lat, 0.5), 1), "p95_ms": round(pct(lat, 0.95), 1),
            "p99_ms": round(pct(lat, 0.99), 1), "max_ms": round(max(lat, default=float("nan")), 1)}


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="mg-bench-live-"))
    (tmp / "policy.yaml").write_text(POLICY, encoding="utf-8")
    guard = Guard.from_policy(tmp / "policy.yaml", GuardOptions(audit_path=tmp / "audit.jsonl"))
    t0 = time.perf_counter()
    await asyncio.get_running_loop().run_in_executor(None, guard.warm)
    from meetguard.redaction import PseudonymBook  # what the sidecar's live warm-up does

    await guard.redact_live(["warming up"], "summarization", None, ["p-alice"], datetime.now(UTC),
                            book=PseudonymBook())
    warm_s = time.perf_counter() - t0
    load_before = os.getloadavg()
    guarded = await one_run(guard, args.meetings, args.seconds, tmp, 1)
    relay = await one_run(RelayGuard(guard), args.meetings, args.seconds, tmp, 2)
    await guard.aclose()
    return {"benchmark": "bench_live", "meetings": args.meetings, "seconds": args.seconds,
            "cpus": os.cpu_count(), "load_before": [round(x, 2) for x in load_before],
            "load_after": [round(x, 2) for x in os.getloadavg()], "warm_s": round(warm_s, 1),
            "guarded": guarded, "relay_baseline": relay,
            "added_p99_ms": round(guarded["p99_ms"] - relay["p99_ms"], 1),
            "target_p99_ms": 250, "p99_within_target": guarded["p99_ms"] < 250}


async def audio_run(args: argparse.Namespace) -> dict[str, Any]:
    import base64

    import numpy as np

    from meetguard.audio.decode import load, to_whisper_input

    tmp = Path(tempfile.mkdtemp(prefix="mg-bench-live-audio-"))
    (tmp / "policy.yaml").write_text(POLICY, encoding="utf-8")
    guard = Guard.from_policy(tmp / "policy.yaml", GuardOptions(audit_path=tmp / "audit.jsonl",
                                                                transcriber_backend=args.backend))
    await asyncio.get_running_loop().run_in_executor(None, guard.warm)
    clip = to_whisper_input(load(REPO / "tests" / "fixtures" / "speech" / "call.flac"))
    pcm = np.clip(np.round(np.tile(clip, int(args.seconds * 16000 / clip.size) + 1)[: int(args.seconds * 16000)]
                           * 32767), -32768, 32767).astype("<i2").tobytes()
    sent: dict[tuple[int, int], float] = {}
    states = []
    for m in range(args.streams):
        async def stream(m: int = m) -> None:
            st = states[m]
            for k in range(0, len(pcm), 640 * 5):
                for j in range(k, min(k + 640 * 5, len(pcm)), 640):
                    ts = 1764497000000 + j // 32
                    sent[(m, ts)] = time.perf_counter()
                    await st.media.send_json({"msg_type": 14, "content": {
                        "user_id": "1001", "user_name": "Alice Martin", "timestamp": ts,
                        "data": base64.b64encode(pcm[j:j + 640]).decode()}})
                await asyncio.sleep(0.1)
        states.append(RtmsServerState(CLIENT_ID, CLIENT_SECRET, f"meeting{m}AAAA==", f"stream-{m}",
                                      [("join", "1001", "Alice Martin"), ("await", stream), ("end",)]))
    servers = []
    for st in states:
        server = TestServer(build_rtms(st))
        await server.start_server()
        st.base = f"ws://127.0.0.1:{server.port}"
        servers.append(server)
    config = SidecarConfig(
        policy=tmp / "policy.yaml", audit=tmp / "audit.jsonl", tokens=(TOKEN,),
        token_scopes={TOKEN: frozenset({"live"})}, jobs_dir=tmp / "jobs", limits=Limits(max_body_mb=2),
        zoom=ZoomConfig(secret_env="Z", download_hosts=("127.0.0.1",), secrets=(HOOK_SECRET,),
                        purposes=(ZoomPurpose("summarization", "notetaker"),)),
        live=LiveConfig((LivePurpose("summarization", "notetaker"),),
                        RtmsConfig(CLIENT_ID, "S", tuple(f"127.0.0.1:{s.port}" for s in servers), ("audio",),
                                   args.delay_ms, client_secret=CLIENT_SECRET)))
    sidecar = TestServer(init_app(config, guard))
    await sidecar.start_server()
    base = f"http://127.0.0.1:{sidecar.port}"
    got: list[tuple[int, dict[str, Any], float]] = []

    async def sub(m: int, http: aiohttp.ClientSession) -> None:
        async with http.get(f"{base}/v1/live/{states[m].meeting_uuid}", headers={"Authorization": f"Bearer {TOKEN}"}) as r:
            buf = b""
            async for chunk in r.content.iter_any():
                buf += chunk
                while b"\n\n" in buf:
                    block, buf = buf.split(b"\n\n", 1)
                    data = [ln[5:].strip() for ln in block.decode().split("\n") if ln.startswith("data:")]
                    if data:
                        event = json.loads("\n".join(data))
                        if event["type"] == "end":
                            return
                        got.append((m, event, time.perf_counter()))
    await asyncio.sleep(15)        # the sidecar's live warm-up (first window) before the streams start
    load_before = os.getloadavg()
    cpu_before, wall_before = time.process_time(), time.perf_counter()
    try:
        async with aiohttp.ClientSession() as http:
            readers = [asyncio.ensure_future(sub(m, http)) for m in range(args.streams)]
            await asyncio.sleep(0.2)
            for st in states:
                body, headers = hook(base, st)
                async with http.post(f"{base}/v1/hooks/zoom", data=body, headers=headers) as r:
                    assert r.status == 204
            await asyncio.wait_for(asyncio.gather(*readers), args.seconds * 4 + 120)
            from meetguard.live.routes import LIVE

            hub = sidecar.app[LIVE].hub
            calls = hub.hearing.calls if hub is not None else None
    finally:
        await sidecar.close()
        for server in servers:
            await server.close()
    cpu_s, wall_s = time.process_time() - cpu_before, time.perf_counter() - wall_before
    released = [(m, e, t) for m, e, t in got if e["type"] == "audio"]
    dropped = [e for _, e, _ in got if e["type"] == "audio_dropped"]
    delays = [(t - sent[(m, e["ts"])]) * 1000 for m, e, t in released if (m, e["ts"]) in sent]
    records = [json.loads(line) for line in (tmp / "audit.jsonl").read_text().splitlines()]

    rtfs = [r["live"]["purposes"][0]["other"].get("audio:rtf_x1000", 0) / 1000 for r in records
            if r.get("event") == "live_session"]
    await guard.aclose()
    spans = [r["live"]["purposes"][0]["other"].get("audio:spans_heard", 0) for r in records
             if r.get("event") == "live_session"]
    return {"benchmark": "bench_live --audio", "backend": args.backend, "streams": args.streams,
            "seconds": args.seconds,
            "delay_ms": args.delay_ms, "cpus": os.cpu_count(), "load_before": [round(x, 2) for x in load_before],
            "load_after": [round(x, 2) for x in os.getloadavg()],
            "slices_released": len(released), "spans_dropped": len(dropped), "spans_heard_per_stream": spans,
            "released_ms": sum(e["ms"] for _, e, _ in released), "dropped_ms": sum(e["ms"] for e in dropped),
            "observed_delay_min_ms": round(min(delays, default=float("nan")), 1),
            "observed_delay_p50_ms": round(pct(delays, 0.5), 1),
            "observed_delay_max_ms": round(max(delays, default=float("nan")), 1),
            "delay_held": bool(released) and not dropped, "rtf_per_stream": rtfs,
            "cpu_s_per_audio_s": round(cpu_s / (args.seconds * args.streams), 3),
            "cpu_share_of_2_cores": round(cpu_s / wall_s / 2, 3),
            "rtf_note": ("model seconds (wall, the call's share) per audio second heard; each span is heard "
                         "once, the spans waiting heard together in one call; cpu_s_per_audio_s: the "
                         "process's CPU seconds (all threads) per second of audio streamed, whatever the load"),
            "hearing_calls": calls}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--meetings", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=40.0)
    ap.add_argument("--quick", action="store_true", help="4 meetings, 10 s")
    ap.add_argument("--out", help="also write the JSON here")
    ap.add_argument("--audio", action="store_true", help="the audio run (see above)")
    ap.add_argument("--streams", type=int, default=2)
    ap.add_argument("--delay-ms", type=int, default=10000)
    ap.add_argument("--backend", default="openai-whisper",
                    help="the transcriber backend (the sidecar's models.backend), e.g. faster-whisper")
    args = ap.parse_args()
    if args.quick:
        args.meetings, args.seconds = 4, 10.0
    if args.audio:
        if "--seconds" not in sys.argv:
            args.seconds = 30.0
        emit(asyncio.run(audio_run(args)), args.out)
        return
    emit(asyncio.run(main_async(args)), args.out)


if __name__ == "__main__":
    main()
