"""The built-in backend: openai-whisper on a local checkpoint, CPU, offline.

The checkpoint is read once per process (cached by path and SHA-256), with
``torch.load(weights_only=True)`` so a checkpoint can never run code, after its
SHA-256 is checked against the one recorded beside it. Alignment heads come
from that record (for the embedded default, the CTranslate2 config) so word
timings are the model's own, not openai-whisper's generic fallback.

The main decode is greedy (with whisper's temperature fallback); the
transcript's (``transcript=True``) does not sample: it hears each window it was unsure of
again with a beam search (:meth:`WhisperTranscriber._surer`); the verification decode (``variant="verify"``) is a beam search (:data:`VERIFY_BEAM`
beams at temperature 0 only: deterministic, so a decision can be reproduced), an
independent hearing; where it loops, the window is heard once more greedily.

The fallback temperatures above 0 *sample* (whisper draws from PyTorch's global random
generator), so the same recording was heard differently from one run to the next
(email_twoword_domain's sampled fallback: "It invoice goes ..." in one run, "i ..." in
another). Every decode now draws from a generator seeded with :data:`SEED` in a
``torch.random.fork_rng`` block: the same samples give the same words, run after run and
replica after replica, so a decision can be reproduced and audited, and the caller's own
random state is left as it was.

Every decode is bounded by the length of what it hears (:func:`sample_len_for`):
speech stays under about 6-8 tokens a second, timestamps included, so a decode that
runs on past :data:`TOKENS_PER_SECOND` tokens a second is a hallucination loop (whisper
would otherwise go on for 224 tokens, at every fallback temperature, at every seek:
a bleeped 4.8 s release took over 15 minutes to hear), and it stops sooner where one of its
candidates is stuck in a loop (:mod:`.loops`, marked as a loop). A verification decode whose
beam search and greedy retry both loop (gzip compression ratio over whisper's 2.4)
heard nothing trustworthy there: it raises :class:`VerificationError`, so the item is
refused, never released unheard.
"""

from __future__ import annotations

import functools
import io
import math
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .._errors import ModelUnavailable, TranscriptionError, VerificationError
from .._model import Cue
from .backend import VERIFY, DecodeVariant, cue_from_words, model_input
from .loops import decode_stopping
from .models import checkpoint_file
from .reuse import encode_once, fold_beams

__all__ = ["WhisperTranscriber", "decode_options", "load_whisper", "sample_len_for", "unheard_tail"]

_models: dict[tuple[str, str], tuple[Any, threading.Lock]] = {}
_models_lock = threading.Lock()
_threads_set = False
VERIFY_BEAM = 5
MAIN_TEMPERATURES = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
SEED = 0   # every decode's sampling generator (module doc): reproducible hearings
VERIFY_TEMPERATURES = (0.0,)
TOKENS_PER_SECOND = 8
TOKEN_MARGIN = 16
LOOP_RATIO = 2.4  # whisper's compression_ratio_threshold: above it, a decode repeats itself
MIN_PIECE = 4.0   # seconds: a main decode that repeats itself is heard in halves down to this length
TAIL = 2.0        # seconds after a decode's last word that are heard again when they hold sound
TAIL_SOUND = 0.5  # seconds of that tail's 20 ms frames at speech level that make it hold sound
# A greedy window whose mean token log probability is under this (or that whisper heard only at
# a temperature over 0) is heard again by beam search in the transcript's decode (_surer).
UNSURE_LOGPROB = -0.6
# ... unless whisper heard no speech there (its no-speech probability over whisper's own threshold:
# a beam search over a window of silence writes words nobody said), or the window is under a second.
NO_SPEECH = 0.6
MIN_RETRY = 16000
HOP = 160         # samples per mel frame: a segment's ``seek`` is in frames
WINDOW = 30 * 16000


