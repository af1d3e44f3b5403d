"""The sidecar's `video` field (#29, docs/video.md): /v1/release forwards the guarded video, a
long video runs as an async job even when not asked, and the sidecar's limits.max_video_*
refuse a video before anything decodes it. One real Guard for the module (its text models
loaded once); the video is the gallery of tests/_video_samples.py (scikit-image's faces with
name labels), 1 s at 4 fps, no sound."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import FormData

from meetguard import ConfigError
from meetguard.sidecar import SidecarConfig, UpstreamConfig, init_app, load_config
from meetguard.sidecar.config import Limits
from meetguard.video.decode import read_frames
from meetguard.video.release import shared_models
from tests.conftest import warm_guard
from tests.fakes.sidecar_upstream import Recorder, build_upstream
from tests.test_zoom_hook import start  # noqa: F401  (the stand-in Zoom fixture)

from ._video_samples import FPS, H, W, gallery_frame, write_video

POLICY = Path(__file__).parent / "conf" / "policies" / "good_video.yaml"
TOKEN = "video-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
CHAT = "10:00:01 From Bruno Keller to Everyone:\n\tthe numbers are on the screen\n"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("video-sidecar")


@pytest.fixture(scope="module")
def guard(workdir: Path) -> Iterator[Any]:
    yield from warm_guard(POLICY, workdir)


@pytest.fixture(scope="module")
def gallery(workdir: Path) -> Path:
    return write_video(workdir / "gallery.mp4", [gallery_frame(shift=i % 3) for i in range(FPS)], tone=False)


def _form(video: Path, purpose: str = "review", recipient: str = "reviewer", chat: str | None = None) -> FormData:
    form = FormData()
    for key, value in (("purpose", purpose), ("recipient", recipient), ("attendee", "p-bruno"),
                       ("attendee", "p-chiara")):
        form.add_field(key, value)
    form.add_field("video", video.read_bytes(), filename="Bruno Keller.mp4")
    if chat is not None:
        form.add_field("chat", chat.encode(), filename="chat.txt")
    return form


def _config(tmp: Path, limits: Limits, upstream: str | None = None) -> SidecarConfig:
    ups = {"reviewer": UpstreamConfig("reviewer", upstream)} if upstream else {}
    return SidecarConfig(policy=POLICY, tokens=(TOKEN,), jobs_dir=tmp / "jobs", limits=limits, upstreams=ups)


def _faces(data: bytes, tmp: Path) -> int:
    path = tmp / "got.mp4"
    path.write_bytes(data)
    with shared_models() as models:          # the set the stage loaded
        return sum(len(models.faces.find(f)) for f in read_frames(path, 2.5, (W, H)))


def _records(guard: Any) -> list[dict[str, Any]]:
    path = Path(guard.audit_path)
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.mark.models
@pytest.mark.parametrize("with_chat", [True, False])
async def test_release_forwards_the_guarded_video(aiohttp_client: Any, aiohttp_server: Any, tmp_path: Path,
                                                  guard: Any, gallery: Path, with_chat: bool) -> None:
    rec = Recorder()
    up = await aiohttp_server(build_upstream(rec))
    client = await aiohttp_client(init_app(_config(tmp_path, Limits(max_body_mb=4),
                                                   f"http://127.0.0.1:{up.port}/in"), guard))
    resp = await client.post("/v1/release", data=_form(gallery, chat=CHAT if with_chat else None), headers=AUTH)
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    assert body["delivered"] is True and "video.mp4" in body["outputs"]
    [got] = rec.received                                # one delivery, the video in it
    payload = got.json()
    assert ("chat-1.txt" in payload["content"]) is with_chat
    video = base64.b64decode(payload["files"]["video.mp4"])
    assert _faces(video, tmp_path) == 0
    assert "Bruno" not in got.body.decode() and "Keller" not in got.body.decode()
    decision, stage = _records(guard)[-2:]
    # with a chat the decision releases and the video goes in its delivery (the decision's record
    # says delivered); with the picture alone the decision is a deny for want of content, audited
    # before the video stage makes it partial and delivers
    assert decision["delivered"] == ({"delivered": True, "status": 200} if with_chat else None)
    assert stage["delivered"] == {"delivered": True, "status": 200}
    assert stage["participants"] == ["p-bruno", "p-chiara"]
    assert [a["kind"] for a in stage["artefacts"]] == ["video"]
    assert stage["output_sha256"].keys() == {"video.mp4"}
    # a withdrawal of consent by a participant in the video reaches it (it was delivered)
    from meetguard.consent.releases import releases_holding

    held = releases_holding(_records(guard), "p-chiara", "review")
    assert stage["hash"] in [r.audit_id for r in held]
    assert [a.kind for r in held if r.audit_id == stage["hash"] for a in r.artefacts] == ["video"]


async def _parts(resp: Any) -> tuple[dict[str, Any], dict[str, tuple[str, bytes]]]:
    """A multipart/mixed answer: its JSON, and each file part's content type and bytes."""
    reader = aiohttp.MultipartReader.from_response(resp)
    first = await reader.next()
    body = json.loads(await first.read())           # type: ignore[union-attr]
    files: dict[str, tuple[str, bytes]] = {}
    while (part := await reader.next()) is not None:
        files[str(part.filename)] = (part.headers["Content-Type"], bytes(await part.read()))  # type: ignore[union-attr]
    return body, files


