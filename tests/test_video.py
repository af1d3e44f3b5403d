"""The video stage (#29, docs/video.md): faces and screens guarded like voices and words.

The videos are built at test time from scikit-image's sample photographs (tests/_video_samples.py).
The acceptance run goes through `meetguard guard --video` with the real models (CenterFace,
RapidOCR, the run's own detector, Whisper for the sound); the released video is read back at a
rate neither the stage nor its verification used.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from meetguard._errors import InputError, PolicyError
from meetguard._model import Finding
from meetguard.cli import main
from meetguard.policy.schema import parse_policy
from meetguard.video import VideoModels, VideoPlan, VideoWithheld, guard_video
from meetguard.video.analyse import Box, tile_of
from meetguard.video.decode import FrameWriter, VideoLimits, probe_video, read_frames
from meetguard.video.redact import Regions, apply_regions

from ._video_samples import (
    EMAIL,
    FPS,
    NAMES,
    PHONE,
    H,
    W,
    gallery_frame,
    meeting_video,
    plain_frame,
    tile_box,
    write_video,
)

POLICY = Path(__file__).parent / "conf" / "policies" / "good_video.yaml"
ATTENDEES = [a for pid in ("p-alice", "p-bruno", "p-chiara", "p-dmitri") for a in ("--attendee", pid)]


def _squash(text: str) -> str:
    return re.sub(r"\W+", "", text).casefold()


def _no_text(texts: Sequence[str]) -> list[list[Finding]]:
    """The text check for videos built with no text at all (nothing to find)."""
    return [[] for _ in texts]


# -- policy ----------------------------------------------------------------------------------

def _policy_text(extra: str, purpose: str = "training") -> bytes:
    return (POLICY.read_text().replace("training", purpose)
            .replace("    audio: bleep\n", f"    audio: bleep\n{extra}", 1).encode())


@pytest.mark.parametrize(("purpose", "extra", "faces"), [
    ("training", "", "blur"),
    ("summarization", "", "keep"),
    ("training", "    video: {faces: keep}\n", "keep"),
    ("summarization", "    video: {faces: blur}\n", "blur"),
])
def test_policy_video_faces(tmp_path: Path, purpose: str, extra: str, faces: str) -> None:
    path = tmp_path / "p.yaml"
    path.write_bytes(_policy_text(extra, purpose))
    assert parse_policy(path.read_bytes(), str(path)).purposes[purpose].video_faces == faces


@pytest.mark.parametrize("extra", ["    video: {faces: hide}\n", "    video: {eyes: blur}\n", "    video: blur\n"])
def test_policy_video_rejects(tmp_path: Path, extra: str) -> None:
    path = tmp_path / "p.yaml"
    path.write_bytes(_policy_text(extra))
    with pytest.raises(PolicyError, match=r"purposes\.training\.video"):
        parse_policy(path.read_bytes(), str(path))


# -- decode, limits, tiles, hiding (no models) -----------------------------------------------

@pytest.fixture(scope="module")
def meeting_mp4(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return meeting_video(tmp_path_factory.mktemp("video") / "meeting.mp4")


def test_probe_and_limits(meeting_mp4: Path) -> None:
    info = probe_video(meeting_mp4)
    assert (info.width, info.height, info.fps, info.has_audio) == (W, H, FPS, True)
    assert info.duration == pytest.approx(3.0, abs=0.1)
    from meetguard.video.decode import check_video_limits

    check_video_limits(meeting_mp4, info, VideoLimits())
    with pytest.raises(InputError, match="max_video_fps"):
        check_video_limits(meeting_mp4, info, VideoLimits(max_video_fps=2))
    with pytest.raises(InputError, match="max_video_width"):
        check_video_limits(meeting_mp4, info, VideoLimits(max_video_width=320))


def test_not_a_video(tmp_path: Path) -> None:
    path = tmp_path / "notes.mp4"
    path.write_bytes(b"not a video at all")
    with pytest.raises(InputError, match="no readable video stream"):
        probe_video(path)


def test_tile_of_finds_the_gallery_cell() -> None:
    frame = gallery_frame()
    for i in range(4):
        x0, y0, x1, y1 = tile_box(i)
        assert tile_of(frame, x0 + 10, y1 - 10) == Box(x0, y0, x1, y1)
    flat = plain_frame(0)
    assert tile_of(flat, 10, 10) == Box(0, 0, W, H)   # no separators: the whole frame


def test_apply_regions_hides_and_blacks() -> None:
    frame = gallery_frame()
    out = apply_regions(frame, Regions(blur=[Box(10, 10, 110, 110)], black=[Box(200, 50, 260, 90)]))
    assert not out[50:90, 200:260].any()
    assert np.abs(out[10:110, 10:110].astype(int) - frame[10:110, 10:110]).mean() > 1
    assert np.array_equal(out[200:, 400:], frame[200:, 400:])
    whole = apply_regions(frame, Regions(whole=True))
    assert np.abs(whole.astype(int) - frame).mean() > 5


# -- the stage with the real face and text models ---------------------------------------------

@pytest.fixture(scope="module")
def models() -> VideoModels:
    return VideoModels()


def _reencoded(path: Path, tmp: Path) -> Path:
    """ffmpeg's plain re-encode of ``path`` through the same encoder settings."""
    out = tmp / "plain.mp4"
    writer = FrameWriter(out, FPS, (W, H), None)
    for frame in read_frames(path, FPS, (W, H)):
        writer.write(frame)
    writer.close()
    return out


