"""`meetguard batch` on the local engine: a 20-meeting archive, resume (kill -9
included), bad meetings among good ones, and the library's process_many.
The audit chain must verify after every case."""

from __future__ import annotations

import functools
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from meetguard import Guard, GuardOptions, Meeting
from meetguard.batch import MeetingSpec
from meetguard.cli import main
from meetguard.testing import FakeDetector

from .batch_support import (
    CARLA_TEXT,
    POLICY,
    POLICY_ARCHIVING_OFF,
    assert_chain_ok,
    audit_records,
    batch_argv,
    decided_per_meeting,
    guarded_meetings,
    make_archive,
    summary,
    write_meeting,
)

pytestmark = pytest.mark.models       # workers load the real spaCy model


def test_local_engine_guards_a_20_meeting_archive_then_skips_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    archive, policy = make_archive(tmp_path, 20)
    out, audit = tmp_path / "out", tmp_path / "audit.jsonl"
    assert main(batch_argv(archive, policy, out, audit, "--workers", "2")) == 0
    assert_chain_ok(audit)
    assert decided_per_meeting(audit) == {f"mtg-{i:03d}": 1 for i in range(20)}
    for i, (folder, decision) in enumerate(guarded_meetings(out, audit, 20)):
        assert decision["excluded_participants"] == ["p-carla"]
        expected = ["chat-1.txt", "transcript-1.vtt"] if i % 2 else ["chat-1.txt"]   # #25
        assert decision["outputs"] == expected
        assert sorted(p.name for p in folder.iterdir()) == sorted([*expected, "decision.json"])
    rows = summary(out)["meetings"]
    assert [r["name"] for r in rows] == [f"m{i:02d}" for i in range(20)]
    assert {r["worker"] for r in rows} and all(r["worker_peak_mb"] > 0 for r in rows)
    table = capsys.readouterr().err
    assert "m19" in table and "partial" in table

    # The same command again: every meeting is skipped, nothing is audited twice.
    assert main(batch_argv(archive, policy, out, audit, "--workers", "2")) == 0
    assert "skipped 20 meeting(s)" in capsys.readouterr().err
    assert summary(out)["skipped"] == 20
    assert len(audit_records(audit)) == 20
    assert_chain_ok(audit)

    # A crash after the audit record but before the folder moved into place: the re-run
    # publishes the staged folder with that record's id instead of guarding it again.
    staged = out / ".meetguard-staging" / "m03"
    os.rename(out / "m03", staged)
    decision = json.loads((staged / "decision.json").read_text())
    audit_id, decision["audit_id"] = decision["audit_id"], ""
    (staged / "decision.json").write_text(json.dumps(decision))
    assert main(batch_argv(archive, policy, out, audit)) == 0
    assert json.loads((out / "m03" / "decision.json").read_text())["audit_id"] == audit_id
    assert not staged.exists() and len(audit_records(audit)) == 20
    assert_chain_ok(audit)

    # A kill inside the publish step, after its audit id was written beside decision.json
    # but before it replaced it: still published, not guarded again.
    os.rename(out / "m04", staged.with_name("m04"))
    staged4 = staged.with_name("m04")
    decision = json.loads((staged4 / "decision.json").read_text())
    (staged4 / ".decision.json.tmp").write_text(json.dumps(decision))
    decision["audit_id"] = ""
    (staged4 / "decision.json").write_text(json.dumps(decision))
    assert main(batch_argv(archive, policy, out, audit)) == 0
    assert json.loads((out / "m04" / "decision.json").read_text())["audit_id"]
    assert not (out / "m04" / ".decision.json.tmp").exists()
    assert len(audit_records(audit)) == 20


