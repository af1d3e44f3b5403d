"""The OpenAI chat-completions body: find every free text, put redacted text back.

Redacted: each message's ``content`` (a string, or ``text`` / ``refusal``
content parts), tool-call and legacy ``function_call`` ``arguments``. Removed:
a message's ``name`` and the top-level ``user`` (identifiers the guard cannot
pseudonymise in place). Refused (fail closed): content parts that are not text
(images, audio, files): the guard cannot redact them.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from .._errors import UsageError

__all__ = ["collect_texts"]

Setter = Callable[[str], None]


def collect_texts(body: dict[str, Any]) -> tuple[dict[str, Any], list[str], list[Setter]]:
    """A deep copy of ``body`` with identifiers removed, its texts in order, and one
    setter per text that writes the redacted text into the copy."""
    out = copy.deepcopy(body)
    messages = out.get("messages")
    if not isinstance(messages, list) or not messages:
        raise UsageError("messages: expected a non-empty list")
    out.pop("user", None)
    texts: list[str] = []
    setters: list[Setter] = []

    def add(holder: dict[str, Any] | list[Any], key: Any) -> None:
        texts.append(holder[key])

        def set_(value: str, holder: Any = holder, key: Any = key) -> None:
            holder[key] = value

        setters.append(set_)

    for i, msg in enumerate(messages):
        if not isinstance(msg, dict):
            raise UsageError(f"messages[{i}]: expected an object")
        msg.pop("name", None)
        content = msg.get("content")
        if isinstance(content, str):
            add(msg, "content")
        elif isinstance(content, list):
            for j, part in enumerate(content):
                if not isinstance(part, dict):
                    raise UsageError(f"messages[{i}].content[{j}]: expected an object")
                ptype = part.get("type")
                if ptype == "text" and isinstance(part.get("text"), str):
                    add(part, "text")
                elif ptype == "refusal" and isinstance(part.get("refusal"), str):
                    add(part, "refusal")
                else:
                    raise UsageError(f"messages[{i}].content[{j}]: only text content parts can be guarded")
        elif content is not None:
            raise UsageError(f"messages[{i}].content: expected a string or a list of parts")
        if isinstance(msg.get("refusal"), str):
            add(msg, "refusal")
        calls = msg.get("tool_calls")
        if calls is not None:
            if not isinstance(calls, list):
                raise UsageError(f"messages[{i}].tool_calls: expected a list")
            for j, call in enumerate(calls):
                fn = call.get("function") if isinstance(call, dict) else None
                if isinstance(fn, dict) and isinstance(fn.get("arguments"), str):
                    add(fn, "arguments")
                elif isinstance(call, dict) and call.get("type", "function") != "function":
                    raise UsageError(f"messages[{i}].tool_calls[{j}]: only function calls can be guarded")
        legacy = msg.get("function_call")
        if isinstance(legacy, dict) and isinstance(legacy.get("arguments"), str):
            add(legacy, "arguments")
    return out, texts, setters
