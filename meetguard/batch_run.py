"""``meetguard batch``: guard an archive into DIR, resumably.

Each meeting's output is written in three steps, so that a batch killed at
any instant (``kill -9``) and run again audits every meeting exactly once:

1. stage: outputs and ``decision.json`` (no audit id yet) under
   ``DIR/.meetguard-staging/<name>/``, synced;
2. commit: the driver appends the worker's audit record to the chain;
3. publish: ``decision.json`` gets the audit id, the folder moves to ``DIR/<name>/``.

On a re-run a meeting is done when ``DIR/<name>/decision.json`` names an audit
record for the same meeting, purpose, recipient, policy sha256 and input
sha256. A staged folder whose outputs match such a record (a crash between 2
and 3) is published without guarding again; any other staged folder is
dropped and the meeting guarded anew.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._errors import MeetguardError, OutputExists, UsageError
from ._guard import Guard, GuardOptions
from ._usage import check_purpose
from .batch import BatchOutcome, MeetingSpec, Runner
from .batch_archive import ArchiveProblem, input_fingerprint, scan_archive

__all__ = ["BatchCommand", "run_batch"]

STAGING = ".meetguard-staging"
SUMMARY = "batch-summary.json"
DECIDED = frozenset({"release", "partial", "deny"})


@dataclass(frozen=True)
class BatchCommand:
    archive: str
    policy: str
    purpose: str
    out: str
    recipient: str | None = None
    audit: str | None = None
    workers: int | None = None
    engine: str = "local"
    ray_address: str | None = None
    verify: bool | None = None
    force: bool = False
    whisper_model: str | None = None          # None: by the policy's detection.languages
    progress: bool = False
    token_form: str = "square"                # pseudonyms as [PERSON_1] or <PERSON_1>
    replay: bool = False                      # --replay: an archive's `at:` is honoured (#25)


@dataclass
class _Row:
    name: str
    meeting_id: str | None
    decision: str
    entity_counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    audio_seconds: float = 0.0
    messages: int = 0
    error: str | None = None
    audit_id: str | None = None
    skipped: bool = False
    worker: str = ""
    worker_peak_mb: float = 0.0
    at_replayed: bool = False        # decided at the archive's `at:` (--replay), not now

    def json(self) -> dict[str, Any]:
        return {"name": self.name, "meeting_id": self.meeting_id, "decision": self.decision,
                "at_replayed": self.at_replayed,
                "entity_counts": dict(sorted(self.entity_counts.items())),
                "seconds": round(self.seconds, 3), "audio_seconds": round(self.audio_seconds, 1),
                "messages": self.messages, "error": self.error, "audit_id": self.audit_id,
                "skipped": self.skipped, "worker": self.worker,
                "worker_peak_mb": self.worker_peak_mb}


def _say(line: str) -> None:
    print(f"meetguard: batch: {line}", file=sys.stderr)


def run_batch(cmd: BatchCommand) -> int:
    """Exit 0 when every meeting was decided, 1 when any errored."""
    if cmd.workers is not None and cmd.workers < 1:
        raise UsageError("--workers must be at least 1")
    if cmd.engine not in ("local", "ray"):
        raise UsageError(f"--engine must be local or ray, not {cmd.engine!r}")
    out = Path(cmd.out)
    if out.exists() and not out.is_dir():
        raise OutputExists(f"{out}: --out exists and is not a directory")
    archive = Path(cmd.archive)
    if archive.is_dir() and (out.resolve() == archive.resolve() or archive.resolve() in out.resolve().parents):
        raise UsageError(f"{out}: --out must not be inside the archive folder")
    guard = Guard.from_policy(cmd.policy, GuardOptions(audit_path=cmd.audit,
                                                       whisper_model=cmd.whisper_model,
                                                       token_form=cmd.token_form))
    try:
        check_purpose(guard.policy, cmd.purpose, cmd.policy)
        if cmd.progress:
            _say(f"scanning {archive} ...")
        specs, problems = scan_archive(archive)
        return asyncio.run(_run(cmd, guard, out, specs, problems))
    finally:
        guard.close()


async def _run(cmd: BatchCommand, guard: Guard, out: Path, specs: list[MeetingSpec],
               problems: list[ArchiveProblem]) -> int:
    started = time.time()
    rows: list[_Row] = [_Row(p.name, None, "error", error=p.problem) for p in problems]
    for p in problems:
        _say(p.line())
    recipient = _recipient(guard, cmd.purpose, cmd.recipient)
    out.mkdir(parents=True, exist_ok=True)
    (out / STAGING).mkdir(exist_ok=True)
    for old in (out / STAGING).glob(".old-*"):      # a crash in the middle of a replace
        shutil.rmtree(old, ignore_errors=True)
    key = _Key(cmd.purpose, recipient, guard.policy.sha256)
    resume = _Resume(key, _read_audit(guard.audit_path), out)
    todo: list[MeetingSpec] = []
    for spec in specs:
        row = _refuse_replay(spec) if spec.at is not None and not cmd.replay else \
            resume.check(spec, cmd.force)
        if row is None:
            todo.append(spec)
        else:
            rows.append(row)
            if row.error:
                _say(f"meeting {row.name}: {row.error}")
    skipped = sum(r.skipped for r in rows)
    if skipped:
        _say(f"skipped {skipped} meeting(s) already decided (--force redoes them)")
    rows += await _guard_all(cmd, guard, out, todo)
    _write_summary(out, cmd, key, rows, time.time() - started)
    _print_table(rows)
    return 1 if any(r.decision == "error" for r in rows) else 0


def _refuse_replay(spec: MeetingSpec) -> _Row:
    """An archive may not choose the consent time: its ``at:`` needs the operator's --replay."""
    return _Row(spec.name, spec.meeting_id, "error",
                error="at: in the archive decides consent at that past time; refused without "
                      "--replay (nothing was released)")


