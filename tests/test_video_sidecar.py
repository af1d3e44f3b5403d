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

from meetguard.sidecar import SidecarConfig, UpstreamConfig, init_app, load_config
from meetguard.sidecar.config import Limits
from meetguard.video.decode import read_frames
from meetguard.video.release import shared_models
from tests.conftest import warm_guard
from tests.fakes.sidecar_upstream import Recorder, build_upstream

from ._video_samples import FPS, H, W, gallery_frame, write_video

POLICY = Path(__file__).parent / "conf" / "policies" / "good_video.yaml"
TOKEN = "video-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("video-sidecar")


@pytest.fixture(scope="module")
def guard(workdir: Path) -> Iterator[Any]:
    yield from warm_guard(POLICY, workdir)


@pytest.fixture(scope="module")
def gallery(workdir: Path) -> Path:
    return write_video(workdir / "gallery.mp4", [gallery_frame(shift=i % 3) for i in range(FPS)], tone=False)


def _form(video: Path, purpose: str = "review", recipient: str = "reviewer") -> FormData:
    form = FormData()
    for key, value in (("purpose", purpose), ("recipient", recipient), ("attendee", "p-bruno"),
                       ("attendee", "p-chiara")):
        form.add_field(key, value)
    form.add_field("video", video.read_bytes(), filename="Bruno Keller.mp4")
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
    return [json.loads(line) for line in Path(guard.audit_path).read_text().splitlines()]


@pytest.mark.models
async def test_release_forwards_the_guarded_video(aiohttp_client: Any, aiohttp_server: Any, tmp_path: Path,
                                                  guard: Any, gallery: Path) -> None:
    rec = Recorder()
    up = await aiohttp_server(build_upstream(rec))
    client = await aiohttp_client(init_app(_config(tmp_path, Limits(max_body_mb=4),
                                                   f"http://127.0.0.1:{up.port}/in"), guard))
    resp = await client.post("/v1/release", data=_form(gallery), headers=AUTH)
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    assert body["delivered"] is True and body["outputs"] == ["video.mp4"]
    [got] = rec.received
    payload = got.json()
    video = base64.b64decode(payload["files"]["video.mp4"])
    assert _faces(video, tmp_path) == 0
    assert "Bruno" not in got.body.decode() and "Keller" not in got.body.decode()
    decision, stage = _records(guard)[-2:]
    assert decision["delivered"] is None                # decided before the picture was guarded
    assert stage["delivered"] == {"delivered": True, "status": 200}
    assert stage["participants"] == ["p-bruno", "p-chiara"]
    assert [a["kind"] for a in stage["artefacts"]] == ["video"]
    assert stage["output_sha256"].keys() == {"video.mp4"}


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
    for _ in range(1200):
        got = await client.get(location, headers=AUTH)
        if got.content_type.startswith("multipart/"):
            break
        body = await got.json()
        assert body["progress"]["stage"] in ("queued", "running"), body
        await asyncio.sleep(0.1)
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
    before = len(_records(guard)) if Path(guard.audit_path).exists() else 0
    client = await aiohttp_client(init_app(_config(tmp_path, limits), guard))
    resp = await client.post("/v1/guard", data=_form(gallery), headers=AUTH)
    assert resp.status == status
    message = (await resp.json())["message"]
    assert key in message and "Bruno" not in message
    after = len(_records(guard)) if Path(guard.audit_path).exists() else 0
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
    with pytest.raises(Exception, match="limits.max_video_fps"):
        load_config(path, env={})
