"""Prefilters that provably cannot miss: the characters a regex cannot match without.

``required_class(pattern)`` reads the regex's parse tree (``re._parser``) and returns a
character class such that *every* match of the pattern contains at least one character of
it, or ``None`` when it cannot tell (a branch with a free alternative, ``\\w``, a negated
class, syntax ``re`` does not parse). A sequence needs what any one of its required items
needs (the smallest is taken); a branch needs the union of what its alternatives need; a
repeat needs its body's class only when it repeats at least once; lookarounds need nothing.
A text with no character of the class cannot hold a match, so skipping it loses nothing.
Case is ignored (Presidio compiles with IGNORECASE), so letters count in both cases.

``required_factor(pattern)`` goes further: a regex every match of the pattern contains a
match of (``None``: unknown). Adjacent items of a sequence that always match one character
each (literals, classes, fixed repeats of them; zero-width assertions between them change no
adjacency) form a run that every match holds verbatim (a positive lookaround's content, the
text holds); a repeat ``X{n,m}`` with ``n >= 1``
ends the run before it with ``X{n}`` and starts the next with ``X{n}``; a branch needs one of
its alternatives' factors. The longest run is taken. Each character becomes a class at least
as wide as the original (a negated class, ``\\s``, ``\\w``, ``.`` become ``.``), compiled with
IGNORECASE and DOTALL: whatever flags the pattern carries, the factor matches at least where
the pattern does.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

__all__ = ["digit_run", "factor_filter", "joinable", "prefilter", "required_class", "required_factor"]

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


_GLOBAL_FLAGS = re.compile(r"\(\?([aiLmsux]+)\)")


def _parse(pattern: str, flags: int = 0) -> Any:
    """The parse tree, or ``None``. Global flags later than the start (``\\b(?i)...``, which
    the ``regex`` module Presidio uses accepts and ``re`` does not) are read as if at the start."""
    parser = _parser()
    for attempt in (pattern, None):
        if attempt is None:
            found = "".join(_GLOBAL_FLAGS.findall(pattern))
            if not found:
                return None
            attempt = f"(?{''.join(sorted(set(found)))})" + _GLOBAL_FLAGS.sub("", pattern)
        try:
            return parser.parse(attempt, flags & re.VERBOSE)
        except (re.error, RecursionError, OverflowError, ValueError, TypeError):
            continue
    return None


def required_class(pattern: str) -> frozenset[str] | None:
    """Characters one of which every match of ``pattern`` contains (``None``: unknown)."""
    parser = _parser()
    tree = _parse(pattern)
    if tree is None:
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


# --- required factors ------------------------------------------------------------------------
_RUN_CAP = 24   # atoms of a run kept (a prefix of a required run is required too)


def _atom_class(items: Iterable[tuple[Any, Any]], c: Any) -> str:
    parts: list[str] = []
    for op, av in items:
        if op is c.LITERAL:
            parts.append(re.escape(chr(av)))
        elif op is c.RANGE:
            parts.append(f"{re.escape(chr(av[0]))}-{re.escape(chr(av[1]))}")
        elif op is c.CATEGORY and av is c.CATEGORY_DIGIT:
            parts.append(r"\d")
        else:
            return "."   # negated, \s, \w, ...: any character (wider, so still necessary)
    return "[" + "".join(parts) + "]" if parts else "."


def _atom(op: Any, av: Any, c: Any) -> str | None:
    """One character's class, when the item always matches exactly one character."""
    if op is c.LITERAL:
        return re.escape(chr(av))
    if op is c.NOT_LITERAL or op is c.ANY:
        return "."
    if op is c.IN:
        return _atom_class(av, c)
    return None


def _zero_width(op: Any, c: Any) -> bool:
    return op is c.AT or op is c.ASSERT or op is c.ASSERT_NOT


def _repeat(op: Any, c: Any) -> bool:
    return op in (c.MAX_REPEAT, c.MIN_REPEAT, getattr(c, "POSSESSIVE_REPEAT", None))


