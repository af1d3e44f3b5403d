"""Where guarded live events go: one channel per meeting and purpose.

A channel numbers its events (``id``), keeps the last :data:`HISTORY` of them (a
subscriber that reconnects with ``Last-Event-ID`` gets what it missed, nothing twice),
and hands each to every subscriber's bounded queue. A subscriber that falls
:data:`QUEUE` events behind is cut off (it reconnects and resumes by id) rather
than holding the meeting's memory. Only guarded events ever enter a channel.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from typing import Any

__all__ = ["END", "Channel", "Subscription"]

HISTORY = 1024
QUEUE = 2048
END: dict[str, Any] = {"type": "end"}


class Subscription:
    def __init__(self, channel: Channel, backlog: list[dict[str, Any]]) -> None:
        self.channel = channel
        self.queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(QUEUE)
        for event in backlog:
            self.queue.put_nowait(event)
        self.cut_off = False

    async def events(self) -> AsyncIterator[dict[str, Any]]:
        """Events until the meeting ends (a last ``end`` event) or this subscriber is cut off."""
        try:
            while True:
                event = await self.queue.get()
                if event is None:
                    return
                yield event
                if event.get("type") == "end":
                    return
        finally:
            self.channel.unsubscribe(self)

    def offer(self, event: dict[str, Any] | None) -> None:
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            self.cut_off = True
            self.channel.unsubscribe(self)
            while not self.queue.empty():
                self.queue.get_nowait()
            self.queue.put_nowait(None)


class Channel:
    """The guarded events of one meeting for one purpose."""

    def __init__(self, purpose: str) -> None:
        self.purpose = purpose
        self.seq = 0
        self.history: deque[dict[str, Any]] = deque(maxlen=HISTORY)
        self.subscribers: set[Subscription] = set()
        self.ended = False
        self.listeners: list[asyncio.Queue[dict[str, Any]]] = []     # forwarders

    def publish(self, event: dict[str, Any]) -> dict[str, Any]:
        self.seq += 1
        event = {"id": self.seq, **event}
        self.history.append(event)
        for sub in list(self.subscribers):
            sub.offer(event)
        for q in self.listeners:
            q.put_nowait(event)
        if event.get("type") == "end":
            self.ended = True
        return event

    def subscribe(self, last_id: int | None = None) -> Subscription:
        backlog = [e for e in self.history if last_id is not None and e["id"] > last_id]
        sub = Subscription(self, backlog)
        if self.ended and not backlog:
            sub.offer(dict(self.history[-1]) if self.history else {"id": self.seq, **END})
        if not self.ended:
            self.subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        self.subscribers.discard(sub)
