"""Loading a policy file, and watching it: the last valid policy stays in force."""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Iterable
from pathlib import Path

from .._errors import PolicyError
from .model import Policy
from .schema import parse_policy

__all__ = ["PolicyWatcher", "load_policy"]


def load_policy(path: str | os.PathLike[str], extra_entities: Iterable[str] = ()) -> Policy:
    """Read and validate a policy file. Raises PolicyError (one line)."""
    p = os.fspath(path)
    try:
        data = Path(p).read_bytes()
    except OSError as exc:
        raise PolicyError(p, "", f"cannot read the policy file: {exc.strerror or 'I/O error'}"
                          ) from None
    return parse_policy(data, p, extra_entities)


# --------------------------------------------------------------------------- watcher


class PolicyWatcher:
    """Keeps the last valid policy of a file and reloads it when the file changes.

    The first load must succeed (raises PolicyError). Later, an invalid file
    leaves the last valid policy in force and sets :attr:`rejected` to the
    one-line reason; a valid reload clears it. Thread-safe.
    """

    def __init__(self, path: str | os.PathLike[str], extra_entities: Iterable[str] = ()) -> None:
        self.path = os.fspath(path)
        self._extra = frozenset(extra_entities)
        self._lock = threading.Lock()
        self._sig: tuple[int, int] | None = self._stat()
        self._current = load_policy(self.path, self._extra)
        self._seen_sha = self._current.sha256
        self._rejected: str | None = None

    def _stat(self) -> tuple[int, int] | None:
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size)

    @property
    def current(self) -> Policy:
        with self._lock:
            return self._current

    @property
    def rejected(self) -> str | None:
        with self._lock:
            return self._rejected

    def maybe_reload(self) -> bool:
        """Reload if the file changed. True when a new valid policy took effect."""
        with self._lock:
            sig = self._stat()
            if sig is not None and sig == self._sig:
                return False
            try:
                data = Path(self.path).read_bytes()
            except OSError as exc:
                self._sig = None
                self._rejected = str(PolicyError(
                    self.path, "", f"cannot read the policy file: {exc.strerror or 'I/O error'}"))
                return False
            self._sig = sig
            sha = hashlib.sha256(data).hexdigest()
            if sha == self._current.sha256:
                self._seen_sha = sha
                self._rejected = None
                return False
            if sha == self._seen_sha:
                return False
            self._seen_sha = sha
            try:
                policy = parse_policy(data, self.path, self._extra)
            except PolicyError as exc:
                self._rejected = str(exc)
                return False
            self._current = policy
            self._rejected = None
            return True
