"""The OpenAI pass-through forwards by allow-list (issue #19, finding 1).

Every string anywhere in a chat body is redacted, checked, or the request is
refused with a 400 naming the path, never the value. The property test places a
personal value at a random path of a random body and checks it never reaches
the upstream, whatever the rest of the body holds.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meetguard import UsageError
from meetguard.sidecar import SidecarConfig, UpstreamConfig, init_app
from meetguard.sidecar.config import Limits
from meetguard.sidecar.openai_proxy import MAX_DEPTH, plan_request
from tests.fakes.guard import FakeGuard, load_meeting
from tests.fakes.sidecar_upstream import Recorder, build_upstream

TOKEN = "tok-client-7f3a"
AUTH = {"Authorization": f"Bearer {TOKEN}", "X-Meetguard-Purpose": "summarization"}
NAME = "Alice Martin"
MAIL = "alice.martin@northwind.example"
CARD = "4111111111111111"
SECRETS = (NAME, MAIL, CARD, "alice_martin")
Client = TestClient[web.Request, web.Application]


def fake_redact(text: str) -> str:
    for n, secret in enumerate(SECRETS, 1):
        text = text.replace(secret, f"[PERSON_{n}]")
    return text


def leaked(data: Any) -> list[str]:
    """Secrets found in what would be sent, in either JSON spelling."""
    sent = json.dumps(data, ensure_ascii=False) + json.dumps(data, ensure_ascii=True)
    return [s for s in SECRETS if s in sent]


def forward(body: dict[str, Any]) -> dict[str, Any]:
    plan = plan_request(body)
    return plan.build([fake_redact(t) for t in plan.texts])


def base(**extra: Any) -> dict[str, Any]:
    return {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}], **extra}


# -- each shape from the finding -----------------------------------------------------------

def _call(arguments: Any, **fn: Any) -> dict[str, Any]:
    return {"role": "assistant", "tool_calls": [
        {"id": "t1", "type": "function", "function": {"name": "send", "arguments": arguments, **fn}}]}


REDACTED_SHAPES: dict[str, dict[str, Any]] = {
    "arguments as an object": base(messages=[_call({"to": MAIL, "cc": [NAME], "n": int(CARD)})]),
    "arguments as JSON-escaped text": base(messages=[_call('{"to": "\\u0061lice.martin@northwind.example"}')]),
    "legacy function_call object": base(messages=[{"role": "assistant",
                                                   "function_call": {"name": "f", "arguments": {"x": NAME}}}]),
    "tool_call_id": base(messages=[_call("{}"), {"role": "tool", "tool_call_id": f"id-{MAIL}", "content": "ok"}]),
    "tool description, enum, default": base(tools=[{"type": "function", "function": {
        "name": "lookup", "description": f"find {NAME}",
        "parameters": {"type": "object", "properties": {"who": {"type": "string", "enum": [NAME, MAIL],
                                                                "default": MAIL}}}}}]),
    "response_format schema": base(response_format={"type": "json_schema", "json_schema": {
        "name": "out", "schema": {"type": "object", "description": NAME, "examples": [{"a": CARD}]}}}),
    "prediction.content": base(prediction={"type": "content", "content": f"to {NAME}"}),
    "prediction parts": base(prediction={"type": "content", "content": [{"type": "text", "text": MAIL}]}),
    "metadata": base(metadata={"owner": MAIL}),
    "stop": base(stop=[NAME, "x"]),
    "prompt_cache_key, safety_identifier, user": base(prompt_cache_key=MAIL, safety_identifier=NAME, user=MAIL),
    "message name": base(messages=[{"role": "user", "name": NAME, "content": "hi"}]),
}

REFUSED_SHAPES: dict[str, tuple[dict[str, Any], str]] = {
    "tool_calls entry as a string": (base(messages=[{"role": "assistant", "tool_calls": [f"call {NAME}"]}]),
                                     "messages[0].tool_calls[0]"),
    "function name": (base(messages=[_call("{}", name="alice_martin")]), "messages[0].tool_calls[0].function.name"),
    "tool function name": (base(tools=[{"type": "function", "function": {"name": "alice_martin"}}]),
                           "tools[0].function.name"),
    "extra key on a message": (base(messages=[{"role": "user", "content": "hi", "x_note": MAIL}]),
                               "messages[0].<key>"),
    "extra key on a content part": (base(messages=[{"role": "user", "content": [
        {"type": "text", "text": "hi", "annotations": NAME}]}]), "messages[0].content[0].annotations"),
    "model": (base(model=MAIL), "model"),
    "model matching the name pattern": (base(model="alice_martin"), "model"),
    "seed holding a card number": (base(seed=int(CARD)), "seed"),
    "unknown top-level key": (base(x_extra={"v": NAME}), "<key>"),
    "a known but refused key": (base(store=True), "store"),
    "a value as an unknown key": (base(**{MAIL: 1}), "<key>"),
    "a data key holding a value": (base(messages=[_call({NAME: 1})]), "messages[0].tool_calls[0].function.arguments"),
    "image part": (base(messages=[{"role": "user", "content": [{"type": "image_url", "image_url": {"url": MAIL}}]}]),
                   "messages[0].content[0]"),
}


@pytest.mark.parametrize("body", REDACTED_SHAPES.values(), ids=REDACTED_SHAPES.keys())
def test_each_open_field_is_redacted_or_removed(body: dict[str, Any]) -> None:
    out = forward(body)
    assert leaked(out) == []
    assert out["messages"] and out["model"] == "gpt-4o-mini"


@pytest.mark.parametrize("body,path", REFUSED_SHAPES.values(), ids=REFUSED_SHAPES.keys())
def test_each_unguardable_field_is_refused_naming_its_path(body: dict[str, Any], path: str) -> None:
    with pytest.raises(UsageError) as info:
        forward(body)
    assert info.value.message.startswith(path)
    assert leaked(info.value.message) == []


def test_tool_call_ids_are_replaced_consistently_and_arguments_stay_json() -> None:
    out = forward(base(messages=[_call({"to": MAIL}), {"role": "tool", "tool_call_id": "t1", "content": "sent"}]))
    call = out["messages"][0]["tool_calls"][0]
    assert call["id"] == out["messages"][1]["tool_call_id"] == "call_1"
    assert json.loads(call["function"]["arguments"]) == {"to": "[PERSON_2]"}


def test_numbers_in_arguments_are_kept_unless_the_guard_redacts_them() -> None:
    out = forward(base(messages=[_call({"count": 3, "card": int(CARD), "ratio": 0.5})]))
    args = json.loads(out["messages"][0]["tool_calls"][0]["function"]["arguments"])
    assert args == {"count": 3, "card": "[PERSON_3]", "ratio": 0.5}


def test_deep_json_in_arguments_is_refused() -> None:
    deep: Any = MAIL
    for _ in range(MAX_DEPTH + 5):
        deep = [deep]
    with pytest.raises(UsageError, match="nested too deeply"):
        forward(base(messages=[_call(json.dumps({"x": deep}))]))


# -- property: a value at a random path never reaches the upstream -------------------------

KEYS = ["model", "messages", "role", "content", "text", "type", "tool_calls", "function", "name",
        "arguments", "id", "tool_call_id", "tools", "parameters", "description", "enum", "default",
        "metadata", "stop", "prediction", "response_format", "json_schema", "schema", "refusal",
        "function_call", "user", "seed", "temperature", "logit_bias", "x_extra", "properties"]
scalars = st.one_of(st.none(), st.booleans(), st.integers(-10, 10), st.sampled_from(
    ["user", "assistant", "tool", "function", "text", "hi", "send", "{}", "json_schema", "content"]))
json_values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(KEYS), inner, max_size=4)), max_leaves=12)
valid_message = st.fixed_dictionaries({"role": st.sampled_from(["user", "assistant", "tool", "system"]),
                                       "content": st.sampled_from(["hi", "ok"])})
message = st.one_of(valid_message, st.dictionaries(st.sampled_from(KEYS), json_values, max_size=4)
                    .map(lambda d: {"role": "assistant", **d}))
bodies = st.fixed_dictionaries({"model": st.just("gpt-4o-mini"), "messages": st.lists(message, min_size=1, max_size=3)},
                               optional={k: json_values for k in ("tools", "metadata", "stop", "x_extra")})
secrets = st.one_of(st.sampled_from(SECRETS), st.just(int(CARD)),
                    st.sampled_from([f"note {NAME}.", f"<{MAIL}>", json.dumps({"to": MAIL}),
                                     '{"to": "\\u0041lice Martin"}']))


def _containers(node: Any, out: list[Any]) -> list[Any]:
    if isinstance(node, (dict, list)):
        out.append(node)
        for v in node.values() if isinstance(node, dict) else node:
            _containers(v, out)
    return out


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=bodies, secret=secrets, data=st.data())
def test_a_value_at_a_random_path_never_reaches_the_upstream(body: dict[str, Any], secret: Any,
                                                             data: st.DataObject) -> None:
    target = data.draw(st.sampled_from(_containers(body, [])))
    if isinstance(target, list):
        target.insert(data.draw(st.integers(0, len(target))), secret)
    elif data.draw(st.booleans()) or not isinstance(secret, str):
        target[data.draw(st.sampled_from(KEYS))] = secret
    else:
        target[secret] = data.draw(json_values)       # the value as a key
    try:
        out = forward(body)
    except UsageError as exc:
        assert leaked(exc.message) == []
        return
    assert leaked(out) == []


# -- over HTTP, with the sidecar ------------------------------------------------------------

async def test_the_sidecar_forwards_only_the_allow_listed_body(aiohttp_client: Any, aiohttp_server: Any,
                                                              tmp_path: Path) -> None:
    rec = Recorder()
    server = await aiohttp_server(build_upstream(rec))
    ups = {"llm": UpstreamConfig("llm", f"http://127.0.0.1:{server.port}/v1", "openai", 5.0)}
    cfg = replace(SidecarConfig(policy=tmp_path / "p.yaml", tokens=(TOKEN,), jobs_dir=tmp_path / "jobs",
                                limits=Limits(max_body_mb=2)), upstreams=ups)
    guard = FakeGuard(secrets=SECRETS, recipients={"summarization": ("llm",)})
    client: Client = await aiohttp_client(init_app(cfg, guard, meeting_loader=load_meeting))
    for body in REDACTED_SHAPES.values():
        resp = await client.post("/v1/chat/completions", json=body, headers=AUTH)
        assert resp.status == 200, await resp.text()
    for body, path in REFUSED_SHAPES.values():
        resp = await client.post("/v1/chat/completions", json=body, headers=AUTH)
        answer = await resp.json()
        assert resp.status == 400 and answer["message"].startswith(path)
        assert leaked(answer) == []
    assert len(rec.received) == len(REDACTED_SHAPES)
    assert [s for s in SECRETS if s in rec.everything()] == []
