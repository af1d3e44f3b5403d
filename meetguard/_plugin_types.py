"""The entity types of the installed recognizer plugins, without importing them twice.

``plugin_entity_types()`` is what every policy load needs (a policy may name a
plugin's type, and ``entities: all`` includes them), but loading a recognizer
plugin imports Presidio, spaCy and torch. The answer depends only on which plugins
are installed, so it is cached in one small JSON file keyed by their fingerprint
(distribution name and version, entry point, and the install's modification time);
a changed, added or removed plugin changes the key and the types are read afresh.
An unreadable or unwritable cache only costs the import, never correctness.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata as md
import json
import os
import tempfile
from pathlib import Path

__all__ = ["plugin_entity_types"]

GROUP = "meetguard.recognizers"
CACHE_FILE = "plugin-entity-types.json"
_memo: dict[str, frozenset[str]] = {}


def _fingerprint() -> str | None:
    """A digest of the installed recognizer plugins; None when there are none."""
    parts: list[str] = []
    for dist in md.distributions():
        eps = [ep for ep in dist.entry_points if ep.group == GROUP]
        if not eps:
            continue
        where = getattr(dist, "_path", None)
        mtime = 0
        with contextlib.suppress(OSError, TypeError):
            mtime = os.stat(str(where)).st_mtime_ns if where is not None else 0
        name = dist.metadata["Name"] or "?"
        parts += [f"{name}|{dist.version}|{ep.name}|{ep.value}|{mtime}" for ep in eps]
    if not parts:
        return None
    return hashlib.sha256("\n".join(sorted(parts)).encode("utf-8")).hexdigest()


def _cache_path() -> Path:
    root = os.environ.get("MEETGUARD_CACHE")
    return (Path(root) if root else Path.home() / ".cache" / "meetguard") / CACHE_FILE


def _read(key: str) -> frozenset[str] | None:
    try:
        data = json.loads(_cache_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("key") != key or not isinstance(data.get("types"), list):
        return None
    return frozenset(str(t) for t in data["types"])


def _write(key: str, types: frozenset[str]) -> None:
    path = _cache_path()
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".plugin-types.", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump({"key": key, "types": sorted(types)}, fh)
        os.replace(tmp, path)


def plugin_entity_types() -> frozenset[str]:
    key = _fingerprint()
    if key is None:
        return frozenset()
    found = _memo.get(key)
    if found is None:
        found = _read(key)
    if found is None:
        from .detection import BASE_ENTITY_TYPES, entity_types

        found = entity_types() - BASE_ENTITY_TYPES
        _write(key, found)
    _memo[key] = found
    return found
