"""Bounds on audio input, checked before anything decodes a recording at its own rate.

A small file can declare a huge stream (a 57 KB FLAC of 384 kHz x 8 channels of
silence decodes to 737 MB of PCM), so :func:`check_audio_limits` refuses a
recording whose first audio stream is over ``max_sample_rate`` or
``max_channels`` (from the probe, nothing decoded: 422), or whose duration is
over ``max_audio_minutes`` (413). The duration is the container's word and is
then confirmed by decoding at most ``max_audio_minutes`` (+1 s) to 8 kHz mono
with ffmpeg ``-t``: a header that under-states the length cannot make anything
decode more than the limit. Recognition always gets 16 kHz mono
(:func:`meetguard.audio.decode.iter_chunks`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .._errors import InputError, InputTooLarge
from . import decode

__all__ = ["AudioLimits", "check_audio_limits"]

_RATE = 8000


@dataclass(frozen=True)
class AudioLimits:
    max_audio_minutes: int = 240
    max_sample_rate: int = 48000
    max_channels: int = 2

    @classmethod
    def from_mapping(cls, values: Mapping[str, int]) -> AudioLimits:
        return cls(**{k: int(v) for k, v in values.items() if k in cls.__dataclass_fields__})

    def tighter(self, other: AudioLimits) -> AudioLimits:
        return AudioLimits(min(self.max_audio_minutes, other.max_audio_minutes),
                           min(self.max_sample_rate, other.max_sample_rate),
                           min(self.max_channels, other.max_channels))


def _decoded_seconds(path: Path, cap_s: float) -> float:
    """Seconds of audio ffmpeg decodes from ``path``, decoding at most ``cap_s``."""
    cmd = [decode.ffmpeg_exe(), "-nostdin", "-hide_banner", "-v", "error",
           "-protocol_whitelist", "file,pipe", "-i", str(path), "-map", "0:a:0", "-t", f"{cap_s:.3f}",
           "-ac", "1", "-ar", str(_RATE), "-f", "s16le", "pipe:1"]
    decoded, _, _ = decode.count_decoded(cmd)
    return decoded / (2 * _RATE)


def check_audio_limits(path: str | Path, limits: AudioLimits) -> None:
    """Refuse ``path`` if it is over ``limits`` (see the module doc). Errors name the file's
    base name and the limit, never content."""
    path = Path(path)
    _, rate, channels = decode.first_audio_stream(decode.probe(path), path.name)
    if rate > limits.max_sample_rate:
        raise InputError(path.name, f"sample rate {rate} Hz is over the limit "
                                    f"(limits.max_sample_rate {limits.max_sample_rate})")
    if channels > limits.max_channels:
        raise InputError(path.name, f"{channels} channels is over the limit "
                                    f"(limits.max_channels {limits.max_channels})")
    cap_s = limits.max_audio_minutes * 60.0
    declared = decode.duration(path)
    if declared > cap_s or _decoded_seconds(path, cap_s + 1.0) > cap_s:
        raise InputTooLarge(path.name, f"longer than the limit of {limits.max_audio_minutes} minutes "
                                       f"(limits.max_audio_minutes)")