def sample_len_for(seconds: float, n_text_ctx: int = 448) -> int:
    """The most tokens one decode of ``seconds`` of audio may sample: :data:`TOKENS_PER_SECOND`
    a second plus :data:`TOKEN_MARGIN`, never more than whisper's own cap (half the context)."""
    return max(1, min(n_text_ctx // 2, math.ceil(max(0.0, seconds) * TOKENS_PER_SECOND) + TOKEN_MARGIN))


def _loops(segments: list[dict[str, Any]]) -> bool:
    """Whether a decode's result still repeats itself (some segment over :data:`LOOP_RATIO`)."""
    return any(float(seg.get("compression_ratio", 0.0)) > LOOP_RATIO for seg in segments)


def _stuck(segments: list[dict[str, Any]], sample_len: int) -> bool:
    """Whether a main decode whose text repeats itself is *stuck* (a loop of Whisper's),
    not hearing speech that truly repeats: :class:`~meetguard.audio.loops.StopLoops` stopped
    it in a loop (one unit of up to 16 tokens over 40 tokens or more: its ratio is
    infinite), or it ran up to its token cap. A sentence said again in many voices ("Send
    the contract to Ingrid ..." five times in 26 s, jfk.flac looped) or a card read out
    ("fine fine ... fine 4, 4, 4, 4": tiny.en's hearing of card_master, 17 tokens of one
    word) repeats under that and is heard as it is: halved, card_master's halves were heard
    worse by both models, and base's looped to its cap."""
    if sum(len(seg.get("tokens", ())) for seg in segments) >= sample_len:
        return True
    return any(math.isinf(float(seg.get("compression_ratio", 0.0))) for seg in segments)


def unheard_tail(audio: np.ndarray, segments: list[dict[str, Any]], frame: int = 320) -> int | None:
    """Where the rest of ``audio`` (16 kHz) begins that a decode left unheard, or None.

    whisper's ``transcribe`` takes a pass that ends on a single timestamp for "no speech
    after the last timestamp" and moves on to the next 30 s window, and it skips a pass it
    judges silent: so a decode can end seconds before its audio does with speech still to
    come. On the 10-minute bench recording, tiny.en and base, prompted with the roster, both
    ended 15.6 s early in two windows and never heard the two cards read there: nothing
    was bleeped, and only the release's check caught them (refused). A decode that heard
    something (a second or more) and ends :data:`TAIL` s or more before its audio does, where that rest holds
    :data:`TAIL_SOUND` s of 20 ms frames at a tenth of the level of the loudest tenth of
    the heard part's frames (and above -50 dBFS), is heard again from its last word's end."""
    ends = [float(w["end"]) for seg in segments for w in seg.get("words", [])]
    if not ends:
        return None
    start = round(max(ends) * 16000)
    if len(audio) - start < TAIL * 16000 or start < 16000:    # heard under a second: no progress to build on
        return None
    floor = max(10 ** (-50 / 20), 0.1 * float(np.percentile(_levels(audio[:start], frame), 90)))
    return start if int(np.sum(_levels(audio[start:], frame) >= floor)) * frame >= TAIL_SOUND * 16000 else None


def _levels(x: np.ndarray, frame: int) -> np.ndarray:
    """The RMS level of each whole ``frame`` of ``x``."""
    return np.asarray(np.sqrt(_energies(x, frame)))


def _energies(x: np.ndarray, frame: int) -> np.ndarray:
    """The mean square of each whole ``frame`` of ``x``."""
    n = len(x) // frame
    return np.asarray(np.mean(x[: n * frame].astype(np.float64).reshape(n, frame) ** 2, axis=1))


def decode_options(variant: DecodeVariant, seconds: float, n_text_ctx: int = 448) -> dict[str, Any]:
    """whisper.transcribe's search options for ``variant`` on ``seconds`` of audio."""
    opts: dict[str, Any] = {"sample_len": sample_len_for(seconds, n_text_ctx), "temperature": MAIN_TEMPERATURES}
    if variant == VERIFY:
        opts.update(beam_size=VERIFY_BEAM, temperature=VERIFY_TEMPERATURES)
    return opts


def _set_threads() -> None:
    """Use the CPUs we may (``MEETGUARD_TORCH_THREADS`` or up to 8), once per process."""
    global _threads_set
    if _threads_set:
        return
    import torch

    env = os.environ.get("MEETGUARD_TORCH_THREADS", "")
    try:
        n = int(env) if env else min(8, len(os.sched_getaffinity(0)))
    except (ValueError, AttributeError):
        n = min(8, os.cpu_count() or 1)
    torch.set_num_threads(max(1, n))
    _threads_set = True


def load_whisper(path: Path) -> tuple[Any, threading.Lock]:
    """The whisper model for a checkpoint path (loaded once) and its inference lock."""
    mf = checkpoint_file(path)
    key = (str(mf.path.resolve()), mf.sha256)
    with _models_lock:
        if key in _models:
            return _models[key]
        import torch
        import whisper
        from whisper.model import ModelDimensions, Whisper

        _set_threads()
        try:
            data = mf.path.read_bytes()
            import hashlib

            if hashlib.sha256(data).hexdigest() != mf.sha256:
                raise ModelUnavailable(mf.path.name, "checkpoint changed while loading")
            checkpoint = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
            del data
            dims = ModelDimensions(**checkpoint["dims"])
            model = Whisper(dims)
            model.load_state_dict(checkpoint["model_state_dict"])
        except ModelUnavailable:
            raise
        except Exception as exc:  # a broken or foreign file
            raise ModelUnavailable(mf.path.name, f"not a loadable Whisper checkpoint ({type(exc).__name__})") from exc
        heads = mf.alignment_heads
        if heads:
            mask = torch.zeros(dims.n_text_layer, dims.n_text_head, dtype=torch.bool)
            for layer, head in heads:
                if layer < 0:  # a flat index (from whisper's packed table)
                    layer, head = divmod(head, dims.n_text_head)
                mask[layer, head] = True
            model.register_buffer("alignment_heads", mask.to_sparse(), persistent=False)
        model = model.to("cpu").eval()
        # this model's decodes stop where they loop (audio/loops.py), not at their token cap
        model.decode = functools.partial(decode_stopping, model)
        # a window is encoded once per attention kernel for all of whisper's passes over it, and a
        # beam search's beams share one cross-attention call over it (audio/reuse.py)
        encode_once(model.encoder)
        fold_beams(model.decoder)
        del whisper
        entry = (model, threading.Lock())
        _models[key] = entry
        return entry


def _quietest(audio: np.ndarray, frame: int = 320) -> int:
    """The centre of the quietest 20 ms frame in the middle third of ``audio`` (where a
    repeating window is halved; transcribe.windows cuts the same way)."""
    lo, n = len(audio) // 3, len(audio) // 3 // frame
    energy = _energies(audio[lo: lo + n * frame], frame)
    return lo + int(np.flatnonzero(energy <= energy.min() * 1.05 + 1e-12)[-1]) * frame + frame // 2


def _unsure(segments: list[dict[str, Any]]) -> bool:
    """Whether whisper was unsure of the speech in a window it heard (``segments``, one
    decode's): it fell back to sampling, or its tokens' mean log probability is under
    :data:`UNSURE_LOGPROB`, and it heard speech there (no-speech probability at most
    :data:`NO_SPEECH`: jfk.flac's last half second, silence, was heard "Thank you." at -1.0
    with no-speech 0.82; its beam search wrote "Thank you very much for watching this video"
    twice over it)."""
    return any((float(seg.get("temperature", 0.0)) > 0.0 or float(seg.get("avg_logprob", 0.0)) < UNSURE_LOGPROB)
               and float(seg.get("no_speech_prob", 0.0)) <= NO_SPEECH for seg in segments)


def _windows(segments: list[dict[str, Any]], length: int) -> list[tuple[int, int, list[dict[str, Any]]]]:
    """``segments`` by the 30 s window whisper decoded them in (their ``seek``), each with its
    samples: from its seek to the next window's (or the audio's end), at most 30 s."""
    groups: list[tuple[int, list[dict[str, Any]]]] = []
    for seg in segments:
        seek = int(seg.get("seek", 0)) * HOP
        if groups and groups[-1][0] == seek:
            groups[-1][1].append(seg)
        else:
            groups.append((seek, [seg]))
    ends = [seek for seek, _ in groups[1:]] + [length] if groups else []
    return [(a, min(b, a + WINDOW, length), segs) for (a, segs), b in zip(groups, ends, strict=True)]


def _last_end(segments: list[dict[str, Any]]) -> float:
    """The end of the last word heard in ``segments`` (0 where none)."""
    return max((float(w["end"]) for seg in segments for w in seg.get("words", [])), default=0.0)


def _shifted(seg: dict[str, Any], by: float) -> dict[str, Any]:
    """``seg`` with its times (and its words') ``by`` seconds later."""
    words = [{**w, "start": float(w["start"]) + by, "end": float(w["end"]) + by} for w in seg.get("words", [])]
    return {**seg, "start": float(seg.get("start", 0.0)) + by, "end": float(seg.get("end", 0.0)) + by,
            "words": words}


def _cues(segments: list[dict[str, Any]], offset: float) -> list[Cue]:
    cues: list[Cue] = []
    for seg in segments:
        raw = [(w["word"], float(w["start"]) + offset, float(w["end"]) + offset, w.get("probability"))
               for w in seg.get("words", [])]
        cue = cue_from_words(len(cues), raw)
        if cue is not None:
            cues.append(cue)
    return cues


class WhisperTranscriber:
    """openai-whisper with word timestamps; one decode at a time per model."""

    def __init__(self, model_path: Path | str, *, transcript: bool = False) -> None:
        """``transcript``: this is the transcript's decode (not also the verification's, which
        is another checkpoint): its main decode hears unsure windows again (:meth:`_surer`)."""
        self.model_path = Path(model_path)
        self.transcript = transcript
        self._model, self._lock = load_whisper(self.model_path)
        self.english_only = not bool(self._model.is_multilingual)

    def detect_language(self, samples: np.ndarray) -> str:
        """Whisper's own language detection on the first 30 s (``en`` for an .en model)."""
        audio = model_input(samples, self._model)
        if self.english_only or audio is None:
            return "en"
        try:
            import whisper

            mel = whisper.log_mel_spectrogram(whisper.pad_or_trim(audio), self._model.dims.n_mels)
            with self._lock:
                _, probs = self._model.detect_language(mel)
        except Exception as exc:  # never let content or a traceback out
            raise TranscriptionError(f"openai-whisper failed: {type(exc).__name__}") from exc
        return str(max(probs, key=probs.get))

    def transcribe(
        self, samples: np.ndarray, *, prompt: str | None = None, offset: float = 0.0,
        variant: DecodeVariant = "main", language: str | None = None,
    ) -> list[Cue]:
        """``language``: decode in it (a multilingual model; else whisper detects per call)."""
        audio = model_input(samples, self._model)
        if audio is None:
            return []
        if variant != VERIFY:
            return self._main(audio, prompt, offset, language)
        seconds, ctx = len(audio) / 16000, self._model.dims.n_text_ctx
        segments = self._decode(audio, prompt, language, decode_options(variant, seconds, ctx))
        if _loops(segments):  # the beam search looped: hear it greedily, once
            segments = self._decode(audio, prompt, language, {"sample_len": sample_len_for(seconds, ctx),
                                                              "temperature": (0.0,)})
            if _loops(segments):
                raise VerificationError("the verification decode fell into a repetition loop and heard nothing "
                                        "trustworthy; the recording is refused, not released unheard",
                                        reason="repetition_loop")
        return self._with_tail(audio, segments, offset,
                               lambda rest, at: self.transcribe(rest, prompt=prompt, offset=at, variant=VERIFY,
                                                                language=language))

    def _main(self, audio: Any, prompt: str | None, offset: float, language: str | None) -> list[Cue]:
        """The main decode: greedy, temperature fallback only where whisper is unsure (log
        probability), not where the text repeats itself. A window whose greedy text repeats
        over :data:`LOOP_RATIO` and is stuck in a loop (:func:`_stuck`) is heard again in two
        halves cut at its quietest point, each on its own, down to :data:`MIN_PIECE` s; a
        shorter piece keeps its greedy text. Speech that truly repeats (a sentence said three
        times in 30 s: jfk.flac looped, a corpus of one wording in many voices) made whisper
        sample at rising temperatures up to 1.0, six decodes ending in words nobody said ("...
        is Messenger you can fight"), which the detector read as names; it is now heard at
        temperature 0 as it is, not halved (halving it doubled tiny.en's work on the 10-minute
        bench recording)."""
        seconds, ctx = len(audio) / 16000, self._model.dims.n_text_ctx
        search = {**decode_options("main", seconds, ctx), "compression_ratio_threshold": None}
        if self.transcript:   # an unsure window is heard again by beam search (_surer), not sampled
            search["temperature"] = (0.0,)
        segments = self._decode(audio, prompt, language, search)
        if not _loops(segments) or seconds < 2 * MIN_PIECE or not _stuck(segments, sample_len_for(seconds, ctx)):
            if self.transcript:
                segments = self._surer(audio, prompt, language, segments)
            return self._with_tail(audio, segments, offset,
                                   lambda rest, at: self._main(rest, prompt, at, language))
        cut = _quietest(audio)
        return [*self._main(audio[:cut], prompt, offset, language),
                *self._main(audio[cut:], prompt, offset + cut / 16000, language)]

    def _surer(self, audio: Any, prompt: str | None, language: str | None,
               segments: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """``segments`` (a greedy decode of ``audio``), each run of 30 s windows whisper was
        unsure of (:func:`_unsure`; neighbours are one piece: greedy's cut between them is no
        better than its words) heard again by beam search (:data:`VERIFY_BEAM` beams, temperature 0,
        no sampling) and replaced by that hearing unless it loops or stops short (its last word
        ends over :data:`TAIL` s before the greedy hearing's last one: words it left unheard are
        words the transcript would lose). Greedy search drops words
        on speech it hears badly, and its fallback samples at rising temperatures: on the leak
        corpus's 88 tuning clips tiny.en's greedy hearing lost 12.7% of the words to keep, its
        beam search 6.4% and never more on any clip (docs/benchmarks.md, "What tiny.en itself
        hears"); a beam search costs about 3x a greedy decode, so only unsure windows pay it."""
        windows = _windows(segments, len(audio))
        if not any(_unsure(segs) for _a, _b, segs in windows):
            return segments
        runs: list[tuple[int, int, list[dict[str, Any]], bool]] = []
        for a, b, segs in windows:
            unsure = _unsure(segs) and b - a >= MIN_RETRY
            if unsure and runs and runs[-1][3]:
                runs[-1] = (runs[-1][0], b, [*runs[-1][2], *segs], True)
            else:
                runs.append((a, b, list(segs), unsure))
        out: list[dict[str, Any]] = []
        ctx = self._model.dims.n_text_ctx
        for a, b, segs, unsure in runs:
            if not unsure:
                out.extend(segs)
                continue
            piece = audio[a:b]
            again = self._decode(piece, prompt, language,
                                 decode_options(VERIFY, len(piece) / 16000, ctx))
            short = _last_end(again) + a / 16000 < _last_end(segs) - TAIL
            out.extend(segs if _loops(again) or short else [_shifted(seg, a / 16000) for seg in again])
        return out

    @staticmethod
    def _with_tail(audio: Any, segments: list[dict[str, Any]], offset: float,
                   hear: Callable[[Any, float], list[Cue]]) -> list[Cue]:
        """The cues of ``segments``, and those of the rest of ``audio`` the decode left
        unheard (:func:`unheard_tail`), heard again by ``hear`` (rest, its offset)."""
        cues = _cues(segments, offset)
        start = unheard_tail(np.asarray(audio), segments)
        return cues if start is None else [*cues, *hear(audio[start:], offset + start / 16000)]

    def _decode(self, audio: Any, prompt: str | None, language: str | None,
                search: dict[str, Any]) -> list[dict[str, Any]]:
        try:
            import torch
            import whisper

            with self._lock, torch.random.fork_rng(devices=[]):
                torch.manual_seed(SEED)
                result = whisper.transcribe(
                    self._model,
                    audio,
                    verbose=None,
                    word_timestamps=True,
                    condition_on_previous_text=False,
                    fp16=False,
                    language="en" if self.english_only else language,
                    initial_prompt=prompt or None,
                    **{"compression_ratio_threshold": LOOP_RATIO, **search},
                )
        except Exception as exc:  # never let content or a traceback out
            raise TranscriptionError(f"openai-whisper failed: {type(exc).__name__}") from exc
        return list(result.get("segments", []))

    def close(self) -> None:
        """Drop this handle; the process-wide model cache keeps the weights."""
        self._model = None
