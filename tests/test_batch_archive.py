"""Reading an archive (no models, no workers): the folder layout, meeting.yaml,
the JSONL manifest, and one problem line per bad meeting; the Ray engine's
settings against a fake ray module."""

from __future__ import annotations

import functools
import os
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from meetguard import Guard, GuardOptions, InputError, Meeting
from meetguard.batch_archive import input_fingerprint, scan_archive
from meetguard.batch_ray import LOOPBACK_ENV, RayEngine
from meetguard.cli import main
from meetguard.testing import FakeDetector

from .batch_support import POLICY, assert_chain_ok, make_archive, write_meeting


def test_folder_layout_sorts_exports_tracks_and_meta(tmp_path: Path) -> None:
    folder = tmp_path / "arc" / "standup"
    write_meeting(folder, 1)
    (folder / "room.m4a").write_bytes(b"x")
    (folder / "track-p-alice.m4a").write_bytes(b"a")
    (folder / ".DS_Store").write_bytes(b"junk")
    specs, problems = scan_archive(tmp_path / "arc")
    assert problems == []
    [spec] = specs
    assert spec.name == "standup" and spec.meeting_id == "mtg-001"
    assert [Path(p).name for p in spec.chat] == ["chat.txt"]
    assert [Path(p).name for p in spec.transcript] == ["transcript.vtt"]
    assert spec.audio is not None and Path(spec.audio).name == "room.m4a"
    assert [(pid, Path(p).name) for pid, p in spec.tracks] == [("p-alice", "track-p-alice.m4a")]
    assert spec.attendees == ("p-alice", "p-bob")
    assert spec.at == datetime(2026, 11, 28, 12, tzinfo=UTC)


