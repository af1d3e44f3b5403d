"""A stand-in upstream (plain release receiver + OpenAI-compatible API) that records
everything it receives, for the sidecar tests."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Recorder:
    received: list[Received] = field(default_factory=list)
    fail_status: int | None = None     # answer every request with this status

    def everything(self) -> str:
        """All bytes and headers received, as text: for "nothing leaked" checks."""
        parts = []
        for r in self.received:
            parts.append(r.body.decode("utf-8", "replace"))
            parts.extend(f"{k}: {v}" for k, v in r.headers.items())
        return "\n".join(parts)


def completion(text: str) -> dict[str, Any]:
    return {"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "stub",
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": text}}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}


def response_object(text: str) -> dict[str, Any]:
    return {"id": "resp_1", "object": "response", "created_at": 1, "status": "completed", "model": "stub",
            "output": [{"type": "message", "id": "msg_1", "status": "completed", "role": "assistant",
                        "content": [{"type": "output_text", "text": text, "annotations": []}]}],
            "parallel_tool_calls": True, "tool_choice": "auto", "tools": [],
            "usage": {"input_tokens": 1, "output_tokens": 1, "total_tokens": 2,
                      "input_tokens_details": {"cached_tokens": 0},
                      "output_tokens_details": {"reasoning_tokens": 0}}}


async def _responses(request: web.Request, body: dict[str, Any]) -> web.StreamResponse:
    """An echo of what the Responses API received (instructions and input), streamed or not."""
    echo = "echo: " + json.dumps([body.get("instructions"), body.get("input")])
    if not body.get("stream"):
        return web.json_response(response_object(echo))
    resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await resp.prepare(request)
    events = [{"type": "response.created", "sequence_number": 0, "response": {**response_object(""), "output": []}},
              {"type": "response.output_text.delta", "sequence_number": 1, "item_id": "msg_1", "output_index": 0,
               "content_index": 0, "delta": echo, "logprobs": []},
              {"type": "response.completed", "sequence_number": 2, "response": response_object(echo)}]
    for event in events:
        await resp.write(f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode())
    await resp.write_eof()
    return resp


def build_upstream(rec: Recorder) -> web.Application:
    async def record(request: web.Request) -> web.Response | web.StreamResponse:
        rec.received.append(Received(request.path, dict(request.headers), await request.read()))
        if rec.fail_status is not None:
            return web.json_response({"error": "stub failure"}, status=rec.fail_status)
        if request.path.endswith("/chat/completions"):
            body = json.loads(rec.received[-1].body)
            echo = " | ".join(str(m.get("content")) for m in body["messages"])
            if body.get("stream"):
                resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
                await resp.prepare(request)
                for piece in ("summary: ", "done"):
                    chunk = {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "stub",
                             "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]}
                    await resp.write(f"data: {json.dumps(chunk)}\n\n".encode())
                await resp.write(b"data: [DONE]\n\n")
                await resp.write_eof()
                return resp
            return web.json_response(completion("echo: " + echo))
        if request.path.endswith("/responses"):
            return await _responses(request, json.loads(rec.received[-1].body))
        if request.path.endswith("/embeddings"):
            body = json.loads(rec.received[-1].body)
            inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
            return web.json_response({"object": "list", "model": body["model"],
                                      "data": [{"object": "embedding", "index": i, "embedding": [0.5, float(len(t))]}
                                               for i, t in enumerate(inputs)],
                                      "usage": {"prompt_tokens": 1, "total_tokens": 1}})
        return web.json_response({"ok": True})

    app = web.Application(client_max_size=1 << 30)
    app.router.add_post("/{tail:.*}", record)
    return app
