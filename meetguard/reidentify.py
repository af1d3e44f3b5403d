"""Restore pseudonyms in text that came back from an AI service (docs/reidentify.md).

:class:`Restorer` knows one meeting's map (``[PERSON_1]`` or ``<PERSON_1>`` -> value) and finds a
token however an LLM wrote it (``<PERSON_1>``, ``PERSON_1``, ``[PERSON_1]``,
``<person_1>``, ``Person 1``); the type and the number must match exactly
(``PERSON_1`` never becomes ``PERSON_12``'s value). A token not in the map stays.

:class:`StreamRestorer` is the streaming form, pure and I/O-free: ``feed`` a
chunk, get what may be emitted now; a suffix that could still grow into a token
is held back until it cannot; ``flush`` at the end. What was emitted is never
rewritten.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .audit import AuditSink
    from .vault import Vault

__all__ = ["Restorer", "StreamRestorer", "reidentify_meeting"]

_TOKEN = re.compile(r"^(?:<([A-Z][A-Z0-9_]*?)_([0-9a-f]+)>|\[([A-Z][A-Z0-9_]*?)_([0-9a-f]+)\])$")
_WORD = re.compile(r"[A-Za-z0-9_]")
_MAX_NUMBER = 24


def _key(entity: str, number: str) -> tuple[str, str]:
    return re.sub(r"[ _]+", "_", entity.upper()), number.lower()


class Restorer:
    """One meeting's tokens and how to find them in text."""

    def __init__(self, tokens: Mapping[str, str]) -> None:
        self.values: dict[tuple[str, str], str] = {}
        for token, value in tokens.items():
            m = _TOKEN.match(token)
            if m:
                self.values[_key(m.group(1) or m.group(3), m.group(2) or m.group(4))] = value
        types = sorted({t for t, _ in self.values}, key=len, reverse=True)
        self.types = tuple(t.replace("_", " ") for t in types)   # canonical, separators as spaces
        alts = "|".join(r"[_ ]".join(map(re.escape, t.split("_"))) for t in types) or r"(?!x)x"
        self.pattern = re.compile(
            r"(?<![A-Za-z0-9_])(?P<open>[<\[]?)(?P<type>" + alts + r")[_ ](?P<num>[0-9a-fA-F]{1,24})"
            r"(?P<close>[>\]]?)(?![A-Za-z0-9_])", re.IGNORECASE)

    def restore(self, text: str, pos: int = 0, endpos: int | None = None,
                escape: Callable[[str], str] | None = None) -> tuple[str, int]:
        """``text[pos:endpos]`` with known tokens restored (the characters around the span
        are seen as context only), and the number restored."""
        end = len(text) if endpos is None else endpos
        out: list[str] = []
        count = 0
        cur = pos
        for m in self.pattern.finditer(text, pos, end):
            value = self.values.get(_key(m.group("type"), m.group("num")))
            if value is None:
                continue
            opened, closed = m.group("open"), m.group("close")
            paired = (opened, closed) in (("<", ">"), ("[", "]"))
            out.append(text[cur:m.start()])
            if opened and not paired:
                out.append(opened)
            out.append(escape(value) if escape else value)
            if closed and not paired:
                out.append(closed)
            cur = m.end()
            count += 1
        out.append(text[cur:end])
        return "".join(out), count

    def could_grow(self, tail: str) -> bool:
        """Whether ``tail`` (starting at a word boundary) may still become, or extend, a token."""
        rest = tail[1:] if tail[:1] in "<[" else tail
        if not rest:
            return bool(tail)
        norm = rest.upper().replace("_", " ")
        for t in self.types:
            if len(norm) <= len(t):
                if t.startswith(norm):
                    return True
                continue
            if not norm.startswith(t) or norm[len(t)] != " ":
                continue
            number = rest[len(t) + 1:]
            if len(number) <= _MAX_NUMBER and all(c in "0123456789abcdefABCDEF" for c in number):
                return True       # digits so far: more may come, or a closing bracket
        return False


class StreamRestorer:
    """Restore a text that arrives in pieces, never emitting part of a token."""

    def __init__(self, restorer: Restorer, escape: Callable[[str], str] | None = None) -> None:
        self.restorer = restorer
        self.escape = escape
        self._prev = ""          # the last source character already emitted (boundary context)
        self._held = ""
        self.restored = 0

    def feed(self, chunk: str) -> str:
        """What may be emitted now that ``chunk`` arrived."""
        text = self._prev + self._held + chunk
        base = len(self._prev)
        cut = self._hold_from(text, base)
        out, n = self.restorer.restore(text, base, cut, self.escape)
        self.restored += n
        if cut > base:
            self._prev = text[cut - 1]
        self._held = text[cut:]
        return out

    def flush(self) -> str:
        """Everything still held, restored: the end of the text."""
        text = self._prev + self._held
        out, n = self.restorer.restore(text, len(self._prev), None, self.escape)
        self.restored += n
        self._prev, self._held = (text[-1:] if text else ""), ""
        return out

    @property
    def holding(self) -> str:
        return self._held

    def _hold_from(self, text: str, base: int) -> int:
        """The first index (>= base) from which the rest could still grow into a token."""
        longest = 2 + max((len(t) for t in self.restorer.types), default=0) + 1 + _MAX_NUMBER
        for i in range(max(base, len(text) - longest), len(text)):
            ch = text[i]
            if not (ch in "<[" or ch.isalpha()):
                continue
            if i > 0 and _WORD.match(text[i - 1]) and ch not in "<[":
                continue
            if self.restorer.could_grow(text[i:]):
                return i
        return len(text)


def reidentify_meeting(vault: Vault, meeting_id: str, text: str, caller: str,
                       audit: AuditSink, *, family: str | None = None) -> tuple[str, int]:
    """Restore ``text`` with the meeting's map from ``vault``; audited whatever happens
    (meeting, caller, count restored, outcome; never a value)."""
    from datetime import UTC, datetime

    from ._errors import MeetguardError
    from ._ids import check_id

    check_id("meeting_id", meeting_id)     # refused before the audit: never free text (#25)
    at = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    try:
        tokens = vault.load(meeting_id, family=family)   # another family's meeting: not found
    except MeetguardError as exc:
        audit.append({"event": "reidentify", "meeting_id": meeting_id, "at": at,
                      "reidentify": {"caller": caller, "restored": 0, "outcome": exc.code}})
        raise
    out, count = Restorer(tokens).restore(text)
    audit.append({"event": "reidentify", "meeting_id": meeting_id, "at": at,
                  "reidentify": {"caller": caller, "restored": count, "outcome": "ok"}})
    return out, count
