"""The prefilters of Presidio's pattern recognizers cannot miss (issue #24, speed).

``_prefilter`` derives from each regex's parse tree a character class and a factor that every
match holds; a text without them is skipped. Here, for every pattern recognizer Presidio
predefines (English and French sets, country ones included), every text of the corpora that
holds a match of any of its patterns (compiled as Presidio compiles them) passes its
prefilters: generated chat, values as people type them in 12 countries' forms, Presidio's own
recognizer test tables, presidio-research's sentences and SLURP's spoken commands, and the
same texts in capitals and with their digits in full-width forms (folded as detection folds them).
"""

from __future__ import annotations

import dataclasses
import re
import sys
from pathlib import Path

import pytest
import regex

from meetguard.detection._fold import fold
from meetguard.detection._prefilter import digit_run, factor_filter, joinable, required_factor
from meetguard.detection._presidio import _SEP, _passing, _Rec, _recognizers, digit_runs

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from bench_thirdparty import load
from corpus import generate
from corpus_typed import generate as generate_typed


def _texts() -> list[str]:
    texts = [m.text for m in generate(600, seed=41)] + [m.text for m in generate_typed(600, seed=43)]
    for name in ("tables", "research", "slurp_devel"):
        texts += [r.text for r in load(name)]
    texts += [t.upper() for t in texts[::5]]
    texts += [t.translate({c: c + 0xFEE0 for c in range(0x30, 0x3A)}) for t in texts[::7]]
    return [fold(t) for t in dict.fromkeys(texts)]


@pytest.mark.parametrize("language", ["en", "fr"])
def test_no_text_with_a_match_is_filtered_out(language: str) -> None:
    texts = _texts()
    checked = skipped = 0
    for rec in _recognizers(language):
        r = rec.recognizer
        compiled = [regex.compile(p.regex, flags=r.global_regex_flags) for p in r.patterns]
        kept = set(_passing(rec, texts, {}, digit_runs(texts)))
        for i, text in enumerate(texts):
            if any(c.search(text) for c in compiled):
                checked += 1
                assert i in kept, (type(r).__name__, text)
        skipped += len(texts) - len(kept)
    assert checked > 1000 and skipped > 10 * checked   # it filters, and it was tested on matches


@pytest.mark.parametrize(("pattern", "inside", "outside"), [
    (r"\b\d{3}-\d{2}-\d{4}\b", "ssn 123-45-6789", "call 123 45 6789"),
    (r"\b[A-Z]{2}\d{2}[A-Z0-9]{4,30}\b", "iban GB82WEST12345698765432", "ab1 cd2"),
    (r"(?:ab|cd)x{2,5}\d{3}", "cdxxx123", "cdx123 abxx12"),
    (r"\b(\d{5})(?:-\d{4})?\b", "zip 90210", "1234 5678"),
    # a run goes on with the first character of what follows it (Presidio's URL: a dot, then a TLD)
    (r"[a-z0-9.\-]{1,63}[.](?:(?:com)|(?:info)|(?:org))\b", "see example.info", "done. next, 3.5 days"),
])
def test_a_factor_is_held_by_every_match(pattern: str, inside: str, outside: str) -> None:
    factor = required_factor(pattern)
    assert factor is not None
    rx = re.compile(factor, re.IGNORECASE | re.DOTALL)
    assert re.search(pattern, inside) and rx.search(inside)
    assert not rx.search(outside)


@pytest.mark.parametrize("pattern", [r"\w+", r"(?:a|\d*)", r"x?", r"[^a]+", r".{3}"])
def test_no_factor_where_a_match_needs_nothing_known(pattern: str) -> None:
    assert required_factor(pattern) is None
    assert factor_filter([pattern, r"\d{4}"]) is None     # one unknown: no filter at all


def test_a_recognizer_without_patterns_is_never_filtered() -> None:
    assert _passing(_Rec(object(), ()), ["a", "", "1"], {}, [0, 0, 1]) == [0, 1, 2]


