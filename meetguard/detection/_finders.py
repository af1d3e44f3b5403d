"""One protocol for every finder, and the registry that runs them.

A finder turns a batch of texts into candidate :class:`Hit` lists, one per
text; :func:`resolve` then turns candidates into findings. Patterns,
validators, the roster, spoken forms and Presidio's pattern recognizers are
finders; spaCy NER is added by the engine on top. Without spaCy,
``default_registry().findings(...)`` (in ``_defaults``) runs everything but NER, so the
pattern, checksum and overlap logic is testable in milliseconds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from .._model import Finding
from ._floor import drop_calendar, floor_piece_kept
from ._fold import fold
from ._hits import Hit, resolve
from ._phones import DEFAULT_REGIONS
from ._roster import RosterMatcher
from ._types import Roster, TextUnit, masked


@dataclass(frozen=True)
class ScanContext:
    """What a finder may need beyond the text: the roster and the phone regions."""

    roster: RosterMatcher = field(default_factory=lambda: RosterMatcher.build(Roster()))
    regions: tuple[str, ...] = DEFAULT_REGIONS
    spoken: bool = False


@runtime_checkable
class Finder(Protocol):
    """Anything that finds candidate values in texts."""

    @property
    def name(self) -> str: ...

    @property
    def entity_types(self) -> frozenset[str]: ...

    def find_batch(self, texts: Sequence[str], ctx: ScanContext) -> list[list[Hit]]:
        """One candidate list per text (same order, same length)."""
        ...


@dataclass(frozen=True)
class TextFinder:
    """A finder from a function of one text (and the context)."""

    name: str
    entity_types: frozenset[str]
    fn: Callable[[str, ScanContext], list[Hit]]
    warm: Callable[[], None] | None = None   # load what the first text would (FinderRegistry.warm)

    def find_batch(self, texts: Sequence[str], ctx: ScanContext) -> list[list[Hit]]:
        return [self.fn(t, ctx) for t in texts]


@dataclass(frozen=True)
class BatchFinder:
    """A finder over whole batches that ignores the context (Presidio's recognizers)."""

    name: str
    entity_types: frozenset[str]
    fn: Callable[[Sequence[str]], list[list[Hit]]]
    warm: Callable[[], None] | None = None   # load or compile what the first batch would

    def find_batch(self, texts: Sequence[str], ctx: ScanContext) -> list[list[Hit]]:
        return self.fn(texts)


class FinderRegistry:
    """An ordered set of finders; :meth:`default` holds meetguard's own."""

    def __init__(self, finders: Sequence[Finder] = ()) -> None:
        self._finders: list[Finder] = list(finders)

    def add(self, finder: Finder) -> None:
        if not isinstance(finder, Finder):
            raise TypeError("a finder needs name, entity_types and find_batch")
        self._finders.append(finder)

    @property
    def finders(self) -> tuple[Finder, ...]:
        return tuple(self._finders)

    @property
    def entity_types(self) -> frozenset[str]:
        return frozenset(e for f in self._finders for e in f.entity_types)

    def warm(self) -> None:
        """Whatever a finder would load or compile on its first batch, now."""
        for finder in self._finders:
            warm = getattr(finder, "warm", None)
            if callable(warm):
                warm()

    def scan(self, texts: Sequence[str], ctx: ScanContext) -> list[list[Hit]]:
        """Candidates per text from every finder (spoken texts: ``ctx.spoken``)."""
        out: list[list[Hit]] = [[] for _ in texts]
        for finder in self._finders:
            for acc, hits in zip(out, finder.find_batch(texts, ctx), strict=True):
                acc.extend(hits)
        return out

    def findings(self, units: Sequence[TextUnit], roster: Roster | None = None) -> list[list[Finding]]:
        """Resolved findings per unit from these finders alone (no NER)."""
        roster = roster or Roster()
        matcher = RosterMatcher.build(roster)
        regions = roster.regions or DEFAULT_REGIONS
        from ._presidio import PhoneFloor

        phones = PhoneFloor()
        out: list[list[Finding]] = []
        for u in units:
            text = fold(masked(u))
            hits = [drop_calendar(text, self.scan([text], ScanContext(matcher, regions, u.spoken))[0])]
            phones.fill([text], hits, [((u.text, u.skip),)])
            out.append(resolve(u.text, hits[0], u.skip, floor_piece_kept))
        return out
