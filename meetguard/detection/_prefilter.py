"""Prefilters that provably cannot miss: the characters a regex cannot match without.

``required_class(pattern)`` reads the regex's parse tree (``re._parser``) and returns a
character class such that *every* match of the pattern contains at least one character of
it, or ``None`` when it cannot tell (a branch with a free alternative, ``\\w``, a negated
class, syntax ``re`` does not parse). A sequence needs what any one of its required items
needs (the smallest is taken); a branch needs the union of what its alternatives need; a
repeat needs its body's class only when it repeats at least once; lookarounds need nothing.
A text with no character of the class cannot hold a match, so skipping it loses nothing.
Case is ignored (Presidio compiles with IGNORECASE), so letters count in both cases.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

__all__ = ["prefilter", "required_class"]

_BROAD = 64   # a class of more characters than this filters nothing worth the check
_DIGITS = frozenset("0123456789")


def _parser() -> Any:
    import re._parser as parser  # the stdlib's own regex parser (3.11+)

    return parser


def _class_chars(items: Iterable[tuple[Any, Any]], consts: Any) -> frozenset[str] | None:
    chars: set[str] = set()
    for op, av in items:
        if op is consts.LITERAL:
            chars.add(chr(av))
        elif op is consts.RANGE:
            lo, hi = av
            if hi - lo > _BROAD:
                return None
            chars.update(chr(c) for c in range(lo, hi + 1))
        elif op is consts.CATEGORY and av is consts.CATEGORY_DIGIT:
            chars.update(_DIGITS)   # on folded text (ASCII digits); see _fold
        else:
            return None   # NEGATE, \w, \s, ...: too broad to prove anything
    return frozenset(chars)


def _need(seq: Any, consts: Any) -> frozenset[str] | None:
    best: frozenset[str] | None = None
    for op, av in seq:
        got: frozenset[str] | None = None
        if op is consts.LITERAL:
            got = frozenset(chr(av))
        elif op is consts.IN:
            got = _class_chars(av, consts)
        elif op is consts.SUBPATTERN:
            got = _need(av[-1], consts)
        elif op in (consts.MAX_REPEAT, consts.MIN_REPEAT, getattr(consts, "POSSESSIVE_REPEAT", None)):
            lo, _hi, body = av
            got = _need(body, consts) if lo >= 1 else None
        elif op is consts.ATOMIC_GROUP:
            got = _need(av, consts)
        elif op is consts.BRANCH:
            got = _branch(av[1], consts)
        if got is not None and (best is None or len(got) < len(best)):
            best = got
    return best


def _branch(alternatives: Iterable[Any], consts: Any) -> frozenset[str] | None:
    union: set[str] = set()
    for alt in alternatives:
        got = _need(alt, consts)
        if got is None:
            return None
        union |= got
    return frozenset(union)


def required_class(pattern: str) -> frozenset[str] | None:
    """Characters one of which every match of ``pattern`` contains (``None``: unknown)."""
    parser = _parser()
    try:
        tree = parser.parse(pattern, re.IGNORECASE)
    except (re.error, RecursionError, OverflowError, ValueError, TypeError):
        return None
    need = _need(tree, parser)
    if need is None:
        return None
    cased = {c.lower() for c in need} | {c.upper() for c in need}
    return frozenset(cased) if len(cased) <= 2 * _BROAD else None


def prefilter(patterns: Iterable[str]) -> re.Pattern[str] | None:
    """One class every pattern needs a character of (their union), compiled; ``None``: none."""
    union: set[str] = set()
    for p in patterns:
        need = required_class(p)
        if need is None:
            return None
        union |= need
    if not union:
        return None
    return re.compile("[" + "".join(re.escape(c) for c in sorted(union)) + "]")
