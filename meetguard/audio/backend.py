"""The transcriber backend protocol: 16 kHz mono samples in, cues with timed words out.

A backend returns one :class:`~meetguard.Cue` per recognised segment, with
``words`` carrying absolute times (the ``offset`` of the chunk added) and
``text`` built by concatenating the words, so :meth:`Cue.word_offsets` gives
each word's exact character span. ``speaker`` is always ``None`` here; the
caller attributes tracks. :func:`cue_from_words` and :func:`model_input` are the
helpers every backend shares (the built-in :mod:`.whisper_backend` and plugins,
through :mod:`meetguard.plugin_api`). The registry is :mod:`.transcriber`.

``variant`` names the decode: ``"main"`` (:data:`MAIN`, the transcript's) or
``"verify"`` (:data:`VERIFY`): a search other than the backend's main one (the
built-in backend's main decode is greedy, its verification decode a beam search),
so that verification of redacted audio is a second, independent hearing, not a
replay of the first one's mistakes. A backend written before ``variant`` existed
still works (:func:`accepts_variant` tells the caller not to pass it).
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Final, Literal, Protocol, runtime_checkable

import numpy as np

from .._errors import TranscriptionError
from .._model import Cue, Word

__all__ = ["MAIN", "SAMPLE_RATE", "VERIFY", "DecodeVariant", "LanguageTranscriber", "Transcriber",
           "accepts_variant", "cue_from_words", "model_input"]

SAMPLE_RATE = 16000

DecodeVariant = Literal["main", "verify"]
MAIN: Final = "main"
VERIFY: Final = "verify"


def model_input(samples: np.ndarray, model: object | None) -> np.ndarray | None:
    """What a backend feeds its model: contiguous mono float32, or None when
    there is less than 0.1 s of it. A closed backend (``model`` None) fails."""
    if model is None:
        raise TranscriptionError("transcriber is closed")
    audio = np.ascontiguousarray(samples, dtype=np.float32).reshape(-1)
    return audio if audio.size >= SAMPLE_RATE // 10 else None


@runtime_checkable
class Transcriber(Protocol):
    def transcribe(
        self, samples: np.ndarray, *, prompt: str | None = None, offset: float = 0.0,
        variant: DecodeVariant = "main",
    ) -> list[Cue]:
        """Transcribe 16 kHz mono float32 samples; times are ``offset`` + position;
        ``variant="verify"``: the backend's independent (other search) decode."""
        ...

    def close(self) -> None:
        ...


def accepts_variant(transcriber: object) -> bool:
    """Whether ``transcriber.transcribe`` takes ``variant=`` (a backend older than the
    keyword does not, and is called without it)."""
    try:
        params = inspect.signature(transcriber.transcribe).parameters  # type: ignore[attr-defined]
    except (AttributeError, TypeError, ValueError):
        return False
    return "variant" in params or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())


@runtime_checkable
class LanguageTranscriber(Protocol):
    """A transcriber that tells the language it hears (a multilingual model's own
    detection; ``"en"`` for an English-only one) and transcribes in a given language."""

    def detect_language(self, samples: np.ndarray) -> str:
        """The ISO 639-1 code of the speech in (up to 30 s of) 16 kHz mono samples."""
        ...

    def transcribe(
        self, samples: np.ndarray, *, prompt: str | None = None, offset: float = 0.0,
        variant: DecodeVariant = "main", language: str | None = None,
    ) -> list[Cue]:
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
