"""The transcriber registry: a backend name and a model -> a :class:`Transcriber`.

Backends: ``openai-whisper`` (built in, :mod:`.whisper_backend`); others come
from the entry-point group ``meetguard.transcribers``: a callable
``factory(model: str) -> Transcriber``. The protocol itself is in :mod:`.backend`
(re-exported here).
"""

from __future__ import annotations

import numpy as np

from .._errors import ConfigError
from .._model import Cue
from .backend import (
    SAMPLE_RATE,
    DecodeVariant,
    LanguageTranscriber,
    Transcriber,
    cue_from_words,
    model_input,
)

__all__ = ["SAMPLE_RATE", "LanguageTranscriber", "Transcriber", "cue_from_words", "get_transcriber",
           "heard_language", "in_language", "model_input"]


def heard_language(transcriber: Transcriber, samples: np.ndarray) -> str:
    """The language of the speech in ``samples`` by the transcriber's own detection;
    ``"en"`` for a transcriber that cannot tell (the English-only default)."""
    if isinstance(transcriber, LanguageTranscriber):
        return transcriber.detect_language(samples)
    return "en"


class _InLanguage:
    """A transcriber that always decodes in one language (closing it leaves the shared one open)."""

    def __init__(self, inner: LanguageTranscriber, language: str) -> None:
        self.inner = inner
        self.language = language

    def transcribe(self, samples: np.ndarray, *, prompt: str | None = None,
                   offset: float = 0.0, variant: DecodeVariant = "main") -> list[Cue]:
        return self.inner.transcribe(samples, prompt=prompt, offset=offset, variant=variant,
                                     language=self.language)

    def close(self) -> None:
        return None


def in_language(transcriber: Transcriber, language: str) -> Transcriber:
    """``transcriber`` decoding in ``language`` where it can be told one, else itself."""
    if isinstance(transcriber, LanguageTranscriber):
        return _InLanguage(transcriber, language)
    return transcriber


def _is_factory(obj: object) -> bool:
    return callable(obj)


def get_transcriber(backend: str = "openai-whisper", model: str = "tiny.en", *,
                    transcript: bool = False) -> Transcriber:
    """A transcriber for ``backend`` loaded with ``model`` (name, path or cached name).
    ``transcript``: it makes the transcript, and another checkpoint verifies it (the
    built-in backend then hears the windows its greedy decode was unsure of again by beam
    search; plugins decide their own search).

    Raises :class:`ModelUnavailable` for a model not on disk, :class:`ConfigError`
    for an unknown backend, :class:`PluginLoadError` for a broken plugin.
    """
    if backend == "openai-whisper":
        from .models import resolve_model
        from .whisper_backend import WhisperTranscriber

        return WhisperTranscriber(resolve_model(model), transcript=transcript)
    from .._plugins import find, load

    for plugin in find("meetguard.transcribers"):
        if plugin.name == backend:
            factory = load(plugin, _is_factory)
            made = factory(model)
            if not isinstance(made, Transcriber):
                from .._errors import PluginLoadError

                raise PluginLoadError(plugin.qualified(), "factory did not return a Transcriber")
            return made
    raise ConfigError(f"unknown transcriber backend: {backend}")
