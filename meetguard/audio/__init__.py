"""Audio: decoding (ffmpeg via pydub), the offline model cache, transcription.

- :mod:`.decode`: check, load and stream recordings.
- :mod:`.models`: the local model cache and the CTranslate2 -> openai-whisper conversion.
- :mod:`.backend`: the :class:`Transcriber` protocol and the helpers backends share.
- :mod:`.transcriber`: the registry, :func:`get_transcriber`.
- :mod:`.whisper_backend`: the built-in openai-whisper backend.
- :mod:`.transcribe`: a recording -> a transcript :class:`~meetguard.Document`, in bounded chunks.
- :mod:`.verify`: re-transcribe redacted audio; fail if a redacted value is heard again.

Heavy modules (torch, whisper) are imported lazily, on first use.
"""

from __future__ import annotations

from .backend import Transcriber
from .transcriber import get_transcriber

__all__ = ["Transcriber", "get_transcriber"]
