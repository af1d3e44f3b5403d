"""Files: the one home of file hashing and atomic, private writes (a leaf module)."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any

__all__ = ["atomic_write", "sha256_file", "write_json_private"]


def sha256_file(path: str | os.PathLike[str], chunk: int = 1 << 20) -> str:
    """SHA-256 hex of a file's bytes, read in blocks (a recording need not fit in memory)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def atomic_write(path: str | os.PathLike[str], data: bytes | Callable[[IO[bytes]], None], *,
                 mode: int = 0o600) -> None:
    """Write ``data`` (bytes, or a function writing to the file) to ``path`` through a
    temporary file in the same folder, created private, synced, then renamed over
    ``path``: a reader sees the old file or the whole new one, never half a file.
    ``mode`` is the file's final mode (private by default)."""
    target = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            if callable(data):
                data(fh)
            else:
                fh.write(data)
            fh.flush()
            if mode != 0o600:
                os.fchmod(fh.fileno(), mode)
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json_private(path: str | os.PathLike[str], data: Mapping[str, Any], **dump: Any) -> None:
    """``data`` as JSON (non-ASCII kept), written atomically and privately."""
    text = json.dumps(data, ensure_ascii=False, **dump)
    atomic_write(path, text.encode("utf-8"))
