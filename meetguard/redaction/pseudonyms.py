"""Pseudonym numbering: ``[TYPE_n]`` (or ``<TYPE_n>``, the book's token form) by first appearance across a meeting.

One number per participant (all their names and aliases, and their speaker
labels) and one per normalised value otherwise; counters are per entity type.
"""

from __future__ import annotations

import threading

from .tokens import DEFAULT_TOKEN_FORM, check_form, wrap

__all__ = ["PseudonymBook"]


class PseudonymBook:
    def __init__(self, form: str = DEFAULT_TOKEN_FORM) -> None:
        self.form = check_form(form)
        self._numbers: dict[tuple[str, str], int] = {}
        self._next: dict[str, int] = {}
        self._lock = threading.Lock()
        self.tokens: dict[str, str] = {}      # token -> the first value it replaced (the vault's map)

    def remember(self, token: str, value: str) -> None:
        """Note what ``token`` stands for (first value wins); tokens that are not unique
        (``[PERSON]``, masks) are never numbered and not remembered."""
        with self._lock:
            self.tokens.setdefault(token, value)

    def number(self, entity_type: str, key: str) -> int:
        """The number of ``key`` (a participant id, or a normalised value)."""
        with self._lock:
            found = self._numbers.get((entity_type, key))
            if found is None:
                found = self._next.get(entity_type, 0) + 1
                self._next[entity_type] = found
                self._numbers[(entity_type, key)] = found
            return found

    def holds(self, participant_id: str) -> bool:
        """Whether any value of ``participant_id`` has a number in this book."""
        key = "participant:" + participant_id
        with self._lock:
            return any(k == key for _t, k in self._numbers)

    def participants(self) -> list[str]:
        """The participant ids numbered in this book."""
        with self._lock:
            return sorted({k[len("participant:"):] for _t, k in self._numbers if k.startswith("participant:")})

    def to_state(self) -> dict[str, object]:
        """What the book holds, as JSON-able data (state/books.py seals it)."""
        with self._lock:
            return {"form": self.form, "numbers": [[t, k, n] for (t, k), n in self._numbers.items()],
                    "next": dict(self._next), "tokens": dict(self.tokens)}

    @classmethod
    def from_state(cls, data: dict[str, object], form: str = DEFAULT_TOKEN_FORM) -> PseudonymBook:
        """The book :meth:`to_state` described (its own token form, else ``form``)."""
        book = cls(str(data.get("form") or form))
        for entity_type, key, number in data.get("numbers") or []:  # type: ignore[attr-defined]
            book._numbers[(str(entity_type), str(key))] = int(number)
        book._next = {str(t): int(n) for t, n in dict(data.get("next") or {}).items()}  # type: ignore[call-overload]
        book.tokens = {str(t): str(v) for t, v in dict(data.get("tokens") or {}).items()}  # type: ignore[call-overload]
        return book

    def person_token(self, participant_key: str) -> str:
        return wrap(f"PERSON_{self.number('PERSON', 'participant:' + participant_key)}", self.form)

    def value_key(self, normalized: str, participant_id: str | None) -> str:
        return "participant:" + participant_id if participant_id else "value:" + normalized
