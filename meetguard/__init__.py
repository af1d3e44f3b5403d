"""meetguard: a consent gate for meeting content on its way to AI services.

Data flows one way: parse -> attribute -> decide -> detect -> redact ->
release -> audit. Start with :class:`Guard` and :class:`Meeting`.
"""

from __future__ import annotations

import logging
import typing as _typing

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

if _typing.TYPE_CHECKING:
    from ._guard import Delivery, Guard, GuardOptions, GuardResult
    from .formats import Meeting

# Imported on first use (PEP 562), so that `meetguard --help`, a usage error or
# `policy check` do not pay for the pipeline, the parsers and numpy (#26).
_LAZY = {"Delivery": "._guard", "Guard": "._guard", "GuardOptions": "._guard", "GuardResult": "._guard",
         "Meeting": ".formats"}


def __getattr__(name: str) -> _typing.Any:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


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
