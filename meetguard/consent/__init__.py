"""Consent that can be taken back: withdrawal, erasure requests, the recipients answer.

See docs/consent.md. Nothing here imports the sidecar or the CLI; they pass in
a :class:`WithdrawalSettings` built from the sidecar config.

The names below load on first use (PEP 562): :mod:`.history`, which the policy
decision imports, must not pull in the withdrawal machinery (aiohttp, the policy
file editor) and with it an import cycle at run time.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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
        check_withdrawal,
        record_withdrawal,
    )

_HOMES = {
    "erasure": ["BASIS", "Backoff", "ErasureDispatcher", "ErasureEndpoint", "ErasureRequest",
                "ErasureState", "ErasureStore", "sign", "signature_valid"],
    "policy_file": ["PolicyEdit", "append_withdrawal"],
    "recipients": ["RecipientRow", "format_rows", "recipient_rows"],
    "releases": ["Artefact", "Release", "read_records", "releases", "releases_holding"],
    "withdraw": ["ReidentificationVault", "WithdrawalResult", "WithdrawalSettings",
                 "check_withdrawal", "record_withdrawal"],
}
_WHERE = {name: module for module, names in _HOMES.items() for name in names}

__all__ = [
    "BASIS", "Artefact", "Backoff", "ErasureDispatcher", "ErasureEndpoint", "ErasureRequest",
    "ErasureState", "ErasureStore", "PolicyEdit", "RecipientRow", "ReidentificationVault",
    "Release", "WithdrawalResult", "WithdrawalSettings", "append_withdrawal", "check_withdrawal",
    "format_rows",
    "read_records", "recipient_rows", "record_withdrawal", "releases", "releases_holding",
    "sign", "signature_valid",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value
