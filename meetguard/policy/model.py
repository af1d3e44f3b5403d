"""The consent policy's model (policy-v1.md): typed, frozen, plain data.

Loading and validating a file is :mod:`.schema`; watching it is :mod:`.watch`;
matching people to participants is :mod:`.names`. This module imports none of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Literal

from .. import _vocabulary
from .._errors import UsageError

__all__ = [
    "ENTITY_TYPES",
    "OPERATORS",
    "STATUSES",
    "ConsentEvent",
    "ConsentStatus",
    "Participant",
    "Policy",
    "Purpose",
    "RedactRule",
]

ENTITY_TYPES: frozenset[str] = _vocabulary.ENTITY_TYPES
OPERATORS: frozenset[str] = frozenset(_vocabulary.OPERATORS)
STATUSES: frozenset[str] = frozenset({"granted", "refused", "withdrawn"})

ConsentStatus = Literal["granted", "refused", "withdrawn"]



@dataclass(frozen=True)
class ConsentEvent:
    status: str                        # granted | refused | withdrawn
    at: datetime                       # aware
    expires: datetime | None = None    # aware; only meaningful for granted
    recorded: datetime | None = None   # aware; when meetguard recorded it (consent/history.py)


@dataclass(frozen=True)
class RedactRule:
    entities: frozenset[str]           # "all" is expanded to every known entity type
    operator: str                      # pseudonymize | redact | mask | hash
    speakers: str = "pseudonymize"     # keep | pseudonymize


@dataclass(frozen=True)
class Purpose:
    name: str
    consent: str                       # opt_in | opt_out
    missing_consent: str               # exclude | deny
    recipients: tuple[str, ...]
    redact: RedactRule
    audio: str                         # bleep | silence | drop
    private_messages: str = "exclude"  # exclude | include
    retention_days: int | None = None
    reidentify: bool = False           # store the pseudonym map in the vault (docs/vault.md)
    video_faces: str = "blur"          # video.faces: blur | keep (docs/video.md)
    video: bool = False                # a `video:` setting is given: the Zoom hook fetches the MP4


@dataclass(frozen=True)
class Participant:
    id: str
    names: tuple[str, ...] = ()
    consent: Mapping[str, tuple[ConsentEvent, ...]] = field(
        default_factory=lambda: MappingProxyType({}))
    emails: tuple[str, ...] = ()       # lower case; platform identities (Zoom webhook), never text


@dataclass(frozen=True)
class Policy:
    version: int
    policy_id: str
    account_id: str
    ai_features: Mapping[str, bool]
    purposes: Mapping[str, Purpose]
    participants: tuple[Participant, ...]
    unknown_speakers: str              # non_consenting | consenting
    audit_path: str | None
    sha256: str
    path: str
    audit_key_env: str | None = None   # audit.key_env: the variable holding the audit chain's key
    audio_limits: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))  # limits: ...
    detection_regions: tuple[str, ...] = ()  # detection.regions; empty: every region
    detection_languages: tuple[str, ...] = ("en",)   # detection.languages: documents guarded in these

    def participant(self, pid: str) -> Participant | None:
        for p in self.participants:
            if p.id == pid:
                return p
        return None

    @property
    def participant_ids(self) -> frozenset[str]:
        return frozenset(p.id for p in self.participants)

    def recipient_for(self, purpose: str, recipient: str | None) -> str | None:
        """The recipient named, else the purpose's only recipient (None for an undefined
        purpose, which the decision denies). UsageError when the purpose has several."""
        if recipient is not None:
            return recipient
        spec = self.purposes.get(purpose)
        if spec is None:
            return None
        if len(spec.recipients) == 1:
            return spec.recipients[0]
        raise UsageError(f"recipient required: purpose {purpose!r} has several recipients")
