"""The public surface is curated: __all__ is exactly what meetguard exports."""

from __future__ import annotations

import meetguard

PUBLIC = {
    "AudioInput", "AudioPlacementError", "AuditError", "ChatMessage", "ConfigError", "Cue", "Delivery",
    "DetectionError", "Document", "Finding", "Guard", "GuardOptions", "GuardResult", "InputError",
    "InputTooLarge", "Meeting", "MeetguardError", "Mention", "MessageKind", "ModelUnavailable",
    "OutputExists", "Overloaded", "PluginLoadError", "PolicyError", "Quote", "Speaker",
    "TranscriptionError", "UnsupportedFormat", "UpstreamError", "UsageError", "VerificationError", "Word",
    "__version__",
}


def test_all_is_exactly_the_public_set() -> None:
    assert set(meetguard.__all__) == PUBLIC
    assert len(meetguard.__all__) == len(PUBLIC)


def test_every_public_name_is_defined_and_public_names_are_not_private() -> None:
    exported = {name for name in dir(meetguard) if not name.startswith("_")}
    for name in meetguard.__all__:
        assert hasattr(meetguard, name), name
    # no implementation module leaks in as a public attribute except subpackages
    stray = exported - PUBLIC - {"annotations", "logging", "audio", "audit", "cli", "consent", "detection",
                                 "formats", "policy", "redaction", "release", "sidecar",
                                 "backends", "pipeline", "report", "testing",
                                 "batch", "batch_archive", "batch_ray", "batch_run", "reidentify", "vault", "doctor",
                                     "state", "live", "video"}
    assert stray == set()


def test_errors_carry_exit_codes_and_http_statuses() -> None:
    assert meetguard.UsageError("x").exit_code == 2
    assert meetguard.InputError("f.txt", "bad").http_status == 422
    assert meetguard.UnsupportedFormat("f.txt", "bad").http_status == 415
    assert meetguard.MeetguardError("x").exit_code == 1
    assert str(meetguard.InputError("f.txt", "line\nbreak")) == "f.txt: line break"
