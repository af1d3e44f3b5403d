"""spaCy's stop-word lists, read without importing spaCy.

``from spacy.lang.fr.stop_words import STOP_WORDS`` runs ``spacy/__init__`` (which
imports thinc and torch, about 4 s) and ``spacy/lang/fr/__init__`` (the French
tokenizer exceptions, about 8 s of regex compiling): a price every command paid at
import, even for an English-only policy or a usage error. The lists themselves are
plain ``STOP_WORDS = set(...)`` modules; this runs them from spaCy's installed
files (the same words, the pinned spaCy's), so detection imports in milliseconds
and each language's model loads only when a document in it is detected.
"""

from __future__ import annotations

import functools
import importlib.util
import runpy
from pathlib import Path

__all__ = ["stop_words"]


@functools.cache
def stop_words(language: str) -> frozenset[str]:
    """The stop words of spaCy's ``language`` (``en``, ``fr``, ...): its ``stop_words.py``
    run on its own (plain code, no imports), without the packages above it."""
    spec = importlib.util.find_spec("spacy")        # finds the package; runs none of it
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("spacy is not installed")
    path = Path(next(iter(spec.submodule_search_locations))) / "lang" / language / "stop_words.py"
    return frozenset(runpy.run_path(str(path))["STOP_WORDS"])
