"""The transcriber interface: 16 kHz mono samples in, cues with timed words out.

A backend returns one :class:`~meetguard.Cue` per recognised segment, with
``words`` carrying absolute times (the ``offset`` of the chunk added) and
``text`` built by concatenating the words, so :meth:`Cue.word_offsets` gives
each word's exact character span. ``speaker`` is always ``None`` here; the
caller attributes tracks.

Backends: ``openai-whisper`` (built in, :mod:`.whisper_backend`); others come
from the entry-point group ``meetguard.transcribers``: a callable
``factory(model: str) -> Transcriber``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from .._errors import ConfigError
from .._model import Cue, Word

__all__ = ["SAMPLE_RATE", "Transcriber", "cue_from_words", "get_transcriber", "model_input"]

SAMPLE_RATE = 16000


def model_input(samples: np.ndarray, model: object | None) -> np.ndarray | None:
    """What a backend feeds its model: contiguous mono float32, or None when
    there is less than 0.1 s of it. A closed backend (``model`` None) fails."""
    if model is None:
        from .._errors import TranscriptionError

        raise TranscriptionError("transcriber is closed")
    audio = np.ascontiguousarray(samples, dtype=np.float32).reshape(-1)
    return audio if audio.size >= SAMPLE_RATE // 10 else None


@runtime_checkable
class Transcriber(Protocol):
    def transcribe(
        self, samples: np.ndarray, *, prompt: str | None = None, offset: float = 0.0
    ) -> list[Cue]:
        """Transcribe 16 kHz mono float32 samples; times are ``offset`` + position."""
        ...

    def close(self) -> None:
        ...


def cue_from_words(index: int, raw_words: Sequence[tuple[str, float, float, float | None]]) -> Cue | None:
    """A cue whose text is the concatenation of the raw word strings.

    ``raw_words`` are ``(text, start, end, probability)`` with whisper's leading
    spaces kept; words that are only whitespace are dropped. Returns ``None``
    when nothing is left.
    """
    parts: list[str] = []
    words: list[Word] = []
    for text, start, end, prob in raw_words:
        token = text.strip()
        if not token:
            continue
        parts.append(text if parts else text.lstrip())
        start_f, end_f = float(start), float(end)
        words.append(Word(token, round(start_f, 3), round(max(end_f, start_f), 3), None if prob is None else float(prob)))
    if not words:
        return None
    return Cue(index=index, start=words[0].start, end=words[-1].end, speaker=None,
               text="".join(parts).rstrip(), words=tuple(words))


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
