"""meetguard's own finders made cheaper without changing a finding (issue #24, speed).

Each shortcut is compared with the plain computation it replaces, on text others wrote
(tests/fixtures/thirdparty: Presidio's tables, presidio-research, SLURP devel, SLUE-VoxPopuli's
tuning extract; as written, in lower case and in capitals) and on every gazetteer name in the
places where a name can and cannot match. The held-out corpora are not read.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

import pytest

from meetguard.detection import _names, _ner, _places

DATA = Path(__file__).resolve().parent / "fixtures" / "thirdparty"
_CORPORA = ("presidio_tables", "presidio_research", "slurp_devel", "slurp_devel_rest", "voxpopuli_tune")


@lru_cache(maxsize=1)
def _texts() -> tuple[str, ...]:
    out: list[str] = []
    for name in _CORPORA:
        for line in (DATA / f"{name}.jsonl").read_text(encoding="utf-8").splitlines():
            text = json.loads(line)["text"]
            out += [text, text.lower(), text.upper()]
    return tuple(dict.fromkeys(out))


def _spans(matches: object) -> list[tuple[tuple[int, int], str]]:
    return [(m.span(), m.group()) for m in matches]  # type: ignore[attr-defined]


def _names_in_context(names: list[str]) -> list[str]:
    out = []
    for n in names:
        out += [f"we flew to {n} today", f"{n}'s office", f"x{n} y", f"{n}s and {n}", f"in {n}-{n}",
                f"{n.replace(' ', '  ')}.", f"{n}@example.com {n}/x", f"({n}) {n[:-1]} {n}"]
    return out


@pytest.mark.parametrize("which", ["_pattern", "_lower_pattern"])
def test_the_gazetteer_finds_what_its_one_regex_finds(which: str) -> None:
    """Gazetteer.finditer and fullmatch (the positions where a name can begin, then only the
    names with that first letter) give the matches of the one alternation they replace."""
    gazetteer = getattr(_places, which)()
    whole = gazetteer.regex()
    names = sorted({alt.replace(r"\s+", " ").replace("\\", "") for alt in whole.pattern.split("(?:", 1)[1]
                    .rsplit(")", 1)[0].split("|")})
    assert len(names) > 500
    texts = [*_texts(), *_names_in_context(names)]
    found = 0
    for text in texts:
        want = _spans(whole.finditer(text))
        assert _spans(gazetteer.finditer(text)) == want, text
        found += len(want)
    assert found > 1000   # the comparison saw matches, not only texts without one
    for word in [*names, *(n.lower() for n in names), *(n.title() for n in names), *(n + "x" for n in names), ""]:
        assert (gazetteer.fullmatch(word) is None) == (whole.fullmatch(word) is None), word


def test_the_lower_case_name_finder_skips_only_patterns_that_cannot_match(monkeypatch: pytest.MonkeyPatch) -> None:
    """lower_names skips a pattern when the text lacks every literal its matches hold (titles,
    months, offices, "'s"): the same hits as running every pattern on every text."""
    texts = [*(t.lower() for t in _texts()), "send it to mr van rompuy", "june said she would come",
             "who is obama's wife", "president juncker spoke", "show john’s contact information"]
    fast = [_names.lower_names(t) for t in texts]
    monkeypatch.setattr(_names, "_holds", lambda low, literals: True)
    slow = [_names.lower_names(t) for t in texts]
    assert fast == slow
    assert sum(map(len, slow)) > 100


def test_the_early_exit_literals_are_in_every_alternative() -> None:
    """Every alternative of the title, month and office patterns holds one of the literals the
    early exit looks for, so a text without them has no match."""
    titles = re.fullmatch(r"\(\?:(.*)\)\\\.\?", _names._TITLE)
    assert titles is not None
    for alt in titles.group(1).split("|"):
        assert any(w in alt for w in _names._TITLE_WORDS), alt
    for alt in _names._OFFICES.split("|"):
        assert any(w in alt for w in _names._OFFICE_WORDS), alt
    assert "['’]s" in _names._POSSESSIVE.pattern and "['’]s" in _names._ANY_POSSESSIVE.pattern


def test_capitalised_name_patterns_find_nothing_without_a_capital() -> None:
    """cued_names returns at once on a text without A-Z: its three patterns need one there."""
    lows = [t for t in _texts() if t == t.lower()]
    assert len(lows) > 1000
    for rx in (_ner.CUED_NAME, _ner.NAME_BEFORE_VERB, _ner.WEAK_CUED_NAME):
        assert not any(rx.search(t) for t in lows)
    assert _ner.cued_names("thanks, Hannah") and not _ner.cued_names("thanks, hannah")


def _plain_texts() -> list[str]:
    """The corpora, the bench's kind of chat, and texts the exits must not skip: non-ASCII
    letters re's case-insensitive matching pairs with ASCII ones ("ſ" with "s", the Kelvin
    sign with "k"), capitals, a name only after a line break or a tab."""
    extra = ["see you next week", "NEXT WEEK", "next weeK", "two months ago", "tomorrow?", "Tonight!",
             "every QUARTER", "in 3 days", "back next ſunday", "next \u212aeek", "she lives in Ylöjärvi",
             "LIVES IN PARIS", "moving to Lyon", "flew from Oslo", "baſed in Bergen", "vi\u017fiting Rome",
             "thanks\nHannah", "thanks\tHannah", "ask\u00a0Nina Berg", "Hannah said so", "from Ana",
             "contact is Lena Andersson", "cc: Omar"]
    return [*_texts(), *extra]


def test_the_day_word_exit_skips_only_texts_day_re_cannot_match() -> None:
    """find_dates skips DAY_RE on an ASCII text without a day word: every DAY_RE match there
    holds one, and no skipped text has a match."""
    from meetguard.detection import _literals, _patterns

    texts = _plain_texts()
    skipped = [t for t in texts if not _literals.may_hold(t, _patterns.DAY_WORDS)]
    assert len(skipped) > 1000
    assert not any(_patterns.DAY_RE.search(t) for t in skipped)
    for t in texts:
        for m in _patterns.DAY_RE.finditer(t):
            assert not m.group().isascii() or any(w in m.group().lower() for w in _patterns.DAY_WORDS), t
    assert _patterns.find_dates("back next ſunday") and _patterns.find_dates("NEXT WEEK")


def test_the_place_verb_exit_skips_only_texts_cued_place_cannot_match() -> None:
    """find_cued_places skips CUED_PLACE on an ASCII text without one of its verbs: the same
    hits as scanning every text."""
    from meetguard.detection import _literals, _places

    texts = _plain_texts()
    skipped = [t for t in texts if not _literals.may_hold(t, _places.PLACE_VERBS)]
    assert len(skipped) > 1000
    assert not any(_places.CUED_PLACE.search(t) for t in skipped)
    found = 0
    for t in texts:
        for m in _places.CUED_PLACE.finditer(t):
            found += 1
            assert not m.group().isascii() or any(w in m.group().lower() for w in _places.PLACE_VERBS), t
    assert found > 20
    assert _places.find_cued_places("baſed in Bergen", frozenset()) and _places.find_cued_places("LIVES IN PARIS",
                                                                                                 frozenset())


def test_the_cued_name_exit_needs_a_capital_after_white_space(monkeypatch: pytest.MonkeyPatch) -> None:
    """cued_names runs CUED_NAME and WEAK_CUED_NAME only where a capital follows white space
    (their name follows the cue's \\s+): the same hits as running them on every text."""
    texts = _plain_texts()
    fast = [_ner.cued_names(t) for t in texts]
    monkeypatch.setattr(_ner, "_SPACE_UPPER", re.compile(""))   # matches every text: the plain scan
    slow = [_ner.cued_names(t) for t in texts]
    assert fast == slow
    assert sum(map(len, slow)) > 100
    assert _ner.cued_names("thanks\nHannah") and _ner.cued_names("ask\u00a0Nina Berg")
