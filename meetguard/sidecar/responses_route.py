"""The OpenAI routes beside chat completions (docs/deploy.md "OpenAI-compatible routes").

- ``GET /v1/models``: the models of the configured ``kind: openai`` upstreams (their
  ``model``), answered from the config: no request leaves the sidecar.
- ``POST /v1/responses``: the Responses API, by the same allow-list discipline as
  chat completions (openai_proxy.py): ``instructions``, every input item (messages
  and their text parts, function calls and their arguments, function call outputs),
  tool definitions and JSON schemas are walked; every string is redacted, names and
  numbers must come through the guard unchanged, anything unknown is refused naming
  its path. Streamed events (``stream: true``) are relayed as they come: the request
  was redacted before it left, so no event can carry a removed value.
- ``POST /v1/embeddings``: ``input`` (a string or a list of strings) redacted before
  it is embedded; token arrays are refused (they cannot be read, so not guarded).

Headers as for chat completions: ``X-Meetguard-Purpose`` (required),
``X-Meetguard-Recipient``, ``X-Meetguard-Attendees``, ``X-Meetguard-Meeting``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

from .._errors import InputTooLarge, UpstreamError, UsageError
from . import keys
from .forms import read_body
from .guarded import guard_texts
from .openai_proxy import (
    _FUNCTION_NAME,
    _MODEL,
    DROPPED,
    Plan,
    _arguments,
    _boolean,
    _call_id,
    _data_node,
    _enum,
    _ident,
    _list,
    _number,
    _obj,
    _text,
    _union,
    parse_body,
)
from .roundtrip import meeting_book

__all__ = ["gateway_routes", "plan_embeddings", "plan_responses"]

gateway_routes = web.RouteTableDef()
_fname = _ident(_FUNCTION_NAME)
_ITEM_ID = r"^[A-Za-z0-9_-]{1,128}$"

# -- Responses: the allow-list ---------------------------------------------------------
_TEXT_PART = _obj({"type": _enum("input_text", "output_text", "text"), "text": _text},
                  required=("type", "text"), dropped=frozenset({"annotations", "logprobs"}))
_REFUSAL = _obj({"type": _enum("refusal"), "refusal": _text}, required=("type", "refusal"))


def _part(plan: Plan, value: Any, path: str) -> Any:
    kind = value.get("type") if isinstance(value, dict) else None
    if kind == "refusal":
        return _REFUSAL(plan, value, path)
    if kind in ("input_text", "output_text", "text"):
        return _TEXT_PART(plan, value, path)
    raise UsageError(f"{path}: only text content parts can be guarded")


_status = _enum("in_progress", "completed", "incomplete")
_MESSAGE = _obj({"type": _enum("message"), "role": _enum("user", "system", "developer", "assistant"),
                 "content": _union({str: _text, list: _list(_part)}), "status": _status},
                required=("role", "content"), dropped=frozenset({"id"}))
_CALL = _obj({"type": _enum("function_call"), "call_id": _call_id, "name": _fname, "arguments": _arguments,
              "status": _status}, required=("type", "call_id", "name"), dropped=frozenset({"id"}))
_OUTPUT = _obj({"type": _enum("function_call_output"), "call_id": _call_id, "output": _text,
                "status": _status}, required=("type", "call_id", "output"), dropped=frozenset({"id"}))


def _item(plan: Plan, value: Any, path: str) -> Any:
    kind = value.get("type", "message") if isinstance(value, dict) else None
    node = {"message": _MESSAGE, "function_call": _CALL, "function_call_output": _OUTPUT}.get(str(kind))
    if node is None:
        raise UsageError(f"{path}: only message, function_call and function_call_output items can be guarded")
    return node(plan, value, path)


_FORMAT = _obj({"type": _enum("text", "json_object", "json_schema"), "name": _fname, "description": _text,
                "schema": _data_node, "strict": _boolean}, required=("type",))
ALLOWED_RESPONSES: dict[str, Callable[[Plan, Any, str], Any]] = {
    "model": _ident(_MODEL),
    "input": _union({str: _text, list: _list(_item, non_empty=True)}),
    "instructions": _text,
    "tools": _list(_obj({"type": _enum("function"), "name": _fname, "description": _text,
                         "parameters": _data_node, "strict": _boolean}, required=("type", "name"))),
    "tool_choice": _union({str: _enum("none", "auto", "required"),
                           dict: _obj({"type": _enum("function"), "name": _fname}, required=("type", "name"))}),
    **{k: _number for k in ("temperature", "top_p", "max_output_tokens", "top_logprobs", "max_tool_calls")},
    **{k: _boolean for k in ("stream", "parallel_tool_calls", "store", "background")},
    "text": _obj({"format": _FORMAT, "verbosity": _enum("low", "medium", "high")}),
    "reasoning": _obj({"effort": _enum("none", "minimal", "low", "medium", "high"),
                       "summary": _enum("auto", "concise", "detailed")}),
    "truncation": _enum("auto", "disabled"),
    "service_tier": _enum("auto", "default", "flex", "priority"),
}
_responses_top = _obj(ALLOWED_RESPONSES, required=("model", "input"), dropped=DROPPED)

# -- Embeddings ------------------------------------------------------------------------


def _embed_input(plan: Plan, value: Any, path: str) -> Any:
    if isinstance(value, list) and value and not all(isinstance(v, str) for v in value):
        raise UsageError(f"{path}: token arrays cannot be guarded; send the text")
    return _union({str: _text, list: _list(_text, max_items=2048, non_empty=True)})(plan, value, path)


ALLOWED_EMBEDDINGS: dict[str, Callable[[Plan, Any, str], Any]] = {
    "model": _ident(_MODEL), "input": _embed_input, "encoding_format": _enum("float", "base64"),
    "dimensions": _number,
}
_embeddings_top = _obj(ALLOWED_EMBEDDINGS, required=("model", "input"), dropped=DROPPED)


def plan_responses(body: dict[str, Any]) -> Plan:
    plan = Plan()
    plan.body = _responses_top(plan, body, "")
    return plan


def plan_embeddings(body: dict[str, Any]) -> Plan:
    plan = Plan()
    plan.body = _embeddings_top(plan, body, "")
    return plan


# -- the routes ------------------------------------------------------------------------

async def _forward(request: web.Request, planner: Callable[[dict[str, Any]], Plan], path: str,
                   stream_ok: bool) -> web.StreamResponse:
    """Plan, redact (decided and audited), then post the rebuilt body to ``{url}{path}``."""
    from .handlers import _chat_headers, _stream

    app = request.app
    service = keys.service(app)
    purpose, recipient, attendees, meeting_id = _chat_headers(request)
    if request.headers.get("X-Meetguard-Reidentify", "").strip().lower() == "true":
        raise UsageError("X-Meetguard-Reidentify: restored answers are offered on /v1/chat/completions only")
    if request.content_length is not None and request.content_length > app[keys.CONFIG].max_body_bytes:
        raise InputTooLarge("request", "body too large")
    recipient = recipient or service.default_chat_recipient(purpose)
    upstream = service.chat_upstream(recipient)
    gate = app[keys.GATE]
    gate.reserve()
    try:
        plan = planner(parse_body(await read_body(request, app[keys.CONFIG].limits.body_timeout_s)))
    except BaseException:
        gate.cancel()
        raise
    async with meeting_book(request, meeting_id, gate) as book:
        guarded = await guard_texts(request, gate, plan.texts, purpose, recipient, attendees, meeting_id,
                                    book)
    if guarded.refused is not None:
        return guarded.refused
    headers = guarded.headers
    forward = plan.build(guarded.redacted)
    url = upstream.config.url + path
    if stream_ok and forward.get("stream") is True:
        return await _stream(request, upstream, forward, headers, url=url)
    answer = await upstream.post_json(url, forward)
    if answer.status is None:
        raise UpstreamError(f"upstream {recipient!r}: {answer.detail}")
    return web.Response(body=answer.body, status=answer.status,
                        headers={"Content-Type": answer.content_type or "application/json", **headers})


@gateway_routes.post("/v1/responses")
async def responses(request: web.Request) -> web.StreamResponse:
    """OpenAI Responses API, guarded by allow-list; streamed events relayed."""
    return await _forward(request, plan_responses, "/responses", stream_ok=True)


@gateway_routes.post("/v1/embeddings")
async def embeddings(request: web.Request) -> web.StreamResponse:
    """OpenAI embeddings of the redacted input."""
    return await _forward(request, plan_embeddings, "/embeddings", stream_ok=False)


@gateway_routes.get("/v1/models")
async def models(request: web.Request) -> web.StreamResponse:
    """The models of the configured openai upstreams (from the config; nothing is fetched)."""
    upstreams = request.app[keys.CONFIG].upstreams
    data = [{"id": cfg.model, "object": "model", "created": 0, "owned_by": name}
            for name, cfg in sorted(upstreams.items()) if cfg.kind == "openai" and cfg.model]
    return web.json_response({"object": "list", "data": data})