def test_batch_from_a_relative_archive_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # `cd work && meetguard batch archive ...` failed every meeting as work/archive/archive/m00/...
    make_archive(tmp_path, 2)
    monkeypatch.chdir(tmp_path)
    argv = batch_argv(Path("archive"), Path("policy.yaml"), Path("out"), Path("audit.jsonl"), "--workers", "1")
    assert main(argv) == 0
    assert_chain_ok(tmp_path / "audit.jsonl")
    assert len(list(guarded_meetings(tmp_path / "out", tmp_path / "audit.jsonl", 2))) == 2
    assert [r["error"] for r in summary(tmp_path / "out")["meetings"]] == [None, None]


def test_resume_after_kill_9_audits_each_meeting_once(tmp_path: Path) -> None:
    archive, policy = make_archive(tmp_path, 30)
    out, audit = tmp_path / "out", tmp_path / "audit.jsonl"
    argv = [sys.executable, "-m", "meetguard.cli", *batch_argv(archive, policy, out, audit, "--workers", "1")]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and proc.poll() is None:
            if audit.exists() and audit.read_bytes().count(b"\n") >= 3:
                break
            time.sleep(0.02)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)          # the driver and its worker, mid-batch
        proc.wait()
    assert not (out / "batch-summary.json").exists(), "the batch was to be killed mid-run"
    before = len(audit_records(audit)) if audit.read_bytes().endswith(b"\n") else None
    assert before is None or 3 <= before < 30

    assert main(batch_argv(archive, policy, out, audit, "--workers", "1")) == 0
    assert_chain_ok(audit)
    assert decided_per_meeting(audit) == {f"mtg-{i:03d}": 1 for i in range(30)}
    assert summary(out)["skipped"] >= 3
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == \
        sorted([f"m{i:02d}" for i in range(30)] + ["batch-summary.json"])
    assert not any((out / ".meetguard-staging").iterdir())


