"""One step the text routes share (/v1/chat/completions, /v1/responses, /v1/embeddings,
/v1/redact): redact the texts under the queue gate (decided and audited by the guard),
record the decision, and turn a deny or an incomplete release into its error answer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from . import keys
from .errors import error_response


@dataclass(frozen=True)
class Guarded:
    """What the guard released (``refused`` is None) or the answer to send instead."""

    result: Any
    redacted: list[str]
    headers: dict[str, str]
    refused: web.StreamResponse | None


async def guard_texts(request: web.Request, gate: Any, texts: Sequence[str], purpose: str,
                      recipient: str | None, attendees: Sequence[str], meeting_id: str | None,
                      book: Any, **extra: Any) -> Guarded:
    """Redact ``texts`` for ``purpose``; a deny is a 403 and anything short of a full
    release of every text a 500, so nothing unguarded goes on from here."""
    service = keys.service(request.app)
    async with gate.run():
        result, redacted = await service.guard.redact_texts(texts, purpose, recipient, attendees, None,
                                                            meeting_id, book=book, **extra)
    service.metrics.observe_decision(result.decision, result.entity_counts)
    request[keys.DECISION] = result.decision
    headers = {"X-Meetguard-Decision": result.decision, "X-Meetguard-Audit-Id": result.audit_id}
    refused: web.StreamResponse | None = None
    if result.decision == "deny":
        refused = error_response(403, "denied", "denied by policy", headers=headers,
                                 reasons=list(result.reasons), audit_id=result.audit_id)
    elif result.decision not in ("release", "partial") or len(redacted) != len(texts):
        refused = error_response(500, "internal", "guard did not release", headers=headers)
    return Guarded(result, list(redacted), headers, refused)
