"""Early exits that cannot miss: a text that holds none of the words every match of a
case-insensitive pattern holds skips that pattern's scan (issue #24, speed).

In an ASCII text, case-insensitive matching of ASCII letters is lower-casing, so the test is
substrings of ``text.lower()``. Any other text is scanned: ``re``'s case-insensitive matching
knows more letter pairs than ``str.lower`` ("ſ" matches "s", "K" the Kelvin sign matches "k").
tests/test_detection_finders_cost.py compares each exit with the plain scan.
"""

from __future__ import annotations


def may_hold(text: str, literals: tuple[str, ...]) -> bool:
    """False only when ``text`` is ASCII and its lower case holds none of ``literals``
    (lower-case ASCII words)."""
    return not text.isascii() or any(map(text.lower().__contains__, literals))
