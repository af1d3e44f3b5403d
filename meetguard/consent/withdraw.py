"""A withdrawal, start to finish (docs/consent.md).

1. Append the ``withdrawn`` event to the policy file (policy_file.py).
2. From the audit chain, find every release for the purpose that reached its
   recipient holding the participant's content (releases.py).
3. One :class:`ErasureRequest` per recipient, naming those releases' artefacts;
   a recipient without an ``erasure_url`` gets one in state ``manual``
   ("notify by hand"). Releases already named by an earlier request of the same
   participant, purpose and recipient are not asked for again.
4. Where a re-identification vault exists, delete each meeting's key for the
   purpose (:class:`ReidentificationVault`; the vault itself is issue #15).
5. Send (erasure.py), with retries that survive restarts.

Steps 1-4 do no network I/O and are recorded in the audit chain before any send.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from .._errors import UsageError
from ..audit import AuditLog, AuditSink, verify
from ..policy import Policy
from .erasure import ErasureEndpoint, ErasureRequest, ErasureState, ErasureStore, audit_event
from .policy_file import append_withdrawal
from .releases import Release, read_records, releases_holding

__all__ = ["DUE_DAYS", "ReidentificationVault", "WithdrawalResult", "WithdrawalSettings",
           "check_withdrawal", "record_withdrawal"]

DUE_DAYS = 30          # Art. 12(3): without undue delay, within one month


class ReidentificationVault(Protocol):
    """The seam for issue #15: the vault of pseudonym keys, one per meeting and purpose."""

    def delete_key(self, meeting_id: str, purpose: str) -> bool:
        """Delete the key; True if one existed."""
        ...


@dataclass(frozen=True)
class WithdrawalSettings:
    policy_path: Path
    audit_path: Path
    store_dir: Path
    endpoints: Mapping[str, ErasureEndpoint]      # configured upstreams by name
    vault: ReidentificationVault | None = None
    extra_entities: frozenset[str] = frozenset()  # plugin entity types the policy may name
    audit_key: bytes | None = field(default=None, repr=False)  # the chain's HMAC key (audit.key_env)
    replica: str | None = None                     # named in each audit record (shared state)
    store: ErasureStore | None = None              # the erasure requests' store (else store_dir)

    def erasure_store(self) -> ErasureStore:
        return self.store if self.store is not None else ErasureStore(self.store_dir)


@dataclass(frozen=True)
class WithdrawalResult:
    participant: str
    purpose: str
    at: str
    policy_sha256: str
    releases: tuple[Release, ...]
    requests: tuple[ErasureState, ...]             # new this time (manual ones included)
    vault: str                                     # what happened to re-identification keys
    chain: str = ""                                # the audit chain's check, when it failed

    @property
    def notify_by_hand(self) -> tuple[str, ...]:
        return tuple(s.request.recipient for s in self.requests if s.state == "manual")

    def to_json(self) -> dict[str, Any]:
        return {
            "participant": self.participant, "purpose": self.purpose, "at": self.at,
            "policy_sha256": self.policy_sha256,
            "releases": [r.audit_id for r in self.releases],
            "requests": [{"request_id": s.request.request_id, "recipient": s.request.recipient,
                          "state": s.state, "artefacts": len(s.request.artefacts),
                          "due_at": s.request.due_at} for s in self.requests],
            "notify_by_hand": list(self.notify_by_hand),
            "vault": self.vault,
            "audit_chain": self.chain or "ok",
        }


@dataclass(frozen=True)
class _Recorded:
    policy: Policy           # the policy the withdrawal was recorded against


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _already_asked(store: ErasureStore, participant: str, purpose: str) -> set[tuple[str, str]]:
    """(recipient, release audit id) pairs that earlier requests already named."""
    return {(s.request.recipient, str(a["audit_id"])) for s in store.all()
            if s.request.participant_id == participant and s.request.purpose == purpose
            for a in s.request.artefacts}


def _requests(found: Iterable[Release], asked: set[tuple[str, str]], participant: str,
              purpose: str, endpoints: Mapping[str, ErasureEndpoint],
              now: datetime) -> list[ErasureState]:
    by_recipient: dict[str, list[dict[str, Any]]] = {}
    for rel in found:
        recipient = rel.recipient or "(no recipient)"
        if (recipient, rel.audit_id) in asked:
            continue
        items = by_recipient.setdefault(recipient, [])
        items += [{"audit_id": rel.audit_id, "meeting_id": rel.meeting_id, "sha256": a.sha256,
                   "kind": a.kind} for a in rel.artefacts]
        if not rel.artefacts:      # an older record without artefacts: name the release alone
            items.append({"audit_id": rel.audit_id, "meeting_id": rel.meeting_id,
                          "sha256": None, "kind": None})
    states = []
    for recipient, artefacts in sorted(by_recipient.items()):
        req = ErasureRequest(
            request_id=f"er-{uuid.uuid4().hex}", recipient=recipient, participant_id=participant,
            purpose=purpose, artefacts=tuple(artefacts), submitted_at=_iso(now),
            due_at=_iso(now + timedelta(days=DUE_DAYS)))
        ep = endpoints.get(recipient)
        sendable = ep is not None and ep.url is not None and ep.key is not None
        states.append(ErasureState(req, "pending" if sendable else "manual",
                                   last_detail="" if sendable else "notify by hand"))
    return states


