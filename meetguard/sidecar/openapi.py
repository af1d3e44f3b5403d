"""``/openapi.json``: the sidecar's routes as OpenAPI 3.1, generated from the router.

:func:`spec` walks the routes the application has registered (so a route that is
not served is not described) and takes each one's words and schemas from
:data:`OPERATIONS`; a registered route missing from the table, or an entry whose
route is not registered in a fully configured sidecar, fails ``tests/test_openapi.py``,
and the committed ``docs/openapi.json`` (openapi_file.py) must equal what the code generates, so the
description cannot drift from the handlers. Unknown paths under ``/v1/`` answer
404 JSON naming the supported routes (:func:`not_found`).
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from .. import __version__

__all__ = ["OPERATIONS", "not_found", "openapi_routes", "served", "spec"]

_JSON = "application/json"
_S = dict[str, Any]


def _obj(props: _S, required: tuple[str, ...] = ()) -> _S:
    out: _S = {"type": "object", "properties": props}
    if required:
        out["required"] = list(required)
    return out


_STR: _S = {"type": "string"}
_ERROR = _obj({"error": _STR, "message": _STR, "reasons": {"type": "array", "items": _STR},
               "audit_id": _STR}, ("error", "message"))
_HEADERS = [
    {"name": "X-Meetguard-Purpose", "in": "header", "required": True, "schema": _STR,
     "description": "one of the policy's purposes"},
    {"name": "X-Meetguard-Recipient", "in": "header", "schema": _STR,
     "description": "a kind: openai upstream (default: the purpose's only one)"},
    {"name": "X-Meetguard-Attendees", "in": "header", "schema": _STR,
     "description": "participant ids present, comma-separated"},
    {"name": "X-Meetguard-Meeting", "in": "header", "schema": _STR,
     "description": "pseudonyms stay the same across requests with the same id"},
]
_OPENAI_BODY: _S = {"type": "object", "description": "the OpenAI request body; fields outside the "
                    "allow-list are refused (400) naming their path"}
_DECISION = _obj({"decision": {"enum": ["release", "partial", "deny"]}, "reasons": {"type": "array", "items": _STR},
                  "entity_counts": {"type": "object", "additionalProperties": {"type": "integer"}},
                  "audit_id": _STR})
_REDACT_IN = _obj({"text": _STR, "texts": {"type": "array", "items": _STR}, "purpose": _STR, "recipient": _STR,
                   "attendees": {"type": "array", "items": _STR}, "meeting_id": _STR,
                   "language": {"type": "string", "examples": ["en", "fr"]}}, ("purpose",))
_REDACT_OUT = _obj({**_DECISION["properties"], "purpose": _STR, "recipient": _STR, "text": _STR,
                    "texts": {"type": "array", "items": _STR}})
_MULTIPART: _S = {"multipart/form-data": {"schema": _obj({
    "purpose": _STR, "recipient": _STR, "attendee": _STR, "meeting_id": _STR, "language": _STR,
    "chat": {"type": "string", "format": "binary"}, "transcript": {"type": "string", "format": "binary"},
    "audio": {"type": "string", "format": "binary"}, "track": {"type": "string", "format": "binary"},
    "video": {"type": "string", "format": "binary"}},
    ("purpose",))}}


def _op(summary: str, *, body: _S | None = None, ok: _S | None = None, headers: bool = False,
        ok_type: str = _JSON, auth: bool = True) -> _S:
    op: _S = {"summary": summary, "responses": {"200": {"description": "OK"}}}
    if ok is not None:
        op["responses"]["200"]["content"] = {ok_type: {"schema": ok}}
    if body is not None:
        op["requestBody"] = {"required": True, "content": body}
    if headers:
        op["parameters"] = _HEADERS
    if auth:
        op["security"] = [{"bearer": []}]
        op["responses"].update({"400": {"description": "bad request", "content": {_JSON: {"schema": _ERROR}}},
                                "401": {"description": "missing or invalid bearer token"},
                                "403": {"description": "denied by policy, or the token lacks the scope",
                                        "content": {_JSON: {"schema": _ERROR}}}})
    return op


# (method, route) -> the operation. Every served route has one (tests/test_openapi.py).
OPERATIONS: dict[tuple[str, str], _S] = {
    ("GET", "/healthz"): _op("liveness", ok=_obj({"ok": {"type": "boolean"}}), auth=False),
    ("GET", "/readyz"): _op("readiness: models warm, policy valid, state reachable", auth=False),
    ("GET", "/metrics"): _op("Prometheus metrics", ok=_STR, ok_type="text/plain", auth=False),
    ("GET", "/openapi.json"): _op("this description", ok={"type": "object"}, auth=False),
    ("POST", "/v1/guard"): _op("guard a meeting's exports (multipart); answers the decision and "
                               "the redacted content", body=_MULTIPART, ok=_DECISION),
    ("POST", "/v1/release"): _op("guard, then deliver the released content to the recipient", body=_MULTIPART,
                                 ok=_DECISION),
    ("GET", "/v1/jobs/{id}"): _op("an asynchronous guard's state and result", ok=_DECISION),
    ("GET", "/v1/status"): _op("the sidecar's status for a token", ok={"type": "object"}),
    ("POST", "/v1/redact"): _op("redact plain text under the policy (decided and audited)",
                                body={_JSON: {"schema": _REDACT_IN}}, ok=_REDACT_OUT),
    ("POST", "/v1/chat/completions"): _op("OpenAI chat completions, guarded by allow-list",
                                          body={_JSON: {"schema": _OPENAI_BODY}}, headers=True),
    ("POST", "/v1/responses"): _op("OpenAI Responses API, guarded by allow-list; streamed events relayed",
                                   body={_JSON: {"schema": _OPENAI_BODY}}, headers=True),
    ("POST", "/v1/embeddings"): _op("OpenAI embeddings of the redacted input",
                                    body={_JSON: {"schema": _OPENAI_BODY}}, headers=True),
    ("GET", "/v1/models"): _op("the models of the configured openai upstreams (from the config)",
                               ok=_obj({"object": _STR, "data": {"type": "array", "items": _obj({
                                   "id": _STR, "object": _STR, "created": {"type": "integer"},
                                   "owned_by": _STR})}})),
    ("POST", "/v1/reidentify"): _op("restore a meeting's pseudonyms in a text (entitled tokens)",
                                    body={_JSON: {"schema": {"type": "object"}}}),
    ("POST", "/v1/withdrawals"): _op("record a withdrawal of consent and ask recipients to erase",
                                     body={_JSON: {"schema": {"type": "object"}}}),
    ("POST", "/v1/hooks/zoom"): _op("Zoom webhook (signed by Zoom, not a bearer token)",
                                    body={_JSON: {"schema": {"type": "object"}}}, auth=False),
    ("GET", "/v1/live/ingest"): _op("live meeting ingest (WebSocket)"),
    ("GET", "/v1/live/{meeting_id}"): _op("a live meeting's guarded stream (WebSocket)"),
}


def served(app: web.Application) -> list[tuple[str, str]]:
    """(method, route) of every route the application serves (HEAD and OPTIONS left out)."""
    found: set[tuple[str, str]] = set()
    for route in app.router.routes():
        resource = route.resource
        if resource is None or route.method in ("HEAD", "OPTIONS"):
            continue
        found.add((route.method, resource.canonical))
    return sorted(found, key=lambda mr: (mr[1], mr[0]))


def spec(app: web.Application) -> _S:
    """The OpenAPI 3.1 description of what ``app`` serves (KeyError: a route without an entry)."""
    paths: _S = {}
    for method, route in served(app):
        paths.setdefault(route, {})[method.lower()] = OPERATIONS[(method, route)]
    return {"openapi": "3.1.0",
            "info": {"title": "meetguard sidecar", "version": __version__,
                     "description": "Consent gate for meeting content on its way to AI services "
                                    "(docs/deploy.md)."},
            "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
            "paths": paths}


def render(app: web.Application) -> str:
    return json.dumps(spec(app), indent=1, sort_keys=True) + "\n"


openapi_routes = web.RouteTableDef()


@openapi_routes.get("/openapi.json")
async def openapi_json(request: web.Request) -> web.StreamResponse:
    """The OpenAPI description of this sidecar."""
    return web.Response(text=render(request.app), content_type=_JSON)


def not_found(request: web.Request) -> web.Response:
    """404 JSON for an unknown path under /v1/, naming the routes this sidecar serves."""
    routes = [f"{m} {r}" for m, r in served(request.app) if r.startswith("/v1/")]
    return web.json_response({"error": "not_found",
                              "message": f"no route {request.method} {request.path[:100]}; "
                                         "see /openapi.json",
                              "supported": routes}, status=404)