def _fixed(seq: Any, c: Any) -> list[str] | None:
    """The classes of a sequence that always matches the same number of characters, in order."""
    out: list[str] = []
    for op, av in seq:
        atom = _atom(op, av, c)
        if atom is not None:
            out.append(atom)
            continue
        if _zero_width(op, c):
            continue
        got: list[str] | None = None
        if op is c.SUBPATTERN:
            got = _fixed(av[-1], c)
        elif op is c.ATOMIC_GROUP:
            got = _fixed(av, c)
        elif _repeat(op, c) and av[0] == av[1] and av[0] <= _RUN_CAP:
            body = _fixed(av[2], c)
            got = None if body is None else body * av[0]
        elif op is c.BRANCH:
            alts = [_fixed(a, c) for a in av[1]]
            if all(a is not None for a in alts) and len({len(a) for a in alts if a is not None}) == 1:
                cols = zip(*[a for a in alts if a is not None], strict=True)
                got = [col[0] if len(set(col)) == 1 else "(?:" + "|".join(sorted(set(col))) + ")" for col in cols]
        if got is None:
            return None
        out += got
    return out


_Factor = tuple[int, str]   # (selectivity: characters that are not '.', regex source)


def _run_factor(run: list[str]) -> _Factor | None:
    run = run[:_RUN_CAP]
    score = sum(a != "." for a in run)
    return (score, "".join(run)) if score else None


def _best(seq: Any, c: Any) -> _Factor | None:
    found: list[_Factor] = []
    run: list[str] = []

    def cut(new: list[str]) -> None:
        nonlocal run
        got = _run_factor(run)
        if got is not None:
            found.append(got)
        run = new

    for op, av in seq:
        atom = _atom(op, av, c)
        if atom is not None:
            run.append(atom)
            continue
        if op is c.ASSERT:   # a positive lookaround: the text holds a match of its content
            ahead = _best(av[1], c)
            if ahead is not None:
                found.append(ahead)
        if _zero_width(op, c):
            continue
        fixed = _fixed([(op, av)], c)
        if fixed is not None:
            run += fixed
            body = av[-1] if op is c.SUBPATTERN else av if op is c.ATOMIC_GROUP else \
                av[2] if _repeat(op, c) and av[0] >= 1 else None
            inner_fixed = _best(body, c) if body is not None else None
            if inner_fixed is not None:   # what a lookaround inside it needs
                found.append(inner_fixed)
            continue
        inner: _Factor | None = None
        if _repeat(op, c):
            lo, _hi, body = av
            head = _fixed(body, c) if lo >= 1 else None
            if head is not None:
                head = (head * lo)[:_RUN_CAP]
                run += head
                cut(list(head))   # X{n,m}: the run before ends with X{n}, the next starts with it
                continue
            _extend(run, op, av, c)
            cut([])
            inner = _best(body, c) if lo >= 1 else None
        else:
            _extend(run, op, av, c)
            cut([])
            if op is c.SUBPATTERN:
                inner = _best(av[-1], c)
            elif op is c.ATOMIC_GROUP:
                inner = _best(av, c)
            elif op is c.BRANCH:
                alts = [_best(a, c) for a in av[1]]
                if all(a is not None for a in alts):
                    inner = (min(a[0] for a in alts if a is not None),
                             "(?:" + "|".join(_shortest(a[1] for a in alts if a is not None)) + ")")
        if inner is not None:
            found.append(inner)
    cut([])
    return max(found, key=lambda f: f[0]) if found else None


def _extend(run: list[str], op: Any, av: Any, c: Any) -> None:
    """A run of fixed characters goes on with the first character of the item after it."""
    first = _first(op, av, c) if run else None
    if first is not None:
        run.append(first)


def _first(op: Any, av: Any, c: Any) -> str | None:
    """The class of the first character of every match of an item that never matches empty
    (``None``: unknown, or it may match empty): an item of varying length after a run of
    fixed characters ("[.](?:com|net|...)") extends the run by one character."""
    atom = _atom(op, av, c)
    if atom is not None:
        return atom
    if op is c.SUBPATTERN:
        return _first_of(av[-1], c)
    if op is c.ATOMIC_GROUP:
        return _first_of(av, c)
    if _repeat(op, c):
        return _first_of(av[2], c) if av[0] >= 1 else None
    if op is c.BRANCH:
        firsts = [_first_of(a, c) for a in av[1]]
        if not firsts or any(f is None for f in firsts):
            return None
        alts = sorted({f for f in firsts if f is not None})
        return alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"
    return None


def _first_of(seq: Any, c: Any) -> str | None:
    for op, av in seq:
        if not _zero_width(op, c):
            return _first(op, av, c)
    return None


def required_factor(pattern: str, flags: int = 0) -> str | None:
    """A regex (source, for IGNORECASE | DOTALL) that every match of ``pattern`` holds a match
    of; ``None`` when none is known. ``flags``: the pattern's own (VERBOSE changes parsing)."""
    parser = _parser()
    tree = _parse(pattern, flags)
    if tree is None:
        return None
    got = _best(tree, parser)
    return None if got is None else got[1]


