"""The pass-through's round trip (docs/reidentify.md): one pseudonym book per
``X-Meetguard-Meeting`` (tokens stable across requests), and, for an entitled token
asking ``X-Meetguard-Reidentify: true``, the answer's names restored."""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import web

from ..redaction import PseudonymBook
from ..reidentify import Restorer
from . import keys
from .errors import error_response
from .scopes import has_scope

__all__ = ["BOOKS", "MeetingBooks", "book_for", "meeting_book", "refusal", "restore_completion",
           "wants_restore"]

MAX_MEETINGS = 1024


class MeetingBooks:
    """The books of the most recent meetings (least recently used dropped), in memory only,
    keyed by the token family that made them and the meeting id (#25): another family
    neither shares nor sees a book (it gets its own), so it can neither probe whether a
    name is in a meeting it did not create nor have that meeting's names restored."""

    def __init__(self, limit: int = MAX_MEETINGS, form: str = "square") -> None:
        self.limit = limit
        self.form = form
        self._books: OrderedDict[tuple[str, str], PseudonymBook] = OrderedDict()
        self._lock = threading.Lock()
        # state/books.SharedBooks with state: postgres and a vault key: the books of every
        # replica, in the database (then none is kept here)
        self.shared: Any = None

    def get(self, family: str, meeting_id: str) -> PseudonymBook:
        with self._lock:
            key = (family, meeting_id)
            book = self._books.pop(key, None) or PseudonymBook(self.form)
            self._books[key] = book
            while len(self._books) > self.limit:
                self._books.popitem(last=False)
            return book

    def forget_participant(self, participant_id: str) -> int:
        """Drop every book that holds ``participant_id`` (a withdrawal: nothing of theirs
        may be restored from memory again); how many were dropped."""
        with self._lock:
            gone = [k for k, book in self._books.items() if book.holds(participant_id)]
            for k in gone:
                del self._books[k]
            return len(gone)

    async def forget_everywhere(self, participant_id: str) -> int:
        """:meth:`forget_participant` here and in the shared books (StateUnavailable: 503)."""
        dropped = self.forget_participant(participant_id)
        if self.shared is not None:
            dropped += await self.shared.forget_participant(participant_id)
        return dropped


BOOKS = web.AppKey("pseudonym_books", MeetingBooks)


def wants_restore(request: web.Request) -> bool:
    return request.headers.get("X-Meetguard-Reidentify", "").strip().lower() == "true"


def refusal(request: web.Request) -> web.Response | None:
    """403 for a restore asked by a token not configured ``reidentify: true``."""
    if wants_restore(request) and not has_scope(request, "reidentify"):
        return error_response(403, "forbidden", "this token may not re-identify")
    return None


def book_for(request: web.Request, meeting_id: str | None) -> PseudonymBook:
    """The meeting's book for this token's family (a fresh one without a meeting id)."""
    books = request.app[BOOKS]
    if not meeting_id:
        return PseudonymBook(books.form)
    return books.get(request.app[keys.CONFIG].family_of(request[keys.TOKEN]), meeting_id)


@asynccontextmanager
async def meeting_book(request: web.Request, meeting_id: str | None, gate: Any = None
                       ) -> AsyncIterator[PseudonymBook]:
    """:func:`book_for`, shared by the replicas when the state is (state/books.py): the
    book is held for the block (guard the texts inside it) and written back after. When
    the book cannot be had (StateUnavailable), ``gate``'s reserved place is given back."""
    books = request.app[BOOKS]
    if not meeting_id or books.shared is None:
        yield book_for(request, meeting_id)
        return
    entered = False
    try:
        async with books.shared.hold(request.app[keys.CONFIG].family_of(request[keys.TOKEN]),
                                     meeting_id) as book:
            entered = True
            yield book
    except BaseException:
        if not entered and gate is not None:
            gate.cancel()
        raise


def _json_escape(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)[1:-1]


def restore_completion(body: bytes, restorer: Restorer) -> bytes:
    """A non-streamed answer with names restored in each choice's content and tool-call
    arguments; an answer that is not a completion object is returned as it is."""
    try:
        answer: Any = json.loads(body)
    except ValueError:
        return body
    if not isinstance(answer, dict) or not isinstance(answer.get("choices"), list):
        return body
    for choice in answer["choices"]:
        msg = choice.get("message") if isinstance(choice, dict) else None
        if not isinstance(msg, dict):
            continue
        if isinstance(msg.get("content"), str):
            msg["content"] = restorer.restore(msg["content"])[0]
        for call in msg.get("tool_calls") or []:
            fn = call.get("function") if isinstance(call, dict) else None
            if isinstance(fn, dict) and isinstance(fn.get("arguments"), str):
                fn["arguments"] = restorer.restore(fn["arguments"], escape=_json_escape)[0]
    return json.dumps(answer, ensure_ascii=False).encode("utf-8")
