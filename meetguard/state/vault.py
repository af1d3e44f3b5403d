"""The re-identification vault in the shared state (state: postgres, vault configured).

The same :class:`meetguard.vault.Vault` (per-meeting data keys wrapped by the master
key from the environment, maps sealed with AES-GCM), whose sealed files are rows of
``mg_vault`` instead of files in ``vault.dir``: the database holds exactly the bytes
the files would, never a clear value or a key. Any replica can then re-identify a
meeting another replica guarded, and a withdrawal's crypto-shredding holds for all.

The vault is synchronous (it runs in worker threads); each storage call is sent to
the sidecar's event loop, which owns the connection pool.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from ..vault import Vault
from .base import StateBackend
from .postgres import PostgresState, call_from_thread

__all__ = ["SharedVault", "open_vault"]

_T = TypeVar("_T")


@dataclass(frozen=True)
class SharedVault(Vault):
    state: PostgresState = field(kw_only=True, repr=False, compare=False)
    loop: asyncio.AbstractEventLoop = field(kw_only=True, repr=False, compare=False)

    def _call(self, coro: Coroutine[Any, Any, _T]) -> _T:
        return call_from_thread(self.state, self.loop, coro, "the shared vault")

    def _exists(self, path: Path) -> bool:
        return self._call(self.state.vault_get(path.name)) is not None

    def _read(self, path: Path) -> bytes:
        data = self._call(self.state.vault_get(path.name))
        if data is None:
            raise FileNotFoundError(path.name)
        return data

    def _write(self, path: Path, data: bytes) -> None:
        self._call(self.state.vault_put(path.name, data))

    def _delete(self, path: Path) -> None:
        self._call(self.state.vault_delete(path.name))

    def _key_files(self) -> list[Path]:
        return [self.directory / n for n in self._call(self.state.vault_names(".key"))]


def open_vault(directory: Path, key: bytes, state: StateBackend | None,
               loop: asyncio.AbstractEventLoop) -> Vault:
    """The vault of a sidecar: in the shared state when there is one, else in ``directory``."""
    if isinstance(state, PostgresState):
        return SharedVault(directory, key, state=state, loop=loop)
    return Vault(directory, key)