@pytest.mark.models
def test_no_face_no_text_keeps_the_picture(tmp_path: Path, models: VideoModels) -> None:
    src = write_video(tmp_path / "plain.mp4", [plain_frame(i) for i in range(2 * FPS)], tone=False)
    outcome = guard_video(src, VideoPlan(), models, _no_text, None)
    assert (outcome.faces, outcome.text_boxes, outcome.hidden_whole) == (0, 0, 0)
    released = tmp_path / "released.mp4"
    released.write_bytes(outcome.video)
    a = np.stack(list(read_frames(released, FPS, (W, H)))).astype(int)
    b = np.stack(list(read_frames(_reencoded(src, tmp_path), FPS, (W, H)))).astype(int)
    assert a.shape == b.shape
    close = (np.abs(a - b).max(axis=3) <= 8).mean()
    assert close >= 0.99, close


@pytest.mark.models
def test_unlabelled_tiles_with_a_refusal_withhold_the_video(tmp_path: Path, models: VideoModels) -> None:
    src = write_video(tmp_path / "faces.mp4", [gallery_frame(labels=False)] * FPS, tone=False)
    with pytest.raises(VideoWithheld, match="no tile whose name label could be read"):
        guard_video(src, VideoPlan(refusing=frozenset({"p-alice"})), models, _no_text, None)
    kept = guard_video(src, VideoPlan(faces="keep"), models, _no_text, None)
    assert kept.faces == 0 and kept.video   # faces kept: found, not hidden
    out = tmp_path / "kept.mp4"
    out.write_bytes(kept.video)
    assert models.faces.find(next(read_frames(out, 1, (W, H))))


# -- acceptance: `meetguard guard --video` ----------------------------------------------------

def _guard(out: Path, purpose: str, video: Path) -> dict[str, object]:
    code = main(["guard", "--policy", str(POLICY), "--purpose", purpose, "--video", str(video),
                 *ATTENDEES, "--out", str(out), "--audit", str(out.parent / f"{purpose}.audit.jsonl")])
    assert code == 0
    decision: dict[str, object] = json.loads((out / "decision.json").read_text())
    return decision


def _frames(path: Path, fps: float) -> Iterator[np.ndarray]:
    return read_frames(path, fps, (W, H))


@pytest.fixture(scope="module")
def released(tmp_path_factory: pytest.TempPathFactory, meeting_mp4: Path) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("released")
    out: dict[str, Path] = {}
    for purpose in ("training", "review"):
        decision = _guard(base / purpose, purpose, meeting_mp4)
        assert "video.mp4" in decision["outputs"]   # type: ignore[operator]
        out[purpose] = base / purpose
    return out


@pytest.mark.models
@pytest.mark.parametrize("purpose", ["training", "review"])
def test_released_video_shows_no_face_and_no_value(released: dict[str, Path], models: VideoModels,
                                                   purpose: str) -> None:
    video = released[purpose] / "video.mp4"
    frames = list(_frames(video, 3.0))       # neither the stage's 2 fps nor verification's 1.3
    assert len(frames) >= 8
    assert sum(len(models.faces.find(f)) for f in frames) == 0
    read = _squash(" ".join(line.text for f in frames[::2] for line in models.text.read(f)))
    for value in (*NAMES, EMAIL, PHONE):
        assert _squash(value) not in read
    for part in ("alice", "moreno", "keller", "rossi", "volkov", "4155550134", "example"):
        assert part not in read