def test_a_relative_archive_path_gives_paths_that_exist(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    make_archive(tmp_path, 2)
    monkeypatch.chdir(tmp_path)
    specs, problems = scan_archive("archive")
    assert not problems and len(specs) == 2
    assert all(Path(p).is_file() for s in specs for p in [*s.chat, *s.transcript])


def test_meeting_id_defaults_to_the_folder_name(tmp_path: Path) -> None:
    write_meeting(tmp_path / "arc" / "retro", 2, meta=False)
    [spec], _ = scan_archive(tmp_path / "arc")
    assert spec.meeting_id == "retro" and spec.attendees == () and spec.at is None


@pytest.mark.parametrize(("meta", "problem"), [
    ("meeting_id: [x\n", "meeting.yaml is unreadable"),
    ("- a\n- b\n", "meeting.yaml must be a mapping"),
    ("meetingid: x\n", "unknown key 'meetingid'"),
    ("at: 2026-11-28T12:00:00\n", "at must carry a timezone"),
    ("attendees: p-alice\n", "attendees must be a list"),
])
def test_bad_meeting_yaml_is_one_problem_naming_the_meeting(tmp_path: Path, meta: str, problem: str) -> None:
    write_meeting(tmp_path / "arc" / "good", 1)
    write_meeting(tmp_path / "arc" / "bad", 2, meta=False)
    (tmp_path / "arc" / "bad" / "meeting.yaml").write_text(meta)
    specs, problems = scan_archive(tmp_path / "arc")
    assert [s.name for s in specs] == ["good"]
    assert len(problems) == 1 and problems[0].name == "bad" and problem in problems[0].line()
    assert problems[0].line().startswith("meeting bad: ")


def test_folder_problems_no_exports_two_recordings_a_link_out(tmp_path: Path) -> None:
    arc = tmp_path / "arc"
    (arc / "empty").mkdir(parents=True)
    (arc / "empty" / "meeting.yaml").write_text("meeting_id: e\n")
    (arc / "two").mkdir()
    (arc / "two" / "a.m4a").write_bytes(b"a")
    (arc / "two" / "b.wav").write_bytes(b"b")
    (arc / "link").mkdir()
    (tmp_path / "outside.txt").write_text("secret")
    (arc / "link" / "chat.txt").symlink_to(tmp_path / "outside.txt")
    specs, problems = scan_archive(arc)
    assert specs == []
    assert {p.name: p.problem for p in problems} == {
        "empty": "no exports in the meeting folder",
        "link": "chat.txt points outside the archive",
        "two": "2 mixed recordings; name per-participant ones track-<id>.<ext>",
    }


def test_duplicate_ids_refuse_both_meetings(tmp_path: Path) -> None:
    for name in ("a", "b"):
        write_meeting(tmp_path / "arc" / name, 1)       # both say meeting_id: mtg-001
    write_meeting(tmp_path / "arc" / "c", 2)
    specs, problems = scan_archive(tmp_path / "arc")
    assert [s.name for s in specs] == ["c"]
    assert [p.line() for p in problems] == [
        "meeting a: meeting id 'mtg-001' is used by 2 meetings",
        "meeting b: meeting id 'mtg-001' is used by 2 meetings"]


def test_manifest_lines(tmp_path: Path) -> None:
    arc = tmp_path / "arc"
    write_meeting(arc / "m", 1)
    lines = [('{"name": "ok", "chat": ["m/chat.txt"], "transcript": "m/transcript.vtt", '
              '"tracks": {"p-bob": "m/chat.txt"}, "meeting_id": 42}'),
             '{"name": "abs", "chat": ["/etc/passwd"]}',
             'not json',
             '{"name": "../up", "chat": ["m/chat.txt"]}',
             '{"name": "extra", "chat": ["m/chat.txt"], "colour": "red"}',
             '{"name": "nothing"}']
    (arc / "all.jsonl").write_text("\n".join(lines) + "\n\n")
    specs, problems = scan_archive(arc / "all.jsonl")
    [ok] = specs
    assert ok.name == "ok" and ok.meeting_id == "42" and ok.tracks == (("p-bob", str(arc / "m" / "chat.txt")),)
    assert {p.name: p.problem for p in problems} == {
        "abs": "manifest line 2: a path points outside the archive",
        "line-3": "manifest line 3 is not JSON",
        "line-4": "manifest line 4: name must be a plain folder name",
        "extra": "manifest line 5: manifest: unknown key 'colour' (known: at, attendees, audio, chat, "
                 "meeting_id, name, tracks, transcript)",
        "nothing": "manifest line 6: no exports",
    }


def test_an_unusable_archive_is_one_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not an archive folder or a .jsonl manifest"):
        scan_archive(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="holds no meetings"):
        scan_archive(tmp_path / "empty")


def test_fingerprint_is_what_the_guard_audits(tmp_path: Path) -> None:
    write_meeting(tmp_path / "arc" / "m", 1)
    [spec], _ = scan_archive(tmp_path / "arc")
    meeting = Meeting.from_files(chat=spec.chat, transcript=spec.transcript)
    assert input_fingerprint(spec) == tuple(d.sha256 for d in meeting.documents)
    (tmp_path / "arc" / "m" / "chat.txt").write_text("changed")
    assert input_fingerprint(spec) != tuple(d.sha256 for d in meeting.documents)


def test_out_inside_the_archive_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_meeting(tmp_path / "arc" / "m", 1)
    argv = ["batch", str(tmp_path / "arc"), "--policy", "p.yaml", "--purpose", "x",
            "--out", str(tmp_path / "arc" / "out")]
    assert main(argv) == 2
    assert "--out must not be inside the archive folder" in capsys.readouterr().err
    assert not (tmp_path / "arc" / "out").exists()


class _FakeActor:
    def __init__(self, worker: Any) -> None:
        self.arun = SimpleNamespace(remote=worker.arun)


class _FakeRay:
    """Just what RayEngine calls; the actor runs its worker in this process."""

    def __init__(self, initialized: bool) -> None:
        self.initialized = initialized
        self.init_kwargs: dict[str, Any] | None = None
        self.env_at_init: str | None = None
        self.loopback_at_init: str | None = None
        self.killed = 0
        self.shut_down = False

    def is_initialized(self) -> bool:
        return self.initialized

    def init(self, **kwargs: Any) -> None:
        self.env_at_init = os.environ.get("RAY_USAGE_STATS_ENABLED")
        self.loopback_at_init = os.environ.get(LOOPBACK_ENV)
        self.init_kwargs = kwargs

    def remote(self, **options: Any) -> Any:
        assert options["num_cpus"] == 1
        return lambda cls: SimpleNamespace(remote=lambda *a: _FakeActor(cls(*a)))

    def kill(self, actor: Any) -> None:
        self.killed += 1

    def shutdown(self) -> None:
        self.shut_down = True


@pytest.mark.parametrize("address", [None, "auto"])
async def test_ray_engine_settings_keep_everything_inside(tmp_path: Path, address: str | None,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAY_USAGE_STATS_ENABLED", "1")
    monkeypatch.delenv(LOOPBACK_ENV, raising=False)
    write_meeting(tmp_path / "arc" / "m", 1)
    (tmp_path / "policy.yaml").write_text(POLICY)
    guard = Guard(tmp_path / "policy.yaml", GuardOptions(audit_path=tmp_path / "audit.jsonl"))
    worker = functools.partial(Guard, tmp_path / "policy.yaml", detector=FakeDetector())
    fake = _FakeRay(initialized=False)
    engine = RayEngine(2, address, ray=fake)
    [spec], _ = scan_archive(tmp_path / "arc")
    outcomes = [o async for o in guard.process_many([spec], "summarization", engine=engine,
                                                    worker_guard=worker)]
    assert [o.decision for o in outcomes] == ["partial"]
    assert fake.env_at_init == "0", "usage statistics are off before Ray starts"
    assert fake.init_kwargs is not None and fake.init_kwargs["log_to_driver"] is False
    if address is None:
        assert fake.init_kwargs["include_dashboard"] is False
        assert fake.loopback_at_init == "0", "a local instance stays on 127.0.0.1"
    else:
        assert fake.loopback_at_init is None, "joining a cluster keeps its own addresses"
        assert fake.init_kwargs["address"] == "auto" and "include_dashboard" not in fake.init_kwargs
    assert fake.killed == 2 and fake.shut_down      # our actors go; a joined cluster is only left

    already = _FakeRay(initialized=True)             # e.g. the caller's own ray.init
    engine = RayEngine(1, ray=already)
    _ = [o async for o in guard.process_many([spec], "summarization", engine=engine, worker_guard=worker)]
    assert already.init_kwargs is None and not already.shut_down
    assert_chain_ok(tmp_path / "audit.jsonl")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every file")
def test_an_unreadable_export_fails_its_meeting_at_the_scan(tmp_path: Path) -> None:
    archive, _ = make_archive(tmp_path, 2)
    (archive / "m01" / "chat.txt").chmod(0)
    specs, problems = scan_archive(archive)
    assert [s.name for s in specs] == ["m00"]
    assert [p.name for p in problems] == ["m01"] and "chat.txt: cannot read it" in problems[0].problem


def test_batch_with_an_unknown_purpose_is_a_usage_error_naming_the_purposes(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    archive, policy = make_archive(tmp_path, 1)
    code = main(["batch", str(archive), "--policy", str(policy), "--purpose", "summarise",
                 "--out", str(tmp_path / "out"), "--audit", str(tmp_path / "audit.jsonl")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert "unknown purpose 'summarise'" in err and "defines summarization" in err and "--purpose" in err
    assert not (tmp_path / "audit.jsonl").exists() and not (tmp_path / "out").exists()
