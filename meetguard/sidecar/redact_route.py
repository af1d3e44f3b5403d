"""``POST /v1/redact``: plain text in, redacted text out (docs/deploy.md "Redacting text").

What Presidio's ``/anonymize`` and llm-guard's scan API give their users, with the
consent policy in front: the body is JSON ``{"text": "..."}`` or ``{"texts": [...]}``,
``purpose`` (required), ``recipient``, ``attendees`` (participant ids present; none:
the text counts as spoken by unknown speakers), ``meeting_id`` (pseudonyms stable
across calls with the same id) and ``language`` (e.g. ``fr``; default detected).
It is decided and audited like any guard: a deny is 403 with the reasons; a release
answers ``{"decision", "texts" (or "text"), "entity_counts", "audit_id", "reasons"}``.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from .._errors import InputTooLarge, UsageError
from . import keys
from .forms import check_id, check_pid, read_body
from .guarded import guard_texts
from .openai_proxy import parse_body
from .roundtrip import meeting_book

__all__ = ["MAX_TEXTS", "redact_routes"]

MAX_TEXTS = 10_000
_KEYS = {"text", "texts", "purpose", "recipient", "attendees", "meeting_id", "language"}
redact_routes = web.RouteTableDef()


def _string(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        raise UsageError(f"{key}: expected a string")
    return value


def parse_redact(body: dict[str, Any]) -> tuple[list[str], bool, dict[str, Any]]:
    """(texts, whether one ``text`` was given, the request's other fields), checked."""
    unknown = sorted(k for k in body if k not in _KEYS)
    if unknown:
        raise UsageError(f"unknown field(s): use {', '.join(sorted(_KEYS))}")
    if ("text" in body) == ("texts" in body):
        raise UsageError("give exactly one of text (a string) or texts (a list of strings)")
    single = "text" in body
    texts = [body["text"]] if single else body["texts"]
    if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
        raise UsageError("texts: expected a list of strings" if not single else "text: expected a string")
    if len(texts) > MAX_TEXTS:
        raise UsageError(f"texts: at most {MAX_TEXTS} per request")
    purpose = check_id("purpose", _string(body, "purpose") or "")
    if purpose is None:
        raise UsageError("purpose: required (one of the policy's purposes)")
    attendees = body.get("attendees") or []
    if not isinstance(attendees, list) or not all(isinstance(a, str) for a in attendees):
        raise UsageError("attendees: expected a list of participant ids")
    language = _string(body, "language")
    if language is not None and not (2 <= len(language) <= 8 and language.isalpha()):
        raise UsageError("language: expected a language code such as en or fr")
    fields = {"purpose": purpose, "recipient": check_id("recipient", _string(body, "recipient") or ""),
              "attendees": [check_pid("attendees", a) for a in attendees],
              "meeting_id": check_id("meeting_id", _string(body, "meeting_id") or ""),
              "language": language.lower() if language else None}
    return texts, single, fields


@redact_routes.post("/v1/redact")
async def redact(request: web.Request) -> web.StreamResponse:
    """Redact plain text under the policy: decided and audited like any guard."""
    app = request.app
    config = app[keys.CONFIG]
    if request.content_length is not None and request.content_length > config.max_body_bytes:
        raise InputTooLarge("request", "body too large")
    gate = app[keys.GATE]
    gate.reserve()
    try:
        texts, single, f = parse_redact(parse_body(await read_body(request, config.limits.body_timeout_s)))
    except BaseException:
        gate.cancel()
        raise
    extra = {"language": f["language"]} if f["language"] else {}
    async with meeting_book(request, f["meeting_id"], gate) as book:
        guarded = await guard_texts(request, gate, texts, f["purpose"], f["recipient"], f["attendees"],
                                    f["meeting_id"], book, **extra)
    if guarded.refused is not None:
        return guarded.refused
    result, redacted, headers = guarded.result, guarded.redacted, guarded.headers
    answer: dict[str, Any] = {"decision": result.decision, "purpose": f["purpose"],
                              "recipient": result.recipient, "entity_counts": dict(result.entity_counts),
                              "reasons": list(result.reasons), "audit_id": result.audit_id}
    answer.update({"text": redacted[0]} if single else {"texts": redacted})
    return web.json_response(answer, headers=headers)
