"""The SSE hold-back: restored streams never carry part of a token (#15), pure, no I/O."""

from __future__ import annotations

import json
from typing import Any

import pytest

from meetguard.reidentify import Restorer
from meetguard.sidecar.sse import SSERestorer, StreamCheckError

MAP = {"[PERSON_1]": "Alice Martin", "[PERSON_12]": "Bo Li"}


def _event(choices: list[dict[str, Any]]) -> bytes:
    chunk = {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m", "choices": choices}
    return f"data: {json.dumps(chunk)}\n\n".encode()


def _content(piece: str, index: int = 0, finish: str | None = None) -> bytes:
    return _event([{"index": index, "delta": {"content": piece}, "finish_reason": finish}])


def _read(stream: bytes) -> tuple[dict[int, str], dict[int, str], bool]:
    """(content per choice, tool arguments per choice, saw [DONE])."""
    content: dict[int, str] = {}
    args: dict[int, str] = {}
    done = False
    for event in stream.decode().split("\n\n"):
        if not event.startswith("data: "):
            continue
        if event == "data: [DONE]":
            done = True
            continue
        for c in json.loads(event[6:])["choices"]:
            content[c["index"]] = content.get(c["index"], "") + (c["delta"].get("content") or "")
            for call in c["delta"].get("tool_calls") or []:
                args[c["index"]] = args.get(c["index"], "") + call["function"].get("arguments", "")
    return content, args, done


def _run(pieces: list[bytes]) -> tuple[bytes, list[bytes]]:
    sse = SSERestorer(Restorer(MAP))
    sent = [sse.feed(p) for p in pieces] + [sse.finish()]
    return b"".join(sent), sent


def test_a_token_split_at_every_point_over_two_and_three_chunks() -> None:
    text = "ask [PERSON_1] and PERSON_12."
    for a in range(len(text) + 1):
        for b in range(a, len(text) + 1):
            parts = [text[:a], text[a:b], text[b:]]
            stream = b"".join(_content(p) for p in parts) + _content("", finish="stop") + b"data: [DONE]\n\n"
            out, sent = _run([stream[: len(stream) // 2], stream[len(stream) // 2:]])
            content, _, done = _read(out)
            assert content[0] == "ask Alice Martin and Bo Li.", (a, b)
            assert done and out.endswith(b"data: [DONE]\n\n")
            assert not any(b"PERSON" in s or b"ERSON_" in s or b"<PER" in s for s in sent)


def test_bytes_split_anywhere_and_multiple_choices_and_tool_arguments() -> None:
    args = json.dumps({"to": "[PERSON_1]"})
    stream = (_content("Hi PERS", 0) + _content("hi <PERSON_1", 1) + _content("ON_12", 0)
              + _event([{"index": 0, "delta": {"tool_calls": [
                  {"index": 0, "id": "t", "function": {"name": "send", "arguments": args[:9]}}]}}])
              + _event([{"index": 0, "delta": {"tool_calls": [
                  {"index": 0, "function": {"arguments": args[9:]}}]}, "finish_reason": "tool_calls"}])
              + _content(">!", 1) + b": keep-alive\n\n" + b"data: [DONE]\n\n")
    for cut in range(0, len(stream), 7):
        out, _ = _run([stream[:cut], stream[cut:]])
        content, tool_args, done = _read(out)
        assert content == {0: "Hi Bo Li", 1: "hi Alice Martin!"} and done
        assert json.loads(tool_args[0]) == {"to": "Alice Martin"}
        assert b"PERSON" not in out


def test_held_text_is_flushed_before_done_and_nothing_sent_is_rewritten() -> None:
    sse = SSERestorer(Restorer(MAP))
    first = sse.feed(_content("see PERSON_1"))
    assert _read(first)[0] == {0: "see "}
    last = sse.feed(b"data: [DONE]\n\n")
    assert _read(last)[0] == {0: "Alice Martin"} and last.endswith(b"data: [DONE]\n\n")


@pytest.mark.parametrize("bad", [b"data: {not json\n\n", b"data: [1]\n\n", b"data: \xff\xfe\n\n",
                                 b'data: {"choices": 3}\n\n'])
def test_an_event_that_cannot_be_checked_ends_the_stream(bad: bytes) -> None:
    sse = SSERestorer(Restorer(MAP))
    assert _read(sse.feed(_content("see PERSON_1")))[0] == {0: "see "}
    with pytest.raises(StreamCheckError):
        sse.feed(bad)
    err = SSERestorer.error("stream check failed")
    assert err.startswith(b"event: error\n") and b"PERSON" not in err


def test_a_stream_cut_mid_event_is_refused() -> None:
    sse = SSERestorer(Restorer(MAP))
    sse.feed(_content("x")[:-5])
    with pytest.raises(StreamCheckError):
        sse.finish()
