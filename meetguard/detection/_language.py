"""A text document's language, from its content (lingua, offline, models in its wheel).

Lingua's detector is built once per process over the languages meetguard can
tell apart here (those it guards, plus common neighbours, so a Spanish or German
document is named as such and refused rather than read as English or French).
A text with no letters takes the first language the caller allows.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Sequence
from typing import Any

from .._vocabulary import GUARDED_LANGUAGES

__all__ = ["GUARDED_LANGUAGES", "KNOWN_LANGUAGES", "detect_language", "item_language", "item_languages"]

# Languages detection can name (ISO 639-1); a document in one not guarded is refused.
KNOWN_LANGUAGES: tuple[str, ...] = ("en", "fr", "es", "de", "it", "pt", "nl")
_LOCK = threading.Lock()
SURE = 0.6   # lingua's confidence (0-1) above which its answer stands even outside the policy


@functools.cache
def _detector() -> Any:
    from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

    langs = [Language.from_iso_code_639_1(getattr(IsoCode639_1, c.upper())) for c in KNOWN_LANGUAGES]
    return LanguageDetectorBuilder.from_languages(*langs).build()



def detect_language(text: str, default: str = "en", allowed: Sequence[str] = ()) -> str:
    """The ISO 639-1 code of ``text``'s language; ``default`` when it has no letters.

    Lingua is trusted when it is sure (confidence >= ``SURE``). When it is not, which
    happens on a few words ("Welcome!", "Hi"), the most likely of ``allowed`` is taken,
    if any: a caption of three words is not refused for looking Dutch."""
    sample = text[:20000]
    if not any(c.isalpha() for c in sample):
        return default
    with _LOCK:
        values = _detector().compute_language_confidence_values(sample)
    ranked: list[tuple[str, float]] = [(str(v.language.iso_code_639_1.name).lower(), float(v.value))
                                       for v in values]
    if not ranked:
        return default
    code, confidence = ranked[0]
    if confidence < SURE and code not in allowed:
        for other, _ in ranked:
            if other in allowed:
                return other
    return code


def document_language(texts: Sequence[str], default: str = "en", allowed: Sequence[str] = ()) -> str:
    """One language for a document: its texts read together (short chat lines alone mislead)."""
    return detect_language("\n".join(texts), default, allowed)


# An item is read on its own when it is long enough for lingua to be sure of it; a shorter or
# unclear one ("ok", "Danke!", "jeudi on en reparle") takes the meeting's language.
ITEM_MIN_WORDS = 4
ITEM_MIN_LETTERS = 20
ITEM_SURE = 0.95


def _long_enough(text: str) -> bool:
    return len(text.split()) >= ITEM_MIN_WORDS and sum(map(str.isalpha, text)) >= ITEM_MIN_LETTERS


def _sure(values: Sequence[Any]) -> str | None:
    if not values or float(values[0].value) < ITEM_SURE:
        return None
    return str(values[0].language.iso_code_639_1.name).lower()


def item_language(text: str) -> str | None:
    """The ISO 639-1 code of one message or cue when lingua is sure of it (>= ``ITEM_SURE``)
    and the item is long enough to tell; ``None``: short or unclear."""
    if not _long_enough(text):
        return None
    with _LOCK:
        values = _detector().compute_language_confidence_values(text[:2000])
    return _sure(values)


def item_languages(texts: Sequence[str], parallel: bool = False) -> list[str | None]:
    """:func:`item_language` of each text, each distinct text read once; ``parallel``: lingua
    reads them on its own threads (``compute_language_confidence_values_in_parallel``, the same
    computation per text), for a guard that runs detection workers."""
    long = {t: _long_enough(t) for t in dict.fromkeys(texts)}   # each distinct text counted once
    todo = list(dict.fromkeys(t[:2000] for t, ok in long.items() if ok))
    with _LOCK:
        if parallel:
            values = _detector().compute_language_confidence_values_in_parallel(todo)
        else:
            detector = _detector()
            values = [detector.compute_language_confidence_values(t) for t in todo]
    found = {t: _sure(v) for t, v in zip(todo, values, strict=True)}
    return [found.get(t[:2000]) if long[t] else None for t in texts]
