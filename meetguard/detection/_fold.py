"""Digits of every script, read as ASCII, at the same offsets.

``fold(text)`` replaces each character whose Unicode digit value is defined
(category ``Nd``: Arabic-Indic ``٤``, Devanagari ``४``, full-width ``４``...)
by its ASCII digit, and each other character whose NFKC form is exactly one
character by that character (full-width ``＠``, ``－``, ``ｊｏｈｎ``, the
ideographic space). Characters whose NFKC form is longer (ligatures, ``½``)
stay as they are. Every replacement is one character for one, so a span
found in the folded text is the same span in the original: nothing has to be
mapped back, and no finder can be offset by it.
"""

from __future__ import annotations

import unicodedata

__all__ = ["fold"]


class _Table(dict[int, str]):
    """``str.translate`` table computed per code point on first sight."""

    def __missing__(self, cp: int) -> str:
        ch = chr(cp)
        if unicodedata.category(ch) == "Nd":
            out = str(unicodedata.digit(ch))
        else:
            n = unicodedata.normalize("NFKC", ch)
            out = n if len(n) == 1 else ch
        self[cp] = out
        return out


_TABLE = _Table()


def fold(text: str) -> str:
    """``text`` with every digit ASCII and compatibility forms folded, same length."""
    if text.isascii():
        return text
    out = text.translate(_TABLE)
    return out if len(out) == len(text) else text
