"""spaCy's pipeline over many texts, as ``nlp.pipe`` does it, with the NER decoded faster.

spaCy's transition-based NER decodes a batch in compiled code that first lets go of
Python's GIL (``Parser.greedy_parse``: ``with nogil: _parseC``). Built with Cython 3,
every small state accessor that loop calls (``StateC.B_``, ``safe_get``,
``entity_is_open``, about a dozen per action checked, 74 actions per token) takes the GIL
back and lets it go again to check for a Python error: about half of the decode's CPU
time went to that mutex traffic (sampled stacks of the guard benchmark's 2,477 texts:
13 of 25 in ``take_gil`` under ``TransitionSystem.set_valid``).

:func:`pipe_docs` runs the same decode with the GIL held, through the methods spaCy's own
training loop uses: the step model (``ParserStepModel``, the same blis ``gemm``, the same
precomputed hidden layer, the same unseen-class mask) scores every unfinished state, and
``Parser.transition_states`` (the same compiled ``c_transition_batch``: validity, arg max,
the action) moves them, one step at a time until all are final. The states, the scores and
the actions are spaCy's own; only who holds the GIL differs, so each accessor's check is a
counter increment instead of a mutex round trip (the NER pass on the benchmark's texts: 2.4
-> 1.25 CPU-s). The entities are spaCy's own: tests/test_detection_fastpath.py compares
them with ``nlp.pipe`` token by token on both models.

Any other component (or a beam NER, or one on a GPU) runs through its own ``pipe``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

# one decode at a time: a step's arrays grow with the unfinished states, tok2vec's with tokens
_MAX_DOCS = 1024
_MAX_TOKENS = 20_000


def pipe_docs(nlp: Any, texts: Iterable[str]) -> Iterator[Any]:
    """Each text's Doc, in order, through every component of ``nlp`` (see the module doc)."""
    batch: list[Any] = []
    tokens = 0
    for text in texts:
        doc = nlp.make_doc(text)
        batch.append(doc)
        tokens += len(doc)
        if len(batch) >= _MAX_DOCS or tokens >= _MAX_TOKENS:
            yield from _annotate(nlp, batch)
            batch, tokens = [], 0
    if batch:
        yield from _annotate(nlp, batch)


def _annotate(nlp: Any, docs: list[Any]) -> list[Any]:
    for _name, proc in nlp.pipeline:
        if _greedy_on_cpu(proc):
            _decode(proc, docs)
        elif hasattr(proc, "pipe"):
            docs = list(proc.pipe(docs))
        else:
            docs = [proc(doc) for doc in docs]
    return docs


def _greedy_on_cpu(proc: Any) -> bool:
    from spacy.pipeline.transition_parser import Parser
    from thinc.api import NumpyOps

    return (isinstance(proc, Parser) and proc.cfg.get("beam_width", 1) == 1
            and type(proc.model.ops) is NumpyOps)


def _decode(proc: Any, docs: list[Any]) -> None:
    """``Parser.greedy_parse`` then ``set_annotations``, stepped with the GIL held."""
    proc._ensure_labels_are_added(docs)
    states = proc.moves.init_batch(docs)
    step = proc.model.predict(docs)
    todo = [s for s in states if not s.is_final()]
    while todo:
        todo = proc.transition_states(todo, step.predict(todo))
    step.clear_memory()
    proc.set_annotations(docs, states)
