"""Candidate hits and the overlap resolution that turns them into findings."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .._model import Finding

# Who wins an overlap: roster names, then meeting links, then structured
# values (checksums, formats), then context-cued names, then plain NER.
RANK_ROSTER = 50
RANK_JOIN_URL = 40
RANK_STRUCTURED = 30
RANK_PLUGIN = 25
RANK_CUED = 20
RANK_NER = 10


@dataclass(frozen=True, slots=True)
class Hit:
    start: int
    end: int
    entity_type: str
    score: float
    normalized: str
    rank: int
    participant_id: str | None = None


def resolve(hits: Iterable[Hit], skip: Sequence[tuple[int, int]]) -> list[Finding]:
    """Non-overlapping findings, sorted; higher rank, then longer, wins."""
    chosen: list[Hit] = []
    order = sorted(hits, key=lambda h: (-h.rank, -(h.end - h.start), h.start, h.entity_type))
    for h in order:
        if h.end <= h.start:
            continue
        if any(h.start < e and s < h.end for s, e in skip):
            continue
        if any(h.start < c.end and c.start < h.end for c in chosen):
            continue
        chosen.append(h)
    chosen.sort(key=lambda h: h.start)
    return [
        Finding(h.start, h.end, h.entity_type, h.score, h.normalized, h.participant_id)
        for h in chosen
    ]