def _vault(vault: ReidentificationVault | None, found: Iterable[Release], purpose: str) -> str:
    if vault is None:
        return "no re-identification vault configured"
    meetings = sorted({r.meeting_id or r.audit_id for r in found})   # the vault's id (docs/vault.md)
    deleted = sum(1 for m in meetings if vault.delete_key(m, purpose))
    return f"{deleted} of {len(meetings)} meeting key(s) deleted"


def _chain_problem(audit_path: Path, key: bytes | None) -> str:
    """Why the releases found may be incomplete ("" when the chain verifies)."""
    if not audit_path.exists():
        return ""
    result = verify(audit_path, key=key)
    return "" if result.ok else f"{result.message}: releases after it may be missing"


def _check_when(at: datetime | None, now: datetime) -> datetime:
    when = at or now
    if when.tzinfo is not None and when > now + timedelta(minutes=5):
        # a withdrawal dated ahead would let releases go on until then
        raise UsageError("--at: a withdrawal cannot be dated in the future")
    return when


def check_withdrawal(settings: WithdrawalSettings, participant: str, purpose: str,
                     at: datetime | None = None, now: datetime | None = None
                     ) -> tuple[Policy, datetime]:
    """For a withdrawal recorded elsewhere than the policy file (the shared state): the
    policy in force and the withdrawal's time, once the purpose, the participant and
    the time are checked (UsageError / PolicyError otherwise)."""
    from .._time import require_aware
    from ..policy import load_policy

    when = _check_when(at, now or datetime.now(UTC))
    require_aware(when, "--at")
    policy = load_policy(settings.policy_path, settings.extra_entities)
    if purpose not in policy.purposes:
        raise UsageError(f"{settings.policy_path}: purpose {purpose[:60]!r} is not in the policy")
    if policy.participant(participant) is None:
        raise UsageError(f"{settings.policy_path}: unknown participant id {participant[:60]!r}")
    return policy, when


def record_withdrawal(settings: WithdrawalSettings, participant: str, purpose: str,
                      at: datetime | None = None, *, audit: AuditSink | None = None,
                      now: datetime | None = None, recorded: Policy | None = None,
                      other_records: Iterable[Mapping[str, Any]] = ()) -> WithdrawalResult:
    """Steps 1-4. Raises UsageError / PolicyError (the policy file is then unchanged and
    nothing is recorded). ``recorded``: the event is already recorded in the shared
    state (check_withdrawal gave this policy); the policy file is left as it is."""
    now = now or datetime.now(UTC)
    when = _check_when(at, now)
    if recorded is None:
        # `when` is a claim, kept for the audit; the event takes effect from `now`, when it
        # is recorded, and wins over every grant recorded before it (history.py)
        recorded = append_withdrawal(settings.policy_path, participant, purpose, when,
                                     settings.extra_entities, recorded=now).policy
    edit = _Recorded(recorded)
    sink = audit or AuditLog(settings.audit_path, key=settings.audit_key, replica=settings.replica)
    store = settings.erasure_store()
    # this replica's chain, and the releases other replicas copied to the shared state
    mine = read_records(settings.audit_path)
    seen = {str(r.get("hash")) for r in mine}
    found = releases_holding(mine + [dict(r) for r in other_records if str(r.get("hash")) not in seen],
                             participant, purpose)
    states = _requests(found, _already_asked(store, participant, purpose), participant, purpose,
                       settings.endpoints, now)
    vault = _vault(settings.vault, found, purpose)
    chain = _chain_problem(settings.audit_path, settings.audit_key)
    sink.append({
        "event": "consent_withdrawn", "policy_id": edit.policy.policy_id,
        "policy_sha256": edit.policy.sha256, "purpose": purpose, "participants": [participant],
        "at": _iso(when),
        "erasure": {"releases": [r.audit_id for r in found],
                    "requests": [s.request.request_id for s in states],
                    "notify_by_hand": [s.request.recipient for s in states if s.state == "manual"],
                    "vault": vault, "audit_chain": chain or "ok"},
    })
    for state in states:
        store.save(state)
        sink.append(audit_event("erasure_requested", state, due_at=state.request.due_at,
                                artefacts=[dict(a) for a in state.request.artefacts]))
    return WithdrawalResult(participant, purpose, _iso(when), edit.policy.sha256, tuple(found),
                            tuple(states), vault, chain)
