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