def factor_filter(patterns: Iterable[str], flags: int = 0) -> re.Pattern[str] | None:
    """One regex that every match of any of ``patterns`` holds a match of (``None``: unknown)."""
    parts: list[str] = []
    for p in patterns:
        got = required_factor(p, flags)
        if got is None:
            return None
        parts.append(got)
    if not parts:
        return None
    try:
        return re.compile("|".join(_shortest(parts)), re.IGNORECASE | re.DOTALL)
    except re.error:
        return None


def _shortest(parts: Iterable[str]) -> list[str]:
    """The factors without those that begin with another one: a factor is a concatenation (no
    '|' outside a group), so where ``q`` is ``p`` followed by a regex ``r`` of its own, every match
    of ``q`` holds a match of ``p``, and a text holds a match of ``p|q`` exactly when it holds one
    of ``p`` (``[A-Z][0-9]{3}`` for the eight lengths of a driving licence: one test, not eight)."""
    unique = list(dict.fromkeys(parts))
    return [q for q in unique if not any(p != q and q.startswith(p) and _regex(p) and _regex(q[len(p):])
                                         for p in unique)]


def _regex(source: str) -> bool:
    """``source`` compiles as a regex on its own, and has no '|' outside a group."""
    try:
        _parser().parse(source)
    except (re.error, RecursionError, OverflowError, ValueError, TypeError):
        return False
    depth, k, in_class = 0, 0, False
    while k < len(source):
        ch = source[k]
        if ch == "\\":
            k += 1
        elif in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
            k += source[k + 1:k + 2] == "^"
            k += source[k + 1:k + 2] == "]"   # "[]...]", "[^]...]": a first ']' is a member
        elif ch in "()":
            depth += 1 if ch == "(" else -1
        elif ch == "|" and depth == 0:
            return False
        k += 1
    return bool(source)


# --- joining texts ----------------------------------------------------------------------------
def _in_class(items: Iterable[tuple[Any, Any]], ch: str, c: Any) -> bool | None:
    """Whether a class matches ``ch`` (a character without case); ``None``: cannot tell."""
    code, negate, hit = ord(ch), False, False
    for op, av in items:
        if op is c.NEGATE:
            negate = True
        elif op is c.LITERAL:
            hit = hit or av == code
        elif op is c.RANGE:
            hit = hit or av[0] <= code <= av[1]
        elif op is c.CATEGORY:
            where = {c.CATEGORY_DIGIT: ch.isdecimal(), c.CATEGORY_NOT_DIGIT: not ch.isdecimal(),
                     c.CATEGORY_SPACE: ch.isspace(), c.CATEGORY_NOT_SPACE: not ch.isspace(),
                     c.CATEGORY_WORD: ch.isalnum() or ch == "_",
                     c.CATEGORY_NOT_WORD: not (ch.isalnum() or ch == "_")}.get(av)
            if where is None:
                return None
            hit = hit or where
        else:
            return None
    return hit != negate


def _matches_one_of(op: Any, av: Any, chars: str, c: Any) -> bool | None:
    if op is c.ANY:
        return True    # DOTALL (Presidio's default) or not: '\x00' is matched
    if op is c.LITERAL:
        return chr(av) in chars
    if op is c.NOT_LITERAL:
        return any(ch != chr(av) for ch in chars)
    got = [_in_class(av, ch, c) for ch in chars]
    return None if None in got else any(got)


def _sees(seq: Any, chars: str, c: Any, inside: bool, multiline: bool = True) -> bool | None:
    """Whether a lookaround in ``seq`` (``inside``: ``seq`` is in one) can match one of ``chars``,
    or an anchor answers otherwise inside joined texts (``\\A``, ``\\Z``; ``^`` and ``$``
    without MULTILINE); ``None``: cannot tell."""
    for op, av in seq:
        got: bool | None = False
        if op in (c.LITERAL, c.NOT_LITERAL, c.ANY, c.IN):
            got = _matches_one_of(op, av, chars, c) if inside else False
        elif op is c.ASSERT or op is c.ASSERT_NOT:
            got = _sees(av[1], chars, c, True, multiline)
        elif op is c.AT:
            got = av in (c.AT_BEGINNING_STRING, c.AT_END_STRING) or (
                not multiline and av in (c.AT_BEGINNING, c.AT_END))
        elif op is c.SUBPATTERN:
            got = _sees(av[-1], chars, c, inside, multiline)
        elif op is c.ATOMIC_GROUP:
            got = _sees(av, chars, c, inside, multiline)
        elif _repeat(op, c):
            got = _sees(av[2], chars, c, inside, multiline)
        elif op is c.BRANCH:
            subs = [_sees(a, chars, c, inside, multiline) for a in av[1]]
            got = None if None in subs else any(subs)
        elif op is c.GROUPREF_EXISTS:
            subs = [_sees(a, chars, c, inside, multiline) for a in av[1:] if a is not None]
            got = None if None in subs else any(subs)
        elif op is c.GROUPREF:
            got = None if inside else False   # inside a lookaround: what it repeats is unknown here
        else:
            return None
        if got is not False:
            return got
    return False