@pytest.mark.models
def test_refusing_participants_tile_is_black(released: dict[str, Path]) -> None:
    x0, y0, x1, y1 = tile_box(0)
    gallery = list(_frames(released["training"] / "video.mp4", 3.0))[:6]
    for frame in gallery:
        assert frame[y0:y1, x0:x1].mean() < 8
        bx0, by0, bx1, by1 = tile_box(1)
        assert frame[by0:by1, bx0:bx1].mean() > 30      # a consenting participant's tile stays
    decision = json.loads((released["training"] / "decision.json").read_text())
    assert decision["excluded_participants"] == ["p-alice"]
    assert any("tiles blacked out" in r for r in decision["reasons"])


@pytest.mark.models
def test_audio_guarded_as_before(released: dict[str, Path]) -> None:
    # p-alice refuses training: the mixed sound is withheld as for --audio, the video is silent
    training = json.loads((released["training"] / "decision.json").read_text())
    assert any(r.startswith("audio withheld") for r in training["reasons"])
    assert not probe_video(released["training"] / "video.mp4").has_audio
    # nobody refuses review: the guarded sound is released and muxed into the video
    review = json.loads((released["review"] / "decision.json").read_text())
    assert "audio.redacted.wav" in review["outputs"]
    assert probe_video(released["review"] / "video.mp4").has_audio
    for d in (training, review):
        audit = (released["training"].parent / f"{d['purpose']}.audit.jsonl").read_text().splitlines()
        assert len(audit) == 2 and json.loads(audit[-1])["output_sha256"].keys() == {"video.mp4"}


# -- the sidecar's `video` form field ---------------------------------------------------------

@pytest.mark.models
async def test_sidecar_video_field(aiohttp_client: Any, tmp_path: Path, models: VideoModels) -> None:
    import base64

    from aiohttp import FormData

    from meetguard import Guard, GuardOptions
    from meetguard.sidecar import SidecarConfig, init_app
    from meetguard.sidecar.config import Limits

    src = write_video(tmp_path / "gallery.mp4", [gallery_frame(shift=i % 3) for i in range(FPS)], tone=False)
    audit = tmp_path / "audit.jsonl"
    guard = Guard.from_policy(POLICY, GuardOptions(audit_path=audit))
    config = SidecarConfig(policy=POLICY, tokens=("video-token",), jobs_dir=tmp_path / "jobs",
                           limits=Limits(max_body_mb=4, max_jobs=1, queue=8), upstreams={})
    try:
        client = await aiohttp_client(init_app(config, guard))
        form = FormData()
        for key, value in (("purpose", "review"), ("recipient", "reviewer"), ("attendee", "p-bruno")):
            form.add_field(key, value)
        form.add_field("video", src.read_bytes(), filename="Bruno Keller.mp4")
        resp = await client.post("/v1/guard", data=form, headers={"Authorization": "Bearer video-token"})
        assert resp.status == 200, await resp.text()
        body = await resp.json()
        assert body["outputs"] == ["video.mp4"]
        out = tmp_path / "released.mp4"
        out.write_bytes(base64.b64decode(body["files"]["video.mp4"]))
        assert not any(models.faces.find(f) for f in read_frames(out, 2.5, (W, H)))
        records = [json.loads(line) for line in audit.read_text().splitlines()]
        assert records[-1]["output_sha256"].keys() == {"video.mp4"}
        assert "Bruno" not in audit.read_text()
    finally:
        guard.close()


class _FlakyFaces:
    """A face finder that fails on its first ``failures`` calls, then asks the real one."""

    def __init__(self, real: Any, failures: int) -> None:
        self.real, self.left = real, failures

    def find(self, frame: np.ndarray) -> list[Box]:
        if self.left > 0:
            self.left -= 1
            raise RuntimeError("model failed")
        return list(self.real.find(frame))


