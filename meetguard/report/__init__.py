"""The review report: one self-contained HTML page about one release (docs/report.md).

``collect`` gathers what a report is made of (decision.json and the released
files of a guard output folder, the decision's audit record and the chain's
verification, optionally the policy for the consent events); ``render`` turns
it into HTML; ``write_report`` writes it atomically. The page holds no script
and no external reference, and no value beyond what the released outputs hold:
participants appear by policy id only.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .._errors import AuditError, InputError, MeetguardError
from .._files import atomic_write
from ..audit import VerifyResult, verify
from ..consent.releases import read_records
from ..policy import Policy, load_policy
from ._html import render
from ._input import ReportInput

__all__ = ["ReportInput", "collect", "collect_live", "from_result", "render", "write_report"]


def _audit_key(policy: Policy | None) -> tuple[bytes | None, str]:
    """The chain's HMAC key (the policy's audit.key_env), or why only links are checked."""
    from .._audit_chain import key_from_env

    if policy is None or not policy.audit_key_env:
        return None, ""
    try:
        return key_from_env(policy.audit_key_env), ""
    except AuditError:
        return None, f"{policy.audit_key_env} is not set: the HMAC of the records was not checked"


def _audit_facts(audit_path: Path | None, audit_id: str, policy: Policy | None
                 ) -> tuple[Mapping[str, Any] | None, VerifyResult | None, str]:
    if audit_path is None or not audit_path.is_file():
        return None, None, "audit log not found: the chain was not checked"
    key, key_note = _audit_key(policy)
    try:
        chain = verify(audit_path, key=key)
        records = read_records(audit_path)
    except MeetguardError as exc:
        return None, None, exc.message
    record = next((r for r in records if r.get("hash") == audit_id), None)
    notes = [key_note, "" if record else "this decision's record is not in the audit log"]
    return record, chain, "; ".join(n for n in notes if n)


def _policy(path: str | os.PathLike[str] | None) -> tuple[Policy | None, tuple[str, ...]]:
    if path is None:
        return None, ("no policy given: consent events are not shown",)
    from ..backends import plugin_entity_types

    return load_policy(path, extra_entities=plugin_entity_types()), ()


def _video_record(audit_path: Path | None, outputs: Mapping[str, bytes]) -> Mapping[str, Any] | None:
    """The video stage's audit record of the released ``video.mp4`` (docs/video.md), if any."""
    if "video.mp4" not in outputs or audit_path is None or not audit_path.is_file():
        return None
    from ._video import video_record

    try:
        return video_record(read_records(audit_path), bytes(outputs["video.mp4"]))
    except MeetguardError:
        return None


def from_result(decision: Mapping[str, Any], outputs: Mapping[str, bytes],
                audit_path: str | os.PathLike[str] | None,
                policy_path: str | os.PathLike[str] | None) -> ReportInput:
    """What a report needs, from a run that just happened (``guard --report``)."""
    policy, notes = _policy(policy_path)
    audit = Path(audit_path) if audit_path else None
    record, chain, note = _audit_facts(audit, str(decision.get("audit_id", "")), policy)
    return ReportInput(decision, outputs, record, chain, note, policy, notes, _video_record(audit, outputs))


def collect(out_dir: str | os.PathLike[str], audit_path: str | os.PathLike[str] | None = None,
            policy_path: str | os.PathLike[str] | None = None) -> ReportInput:
    """What a report needs, from a guard output folder. The audit log: ``audit_path``,
    else the policy's ``audit.path``, else ./meetguard-audit.jsonl."""
    folder = Path(out_dir)
    dj = folder / "decision.json"
    try:
        decision = json.loads(dj.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(str(dj), f"cannot read: {exc.strerror or type(exc).__name__}") from None
    except (ValueError, UnicodeDecodeError):
        raise InputError(str(dj), "not a decision.json") from None
    if not isinstance(decision, dict) or not isinstance(decision.get("outputs"), list):
        raise InputError(str(dj), "not a decision.json")
    outputs: dict[str, bytes] = {}
    for name in decision["outputs"]:
        target = (folder / str(name)).resolve()
        if folder.resolve() not in target.parents:
            raise InputError(str(dj), "an output name points outside the folder")
        try:
            outputs[str(name)] = target.read_bytes()
        except OSError as exc:
            raise InputError(str(target), f"released output missing: "
                             f"{exc.strerror or type(exc).__name__}") from None
    policy, notes = _policy(policy_path)
    if audit_path is None:
        audit_path = (policy.audit_path if policy else None) or "meetguard-audit.jsonl"
    record, chain, note = _audit_facts(Path(audit_path), str(decision.get("audit_id", "")),
                                       policy)
    return ReportInput(decision, outputs, record, chain, note, policy, notes,
                       _video_record(Path(audit_path), outputs))


def collect_live(meeting_id: str, purpose: str | None, audit_path: str | os.PathLike[str] | None = None,
                 policy_path: str | os.PathLike[str] | None = None) -> ReportInput:
    """What the report of a live session needs: its audit record (docs/live.md)."""
    from ._live import from_live

    policy, notes = _policy(policy_path)
    if audit_path is None:
        audit_path = (policy.audit_path if policy else None) or "meetguard-audit.jsonl"
    key, key_note = _audit_key(policy)
    return from_live(audit_path, meeting_id, purpose, policy, (*notes, *([key_note] if key_note else [])), key)


def write_report(inputs: ReportInput, target: str | os.PathLike[str]) -> Path:
    path = Path(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = render(inputs).encode("utf-8")
    atomic_write(path, data, mode=0o644)
    return path
