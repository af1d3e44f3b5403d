"""Handles: how people are named in chat besides their display names.

* :func:`handle_forms` adds to a participant's name forms the handles people
  type for them: ``firstlast``, ``first.last``, ``first_last``, ``first-last``,
  ``flast`` and the local part of an e-mail address given as a name. The
  roster then matches every form with or without a leading ``@``, so
  ``@micah``, ``@micahstubbs`` and ``@Yasaman`` are the participant's name.
* :func:`find_handles` finds the ``@handle`` of anyone else (a third party's
  Twitter handle, an outsider tagged in chat) as a PERSON: never inside an
  e-mail address or a URL (``a@b.com``, ``medium.com/@x``), never a code
  annotation or an npm scope (``@property``, ``@Override``, ``@types/node``,
  anything in backticks), never Slack's ``@here``/``@channel``/``@everyone``,
  never a time or a number (``@5pm``, ``@10``).
"""

from __future__ import annotations

import re

from .._wordlists import words
from ._hits import RANK_CUED, Hit

__all__ = ["find_handles", "handle_forms"]

_EMAIL = re.compile(r"([^\s@<>()]+)@[^\s@<>()]+\.[A-Za-z]{2,}")
_LETTERS = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")
_MIN = 4
_MIN_JOINED = 6

# @word that is not a person: group mentions, code annotations and CSS at-rules.
_NOT_HANDLES = words("handles_not_persons")
_TLDS = frozenset(["com", "org", "net", "io", "dev", "edu", "gov", "co", "uk", "de", "fr", "es", "it", "nl", "be",
                   "ch", "ca", "au", "jp", "cn", "app", "ai", "me", "info", "biz", "us", "eu"])
# "@name": after a start, a space or an opening bracket or quote; letters first.
_HANDLE = re.compile(r"(?<![\w@./:+%&=#`~-])@([^\W\d][\w.-]{0,38}[\w]|[^\W\d])(?![\w@/(`])")
_CODE_SPAN = re.compile(r"`[^`\n]{0,500}`")


def handle_forms(name: str) -> set[str]:
    """The handles people type for ``name`` (lower case; the roster matches any case)."""
    forms: set[str] = set()
    email = _EMAIL.fullmatch(name.strip())
    if email:
        local = email.group(1).casefold()
        if len(local) >= _MIN and any(c.isalpha() for c in local):
            forms.add(local)
        return forms
    words = [w.casefold() for w in _LETTERS.findall(name.replace(",", " "))]
    if "," in name and len(words) == 2:
        words = [words[1], words[0]]              # "Stubbs, Micah" is Micah Stubbs
    if len(words) < 2:
        return forms
    first, last = words[0], words[-1]
    forms.update(f"{first}{sep}{last}" for sep in (".", "_", "-"))
    # run together, a handle can spell a word ("Jo Li" -> "joli"): only from six letters
    forms.update(f for f in (first + last, first[0] + last) if len(f) >= _MIN_JOINED)
    return {f for f in forms if len(f) >= _MIN}


def _is_domain(handle: str) -> bool:
    parts = handle.casefold().split(".")
    return len(parts) > 1 and parts[-1] in _TLDS


def find_handles(text: str) -> list[Hit]:
    """``@handle`` of anyone as PERSON, outside code spans, e-mail addresses and URLs."""
    if "@" not in text:
        return []
    code = [(m.start(), m.end()) for m in _CODE_SPAN.finditer(text)]
    hits: list[Hit] = []
    for m in _HANDLE.finditer(text):
        handle = m.group(1).rstrip(".-")
        if handle.casefold() in _NOT_HANDLES or _is_domain(handle) or not any(c.isalpha() for c in handle):
            continue
        if any(s <= m.start() < e for s, e in code):
            continue
        end = m.start() + 1 + len(handle)
        hits.append(Hit(m.start(), end, "PERSON", 0.85, "@" + handle.casefold(), RANK_CUED))
    return hits
