"""The transcriber registry: a backend name and a model -> a :class:`Transcriber`.

Backends: ``openai-whisper`` (built in, :mod:`.whisper_backend`); others come
from the entry-point group ``meetguard.transcribers``: a callable
``factory(model: str) -> Transcriber``. The protocol itself is in :mod:`.backend`
(re-exported here).
"""

from __future__ import annotations

from .._errors import ConfigError
from .backend import SAMPLE_RATE, Transcriber, cue_from_words, model_input

__all__ = ["SAMPLE_RATE", "Transcriber", "cue_from_words", "get_transcriber", "model_input"]


def _is_factory(obj: object) -> bool:
    return callable(obj)


def get_transcriber(backend: str = "openai-whisper", model: str = "tiny.en") -> Transcriber:
    """A transcriber for ``backend`` loaded with ``model`` (name, path or cached name).

    Raises :class:`ModelUnavailable` for a model not on disk, :class:`ConfigError`
    for an unknown backend, :class:`PluginLoadError` for a broken plugin.
    """
    if backend == "openai-whisper":
        from .models import resolve_model
        from .whisper_backend import WhisperTranscriber

        return WhisperTranscriber(resolve_model(model))
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
