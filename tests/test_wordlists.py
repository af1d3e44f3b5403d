"""Long word lists live as data under meetguard/data/: sorted, unique, clean lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from meetguard._wordlists import words

DATA = Path(__file__).resolve().parent.parent / "meetguard" / "data"
LISTS = sorted(DATA.glob("*.txt"))


@pytest.mark.parametrize("path", LISTS, ids=lambda p: p.name)
def test_word_list_is_sorted_unique_and_clean(path: Path) -> None:
    entries = [line for line in path.read_text(encoding="utf-8").splitlines()
               if not line.startswith("#")]
    assert entries, "an empty list"
    assert entries == sorted(set(entries)), "entries must be sorted and unique"
    assert all(e == e.strip() and e and "  " not in e for e in entries)
    assert words(path.stem) == frozenset(entries)


def test_the_word_lists_are_found() -> None:
    assert {"webvtt_sounds", "webvtt_not_names"} <= {p.stem for p in LISTS}
    assert "applause" in words("webvtt_sounds")
