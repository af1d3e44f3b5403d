"""Authenticated sealing, the one way meetguard encrypts what it keeps.

Three stores keep secrets at rest: the re-identification vault (vault.py), the
replicas' pass-through pseudonym books (state/books.py) and the Zoom download
token of a job (sidecar/zoom_seal.py). All three seal the same way:

- AES-256-GCM, a fresh random 96-bit nonce per seal, written in front of the
  ciphertext and its tag (``nonce || ciphertext || tag``);
- associated data that binds the sealed bytes to where they belong (a meeting
  id, a row name, a job key and expiry), so that they cannot be moved or edited;
- keys either random (:func:`new_key`) or derived with HKDF-SHA256 from a secret
  the operator already holds, under a label per use (:func:`derive_key`), so that
  one secret never keys two uses.

:func:`unseal` raises :class:`Unsealable` for every way a sealed blob can fail
(wrong key, altered bytes, wrong associated data, truncated): callers turn it into
their own one-line error and fail closed.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = ["NONCE_BYTES", "Unsealable", "derive_key", "new_key", "seal", "unseal"]

NONCE_BYTES = 12
_TAG_BYTES = 16


class Unsealable(Exception):
    """Sealed bytes that do not open: wrong key, altered, truncated or moved."""


def derive_key(secret: bytes, label: bytes) -> bytes:
    """A 256-bit key for the use named by ``label``, derived from ``secret`` (HKDF-SHA256)."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=label).derive(secret)


def new_key() -> bytes:
    """A random 256-bit key."""
    return AESGCM.generate_key(bit_length=256)


def seal(key: bytes, clear: bytes, aad: bytes) -> bytes:
    """``nonce || AES-GCM(key, clear, aad)`` with a fresh random nonce."""
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, clear, aad)


def unseal(key: bytes, sealed: bytes, aad: bytes) -> bytes:
    """The clear bytes of :func:`seal`'s output; :class:`Unsealable` if they do not open."""
    if len(sealed) < NONCE_BYTES + _TAG_BYTES:
        raise Unsealable("sealed bytes too short")
    try:
        return AESGCM(key).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], aad)
    except (InvalidTag, ValueError):
        raise Unsealable("sealed bytes do not authenticate") from None
