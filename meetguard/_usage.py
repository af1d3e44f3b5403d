"""Usage checks the commands share, made before any model loads (one line, exit 2)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._errors import UsageError
from ._ids import is_safe_id

if TYPE_CHECKING:
    from .policy import Policy

__all__ = ["check_purpose"]


def check_purpose(policy: Policy, purpose: str, policy_path: str | object) -> None:
    """A purpose the policy does not define is a usage error naming the ones it does.

    The commands check it up front; the library and the sidecar still decide an
    undefined purpose as a deny (policy-v1.md, step 1), audited like any decision.
    """
    if purpose not in policy.purposes:
        defined = ", ".join(sorted(policy.purposes)) or "none"
        # echoed only when it is an identifier: free text may be a personal value (#25)
        named = f" {purpose!r}" if is_safe_id(purpose) and len(purpose) <= 60 else ""
        raise UsageError(f"unknown purpose{named}: {policy_path} defines {defined} "
                         f"(pass one with --purpose)")
