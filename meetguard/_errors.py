"""The exception tree. The CLI and the sidecar map these in one place each.

    MeetguardError                      exit 1, HTTP 500  (internal: fail closed)
    ├── UsageError                      exit 2, HTTP 400  (bad arguments / request)
    │   ├── InputError                  exit 2, HTTP 422  (unreadable or invalid input)
    │   │   ├── UnsupportedFormat       exit 2, HTTP 415  (matches no known format)
    │   │   └── InputTooLarge           exit 2, HTTP 413
    │   ├── PolicyError                 exit 2, HTTP 500  (invalid policy: operator's fault)
    │   ├── ConfigError                 exit 2, HTTP 500
    │   ├── ModelUnavailable            exit 2, HTTP 503  ("model not available offline: NAME")
    │   └── OutputExists                exit 2
    ├── PluginLoadError                 exit 1
    ├── DetectionError                  exit 1, HTTP 500
    ├── TranscriptionError              exit 1, HTTP 500
    ├── AudioPlacementError             exit 1, HTTP 500  (a value could not be placed in time)
    ├── VerificationError               exit 1, HTTP 500  (a value to redact heard in released audio)
    ├── AuditError                      exit 1, HTTP 500
    ├── UpstreamError                   exit 1, HTTP 502
    ├── Overloaded                      exit 1, HTTP 503
    └── StateUnavailable                exit 1, HTTP 503  (the shared state database cannot be reached)

Every message is one line, names the input or rule concerned and never holds a
value taken from the content (so it is safe in logs and error bodies).
"""

from __future__ import annotations

__all__ = [
    "AudioPlacementError",
    "AuditError",
    "ConfigError",
    "DetectionError",
    "InputError",
    "InputTooLarge",
    "MeetguardError",
    "ModelUnavailable",
    "OutputExists",
    "Overloaded",
    "PluginLoadError",
    "PolicyError",
    "StateUnavailable",
    "TranscriptionError",
    "UnsupportedFormat",
    "UpstreamError",
    "UsageError",
    "VerificationError",
]


class MeetguardError(Exception):
    exit_code: int = 1
    http_status: int = 500
    code: str = "internal"

    def __init__(self, message: str) -> None:
        # One line, always: a multi-line message would break log parsing.
        super().__init__(" ".join(str(message).split()))

    @property
    def message(self) -> str:
        return str(self)


class UsageError(MeetguardError):
    exit_code = 2
    http_status = 400
    code = "bad_request"


class InputError(UsageError):
    """An input that cannot be read or parsed. Message: "<path>: <problem>"."""

    http_status = 422
    code = "invalid_input"

    def __init__(self, path: str, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"{path}: {problem}")


class UnsupportedFormat(InputError):
    http_status = 415
    code = "unsupported_media"


class InputTooLarge(InputError):
    http_status = 413
    code = "too_large"


class PolicyError(UsageError):
    """Invalid policy. Message: "<path>: <key.path>: <reason>"."""

    http_status = 500
    code = "invalid_policy"

    def __init__(self, path: str, key: str, reason: str) -> None:
        self.path = path
        self.key = key
        self.reason = reason
        where = f"{path}: {key}: " if key else f"{path}: "
        super().__init__(where + reason)


class ConfigError(UsageError):
    http_status = 500
    code = "invalid_config"


class ModelUnavailable(UsageError):
    http_status = 503
    code = "model_unavailable"

    def __init__(self, name: str, detail: str = "") -> None:
        self.name = name
        super().__init__(f"model not available offline: {name}" + (f" ({detail})" if detail else ""))


class OutputExists(UsageError):
    code = "output_exists"


class PluginLoadError(MeetguardError):
    code = "plugin_error"

    def __init__(self, plugin: str, problem: str) -> None:
        self.plugin = plugin
        super().__init__(f"plugin {plugin!r} failed to load: {problem}")


class DetectionError(MeetguardError):
    code = "detection_failed"


class TranscriptionError(MeetguardError):
    code = "transcription_failed"


class AudioPlacementError(MeetguardError):
    code = "audio_placement_failed"


class VerificationError(MeetguardError):
    """``reason``: which check refused, as a fixed word (no content): ``value_heard_again``,
    ``value_heard``, ``decodes_disagree``, ``repetition_loop``, ``silenced_speaker_heard``
    (``unspecified`` when not given)."""

    code = "verification_failed"

    def __init__(self, message: str, reason: str = "unspecified") -> None:
        super().__init__(message)
        self.reason = reason


class AuditError(MeetguardError):
    code = "audit_failed"


class UpstreamError(MeetguardError):
    http_status = 502
    code = "upstream_failed"


class Overloaded(MeetguardError):
    http_status = 503
    code = "overloaded"


class StateUnavailable(MeetguardError):
    """The shared state (``state: {backend: postgres}``) cannot be read or written: the
    request is refused, nothing is released (docs/deploy.md "Replicas")."""

    http_status = 503
    code = "state_unavailable"