def joinable(pattern: str, separator: str, flags: int = 0) -> bool:
    """Whether ``pattern`` finds the same matches inside a text alone and inside texts joined
    with ``separator`` (matches that reach into the separator aside, which the caller reads
    again alone). Only a lookaround sees past a match; one that can match no character of the
    separator sees there what it sees at the text's end or start (nothing it can match), so
    its answer is the same. ``\\b``, ``^`` and ``$`` (MULTILINE) answer alike at a line break."""
    parser = _parser()
    tree = _parse(pattern, flags)
    if tree is None:
        return False
    multiline = bool((flags | tree.state.flags) & re.MULTILINE)
    return _sees(tree, separator, parser, False, multiline) is False


# --- required digit runs ---------------------------------------------------------------------
# ``digit_run(pattern)``: a length n such that every match of the pattern holds n decimal digits
# in a row (0: unknown). An item that matches only decimal digits (a digit literal, a class of
# digits only, ``\d``; a group, branch or repeat of such items) and at least w of them extends
# the run of the items before it by w; any other item (a zero-width assertion included) ends the
# run, and offers what its own content guarantees. A text whose longest run of decimal digits
# (``str.isdecimal``, Unicode's Nd, which ``\d`` and [0-9] never exceed) is shorter holds no match.


def _digit_class(items: Iterable[tuple[Any, Any]], c: Any) -> bool:
    for op, av in items:
        if op is c.LITERAL and chr(av).isdecimal():
            continue
        if op is c.RANGE and all(chr(x).isdecimal() for x in range(av[0], av[1] + 1)):
            continue
        if op is c.CATEGORY and av is c.CATEGORY_DIGIT:
            continue
        return False   # NEGATE, letters, \w, ...
    return True


def _digits_only(op: Any, av: Any, c: Any) -> int | None:
    """The fewest characters the item matches when it matches decimal digits only; else ``None``."""
    if op is c.LITERAL:
        return 1 if chr(av).isdecimal() else None
    if op is c.IN:
        return 1 if av and _digit_class(av, c) else None
    if op is c.SUBPATTERN or op is c.ATOMIC_GROUP:
        return _seq_digits_only(av[-1] if op is c.SUBPATTERN else av, c)
    if op is c.BRANCH:
        widths = [_seq_digits_only(alt, c) for alt in av[1]]
        return None if any(w is None for w in widths) else min(w for w in widths if w is not None)
    if _repeat(op, c):
        lo, _hi, body = av
        w = _seq_digits_only(body, c)
        return None if w is None else lo * w
    return None


def _seq_digits_only(seq: Any, c: Any) -> int | None:
    total = 0
    for op, av in seq:
        w = _digits_only(op, av, c)
        if w is None:
            return None
        total += w
    return total


def _inner_run(op: Any, av: Any, c: Any) -> int:
    """What an item that is not digits only guarantees inside itself."""
    if op is c.SUBPATTERN:
        return _seq_run(av[-1], c)
    if op is c.ATOMIC_GROUP:
        return _seq_run(av, c)
    if op is c.BRANCH:
        return min((_seq_run(alt, c) for alt in av[1]), default=0)
    if _repeat(op, c):
        lo, _hi, body = av
        return _seq_run(body, c) if lo >= 1 else 0
    return 0


def _seq_run(seq: Any, c: Any) -> int:
    best = run = 0
    for op, av in seq:
        w = _digits_only(op, av, c)
        if w is None:
            best = max(best, run, _inner_run(op, av, c))
            run = 0
        else:
            run += w
    return max(best, run)


def digit_run(pattern: str, flags: int = 0) -> int:
    """Decimal digits in a row that every match of ``pattern`` holds (0: none known)."""
    tree = _parse(pattern, flags)
    return 0 if tree is None else _seq_run(tree, _parser())
