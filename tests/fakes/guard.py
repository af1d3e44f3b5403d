"""A stand-in for :class:`meetguard.Guard` with the same async surface, for sidecar tests.

It "redacts" by replacing each configured secret with ``<PERSON_n>``, denies when
the purpose is ``deny-me``, records every decision in ``audit`` (as the real
guard audits), can be slowed down (``delay_s``) and tracks peak concurrency.
:func:`load_meeting` replaces ``Meeting.from_files``: each document keeps its raw
bytes in ``meta``; a ``.xyz`` file is an unsupported format.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from meetguard import Delivery, Document, GuardResult, Meeting, UnsupportedFormat
from meetguard._model import AudioInput


def load_meeting(chat: Sequence[Path] = (), transcript: Sequence[Path] = (), audio: Path | None = None,
                 tracks: Mapping[str, Path] | None = None, attendees: Sequence[str] = (),
                 meeting_id: str | None = None, format: str | None = None) -> Meeting:
    docs = []
    for kind, paths in (("chat", chat), ("transcript", transcript)):
        for p in paths:
            if Path(p).suffix == ".xyz":
                raise UnsupportedFormat(str(p), "matches no known format")
            docs.append(Document(name=Path(p).name, format="fake", kind=kind, items=(),  # type: ignore[arg-type]
                                 meta=Path(p).read_bytes()))
    recs = []
    if audio is not None:
        recs.append(AudioInput(Path(audio), None, Path(audio).stem))
    for pid, p in (tracks or {}).items():
        recs.append(AudioInput(Path(p), pid, pid))
    return Meeting(tuple(docs), tuple(recs), tuple(attendees), meeting_id)


@dataclass
class FakeGuard:
    secrets: tuple[str, ...] = ("Alice Martin", "alice.martin@northwind.example")
    delay_s: float = 0.0
    audio_size: int = 0                # pad each redacted WAV to this many bytes (large answers)
    warm_s: float = 0.0
    recipients: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: {
        "summarization": ("summarizer", "llm-summarizer")})
    audit: list[dict[str, Any]] = field(default_factory=list)
    seen_texts: list[list[str]] = field(default_factory=list)
    active: int = 0
    peak: int = 0
    closed: bool = False
    warm_event: threading.Event = field(default_factory=threading.Event)
    audit_path: Path | None = None

    @property
    def policy(self) -> Any:
        """Only what the sidecar reads: each purpose's recipients."""
        return SimpleNamespace(purposes={p: SimpleNamespace(recipients=r) for p, r in self.recipients.items()})

    def warm(self) -> None:
        if self.warm_s:
            self.warm_event.wait(self.warm_s)
        self.warm_event.set()

    def policy_status(self) -> tuple[bool, str | None]:
        return True, None

    async def aclose(self) -> None:
        self.closed = True

    def _redact(self, text: str, counts: dict[str, int]) -> str:
        for n, secret in enumerate(self.secrets, 1):
            if secret in text:
                counts["PERSON"] = counts.get("PERSON", 0) + text.count(secret)
                text = text.replace(secret, f"[PERSON_{n}]")
        return text

    def _result(self, decision: str, purpose: str, recipient: str | None, meeting_id: str | None,
                outputs: Mapping[str, bytes], counts: Mapping[str, int]) -> GuardResult:
        return GuardResult(decision=decision, reasons=("fake",), outputs=dict(outputs),  # type: ignore[arg-type]
                           audit_id=f"a{len(self.audit) + 1}", purpose=purpose, recipient=recipient,
                           meeting_id=meeting_id, policy_id="fake-1", policy_sha256="0" * 64,
                           at=datetime.now(UTC).isoformat(), entity_counts=dict(counts),
                           retention_days=30)

    async def _busy(self) -> None:
        self.active += 1
        self.peak = max(self.peak, self.active)
        try:
            if self.delay_s:
                await asyncio.sleep(self.delay_s)
        finally:
            self.active -= 1

    def _recipient(self, purpose: str, recipient: str | None) -> str | None:
        if recipient is None:
            options = self.recipients.get(purpose, ())
            return options[0] if len(options) == 1 else None
        return recipient

    async def process(self, meeting: Meeting, purpose: str, recipient: str | None = None,
                      at: datetime | None = None, *, verify: bool | None = None,
                      deliver: Any = None, language: str | None = None,
                      vault_owner: str | None = None) -> GuardResult:
        await self._busy()
        recipient = self._recipient(purpose, recipient)
        counts: dict[str, int] = {}
        if purpose == "deny-me":
            result = self._result("deny", purpose, recipient, meeting.meeting_id, {}, {})
        else:
            outputs = {d.name: self._redact(bytes(d.meta).decode("utf-8"), counts).encode("utf-8")
                       for d in meeting.documents}
            for rec in meeting.audio:
                wav = b"RIFF-fake-" + rec.path.read_bytes()[:8]
                outputs[f"{rec.stem}.redacted.wav"] = wav + b"\0" * max(0, self.audio_size - len(wav))
            result = self._result("release", purpose, recipient, meeting.meeting_id, outputs, counts)
        delivery: Delivery | None = None
        if deliver is not None and result.decision != "deny":
            delivery = await deliver(result)
        self.audit.append({"decision": result.decision, "purpose": purpose,
                           "delivered": None if delivery is None else delivery.delivered,
                           "status": None if delivery is None else delivery.status})
        from dataclasses import replace

        return replace(result, delivery=delivery)

    async def redact_texts(self, texts: Sequence[str], purpose: str, recipient: str | None,
                           attendees: Sequence[str], at: datetime | None = None,
                           meeting_id: str | None = None, *,
                           book: Any = None, language: str | None = None) -> tuple[GuardResult, list[str]]:
        await self._busy()
        self.seen_texts.append(list(texts))
        counts: dict[str, int] = {}
        if purpose == "deny-me" or "p-carla" in attendees:
            result = self._result("deny", purpose, recipient, meeting_id, {}, {})
            self.audit.append({"decision": "deny", "purpose": purpose})
            return result, []
        out = [self._redact(t, counts) for t in texts]
        if book is not None:           # what the real guard's book holds: token -> value
            for n, secret in enumerate(self.secrets, 1):
                if any(secret in t for t in texts):
                    book.remember(f"[PERSON_{n}]", secret)
        result = self._result("release", purpose, recipient, meeting_id, {}, counts)
        self.audit.append({"decision": "release", "purpose": purpose})
        return result, out
