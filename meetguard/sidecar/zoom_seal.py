"""The Zoom download token, sealed so that a job can finish its downloads after a restart.

A recording event's ``download_token`` is never written in plaintext. It is kept
in the job's directory as ``token.sealed`` (0600): AES-256-GCM under a key derived
by HKDF-SHA256 from the Zoom webhook secret the sidecar already holds
(``zoom.secret_env``), with the job key and the token's expiry as associated
data, so that neither can be edited and a sealed token cannot be moved to
another job. The file is deleted as soon as the job's downloads are done (and
whenever the job ends).

Opening it tries the current secret, then the rotated-out ones, in order. It
fails closed with :class:`TokenUnsealable` when none of them opens it (the
secret it was sealed under was rotated away, or the file was altered) and with
:class:`TokenExpired` after :data:`TOKEN_LIFETIME_S` (Zoom's download tokens last
24 hours; the lifetime is counted from when the sidecar received the event).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from typing import Any

from .._seal import Unsealable, derive_key, seal, unseal
from .zoom_download import DownloadError

__all__ = ["TOKEN_LIFETIME_S", "TokenExpired", "TokenUnavailable", "TokenUnsealable",
           "open_token", "seal_token"]

TOKEN_LIFETIME_S = 24 * 3600
_INFO = b"meetguard zoom download_token v1"


class TokenUnavailable(DownloadError):
    """The job cannot get its download token back: it fails closed before any delivery."""

    code = "download_token_lost"


class TokenUnsealable(TokenUnavailable):
    code = "download_token_unsealable"


class TokenExpired(TokenUnavailable):
    code = "download_token_expired"


def _key(secret: bytes) -> bytes:
    return derive_key(secret, _INFO)


def _aad(job_key: str, expires_at: int) -> bytes:
    return json.dumps(["zoom-download-token", job_key, expires_at]).encode("ascii")


def seal_token(secret: bytes, job_key: str, token: str, now: float) -> dict[str, Any]:
    """The sealed record of ``token`` for the job ``job_key`` (JSON-ready; no plaintext)."""
    expires_at = int(now) + TOKEN_LIFETIME_S
    sealed = seal(_key(secret), token.encode("utf-8"), _aad(job_key, expires_at))
    return {"v": 1, "expires_at": expires_at, "sealed": base64.b64encode(sealed).decode("ascii")}


def open_token(secrets: Sequence[bytes], job_key: str, record: Mapping[str, Any], now: float) -> str:
    """The token sealed in ``record``. Raises :class:`TokenExpired` or :class:`TokenUnsealable`."""
    expires_at = record.get("expires_at")
    if record.get("v") != 1 or not isinstance(expires_at, int) or isinstance(expires_at, bool):
        raise TokenUnsealable("the sealed download token is not in a known format")
    if now > expires_at:
        raise TokenExpired("the download token is past its 24 h lifetime; resend the event from Zoom")
    try:
        blob = base64.b64decode(str(record.get("sealed", "")), validate=True)
    except (binascii.Error, ValueError):
        blob = b""
    for secret in secrets:
        try:
            plain = unseal(_key(secret), blob, _aad(job_key, expires_at))
        except Unsealable:
            continue
        return plain.decode("utf-8")
    raise TokenUnsealable("the sealed download token opens under no configured zoom secret "
                          "(rotated away, or the file was altered)")
