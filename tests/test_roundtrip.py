"""The pass-through round trip with the official openai client (#15): an upstream that
echoes the redacted prompt in chunks of 1 to 7 characters; names come back only for an
entitled token asking X-Meetguard-Reidentify."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import openai
import pytest
from aiohttp import web

from meetguard.sidecar import SidecarConfig, UpstreamConfig, init_app
from tests.fakes.guard import FakeGuard, load_meeting

READER, PLAIN = "tok-reader-1", "tok-plain-2"
NAME, MAIL = "Alice Martin", "alice.martin@northwind.example"
PROMPT = f"Minutes: {NAME} asked {MAIL} to sign; {NAME} agreed."


def echo_upstream(seen: list[dict[str, Any]]) -> web.Application:
    async def chat(request: web.Request) -> web.StreamResponse:
        body = await request.json()
        seen.append(body)
        text = " ".join(m["content"] for m in body["messages"] if isinstance(m.get("content"), str))
        if not body.get("stream"):
            return web.json_response({"id": "c", "object": "chat.completion", "created": 1, "model": "stub",
                                      "choices": [{"index": 0, "finish_reason": "stop",
                                                   "message": {"role": "assistant", "content": text}}]})
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        rng, pos = random.Random(len(seen)), 0
        while pos < len(text):
            step = rng.randint(1, 7)
            chunk = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "stub",
                     "choices": [{"index": 0, "delta": {"content": text[pos:pos + step]}, "finish_reason": None}]}
            await resp.write(f"data: {json.dumps(chunk)}\n\n".encode())
            pos += step
        await resp.write(b"data: [DONE]\n\n")
        return resp

    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    return app


@pytest.fixture
async def sidecar(aiohttp_client: Any, aiohttp_server: Any, tmp_path: Path) -> tuple[Any, list[dict[str, Any]]]:
    seen: list[dict[str, Any]] = []
    server = await aiohttp_server(echo_upstream(seen))
    (tmp_path / "policy.yaml").write_text("", encoding="utf-8")
    up = UpstreamConfig("llm-summarizer", f"http://127.0.0.1:{server.port}/v1", "openai", 5.0, model="stub")
    cfg = SidecarConfig(policy=tmp_path / "policy.yaml", audit=tmp_path / "audit.jsonl", tokens=(READER, PLAIN),
                        reidentify_tokens=frozenset({READER}), upstreams={"llm-summarizer": up},
                        jobs_dir=tmp_path / "jobs")
    guard = FakeGuard(secrets=(NAME, MAIL))
    return await aiohttp_client(init_app(cfg, guard, meeting_loader=load_meeting)), seen


def _oai(client: Any, token: str, restore: bool) -> openai.AsyncOpenAI:
    headers = {"X-Meetguard-Purpose": "summarization", "X-Meetguard-Meeting": "m-7"}
    if restore:
        headers["X-Meetguard-Reidentify"] = "true"
    return openai.AsyncOpenAI(base_url=str(client.make_url("/v1")), api_key=token, max_retries=0,
                              default_headers=headers)


async def _ask(oai: openai.AsyncOpenAI, stream: bool) -> str:
    messages: Any = [{"role": "user", "content": PROMPT}]
    if not stream:
        answer = await oai.chat.completions.create(model="stub", messages=messages)
        return answer.choices[0].message.content or ""
    chunks = await oai.chat.completions.create(model="stub", messages=messages, stream=True)
    return "".join([c.choices[0].delta.content or "" async for c in chunks if c.choices])


@pytest.mark.parametrize("stream", [False, True])
async def test_names_come_back_only_for_an_entitled_restore(sidecar: tuple[Any, list[Any]], stream: bool) -> None:
    client, seen = sidecar
    oai = _oai(client, READER, restore=True)
    assert await _ask(oai, stream) == PROMPT                      # names intact
    assert NAME not in json.dumps(seen) and MAIL not in json.dumps(seen)
    plain = _oai(client, READER, restore=False)
    without = await _ask(plain, stream)
    assert NAME not in without and MAIL not in without and "[PERSON_1]" in without
    denied = _oai(client, PLAIN, restore=True)
    with pytest.raises(openai.PermissionDeniedError):
        await _ask(denied, stream)
    assert len(seen) == 2                                          # the refused request went nowhere
    for c in (oai, plain, denied):
        await c.close()


async def test_one_book_keeps_tokens_stable_across_requests(tmp_path: Path) -> None:
    from meetguard import Guard, GuardOptions
    from meetguard.redaction import PseudonymBook
    from meetguard.testing import FakeDetector
    from tests.test_vault import POLICY

    (tmp_path / "policy.yaml").write_text(POLICY.replace("REID", "true"), encoding="utf-8")
    guard = Guard(tmp_path / "policy.yaml", GuardOptions(audit_path=tmp_path / "audit.jsonl"),
                  detector=FakeDetector())
    book = PseudonymBook()
    _, first = await guard.redact_texts(["Bo Li is late"], "summarization", "llm", ["p-carla", "p-bo"], book=book)
    _, second = await guard.redact_texts(["Carla Nunes and Bo Li"], "summarization", "llm", ["p-carla", "p-bo"], book=book)
    _, fresh = await guard.redact_texts(["Carla Nunes and Bo Li"], "summarization", "llm", ["p-carla", "p-bo"])
    guard.close()
    assert first == ["[PERSON_1] is late"]
    assert second == ["[PERSON_2] and [PERSON_1]"]          # Bo Li is still PERSON_1
    assert fresh == ["[PERSON_1] and [PERSON_2]"]           # a new book numbers afresh
    assert book.tokens == {"[PERSON_1]": "Bo Li", "[PERSON_2]": "Carla Nunes"}
