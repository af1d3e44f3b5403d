"""The routes people expect of a gateway (#26): /v1/models, /v1/responses, /v1/embeddings
with the official openai client, /v1/redact, 404 JSON naming the routes, /openapi.json
(equal to the committed docs/openapi.json, and covering every served route)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import openai
import pytest

from meetguard.sidecar import init_app
from meetguard.sidecar.openapi import OPERATIONS, served
from tests.fakes.guard import FakeGuard, load_meeting
from tests.fakes.sidecar_upstream import Recorder
from tests.test_sidecar import (
    AUTH,
    SECRET_MAIL,
    SECRET_NAME,
    TOKEN,
    ClientFactory,
    make_config,
    openai_client,
    start,  # noqa: F401 -- fixture
    upstream,  # noqa: F401 -- fixture
)

TOKEN_RE = r"[<\[]PERSON_\d+[>\]]"
REPO = Path(__file__).resolve().parents[1]


async def test_models_lists_the_configured_openai_upstreams(start: ClientFactory,  # noqa: F811
                                                            upstream: tuple[Recorder, str]) -> None:  # noqa: F811
    client, _ = await start()
    oai = openai_client(client)
    listed = [m async for m in oai.models.list()]
    await oai.close()
    assert [(m.id, m.owned_by) for m in listed] == [("stub", "llm-summarizer")]
    assert upstream[0].received == []          # answered from the config


async def test_responses_are_guarded_item_by_item(start: ClientFactory,  # noqa: F811
                                                  upstream: tuple[Recorder, str]) -> None:  # noqa: F811
    client, fake = await start()
    oai = openai_client(client, **{"X-Meetguard-Attendees": "p-alice,p-bob"})
    answer = await oai.responses.create(
        model="stub", instructions=f"Summarise for {SECRET_NAME}.", user="alice-user-id",
        input=[{"role": "user", "content": [{"type": "input_text", "text": f"mail {SECRET_MAIL}"}]},
               {"type": "function_call", "call_id": "c-9", "name": "send",
                "arguments": json.dumps({"to": SECRET_MAIL})},
               {"type": "function_call_output", "call_id": "c-9", "output": f"sent to {SECRET_NAME}"}],
        tools=[{"type": "function", "name": "send", "parameters": {"type": "object"}, "strict": False}])
    await oai.close()
    assert answer.output_text.startswith("echo: ")
    sent = upstream[0].received[0]
    assert sent.path == "/v1/responses"
    body = sent.json()
    assert "user" not in body and body["input"][1]["call_id"] == body["input"][2]["call_id"] == "call_1"
    assert json.loads(body["input"][1]["arguments"])["to"] != SECRET_MAIL
    for leaked in (SECRET_NAME, SECRET_MAIL, TOKEN, "alice-user-id"):
        assert leaked not in upstream[0].everything()
    assert f"Summarise for {SECRET_NAME}." in fake.seen_texts[0]


async def test_responses_stream_is_relayed_event_by_event(start: ClientFactory,  # noqa: F811
                                                          upstream: tuple[Recorder, str]) -> None:  # noqa: F811
    client, _ = await start()
    oai = openai_client(client)
    stream = await oai.responses.create(model="stub", input=f"about {SECRET_NAME}", stream=True)
    kinds = [event.type async for event in stream]
    await oai.close()
    assert kinds == ["response.created", "response.output_text.delta", "response.completed"]
    assert SECRET_NAME not in upstream[0].everything()


@pytest.mark.parametrize("body,where", [
    ({"model": "stub", "input": [{"role": "user", "content": [{"type": "input_image", "image_url": "x"}]}]},
     "input[0].content[0]"),
    ({"model": "stub", "input": "x", "tools": [{"type": "web_search"}]}, "tools[0].type"),
    ({"model": "stub", "input": "x", "previous_response_id": "resp_1"}, "<key>"),
    ({"model": "stub", "input": [{"type": "reasoning", "summary": []}]}, "input[0]"),
])
async def test_responses_outside_the_allow_list_are_refused_naming_the_path(
        start: ClientFactory, upstream: tuple[Recorder, str], body: dict[str, Any], where: str) -> None:  # noqa: F811
    client, _ = await start()
    resp = await client.post("/v1/responses", json=body, headers={**AUTH, "X-Meetguard-Purpose": "summarization"})
    assert resp.status == 400
    assert (await resp.json())["message"].startswith(where)
    assert upstream[0].received == []


async def test_embeddings_embed_the_redacted_input(start: ClientFactory,  # noqa: F811
                                                   upstream: tuple[Recorder, str]) -> None:  # noqa: F811
    client, _ = await start()
    oai = openai_client(client)
    got = await oai.embeddings.create(model="stub", input=[f"hello {SECRET_NAME}", "plain"])
    with pytest.raises(openai.BadRequestError):
        await oai.embeddings.create(model="stub", input=[[1, 2, 3]])
    await oai.close()
    assert len(got.data) == 2
    sent = upstream[0].received[0].json()
    assert upstream[0].received[0].path == "/v1/embeddings" and len(upstream[0].received) == 1
    assert SECRET_NAME not in sent["input"][0] and sent["input"][1] == "plain"


async def test_redact_plain_text_is_decided_and_audited(start: ClientFactory) -> None:  # noqa: F811
    client, fake = await start()
    resp = await client.post("/v1/redact", headers=AUTH, json={
        "text": f"call {SECRET_NAME}", "purpose": "summarization", "attendees": ["p-alice"]})
    body = await resp.json()
    assert resp.status == 200 and body["decision"] == "release" and SECRET_NAME not in body["text"]
    assert body["audit_id"] and fake.audit[-1]["decision"] == "release"
    many = await (await client.post("/v1/redact", headers=AUTH, json={
        "texts": [SECRET_NAME, "x"], "purpose": "summarization", "language": "en"})).json()
    assert len(many["texts"]) == 2 and SECRET_NAME not in many["texts"][0]
    denied = await client.post("/v1/redact", headers=AUTH, json={"text": "x", "purpose": "deny-me"})
    assert denied.status == 403 and (await denied.json())["audit_id"]
    for bad in ({"text": "x"}, {"text": "x", "texts": ["y"], "purpose": "p"}, {"text": 3, "purpose": "p"},
                {"text": "x", "purpose": "p", "other": 1}):
        assert (await client.post("/v1/redact", headers=AUTH, json=bad)).status == 400


async def test_unknown_v1_route_is_404_json_naming_the_supported_ones(start: ClientFactory) -> None:  # noqa: F811
    client, _ = await start()
    resp = await client.post("/v1/audio/transcriptions", headers=AUTH, data=b"x")
    body = await resp.json()
    assert resp.status == 404 and body["error"] == "not_found"
    assert {"POST /v1/chat/completions", "POST /v1/responses", "GET /v1/models", "POST /v1/redact"} <= set(
        body["supported"])


async def test_openapi_is_served_and_matches_the_committed_file(start: ClientFactory) -> None:  # noqa: F811
    client, _ = await start()
    resp = await client.get("/openapi.json")
    served_text = await resp.text()
    assert resp.status == 200 and json.loads(served_text)["openapi"] == "3.1.0"
    committed = (REPO / "docs" / "openapi.json").read_text()
    assert served_text == committed, "docs/openapi.json is stale: python -m meetguard.sidecar.openapi_file > docs/openapi.json"


def test_every_served_route_is_described_and_every_description_served(tmp_path: Path) -> None:
    app = init_app(make_config(tmp_path, "http://127.0.0.1:9"), FakeGuard(), meeting_loader=load_meeting)
    routes = set(served(app))
    assert routes - set(OPERATIONS) == set()          # a new route needs its description
    optional = {("POST", "/v1/hooks/zoom"), ("GET", "/v1/live/ingest"), ("GET", "/v1/live/{meeting_id}")}
    assert set(OPERATIONS) - routes == optional       # served only when zoom: / live: are configured