@pytest.mark.models
async def test_a_long_video_runs_as_an_async_job(aiohttp_client: Any, tmp_path: Path, guard: Any,
                                                 gallery: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from meetguard.sidecar import service

    monkeypatch.setattr(service, "INLINE_AUDIO_MAX", 1000)    # the video comes as a part
    # limits.async_video_s: 0 -> any video is "long"; no Prefer: respond-async is sent
    client = await aiohttp_client(init_app(_config(tmp_path, Limits(max_body_mb=4, async_video_s=0)), guard))
    resp = await client.post("/v1/guard", data=_form(gallery), headers=AUTH)
    assert resp.status == 202, await resp.text()
    location = resp.headers["Location"]
    assert location == (await resp.json())["location"]
    seen: list[dict[str, Any]] = []
    for _ in range(1200):
        got = await client.get(location, headers=AUTH)
        if got.content_type.startswith("multipart/"):
            break
        body = await got.json()
        assert body["progress"]["stage"] in ("queued", "running", "video"), body
        seen.append(body["progress"])
        await asyncio.sleep(0.1)
    # progress of the video stage while it runs: seconds of video done and in all
    video = [p for p in seen if p["stage"] == "video"]
    assert video and all(0 <= p["video_s"] <= p["video_total_s"] <= 1.1 for p in video), seen
    assert got.status == 200
    body, files = await _parts(got)
    assert body["decision"] == "partial" and body["video_parts"] == ["video.mp4"]   # the picture is all there is
    kind, video = files["video.mp4"]
    assert kind == "video/mp4" and "files" not in body
    assert _faces(video, tmp_path) == 0
    assert not any((tmp_path / "jobs").glob("*/inputs/*"))     # the uploads went with the job


@pytest.mark.models
@pytest.mark.parametrize(("limits", "status", "key"), [
    (Limits(max_body_mb=4, max_video_fps=2), 422, "limits.max_video_fps"),
    (Limits(max_body_mb=4, max_video_width=320), 422, "limits.max_video_width"),
])
async def test_sidecar_video_limits_refuse_before_decoding(aiohttp_client: Any, tmp_path: Path, guard: Any,
                                                           gallery: Path, limits: Limits, status: int,
                                                           key: str) -> None:
    before = len(_records(guard))
    client = await aiohttp_client(init_app(_config(tmp_path, limits), guard))
    resp = await client.post("/v1/guard", data=_form(gallery), headers=AUTH)
    assert resp.status == status
    message = (await resp.json())["message"]
    assert key in message and "Bruno" not in message
    after = len(_records(guard))
    assert after == before                         # refused before any decision


def test_video_limits_in_the_config_file(tmp_path: Path) -> None:
    path = tmp_path / "sidecar.yaml"
    path.write_text(f"policy: {POLICY}\ntokens: [t]\nlimits: {{max_video_minutes: 30, max_video_width: 1920, "
                    "max_video_height: 1080, max_video_fps: 30, async_video_s: 45}\n")
    lim = load_config(path, env={}).limits
    assert (lim.max_video_minutes, lim.max_video_width, lim.max_video_height, lim.max_video_fps,
            lim.async_video_s) == (30, 1920, 1080, 30, 45)
    lim = load_config(path, env={"MEETGUARD_LIMITS_ASYNC_VIDEO_S": "600"}).limits
    assert lim.async_video_s == 600
    path.write_text(f"policy: {POLICY}\ntokens: [t]\nlimits: {{max_video_fps: 0}}\n")
    with pytest.raises(ConfigError, match="limits.max_video_fps"):
        load_config(path, env={})


# -- the Zoom hook fetches the MP4 for a purpose whose policy gives `video:` --------------------

ZOOM_SECRET = b"video-zoom-secret"


def _zoom_event(base: str, files: dict[str, bytes]) -> dict[str, Any]:
    def entry(fid: str, ftype: str, **kw: Any) -> dict[str, Any]:
        return {"id": fid, "file_type": ftype, "file_size": len(files[fid]), "status": "completed",
                "download_url": f"{base}/rec/download/{fid}", **kw}

    return {"event": "recording.completed", "event_ts": 1764497000123, "download_token": "dl-tok-9f2c41",
            "payload": {"object": {"uuid": "video-uuid-1==", "recording_files": [
                entry("speaker", "MP4", recording_type="shared_screen_with_speaker_view"),
                entry("gallery", "MP4", recording_type="gallery_view"),
                entry("chat", "CHAT", recording_type="chat_file")]}}}


def test_plan_fetches_one_mp4_the_gallery_first_only_when_asked() -> None:
    from meetguard.policy.schema import parse_policy
    from meetguard.sidecar.zoom_event import plan_event

    policy = parse_policy(POLICY.read_bytes(), str(POLICY))
    assert policy.purposes["review"].video and not policy.purposes["training"].video
    event = _zoom_event("http://zoom.test", {"speaker": b"s", "gallery": b"g", "chat": b"c"})
    plan = plan_event(event, policy)
    assert [f.kind for f in plan.files] == ["chat"] and plan.not_fetched == {"MP4": 2}
    plan = plan_event(event, policy, video=True)
    assert [(f.kind, f.file_id, f.stored) for f in plan.files] == [
        ("chat", "chat", "chat-1.txt"), ("video", "gallery", "video.mp4")]
    assert plan.not_fetched == {"MP4": 1}


@pytest.mark.models
async def test_zoom_hook_fetches_and_forwards_the_guarded_mp4(aiohttp_client: Any, aiohttp_server: Any,
                                                               tmp_path: Path, guard: Any, gallery: Path) -> None:
    import hashlib
    import hmac
    import time

    from meetguard.sidecar.zoom_config import ZoomConfig, ZoomPurpose
    from tests.fakes.zoom import ZoomState, build_zoom

    state, rec = ZoomState(), Recorder()
    state.files.update({"gallery": gallery.read_bytes(), "speaker": b"speaker-view-bytes", "chat": CHAT.encode()})
    zoom_srv, up = await aiohttp_server(build_zoom(state)), await aiohttp_server(build_upstream(rec))
    base = f"http://127.0.0.1:{zoom_srv.port}"
    config = SidecarConfig(
        policy=POLICY, tokens=(TOKEN,), jobs_dir=tmp_path / "jobs", limits=Limits(max_body_mb=4),
        upstreams={"reviewer": UpstreamConfig("reviewer", f"http://127.0.0.1:{up.port}/in")},
        zoom=ZoomConfig(secret_env="Z", secrets=(ZOOM_SECRET,), api_base=base, download_hosts=(),
                        purposes=(ZoomPurpose("review", "reviewer"),)))
    client = await aiohttp_client(init_app(config, guard))
    body = json.dumps(_zoom_event(base, state.files)).encode()
    ts = str(int(time.time()))
    sig = "v0=" + hmac.new(ZOOM_SECRET, b"v0:" + ts.encode() + b":" + body, hashlib.sha256).hexdigest()
    resp = await client.post("/v1/hooks/zoom", data=body, headers={"x-zm-request-timestamp": ts,
                                                                    "x-zm-signature": sig})
    assert resp.status == 204
    for _ in range(2400):
        events = [r for r in _records(guard) if "event" in r]
        if events and events[-1]["meeting_id"] == "video-uuid-1==":
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("the zoom job did not finish")
    assert sorted(state.fetched()) == ["chat", "gallery"]           # one MP4: the gallery view
    [got] = rec.received
    payload = got.json()
    assert payload["meeting_id"] == "video-uuid-1==" and "chat-1.txt" in payload["content"]
    assert _faces(base64.b64decode(payload["files"]["video.mp4"]), tmp_path) == 0
    assert "Bruno" not in got.body.decode()
    ev = events[-1]["event"]
    assert ev["fetched"] == {"chat": 1, "video": 1} and ev["purposes"][0]["delivered"] is True


async def test_zoom_video_that_cannot_be_downloaded_leaves_the_rest_guarded(start: Any, tmp_path: Path) -> None:  # noqa: F811
    from tests.test_zoom_hook import POLICY as ZOOM_POLICY
    from tests.test_zoom_hook import dumps, recording_event

    env = await start()
    # summarization asks for video; Zoom answers 404 for the MP4 (f-mp4 is not served)
    (tmp_path / "policy.yaml").write_text(ZOOM_POLICY.replace(
        "    audio: bleep\n", "    audio: bleep\n    video: {faces: blur}\n", 1), encoding="utf-8")
    resp = await env.post(dumps(recording_event(env)))
    assert resp.status == 204
    [record] = await env.wait_events()
    assert "f-mp4" in env.zoom.fetched()                       # asked for, and tried
    ev = record["event"]
    assert ev["fetched"] == {"audio": 1, "chat": 1, "transcript": 1}
    [purpose] = ev["purposes"]
    assert purpose["delivered"] is True and purpose["decision"] == "partial"
    assert "video not fetched: its download failed" in purpose["reason"]
    [got] = env.upstream.received
    assert "files" not in got.json() or "video.mp4" not in got.json()["files"]
