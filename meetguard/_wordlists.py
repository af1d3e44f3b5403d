"""Word lists kept as data: ``meetguard/data/<name>.txt``, one entry a line, sorted,
``#`` comment lines (a leaf module)."""

from __future__ import annotations

import functools
from importlib import resources

__all__ = ["words"]


@functools.cache
def words(name: str) -> frozenset[str]:
    """The entries of ``meetguard/data/<name>.txt``."""
    text = resources.files("meetguard").joinpath("data", f"{name}.txt").read_text(encoding="utf-8")
    return frozenset(line.strip() for line in text.splitlines()
                     if line.strip() and not line.lstrip().startswith("#"))
