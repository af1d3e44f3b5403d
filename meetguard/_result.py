"""What a guard run answers: the result, and what happened when it was forwarded."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["DecisionName", "Deliver", "Delivery", "GuardResult"]

DecisionName = Literal["release", "partial", "deny", "error"]


@dataclass(frozen=True)
class Delivery:
    """What happened when released content was forwarded (sidecar /v1/release)."""

    delivered: bool
    status: int | None = None          # the upstream's HTTP status, if any answered
    detail: str = ""                   # no content values, ever


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
    at_replayed: bool = False                # decided at a caller's `at` (CLI --at), not now
    vault: bool = False                      # the pseudonym map was stored in the vault
    languages: tuple[str, ...] = ()          # the documents' languages (ISO 639-1), sorted, once each
    # speaker silencing (--speakers): [{participant, start, end}] by policy id; None: not asked
    silenced: tuple[Mapping[str, Any], ...] | None = None

    @property
    def silenced_seconds(self) -> float:
        """Seconds of released audio silenced (overlapping stretches counted once)."""
        spans = sorted((float(s["start"]), float(s["end"])) for s in self.silenced or ())
        total, reach = 0.0, 0.0
        for start, end in spans:
            start = max(start, reach)
            if end > start:
                total += end - start
                reach = end
        return round(total, 3)

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
            "vault": self.vault,
            **({"at_replayed": True} if self.at_replayed else {}),
            **({"language": "+".join(self.languages), "languages": list(self.languages)}
               if self.languages else {}),
            **({"silenced": [dict(s) for s in self.silenced], "silenced_seconds": self.silenced_seconds}
               if self.silenced is not None else {}),
        }

    def text(self, name: str) -> str:
        return self.outputs[name].decode("utf-8")


Deliver = Callable[[GuardResult], Awaitable[Delivery]]
