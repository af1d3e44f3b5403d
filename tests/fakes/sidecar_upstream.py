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
        return web.json_response({"ok": True})

    app = web.Application(client_max_size=1 << 30)
    app.router.add_post("/{tail:.*}", record)
    return app