@pytest.mark.parametrize(("pattern", "flags", "alike"), [
    (r"(?<![\w-])\d{5}(?!\w)", 0, True),           # looks at one character that is no separator
    (r"\b\d{4}\b", 0, True),
    (r"^\d{4}$", re.MULTILINE, True),
    (r"^\d{4}$", 0, False),                        # without MULTILINE: the joined text's ends only
    (r"\A\d{4}", re.MULTILINE, False),
    (r"\d{4}(?!\s)", 0, False),                    # alone at the end: nothing follows; joined: "\n"
    (r"\b((?=.*?[0-9]{4})[\w]{10})\b", re.DOTALL, False),   # sees the next text's digits
    (r"(?<=\bclaim\s*)\d{6}", 0, False),
    (r"(\d)(?=\1)", 0, False),
])
def test_joinable_when_no_lookaround_sees_the_separator(pattern: str, flags: int, alike: bool) -> None:
    assert joinable(pattern, _SEP, flags) is alike
    if not alike:
        return
    texts = ["12345", "x 67890", "ab-12345 c", "1234"]
    one = regex.compile(pattern, flags)
    joined = _SEP.join(texts)
    starts = [sum(len(t) + len(_SEP) for t in texts[:k]) for k in range(len(texts))]
    alone = [(starts[k] + m.start(), starts[k] + m.end()) for k, t in enumerate(texts) for m in one.finditer(t)]
    assert alone and [m.span() for m in one.finditer(joined)] == alone


def test_a_factor_that_begins_with_another_is_left_out() -> None:
    """``p`` then a regex of its own holds a match of ``p``: ``p|pr`` is searched as ``p``."""
    from meetguard.detection._prefilter import _shortest

    assert _shortest(["[A-Z][0-9]", "[A-Z][0-9][0-9]", "x[A-Z]", "[A-Z][0-9]"]) == ["[A-Z][0-9]", "x[A-Z]"]
    assert _shortest(["a|b", "a|bc"]) == ["a|b", "a|bc"]   # '|' outside a group: no prefix reading
    assert _shortest(["\\d", "\\d\\d", "\\"]) == ["\\d", "\\"]
    assert _shortest(["(?:a|b)", "(?:a|b)c", "(?:a"]) == ["(?:a|b)", "(?:a"]
    assert _shortest(["[|]", "[|]x", "[^]|]", "[^]|]y"]) == ["[|]", "[^]|]"]


@pytest.mark.parametrize(("pattern", "run"), [
    (r"\b\d{3}-\d{2}-\d{4}\b", 4), (r"[A-Z]\d{7}", 7), (r"(?:1|3|4|5|6)(?:[0-5]|[\d])[\d][\d]", 4),
    (r"(\d{4}|\d{2})x", 2), (r"[0-9]{2,5}", 2), (r"(?:\d\d)?\d", 1), (r"\d(?=x)\d", 1),
    (r"\d*", 0), (r"abc", 0), (r"[^a]\d", 1), (r"\d{3}[\s-]?\d{3}", 3), (r"(\d)\1\d", 1),
])
def test_digit_run_is_held_by_every_match(pattern: str, run: int) -> None:
    assert digit_run(pattern) == run
    compiled = re.compile(pattern)
    samples = ["12 345-67-8901 x", "A1234567 and 99x", "1234x 5x 77 007", "3399 1a2", "９９x12", "123 456 123-456"]
    for text in samples:
        for m in compiled.finditer(text):
            if m.group():
                assert digit_runs([m.group()])[0] >= run, (pattern, m.group())


def test_digit_runs_count_every_decimal_digit() -> None:
    assert digit_runs(["", "no digits", "a1b22c333", "٣٤٥ and ９９", "1 2 3"]) == [0, 0, 3, 3, 1]


@pytest.mark.parametrize("language", ["en", "fr"])
def test_the_digit_gate_drops_only_what_the_prefilters_drop(language: str) -> None:
    """The gate (``_Rec.digits``) against what it replaces: the prefilters searched on every text."""
    texts = _texts()
    runs = digit_runs(texts)
    gated = 0
    for rec in _recognizers(language):
        plain = dataclasses.replace(rec, digits=0)
        assert _passing(rec, texts, {}, runs) == _passing(plain, texts, {}, runs), type(rec.recognizer).__name__
        gated += rec.digits > 0
    assert gated > 40
