"""The pass-through's pseudonym books in the shared state (state: postgres, vault configured).

One book per (token family, ``X-Meetguard-Meeting``) keeps a meeting's tokens stable
across requests (sidecar/roundtrip.py). With replicas, the book is a row of
``mg_books``: any replica numbers the next request's names after the ones numbered
on another, and restores them. The database never sees a clear value, id or key:

- the row's name is an HMAC of the family and meeting id;
- the book (its numbers, and the values its tokens stand for) is sealed with
  AES-GCM, the row's name as associated data, under a key derived (HKDF-SHA256)
  from the vault's master key from the environment;
- ``holders`` are HMACs of the participant ids numbered in it, so that a withdrawal
  deletes every book holding the participant without reading one.

A request holds its book's row (``FOR UPDATE``) from reading it until its names are
numbered and the book is written back: two replicas never give one number to two
people. A database that cannot be reached is StateUnavailable (HTTP 503): the
request is refused before anything is forwarded.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from .._errors import StateUnavailable
from .._seal import Unsealable, derive_key, seal, unseal
from ..redaction import PseudonymBook
from .postgres import PostgresState

__all__ = ["SharedBooks"]


class SharedBooks:
    """The books of every replica, sealed in ``mg_books``."""

    def __init__(self, state: PostgresState, master_key: bytes, form: str) -> None:
        self.state = state
        self.form = form
        self._seal_key = derive_key(master_key, b"meetguard pseudonym books v1: seal")
        self._name_key = derive_key(master_key, b"meetguard pseudonym books v1: names")

    def _name(self, *parts: str) -> str:
        msg = "\x00".join(parts).encode("utf-8")
        return hmac.new(self._name_key, msg, hashlib.sha256).hexdigest()

    def seal(self, name: str, book: PseudonymBook) -> bytes:
        clear = json.dumps(book.to_state(), ensure_ascii=False, sort_keys=True).encode("utf-8")
        return seal(self._seal_key, clear, name.encode("ascii"))

    def open(self, name: str, sealed: bytes) -> PseudonymBook:
        try:
            clear = unseal(self._seal_key, sealed, name.encode("ascii"))
        except Unsealable:
            raise StateUnavailable("state: a pseudonym book in the database does not open with this "
                                   "vault key; check vault.key_env on every replica") from None
        return PseudonymBook.from_state(json.loads(clear), self.form)

    @asynccontextmanager
    async def hold(self, family: str, meeting_id: str) -> AsyncIterator[PseudonymBook]:
        """The meeting's book, held by this request until the block ends, then written back
        (not when the block raised: what it numbered was never sent anywhere)."""
        name = self._name("book", family, meeting_id)
        async with self.state.book_held(name) as (sealed, save):
            book = PseudonymBook(self.form) if sealed is None else self.open(name, sealed)
            yield book
            holders = sorted(self._name("participant", p) for p in book.participants())
            await save(self.seal(name, book), holders)

    async def forget_participant(self, participant_id: str) -> int:
        """Delete every book that holds ``participant_id``; how many."""
        return await self.state.books_forget(self._name("participant", participant_id))