def _recipient(guard: Guard, purpose: str, recipient: str | None) -> str | None:
    spec = guard.policy.purposes.get(purpose)
    if recipient is not None or spec is None:
        return recipient          # the decision denies an undefined purpose
    if len(spec.recipients) == 1:
        return spec.recipients[0]
    raise UsageError(f"recipient required: purpose {purpose!r} has several recipients")


def _engine(cmd: BatchCommand) -> Runner:
    if cmd.engine == "ray":
        from .batch_ray import RayEngine

        return RayEngine(cmd.workers, cmd.ray_address)
    from .batch import LocalEngine

    return LocalEngine(cmd.workers)


async def _guard_all(cmd: BatchCommand, guard: Guard, out: Path, todo: list[MeetingSpec]) -> list[_Row]:
    if not todo:
        return []
    loop = asyncio.get_running_loop()
    rows: list[_Row] = []
    bar = _Progress(len(todo), cmd.progress)

    async def stage(outcome: BatchOutcome) -> None:
        await loop.run_in_executor(None, _stage, out, outcome)

    try:
        async for outcome in guard.process_many(todo, cmd.purpose, cmd.recipient, verify=cmd.verify,
                                                engine=_engine(cmd), before_audit=stage):
            row = _row_of(outcome, todo[outcome.index])
            if outcome.result is not None:
                try:
                    await loop.run_in_executor(None, _publish, out, outcome.name, outcome.result.audit_id)
                except Exception as exc:  # noqa: BLE001 -- this meeting fails, never the batch (#25)
                    row.error = (f"audited as {row.decision} but not published ({type(exc).__name__}); "
                                 "run the batch again to publish it")
                    row.decision = "error"
            if row.error:
                bar.write(f"meetguard: batch: meeting {outcome.name}: {row.error}")
            rows.append(row)
            bar.step(outcome.audio_seconds, outcome.messages)
    finally:
        bar.close()
    return rows


def _row_of(outcome: BatchOutcome, spec: MeetingSpec) -> _Row:
    r = outcome.result
    return _Row(outcome.name, spec.meeting_id, outcome.decision,
                dict(r.entity_counts) if r is not None else {}, outcome.seconds,
                outcome.audio_seconds, outcome.messages, outcome.error,
                r.audit_id if r is not None else None, False, outcome.worker,
                outcome.worker_peak_mb, at_replayed=r is not None and r.at_replayed)


# -- staging and publishing ---------------------------------------------------

