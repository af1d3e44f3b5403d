"""Identifiers that reach the audit log: the one check for every route and the CLI (#25).

A purpose, recipient or meeting id given by a caller (a form field, a header, a
CLI flag, a batch ``meeting.yaml`` or manifest line, a re-identification call) is
an identifier, never free text: 1-128 characters of ``A-Z a-z 0-9 . _ : -``. Any
other value is refused with a message that names the field and the rule, never
the value, before anything is decided or audited. :func:`keyed_id` is the
stand-in where a value must be named but cannot be refused (a digest under a
key, never the value and never an unkeyed hash a guess could confirm).
"""

from __future__ import annotations

import hashlib
import hmac
import re

from ._errors import UsageError

__all__ = ["ID_RULE", "SAFE_ID", "check_id", "is_safe_id", "keyed_id"]

SAFE_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
ID_RULE = "1-128 characters of A-Z a-z 0-9 . _ : -"


def is_safe_id(value: object) -> bool:
    return isinstance(value, str) and SAFE_ID.fullmatch(value) is not None


def check_id(what: str, value: str) -> str:
    """``value`` when it is an identifier; else UsageError naming ``what`` (not the value)."""
    if not is_safe_id(value):
        raise UsageError(f"{what}: expected {ID_RULE}")
    return value


def keyed_id(value: str, key: bytes) -> str:
    """A stand-in for ``value``: ``id-`` and 32 hex digits of HMAC-SHA256 under ``key``."""
    if not key:
        raise ValueError("keyed_id needs a key")
    return "id-" + hmac.new(key, value.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()[:32]
