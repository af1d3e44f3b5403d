"""Restoring an OpenAI chat-completions SSE stream, pure and I/O-free (docs/reidentify.md).

:class:`SSERestorer` takes the upstream's bytes as they come (``feed``) and
returns the bytes to send on: each ``data:`` event's ``choices[].delta.content``
and ``tool_calls[].function.arguments`` go through a
:class:`~meetguard.reidentify.StreamRestorer` of their own (per choice, per tool
call), so no part of a token is ever sent; a choice's held text is flushed with
its ``finish_reason`` chunk, anything still held before ``[DONE]``. An event
that cannot be checked (not JSON, an unexpected shape) ends the stream with an
``event: error`` and nothing of it is sent (:meth:`error`).
"""

from __future__ import annotations

import json
from typing import Any

from ..reidentify import Restorer, StreamRestorer

__all__ = ["SSERestorer", "StreamCheckError"]


class StreamCheckError(Exception):
    """An upstream event the restorer cannot check."""


def _json_escape(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)[1:-1]


class SSERestorer:
    def __init__(self, restorer: Restorer) -> None:
        self.restorer = restorer
        self._buf = b""
        self._fields: dict[tuple[int, str, int], StreamRestorer] = {}
        self._last: dict[str, Any] = {}
        self.done = False

    @property
    def restored(self) -> int:
        return sum(s.restored for s in self._fields.values())

    def feed(self, data: bytes) -> bytes:
        """Bytes to send now; raises :class:`StreamCheckError` on an event it cannot check."""
        try:
            return self._feed(data)
        except (UnicodeError, RecursionError) as exc:   # e.g. a lone surrogate in a JSON escape
            raise StreamCheckError(f"stream: an event cannot be checked ({type(exc).__name__})") from None

    def _feed(self, data: bytes) -> bytes:
        self._buf += data.replace(b"\r\n", b"\n")
        out: list[bytes] = []
        while b"\n\n" in self._buf:
            event, self._buf = self._buf.split(b"\n\n", 1)
            out.append(self._event(event))
        return b"".join(out)

    def finish(self) -> bytes:
        """The upstream ended: what is still held (a stream cut without ``[DONE]``)."""
        if self._buf.strip():
            raise StreamCheckError("stream: the last event was cut off")
        return self._flush_all()

    @staticmethod
    def error(message: str) -> bytes:
        return b"event: error\ndata: " + json.dumps(
            {"error": {"message": message, "type": "meetguard_stream_error"}}).encode("utf-8") + b"\n\n"

    # -- events ----------------------------------------------------------------------
    def _event(self, event: bytes) -> bytes:
        try:
            lines = event.decode("utf-8", "strict").split("\n")
        except UnicodeDecodeError:
            raise StreamCheckError("stream: an event is not UTF-8") from None
        data = [ln[5:].lstrip(" ") for ln in lines if ln.startswith("data:")]
        if not data:
            return event + b"\n\n"          # a comment or keep-alive: nothing to restore
        payload = "\n".join(data)
        if payload.strip() == "[DONE]":
            self.done = True
            return self._flush_all() + b"data: [DONE]\n\n"
        try:
            chunk = json.loads(payload)
        except ValueError:
            raise StreamCheckError("stream: an event is not JSON") from None
        if not isinstance(chunk, dict):
            raise StreamCheckError("stream: an event is not a JSON object")
        if "error" not in chunk:
            self._chunk(chunk)
        return b"data: " + json.dumps(chunk, ensure_ascii=False).encode("utf-8") + b"\n\n"

    def _chunk(self, chunk: dict[str, Any]) -> None:
        self._last = {k: chunk[k] for k in ("id", "object", "created", "model") if k in chunk}
        choices = chunk.get("choices") or []
        if not isinstance(choices, list):
            raise StreamCheckError("stream: choices is not a list")
        for choice in choices:
            if not isinstance(choice, dict) or not isinstance(choice.get("index", 0), int):
                raise StreamCheckError("stream: a choice is malformed")
            index = choice.get("index", 0)
            delta = choice.setdefault("delta", {})
            if not isinstance(delta, dict):
                raise StreamCheckError("stream: a delta is malformed")
            self._delta(index, delta)
            if choice.get("finish_reason") is not None:
                self._flush_choice(index, delta)

    def _delta(self, index: int, delta: dict[str, Any]) -> None:
        if isinstance(delta.get("content"), str):
            delta["content"] = self._field(index, "content", 0).feed(delta["content"])
        calls = delta.get("tool_calls") or []
        if not isinstance(calls, list):
            raise StreamCheckError("stream: tool_calls is not a list")
        for k, call in enumerate(calls):
            fn = call.get("function") if isinstance(call, dict) else None
            if isinstance(fn, dict) and isinstance(fn.get("arguments"), str):
                fn["arguments"] = self._field(index, "args", call.get("index", k)).feed(fn["arguments"])

    def _field(self, index: int, kind: str, sub: int) -> StreamRestorer:
        key = (index, kind, sub)
        if key not in self._fields:
            self._fields[key] = StreamRestorer(self.restorer, _json_escape if kind == "args" else None)
        return self._fields[key]

    def _flush_choice(self, index: int, delta: dict[str, Any]) -> None:
        for (i, kind, sub), field in self._fields.items():
            if i != index:
                continue
            rest = field.flush()
            if not rest:
                continue
            if kind == "content":
                delta["content"] = (delta.get("content") or "") + rest
                continue
            calls = delta.setdefault("tool_calls", [])
            mine = [c for c in calls if isinstance(c, dict) and c.get("index") == sub]
            if mine:
                fn = mine[0].setdefault("function", {})
                fn["arguments"] = (fn.get("arguments") or "") + rest
            else:
                calls.append({"index": sub, "function": {"arguments": rest}})

    def _flush_all(self) -> bytes:
        out: list[bytes] = []
        for index in sorted({i for i, _, _ in self._fields}):
            delta: dict[str, Any] = {}
            self._flush_choice(index, delta)
            if delta:
                chunk = {**self._last, "choices": [{"index": index, "delta": delta, "finish_reason": None}]}
                out.append(b"data: " + json.dumps(chunk, ensure_ascii=False).encode("utf-8") + b"\n\n")
        return b"".join(out)
