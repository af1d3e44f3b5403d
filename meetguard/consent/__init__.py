"""Consent that can be taken back: withdrawal, erasure requests, the recipients answer.

See docs/consent.md. Nothing here imports the sidecar or the CLI; they pass in
a :class:`WithdrawalSettings` built from the sidecar config.
"""

from __future__ import annotations

from .erasure import (
    BASIS,
    Backoff,
    ErasureDispatcher,
    ErasureEndpoint,
    ErasureRequest,
    ErasureState,
    ErasureStore,
    sign,
    signature_valid,
)
from .policy_file import PolicyEdit, append_withdrawal
from .recipients import RecipientRow, format_rows, recipient_rows
from .releases import Artefact, Release, read_records, releases, releases_holding
from .withdraw import (
    ReidentificationVault,
    WithdrawalResult,
    WithdrawalSettings,
    record_withdrawal,
)

__all__ = [
    "BASIS",
    "Artefact",
    "Backoff",
    "ErasureDispatcher",
    "ErasureEndpoint",
    "ErasureRequest",
    "ErasureState",
    "ErasureStore",
    "PolicyEdit",
    "RecipientRow",
    "ReidentificationVault",
    "Release",
    "WithdrawalResult",
    "WithdrawalSettings",
    "append_withdrawal",
    "format_rows",
    "read_records",
    "recipient_rows",
    "record_withdrawal",
    "releases",
    "releases_holding",
    "sign",
    "signature_valid",
]