def _write_file(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _decision_bytes(decision: Mapping[str, Any]) -> bytes:
    return (json.dumps(decision, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def _stage(out: Path, outcome: BatchOutcome) -> None:
    """Step 1: the outputs exactly as ``meetguard guard`` writes them, audit id to come."""
    result = outcome.result
    assert result is not None
    staging = out / STAGING / outcome.name
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    files: dict[str, bytes] = dict(result.outputs) if result.decision != "deny" else {}
    decision = result.decision_json()
    decision["audit_id"] = ""
    files["decision.json"] = _decision_bytes(decision)
    root = staging.resolve()
    for name, data in files.items():
        target = (staging / name).resolve()
        if root not in target.parents:
            raise MeetguardError("refusing to write an output outside the meeting's folder")
        _write_file(target, data)
    _fsync_dir(staging)


def _publish(out: Path, name: str, audit_id: str) -> None:
    """Step 3: the audit id into decision.json, then the folder into place."""
    staging = out / STAGING / name
    decision = json.loads((staging / "decision.json").read_text(encoding="utf-8"))
    decision["audit_id"] = audit_id
    # Atomically: a kill mid-write must leave the staged decision readable, or the re-run
    # would drop a folder whose audit record is already in the chain and guard it twice.
    _write_file(staging / ".decision.json.tmp", _decision_bytes(decision))
    os.replace(staging / ".decision.json.tmp", staging / "decision.json")
    os.chmod(staging, 0o755)
    target = out / name
    if target.exists():
        trash = out / STAGING / f".old-{name}"
        shutil.rmtree(trash, ignore_errors=True)
        os.rename(target, trash)
        os.rename(staging, target)
        shutil.rmtree(trash, ignore_errors=True)
    else:
        os.rename(staging, target)
    _fsync_dir(out)


def _output_hashes(folder: Path) -> dict[str, str]:
    files = {p.relative_to(folder).as_posix(): p for p in sorted(folder.rglob("*")) if p.is_file()}
    return {rel: hashlib.sha256(p.read_bytes()).hexdigest()
            for rel, p in files.items() if rel not in ("decision.json", ".decision.json.tmp")}


# -- resume -------------------------------------------------------------------

@dataclass(frozen=True)
class _Key:
    purpose: str
    recipient: str | None
    policy_sha256: str


def _read_audit(path: Path) -> dict[str, dict[str, Any]]:
    """Decided records by hash; a torn or unreadable line is passed over."""
    index: dict[str, dict[str, Any]] = {}
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return index
    except OSError as exc:
        raise MeetguardError(f"{path}: cannot read the audit log ({exc.strerror})") from None
    for raw in data.splitlines():
        try:
            rec = json.loads(raw)
        except ValueError:
            continue
        if isinstance(rec, dict) and rec.get("decision") in DECIDED and isinstance(rec.get("hash"), str):
            index[rec["hash"]] = rec
    return index


class _Resume:
    def __init__(self, key: _Key, audit: dict[str, dict[str, Any]], out: Path) -> None:
        self.key = key
        self.audit = audit
        self.out = out

    def _matches(self, rec: Mapping[str, Any], spec: MeetingSpec, inputs: tuple[str, ...]) -> bool:
        k = self.key
        return (rec.get("meeting_id") == spec.meeting_id and rec.get("purpose") == k.purpose
                and rec.get("recipient") == k.recipient and rec.get("policy_sha256") == k.policy_sha256
                and tuple(rec.get("input_sha256") or ()) == inputs)

    def check(self, spec: MeetingSpec, force: bool) -> _Row | None:
        """A row for a meeting already decided (or unreadable); None: guard it."""
        staging = self.out / STAGING / spec.name
        if force:
            shutil.rmtree(staging, ignore_errors=True)
            return None
        try:
            inputs = input_fingerprint(spec)
        except MeetguardError as exc:
            return _Row(spec.name, spec.meeting_id, "error", error=str(exc))
        except Exception as exc:  # noqa: BLE001 -- this meeting fails, never the batch (#25)
            return _Row(spec.name, spec.meeting_id, "error",
                        error=f"an input cannot be read ({type(exc).__name__}); nothing was released")
        done = _read_decision(self.out / spec.name)
        rec = self.audit.get(str(done.get("audit_id"))) if done else None
        if done and rec is not None and self._matches(rec, spec, inputs):
            return _skipped(spec, done)
        if staging.is_dir():
            found = self._staged_record(staging, spec, inputs)
            if found is not None:
                _publish(self.out, spec.name, found)
                return _skipped(spec, _read_decision(self.out / spec.name) or {})
            shutil.rmtree(staging, ignore_errors=True)
        return None

    def _staged_record(self, staging: Path, spec: MeetingSpec, inputs: tuple[str, ...]) -> str | None:
        staged = _read_decision(staging)
        if not staged:
            return None
        hashes = _output_hashes(staging)
        for h, rec in reversed(self.audit.items()):
            if (self._matches(rec, spec, inputs) and rec.get("decision") == staged.get("decision")
                    and rec.get("output_sha256") == hashes):
                return h
        return None


def _read_decision(folder: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((folder / "decision.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _skipped(spec: MeetingSpec, done: Mapping[str, Any]) -> _Row:
    counts = done.get("entity_counts")
    return _Row(spec.name, spec.meeting_id, str(done.get("decision", "error")),
                dict(counts) if isinstance(counts, dict) else {},
                audit_id=str(done.get("audit_id")), skipped=True,
                at_replayed=done.get("at_replayed") is True)


# -- reporting ----------------------------------------------------------------

def _write_summary(out: Path, cmd: BatchCommand, key: _Key, rows: list[_Row], seconds: float) -> None:
    rows.sort(key=lambda r: r.name)
    counts: dict[str, int] = {}
    for r in rows:
        counts[r.decision] = counts.get(r.decision, 0) + 1
    summary = {
        "purpose": key.purpose, "recipient": key.recipient, "policy_sha256": key.policy_sha256,
        "engine": cmd.engine, "workers": cmd.workers or os.cpu_count() or 1, "seconds": round(seconds, 3),
        "counts": dict(sorted(counts.items())), "skipped": sum(r.skipped for r in rows),
        "replayed": sum(r.at_replayed for r in rows),
        "meetings": [r.json() for r in rows],
    }
    tmp = out / f".{SUMMARY}.tmp"
    _write_file(tmp, (json.dumps(summary, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))
    os.replace(tmp, out / SUMMARY)


def _entities(counts: Mapping[str, int]) -> str:
    return " ".join(f"{k}:{v}" for k, v in sorted(counts.items())) or "-"


def _print_table(rows: Iterable[_Row]) -> None:
    rows = list(rows)
    width = max([len("meeting")] + [len(r.name) for r in rows])
    print(f"{'meeting':<{width}}  {'decision':<8}  {'seconds':>7}  entities / error", file=sys.stderr)
    for r in rows:
        decision = r.decision + ("*" if r.skipped else "") + ("^" if r.at_replayed else "")
        detail = r.error if r.error else _entities(r.entity_counts)
        print(f"{r.name:<{width}}  {decision:<8}  {r.seconds:>7.1f}  {detail}", file=sys.stderr)
    if any(r.skipped for r in rows):
        print("* already decided: skipped", file=sys.stderr)
    if any(r.at_replayed for r in rows):
        print("^ consent replayed at the archive's at: (--replay), not now", file=sys.stderr)


class _Progress:
    """Meetings done of total, what they held (messages and cues, audio minutes), time
    left: only on a terminal, drawn at once (before the first meeting is done)."""

    def __init__(self, total: int, enabled: bool) -> None:
        self._bar: Any = None
        self._audio = 0.0
        self._messages = 0
        if enabled:
            from tqdm import tqdm

            self._bar = tqdm(total=total, unit="meeting", file=sys.stderr, leave=False,
                             desc="starting workers, loading models",
                             bar_format="{n}/{total} meetings |{bar}| {desc} [{elapsed}<{remaining}]")

    def step(self, audio_seconds: float, messages: int = 0) -> None:
        if self._bar is not None:
            self._audio += audio_seconds
            self._messages += messages
            self._bar.set_description_str(f"{self._messages} messages and cues, "
                                          f"{self._audio / 60:.1f} min audio guarded", refresh=False)
            self._bar.update(1)

    def write(self, line: str) -> None:
        if self._bar is not None:
            self._bar.write(line, file=sys.stderr)
        else:
            print(line, file=sys.stderr)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