def test_bad_meetings_get_one_line_each_and_the_good_ones_go_on(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    archive, policy = make_archive(tmp_path, 3)
    (archive / "empty").mkdir()
    write_meeting(archive / "badyaml", 7, meta=False)
    (archive / "badyaml" / "meeting.yaml").write_text("meeting_id: [unclosed\n")
    write_meeting(archive / "twin-a", 8, meta=False)
    write_meeting(archive / "twin-b", 9, meta=False)
    for twin in ("twin-a", "twin-b"):
        (archive / twin / "meeting.yaml").write_text("meeting_id: same-id\n")
    write_meeting(archive / "garbage", 10)
    (archive / "garbage" / "notes.xyz").write_bytes(b"\x00\x01 not a chat export")
    out, audit = tmp_path / "out", tmp_path / "audit.jsonl"
    policy.write_text(POLICY.replace("ai_features: {summarization: true}",
                                     "ai_features: {summarization: true, archiving: false}")
                      .replace("participants:", "  archiving:\n    consent: opt_in\n    missing_consent: deny\n"
                               "    recipients: [summarizer]\n    redact: {entities: all, operator: redact}\n"
                               "    audio: drop\nparticipants:", 1))
    argv = batch_argv(archive, policy, out, audit, "--workers", "1")
    argv[argv.index("summarization")] = "archiving"   # off for the account: denied, no model needed

    assert main(argv) == 1
    err = capsys.readouterr().err.splitlines()
    bad = {"empty": "no exports", "badyaml": "meeting.yaml is unreadable",
           "twin-a": "meeting id 'same-id'", "twin-b": "meeting id 'same-id'", "garbage": "notes.xyz"}
    for name, problem in bad.items():
        lines = [ln for ln in err if ln.startswith(f"meetguard: batch: meeting {name}: ")]
        assert len(lines) == 1 and problem in lines[0], (name, lines)
        assert not (out / name).exists()
    rows = {r["name"]: r for r in summary(out)["meetings"]}
    assert {n for n, r in rows.items() if r["decision"] == "error"} == set(bad)
    assert all(rows[f"m0{i}"]["decision"] == "deny" for i in range(3))
    assert decided_per_meeting(audit) == {"mtg-000": 1, "mtg-001": 1, "mtg-002": 1}
    assert_chain_ok(audit)


def test_manifest_paths_stay_inside_the_archive(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    archive, policy = make_archive(tmp_path, 2)
    (tmp_path / "secret.txt").write_text("10:00:00 From Alice Martin to Everyone:\n\thi\n")
    lines = [{"name": "first", "meeting_id": "mtg-000", "chat": ["m00/chat.txt"],
              "attendees": ["p-alice", "p-bob"], "at": "2026-11-28T12:00:00Z"},
             {"name": "escape", "chat": ["../secret.txt"]},
             {"name": "second", "meeting_id": "mtg-001", "chat": "m01/chat.txt",
              "transcript": ["m01/transcript.vtt"]}]
    manifest = archive / "meetings.jsonl"
    manifest.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    out, audit = tmp_path / "out", tmp_path / "audit.jsonl"
    # A purpose the account has off is denied before any model is needed: decision.json
    # only. (An undefined purpose is a usage error, exit 2, before any line is read: #26.)
    policy.write_text(POLICY_ARCHIVING_OFF)
    argv = batch_argv(manifest, policy, out, audit, "--workers", "1")
    argv[argv.index("summarization")] = "archiving"
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "meetguard: batch: meeting escape: manifest line 2: a path points outside the archive" in err
    for name in ("first", "second"):
        assert [p.name for p in (out / name).iterdir()] == ["decision.json"]
        assert json.loads((out / name / "decision.json").read_text())["decision"] == "deny"
    assert decided_per_meeting(audit) == {"mtg-000": 1, "mtg-001": 1}
    assert_chain_ok(audit)

    # --force guards the decided meetings again (and the bad line is still refused).
    assert main([*argv, "--force"]) == 1
    assert "skipped" not in capsys.readouterr().err
    assert decided_per_meeting(audit) == {"mtg-000": 2, "mtg-001": 2}
    assert_chain_ok(audit)


async def test_process_many_yields_results_audited_by_the_driver(tmp_path: Path) -> None:
    archive, policy = make_archive(tmp_path, 2)
    audit = tmp_path / "audit.jsonl"
    guard = Guard.from_policy(policy, GuardOptions(audit_path=audit))
    # Workers build their own Guard: here with a fake detector (picklable, no model).
    worker = functools.partial(Guard, policy, GuardOptions(),
                               detector=FakeDetector({"alice.martin@acme.example": "EMAIL_ADDRESS"}))
    meetings: list[Meeting | MeetingSpec] = [
        Meeting.from_files(chat=[archive / "m00" / "chat.txt"], attendees=["p-alice"], meeting_id="lib-0"),
        MeetingSpec(name="missing", chat=(str(archive / "nope.txt"),), meeting_id="lib-1"),
        MeetingSpec(name="m01", chat=(str(archive / "m01" / "chat.txt"),), meeting_id="lib-2"),
    ]
    try:
        outcomes = [o async for o in guard.process_many(meetings, "summarization", worker_guard=worker)]
    finally:
        guard.close()
    by_name = {o.name: o for o in outcomes}
    assert sorted(by_name) == ["lib-0", "m01", "missing"]
    assert sorted(o.index for o in outcomes) == [0, 1, 2]
    assert by_name["missing"].result is None and "no such file" in (by_name["missing"].error or "")
    records = {r["hash"]: r for r in audit_records(audit)}
    # a Meeting keeps its documents' names; a MeetingSpec's are by kind and index (#25)
    for name, output in (("lib-0", "chat.txt"), ("m01", "chat-1.txt")):
        result = by_name[name].result
        assert result is not None and result.decision == "partial"
        assert records[result.audit_id]["meeting_id"] == result.meeting_id
        text = result.text(output)
        assert "alice.martin@acme.example" not in text and "Alice Martin" not in text
        assert CARLA_TEXT not in text
    assert len(records) == 2
    assert_chain_ok(audit)