@pytest.mark.models
def test_a_frame_that_cannot_be_analysed_is_hidden_whole(tmp_path: Path, models: VideoModels) -> None:
    import dataclasses

    src = write_video(tmp_path / "faces.mp4", [gallery_frame(labels=False)] * FPS, tone=False)
    flaky = VideoModels.__new__(VideoModels)
    flaky.faces, flaky.text = _FlakyFaces(models.faces, 1), models.text   # type: ignore[assignment]
    outcome = guard_video(src, VideoPlan(sample_fps=1.0), flaky, _no_text, None)
    assert outcome.hidden_whole == 1
    frame = next(read_frames_bytes(outcome.video, tmp_path))
    original = gallery_frame(labels=False).astype(int)
    assert np.abs(frame.astype(int) - original).mean() > 10     # the whole picture, not boxes
    broken = VideoModels.__new__(VideoModels)
    broken.faces, broken.text = _FlakyFaces(models.faces, 10**6), models.text   # type: ignore[assignment]
    with pytest.raises(VideoWithheld, match="verification could not run"):
        guard_video(src, dataclasses.replace(VideoPlan()), broken, _no_text, None)


def read_frames_bytes(video: bytes, tmp: Path) -> Iterator[np.ndarray]:
    path = tmp / "released-bytes.mp4"
    path.write_bytes(video)
    return read_frames(path, FPS, (W, H))


def _emails(texts: Sequence[str]) -> list[list[Finding]]:
    """A text check that finds lines holding an email address (the detector's part is tested
    with the real one above; here the point is when text is read)."""
    return [[Finding(0, len(t), "EMAIL_ADDRESS", 1.0, "x")] if "@" in t else [] for t in texts]


@pytest.mark.models
def test_text_that_appears_without_a_change_of_picture_is_read(tmp_path: Path, models: VideoModels) -> None:
    import cv2

    frames = []
    for i in range(3 * FPS):
        frame = plain_frame(0)
        if i >= FPS:    # a small line appears after 1 s: far under the scene-change threshold
            cv2.putText(frame, EMAIL, (20, 330), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 2, cv2.LINE_AA)
        frames.append(frame)
    src = write_video(tmp_path / "slow.mp4", frames, tone=False)
    outcome = guard_video(src, VideoPlan(reread_s=1.0), models, _emails, None)
    assert outcome.text_boxes >= 1
    last = list(read_frames_bytes(outcome.video, tmp_path))[-1]
    assert "example" not in _squash(" ".join(line.text for line in models.text.read(last)))


# -- the report's contact sheet ---------------------------------------------------------------

def _thumbnails(html: str) -> list[np.ndarray]:
    import base64

    import cv2

    out = []
    for data in re.findall(r'src="data:image/jpeg;base64,([A-Za-z0-9+/=]+)"', html):
        img = cv2.imdecode(np.frombuffer(base64.b64decode(data), np.uint8), cv2.IMREAD_COLOR)
        out.append(cv2.cvtColor(img, cv2.COLOR_BGR2RGB))
    return out


def _near(pixel: np.ndarray, colour: tuple[int, int, int]) -> bool:
    return bool(np.abs(pixel.astype(int) - np.array(colour)).max() <= 60)


@pytest.mark.models
def test_report_shows_a_contact_sheet_with_the_hidden_boxes_outlined(released: dict[str, Path]) -> None:
    from meetguard.report._video import BLACK, HIDDEN

    out = released["training"]
    audit = out.parent / "training.audit.jsonl"
    assert main(["report", str(out), "--audit", str(audit), "--policy", str(POLICY)]) == 0
    html = (out / "report.html").read_text()
    stage = json.loads(audit.read_text().splitlines()[-1])
    sheet = stage["video"]["sheet"]
    assert 2 <= len(sheet) <= 12 and stage["video"]["size"] == [W, H]
    thumbs = _thumbnails(html)
    assert len(thumbs) == len(sheet)
    assert 'id="video"' in html and "DIFFER" not in html      # video.mp4 matches the stage's record
    for value in (*NAMES, EMAIL, PHONE, "Alice", "Moreno"):
        assert value not in html
    scale = thumbs[0].shape[1] / W
    outlined = {"hidden": 0, "black": 0}
    for entry, thumb in zip(sheet, thumbs, strict=True):
        for key, colour in (("hidden", HIDDEN), ("black", BLACK)):
            for x0, y0, x1, y1 in entry[key]:
                # the middle of the box's top edge (inside the thumbnail) carries the outline colour
                x, y = int((x0 + x1) / 2 * scale), min(thumb.shape[0] - 1, int(y0 * scale) + 1)
                outlined[key] += _near(thumb[y, x], colour)
    # faces and labels hidden in the gallery, Alice's tile black, the screen's values hidden
    assert outlined["hidden"] >= 3 and outlined["black"] >= 1, outlined
    assert any(e["black"] for e in sheet) and any(e["hidden"] for e in sheet)


