"""The one module plugins import: everything meetguard promises to a plugin.

Transcriber backends (entry point group ``meetguard.transcribers``: a callable
``factory(model: str) -> Transcriber``) implement :class:`Transcriber` and build
their cues with :func:`cue_from_words` from :func:`model_input`'s samples, and
bound each decode by :func:`sample_len_for` (tokens per second of audio). They
may run the embedded default model (``DEFAULT_MODEL``) from
:func:`embedded_model_dir`, checked against its pinned SHA-256.

Recognizers (group ``meetguard.recognizers``) are Presidio ``EntityRecognizer``
classes or zero-argument factories; they need nothing from meetguard.

Parsers (group ``meetguard.parsers``) implement :class:`Format`.

Anything else in meetguard may change without notice; a test checks that the
bundled plugins import only this module.
"""

from __future__ import annotations

from pathlib import Path

from ._errors import InputError, ModelUnavailable, TranscriptionError
from ._model import ChatMessage, Cue, Document, Speaker, Word
from .audio.backend import (
    MAIN,
    SAMPLE_RATE,
    VERIFY,
    DecodeVariant,
    Transcriber,
    cue_from_words,
    model_input,
)
from .audio.models import DEFAULT_MODEL, MULTILINGUAL_MODEL
from .audio.whisper_backend import sample_len_for
from .formats._base import Format

__all__ = [
    "DEFAULT_MODEL",
    "MAIN",
    "MULTILINGUAL_MODEL",
    "SAMPLE_RATE",
    "VERIFY",
    "ChatMessage",
    "Cue",
    "DecodeVariant",
    "Document",
    "Format",
    "InputError",
    "ModelUnavailable",
    "Speaker",
    "Transcriber",
    "TranscriptionError",
    "Word",
    "cue_from_words",
    "embedded_model_dir",
    "model_input",
    "sample_len_for",
]


def embedded_model_dir(name: str = DEFAULT_MODEL) -> Path:
    """The CTranslate2 directory of an embedded model (``DEFAULT_MODEL``, or
    ``MULTILINGUAL_MODEL``: reassembled from its wheels), its ``model.bin`` checked
    against the pinned SHA-256 (ModelUnavailable otherwise)."""
    from .audio import models

    if name == models.MULTILINGUAL_MODEL:
        src = models.multilingual_source()
        models._check_source(src, models.MULTILINGUAL_SHA256, name)
        return src
    src = models.embedded_source()
    models._check_source(src)
    return src
