"""The re-identification vault: each meeting's pseudonym map, encrypted (docs/vault.md).

One directory, two files per meeting, named by the SHA-256 of the meeting id
(the id itself is never written):

- ``<id>.key``: JSON ``{v, purpose, expires_at, wrapped}``; ``wrapped`` is the
  meeting's random 256-bit data key sealed with AES-GCM under the master key,
  the meeting id, purpose and expiry bound in as associated data (editing the
  expiry breaks authentication).
- ``<id>.map``: nonce + AES-GCM(data key) of the JSON map ``token -> value``.

Deleting ``<id>.key`` is erasure: the map can no longer be decrypted by anyone
(crypto-shredding); the map file is removed too. The master key is the base64
of 32 bytes in an environment variable (``MEETGUARD_VAULT_KEY`` by default).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ._errors import ConfigError, UsageError
from ._files import atomic_write
from ._seal import Unsealable, new_key, seal, unseal

__all__ = ["DEFAULT_KEY_ENV", "Vault", "VaultError", "VaultNotFound", "master_key_from_env"]

DEFAULT_KEY_ENV = "MEETGUARD_VAULT_KEY"


class VaultError(UsageError):
    """A vault file that fails authentication, or a wrong master key (exit 2)."""

    code = "vault_refused"


class VaultNotFound(UsageError):
    """No key for the meeting: never stored, erased or expired (exit 2, HTTP 404)."""

    http_status = 404
    code = "not_found"


def master_key_from_env(name: str, env: Mapping[str, str] | None = None) -> bytes:
    """The 32-byte master key from the base64 in ``$name``; one-line errors otherwise."""
    raw = (os.environ if env is None else env).get(name)
    if not raw:
        raise ConfigError(f"vault: the master key variable {name} is not set")
    try:
        key = base64.b64decode(raw.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ConfigError(f"vault: {name} is not base64") from None
    if len(key) != 32:
        raise ConfigError(f"vault: {name} must hold the base64 of 32 bytes")
    return key


def _aad(meeting_id: str, purpose: str, expires_at: str | None, owner: str | None = None) -> bytes:
    bound: list[str | None] = [meeting_id, purpose, expires_at]
    if owner is not None:          # the creating token family (the sidecar), bound in too
        bound.append(owner)
    return json.dumps(bound).encode("utf-8")


def _owner(header: Mapping[str, object]) -> str | None:
    owner = header.get("owner")
    if owner is not None and not isinstance(owner, str):
        raise VaultError("vault: the meeting's key file is unreadable")
    return owner


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class Vault:
    """The vault in ``directory`` under ``master_key`` (32 bytes)."""

    directory: Path
    master_key: bytes = field(repr=False)

    def _paths(self, meeting_id: str) -> tuple[Path, Path]:
        stem = hashlib.sha256(meeting_id.encode("utf-8")).hexdigest()
        return self.directory / f"{stem}.key", self.directory / f"{stem}.map"

    # -- storage: the only file I/O (a subclass may keep the same sealed bytes elsewhere) --
    def _exists(self, path: Path) -> bool:
        return path.exists()

    def _read(self, path: Path) -> bytes:
        """The bytes stored at ``path``; FileNotFoundError when there are none."""
        return path.read_bytes()

    def _write(self, path: Path, data: bytes) -> None:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        atomic_write(path, data)

    def _delete(self, path: Path) -> None:
        path.unlink(missing_ok=True)

    def _key_files(self) -> list[Path]:
        return sorted(self.directory.glob("*.key")) if self.directory.is_dir() else []

    # -- writing ------------------------------------------------------------------
    def store(self, meeting_id: str, purpose: str, tokens: Mapping[str, str],
              retention_days: int | None, now: datetime | None = None,
              owner: str | None = None) -> bool:
        """Store (merge into) the meeting's map; a token already stored keeps its value.
        ``owner``: the token family that created it (the sidecar); a meeting another
        family owns is left alone (False)."""
        now = now or datetime.now(UTC)
        key_path, map_path = self._paths(meeting_id)
        merged: dict[str, str] = {}
        if self._exists(key_path):
            try:
                merged, data_key, header = self._open(meeting_id, now)
            except VaultNotFound:      # expired: start again
                data_key, header = self._new_key(meeting_id, purpose, retention_days, now, owner)
            if _owner(header) != owner:
                return False
        else:
            data_key, header = self._new_key(meeting_id, purpose, retention_days, now, owner)
        for token, value in tokens.items():
            merged.setdefault(token, value)
        aad = _aad(meeting_id, str(header["purpose"]),
                   None if header["expires_at"] is None else str(header["expires_at"]), _owner(header))
        sealed = seal(data_key, json.dumps(merged, ensure_ascii=False).encode("utf-8"), aad)
        self._write(key_path, json.dumps(header).encode("utf-8"))
        self._write(map_path, sealed)
        return True

    def _new_key(self, meeting_id: str, purpose: str, retention_days: int | None,
                 now: datetime, owner: str | None = None) -> tuple[bytes, dict[str, str | int | None]]:
        expires = _iso(now + timedelta(days=retention_days)) if retention_days is not None else None
        data_key = new_key()
        wrapped = seal(self.master_key, data_key, _aad(meeting_id, purpose, expires, owner))
        header: dict[str, str | int | None] = {
            "v": 1, "purpose": purpose, "expires_at": expires,
            "wrapped": base64.b64encode(wrapped).decode("ascii")}
        if owner is not None:
            header["owner"] = owner
        return data_key, header

    # -- reading ------------------------------------------------------------------
    def load(self, meeting_id: str, now: datetime | None = None, *,
             family: str | None = None) -> dict[str, str]:
        """The meeting's map; :class:`VaultNotFound` if erased or expired, :class:`VaultError`
        if a file fails authentication (tampered, or another master key). ``family``: the
        caller's token family; a meeting another family created is not found (no oracle)."""
        tokens, _key, header = self._open(meeting_id, now or datetime.now(UTC))
        owner = _owner(header)
        if family is not None and owner is not None and owner != family:
            raise VaultNotFound("vault: no key for this meeting (never stored, or erased)")
        return tokens

    def _header(self, meeting_id: str) -> dict[str, str | int | None]:
        key_path, _ = self._paths(meeting_id)
        try:
            header = json.loads(self._read(key_path))
        except FileNotFoundError:
            raise VaultNotFound("vault: no key for this meeting (never stored, or erased)") from None
        except (OSError, ValueError):
            raise VaultError("vault: the meeting's key file is unreadable") from None
        if not isinstance(header, dict) or not isinstance(header.get("wrapped"), str):
            raise VaultError("vault: the meeting's key file is unreadable")
        return header

    def _open(self, meeting_id: str, now: datetime
              ) -> tuple[dict[str, str], bytes, dict[str, str | int | None]]:
        header = self._header(meeting_id)
        purpose, expires = header.get("purpose"), header.get("expires_at")
        if not isinstance(purpose, str) or not (expires is None or isinstance(expires, str)):
            raise VaultError("vault: the meeting's key file is unreadable")
        aad = _aad(meeting_id, purpose, expires, _owner(header))
        try:
            wrapped = base64.b64decode(str(header["wrapped"]), validate=True)
            data_key = unseal(self.master_key, wrapped, aad)
        except (Unsealable, binascii.Error, ValueError):
            raise VaultError("vault: the meeting's key does not authenticate "
                             "(wrong master key, or the file was changed)") from None
        if expires is not None and _iso(now) >= expires:
            raise VaultNotFound("vault: the meeting's key has expired (retention_days)")
        _, map_path = self._paths(meeting_id)
        try:
            blob = self._read(map_path)
            clear = unseal(data_key, blob, aad)
            tokens = json.loads(clear.decode("utf-8"))
        except FileNotFoundError:
            raise VaultNotFound("vault: no map for this meeting") from None
        except (Unsealable, OSError, ValueError):
            raise VaultError("vault: the meeting's map does not authenticate (the file was changed)") from None
        if not isinstance(tokens, dict) or not all(isinstance(v, str) for v in tokens.values()):
            raise VaultError("vault: the meeting's map is malformed")
        return tokens, data_key, header

    # -- erasure ------------------------------------------------------------------
    def delete_key(self, meeting_id: str, purpose: str | None = None) -> bool:
        """Crypto-shred the meeting's map (the consent seam, ReidentificationVault): its data
        key goes, then the map. ``purpose`` given: only a key stored for that purpose."""
        key_path, map_path = self._paths(meeting_id)
        if purpose is not None:
            try:
                if self._header(meeting_id).get("purpose") != purpose:
                    return False
            except (VaultNotFound, VaultError):
                pass
        existed = self._exists(key_path)
        self._delete(key_path)
        self._delete(map_path)
        return existed

    def purge(self, now: datetime | None = None) -> int:
        """Erase every meeting whose retention has run out; the number erased."""
        now_s = _iso(now or datetime.now(UTC))
        erased = 0
        for key_path in self._key_files():
            try:
                expires = json.loads(self._read(key_path)).get("expires_at")
            except (OSError, ValueError, AttributeError):
                continue
            if isinstance(expires, str) and now_s >= expires:
                self._delete(key_path)
                self._delete(key_path.with_suffix(".map"))
                erased += 1
        return erased