# -- consent: when the picture may be released at all (#29 item 4) ---------------------------

def _result(decision: str, reasons: tuple[str, ...], excluded: tuple[str, ...] = ()) -> Any:
    from meetguard._result import GuardResult

    return GuardResult(decision, reasons, {}, "a" * 64, "training", "trainer", None,  # type: ignore[arg-type]
                       "video-test", "0" * 64, "2026-12-06T10:00:00+00:00", excluded)


def test_which_decisions_let_the_video_stage_run() -> None:
    from meetguard.policy.decide import NOTHING_LEFT
    from meetguard.video.release import video_may_run, with_video

    everyone = ("p-alice", "p-bruno", "p-chiara", "p-dmitri")
    assert video_may_run(_result("release", ()), ())
    assert video_may_run(_result("partial", ("x",), ("p-alice",)), everyone)
    # nothing left but the picture, and someone present is not excluded: the video may run
    nothing_left = _result("deny", ("audio withheld ...", NOTHING_LEFT), ("p-alice",))
    assert video_may_run(nothing_left, everyone)
    # ... but not when every attendee is excluded, nor with no attendee named
    assert not video_may_run(_result("deny", (NOTHING_LEFT,), ("p-alice",)), ("p-alice",))
    assert not video_may_run(nothing_left, ())
    # a deny of the purpose, recipient or consent itself never runs it
    assert not video_may_run(_result("deny", ("purpose 'training' is not enabled for the account",)), everyone)
    # released: the deny for want of content becomes partial, the reason goes
    record = {"reasons": ["video released: ..."]}
    out = with_video(nothing_left, {"video.mp4": b"v"}, record)
    assert out.decision == "partial" and NOTHING_LEFT not in out.reasons and out.outputs == {"video.mp4": b"v"}
    # withheld: the deny stands, with both reasons
    withheld = with_video(nothing_left, {}, {"reasons": ["video withheld: because"]})
    assert withheld.decision == "deny" and withheld.reasons[-2:] == (NOTHING_LEFT, "video withheld: because")


def test_faces_setting_per_purpose_reaches_the_stage(tmp_path: Path) -> None:
    from meetguard.video.release import video_plan

    path = tmp_path / "p.yaml"
    path.write_bytes(POLICY.read_text().replace("  review:\n", "  summarization:\n    consent: opt_out\n"
                     "    missing_consent: exclude\n    recipients: [reviewer]\n"
                     "    redact: {entities: all, operator: pseudonymize}\n    audio: bleep\n  review:\n").encode()
                     .replace(b"ai_features: {training: true, review: true}",
                              b"ai_features: {training: true, review: true, summarization: true}"))
    policy = parse_policy(path.read_bytes(), str(path))
    assert video_plan(policy, "training", ["p-alice"]).faces == "blur"          # default, not summarization
    assert video_plan(policy, "summarization", []).faces == "keep"              # default for summarization
    assert video_plan(policy, "review", []).faces == "blur"                     # given
    assert video_plan(policy, "training", ["p-alice"]).refusing == {"p-alice"}


@pytest.mark.models
def test_an_unattributable_tile_with_a_refusal_withholds_the_video_with_the_reason(
        tmp_path: Path, models: VideoModels) -> None:
    src = write_video(tmp_path / "unlabelled.mp4", [gallery_frame(labels=False)] * FPS, tone=False)
    # faces: keep does not lift consent: a refusing participant may be any of the faces
    with pytest.raises(VideoWithheld, match="no tile whose name label could be read"):
        guard_video(src, VideoPlan(faces="keep", refusing=frozenset({"p-alice"})), models, _no_text, None)
    out = tmp_path / "out"
    code = main(["guard", "--policy", str(POLICY), "--purpose", "training", "--video", str(src),
                 *ATTENDEES, "--out", str(out), "--audit", str(tmp_path / "audit.jsonl")])
    decision = json.loads((out / "decision.json").read_text())
    assert code == 3 and decision["decision"] == "deny" and decision["outputs"] == []
    reason = ("video withheld: a participant refuses and a face on screen is in no tile whose name "
              "label could be read")
    assert reason in decision["reasons"]
    stage = json.loads((tmp_path / "audit.jsonl").read_text().splitlines()[-1])
    assert stage["decision"] == "error" and stage["reasons"] == [reason] and stage["output_sha256"] == {}
    assert not (out / "video.mp4").exists()
