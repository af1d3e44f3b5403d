"""Plugin discovery in three steps: find (no imports), load, check.

Groups:
    meetguard.parsers       -> a formats.Format instance or class
    meetguard.recognizers   -> a presidio EntityRecognizer subclass or factory
    meetguard.transcribers  -> a callable building an audio.Transcriber
    meetguard.upstreams     -> a callable building a sidecar upstream

A plugin that fails to import or does not pass its group's check raises
:class:`PluginLoadError` naming the plugin: a privacy tool must not run with
half its configured detectors silently missing.
"""

from __future__ import annotations

import importlib.metadata as md
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from ._errors import PluginLoadError

GROUPS = ("meetguard.parsers", "meetguard.recognizers", "meetguard.transcribers", "meetguard.upstreams")


@dataclass(frozen=True, order=True)
class FoundPlugin:
    group: str
    name: str
    value: str
    distribution: str

    def qualified(self) -> str:
        return f"{self.distribution}:{self.name}"


def find(group: str, distributions: Iterable[md.Distribution] | None = None) -> list[FoundPlugin]:
    """Entry points of ``group``, sorted, without importing anything."""
    if group not in GROUPS:
        raise ValueError(f"unknown plugin group {group!r}")
    found: set[FoundPlugin] = set()
    for dist in distributions if distributions is not None else md.distributions():
        dist_name = dist.metadata["Name"] or "?"
        for ep in dist.entry_points:
            if ep.group == group:
                found.add(FoundPlugin(group, ep.name, ep.value, dist_name))
    return sorted(found)


def load(plugin: FoundPlugin, check: Callable[[Any], bool] | None = None) -> Any:
    """Import one plugin; wrap every failure in PluginLoadError."""
    try:
        obj = md.EntryPoint(plugin.name, plugin.value, plugin.group).load()
    except Exception as exc:  # any import-time failure of third-party code
        raise PluginLoadError(plugin.qualified(), f"{type(exc).__name__}: {exc}") from exc
    if check is not None and not check(obj):
        raise PluginLoadError(plugin.qualified(), f"does not provide a valid {plugin.group} object")
    return obj


def load_group(group: str, check: Callable[[Any], bool] | None = None) -> dict[str, Any]:
    """Load every plugin of a group: ``{name: object}`` in sorted order."""
    return {p.name: load(p, check) for p in find(group)}
