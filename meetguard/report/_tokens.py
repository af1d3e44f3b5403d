"""Tokens in released text: find them, count them, highlight them (HTML-escaped)."""

from __future__ import annotations

import html
import re
from collections import Counter
from collections.abc import Iterable

__all__ = ["TOKEN", "count_tokens", "highlight", "token_type"]

# [PERSON_1], [EMAIL_ADDRESS], [PERSON_0123456789abcdef] (the default token form), the same
# in <angle> form as written or HTML-escaped (WebVTT, Teams bodies), a WebVTT voice
# <v PERSON_1> or <v [PERSON_1]>, a mask (***-**-****) and [excluded].
_TYPE = r"[A-Z][A-Z0-9]*(?:_[A-Z][A-Z0-9]*)*"
_SUFFIX = r"(?:_(?:\d+|[0-9a-f]{16}))?"
TOKEN = re.compile(
    r"(?:<|&lt;)(?:v \[?)?(?P<type>" + _TYPE + ")" + _SUFFIX + r"\]?(?:>|&gt;)"
    r"|\[(?P<sq>" + _TYPE + ")" + _SUFFIX + r"\]"
    r"|(?P<mask>\*{2,}(?:[-. /]\*+)*)"
    r"|(?P<excluded>\[excluded\])"
)


def token_type(match: re.Match[str]) -> str:
    if match.group("type") or match.group("sq"):
        return match.group("type") or match.group("sq")
    return "MASKED" if match.group("mask") else "EXCLUDED"


def count_tokens(texts: Iterable[str]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(token_type(m) for m in TOKEN.finditer(text))
    return counts


def highlight(text: str) -> str:
    """``text`` escaped for HTML, each token wrapped in ``<mark class="tok t-TYPE">``."""
    out: list[str] = []
    pos = 0
    for m in TOKEN.finditer(text):
        out.append(html.escape(text[pos:m.start()]))
        kind = token_type(m)
        out.append(f'<mark class="tok t-{kind}" title="{kind}">{html.escape(m.group(0))}</mark>')
        pos = m.end()
    out.append(html.escape(text[pos:]))
    return "".join(out)
