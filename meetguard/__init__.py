"""meetguard: a consent gate for meeting content on its way to AI services.

Data flows one way: parse -> attribute -> decide -> detect -> redact ->
release -> audit. Start with :class:`Guard` and :class:`Meeting`.
"""

from __future__ import annotations

import logging

from ._errors import (
    AudioPlacementError,
    AuditError,
    ConfigError,
    DetectionError,
    InputError,
    InputTooLarge,
    MeetguardError,
    ModelUnavailable,
    OutputExists,
    Overloaded,
    PluginLoadError,
    PolicyError,
    TranscriptionError,
    UnsupportedFormat,
    UpstreamError,
    UsageError,
    VerificationError,
)
from ._guard import Delivery, Guard, GuardOptions, GuardResult
from ._model import (
    AudioInput,
    ChatMessage,
    Cue,
    Document,
    Finding,
    Mention,
    MessageKind,
    Quote,
    Speaker,
    Word,
)
from .formats import Meeting

__version__ = "0.1.0"

__all__ = [
    "AudioInput",
    "AudioPlacementError",
    "AuditError",
    "ChatMessage",
    "ConfigError",
    "Cue",
    "Delivery",
    "DetectionError",
    "Document",
    "Finding",
    "Guard",
    "GuardOptions",
    "GuardResult",
    "InputError",
    "InputTooLarge",
    "MeetguardError",
    "Meeting",
    "Mention",
    "MessageKind",
    "ModelUnavailable",
    "OutputExists",
    "Overloaded",
    "PluginLoadError",
    "PolicyError",
    "Quote",
    "Speaker",
    "TranscriptionError",
    "UnsupportedFormat",
    "UpstreamError",
    "UsageError",
    "VerificationError",
    "Word",
    "__version__",
]

# The library never configures logging; the CLI and the sidecar do.
logging.getLogger(__name__).addHandler(logging.NullHandler())
