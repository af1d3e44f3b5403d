"""meetguard._seal: the one AES-GCM sealing that the vault, the replicas' pseudonym
books and the Zoom download token share."""

from __future__ import annotations

import os

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from meetguard._seal import NONCE_BYTES, Unsealable, derive_key, new_key, seal, unseal


def test_a_sealed_value_opens_with_its_key_and_associated_data() -> None:
    key = new_key()
    assert unseal(key, seal(key, b"token -> value", b"meeting-1"), b"meeting-1") == b"token -> value"


def test_each_seal_takes_a_fresh_nonce() -> None:
    key = new_key()
    one, two = seal(key, b"same", b"aad"), seal(key, b"same", b"aad")
    assert one[:NONCE_BYTES] != two[:NONCE_BYTES] and one != two


@pytest.mark.parametrize("damage", ["other key", "other aad", "flipped byte", "truncated", "empty"])
def test_every_damaged_seal_is_unsealable(damage: str) -> None:
    key = new_key()
    sealed = seal(key, b"secret", b"job-7")
    use_key, aad = key, b"job-7"
    if damage == "other key":
        use_key = new_key()
    elif damage == "other aad":
        aad = b"job-8"
    elif damage == "flipped byte":
        sealed = sealed[:-1] + bytes([sealed[-1] ^ 1])
    elif damage == "truncated":
        sealed = sealed[:NONCE_BYTES + 3]
    else:
        sealed = b""
    with pytest.raises(Unsealable):
        unseal(use_key, sealed, aad)


def test_the_layout_is_nonce_then_aes_gcm_as_before_the_fold() -> None:
    """Files sealed before the three stores shared this module (nonce || AES-GCM) still open,
    and what it seals opens with plain AES-GCM: the vault's files on disk did not change."""
    key = new_key()
    nonce = os.urandom(NONCE_BYTES)
    old = nonce + AESGCM(key).encrypt(nonce, b"written by an older meetguard", b"m")
    assert unseal(key, old, b"m") == b"written by an older meetguard"
    new = seal(key, b"x", b"m")
    assert AESGCM(key).decrypt(new[:NONCE_BYTES], new[NONCE_BYTES:], b"m") == b"x"


def test_derived_keys_differ_per_label_and_per_secret() -> None:
    secret = b"s" * 32
    keys = {derive_key(secret, b"books: seal"), derive_key(secret, b"books: names"),
            derive_key(b"t" * 32, b"books: seal")}
    assert len(keys) == 3 and all(len(k) == 32 for k in keys)
    assert derive_key(secret, b"books: seal") == derive_key(secret, b"books: seal")
