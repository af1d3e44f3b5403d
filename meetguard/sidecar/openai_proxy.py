"""The OpenAI chat-completions body by allow-list: every string is redacted, checked or refused.

:func:`plan_request` walks the whole JSON body against a table of the fields the
pass-through knows (``ALLOWED_TOP``, ``ALLOWED_MESSAGE``, ...) and builds a new
body from them alone; nothing the table does not name is ever copied:

- **text** (message ``content``, text/refusal parts, ``refusal``, ``stop``,
  descriptions, ``prediction`` content) is redacted;
- **JSON data** (tool-call and ``function_call`` arguments, whether a JSON
  string or an object; tool ``parameters`` and ``response_format`` schemas, with
  their ``enum``/``default``/``examples``) is walked: every string in it is
  redacted, every number whose digits the guard would redact becomes the
  redacted text, every key must come back from the guard unchanged;
- **identifiers** that must keep their value (``model``, function names, schema
  names, numbers such as ``seed``) are sent through the guard too and the
  request is refused when the guard would change them;
- tool-call ids are replaced by generated ones (``call_1``...), consistently
  within the request;
- ``user``, ``safety_identifier``, ``prompt_cache_key``, ``metadata`` and a
  message's ``name`` are removed (identifiers and tags the guard cannot
  pseudonymise in place);
- anything else (an unknown key anywhere, a non-text content part, a wrong
  type, JSON nested deeper than ``MAX_DEPTH``, a lone surrogate) is refused with
  :class:`UsageError` naming the field's path, never its value.

:meth:`Plan.build` takes the redacted texts (same order as :attr:`Plan.texts`)
and returns the body to forward.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .._errors import UsageError

__all__ = ["ALLOWED_MESSAGE", "ALLOWED_TOP", "DROPPED", "MAX_DEPTH", "Plan", "parse_body", "plan_request"]

MAX_DEPTH = 32
_FUNCTION_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_MODEL = re.compile(r"^[A-Za-z0-9._:/-]{1,128}$")
_TOKEN_ID = re.compile(r"^(0|[1-9][0-9]{0,6})$")   # a tokenizer's id: an integer, no leading zero
MAX_TOKEN_ID = 1_000_000                               # above every tokenizer's vocabulary
DROPPED = frozenset({"user", "safety_identifier", "prompt_cache_key", "metadata"})


@dataclass(frozen=True)
class _Slot:
    """A placeholder for ``texts[index]`` in the body being built."""

    index: int
    path: str
    mode: str = "text"          # text | ident (must not change) | number (kept unless redacted)
    original: Any = None


@dataclass(frozen=True)
class _AsJson:
    """Serialised to a JSON string once its texts are in (tool-call arguments)."""

    tree: Any


@dataclass
class Plan:
    """Texts for the guard, in order, and the body with placeholders for them."""

    texts: list[str] = field(default_factory=list)
    body: dict[str, Any] = field(default_factory=dict)
    _keys: list[_Slot] = field(default_factory=list)
    _call_ids: dict[str, str] = field(default_factory=dict)

    # -- building ----------------------------------------------------------------
    def text(self, value: Any, path: str, mode: str = "text") -> _Slot:
        if not isinstance(value, str):
            raise UsageError(f"{path}: expected a string")
        _check_unicode(value, path)
        self.texts.append(value)
        return _Slot(len(self.texts) - 1, path, mode, value)

    def key(self, key: str, path: str) -> None:
        """A data key: sent through the guard, must come back unchanged."""
        self._keys.append(self.text(key, path, "ident"))

    def call_id(self, value: Any, path: str) -> str:
        if not isinstance(value, str) or not value:
            raise UsageError(f"{path}: expected a non-empty string")
        if value not in self._call_ids:
            self._call_ids[value] = f"call_{len(self._call_ids) + 1}"
        return self._call_ids[value]

    # -- finishing ---------------------------------------------------------------
    def build(self, redacted: list[str]) -> dict[str, Any]:
        """The body to forward, with ``redacted[i]`` in place of ``texts[i]``."""
        if len(redacted) != len(self.texts):
            raise UsageError("request: the guard did not return every text")
        for slot in self._keys:
            self._fill(slot, redacted)
        out = self._materialize(self.body, redacted)
        assert isinstance(out, dict)
        return out

    def _fill(self, slot: _Slot, redacted: list[str]) -> Any:
        new = redacted[slot.index]
        if slot.mode == "text":
            return new
        if new == self.texts[slot.index]:
            return slot.original
        if slot.mode == "number":
            return new
        raise UsageError(f"{slot.path}: holds a value the policy redacts; it cannot be forwarded")

    def _materialize(self, node: Any, redacted: list[str]) -> Any:
        if isinstance(node, _Slot):
            return self._fill(node, redacted)
        if isinstance(node, _AsJson):
            return json.dumps(self._materialize(node.tree, redacted), ensure_ascii=False)
        if isinstance(node, dict):
            return {k: self._materialize(v, redacted) for k, v in node.items()}
        if isinstance(node, list):
            return [self._materialize(v, redacted) for v in node]
        return node


Node = Callable[[Plan, Any, str], Any]


def _check_unicode(value: str, path: str) -> None:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise UsageError(f"{path}: not valid Unicode (a lone surrogate)") from None


# Field names an error may show: the allow-list's own and OpenAI fields the pass-through
# refuses. Any other key is shown as <key>: it may be a value.
_KNOWN_NAMES: set[str] = set(DROPPED) | {
    "name", "store", "audio", "web_search_options", "annotations", "image_url", "input_audio",
    "file", "custom", "cache_control", "logprobs", "service_tier", "modalities"}


def _shown(key: Any) -> str:
    """A key as it may appear in an error: a known field name, never a value."""
    return key if isinstance(key, str) and key in _KNOWN_NAMES else "<key>"


def parse_body(raw: bytes) -> dict[str, Any]:
    """The request body as a JSON object; 400 (UsageError) for anything else."""
    def no_constant(name: str) -> Any:
        raise ValueError(name)

    try:
        body = json.loads(raw.decode("utf-8"), parse_constant=no_constant)
    except (ValueError, UnicodeDecodeError):
        raise UsageError("request: body is not valid JSON") from None
    except RecursionError:
        raise UsageError("request: JSON nested too deeply") from None
    if not isinstance(body, dict):
        raise UsageError("request: expected a JSON object")
    return body


# -- node kinds ------------------------------------------------------------------------

def _obj(fields: Mapping[str, Node], required: tuple[str, ...] = (),
         dropped: frozenset[str] = frozenset()) -> Node:
    _KNOWN_NAMES.update(fields)

    def node(plan: Plan, value: Any, path: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise UsageError(f"{path or 'request'}: expected an object")
        out: dict[str, Any] = {}
        for k, v in value.items():
            where = f"{path}.{_shown(k)}" if path else _shown(k)
            if k in dropped:
                continue
            if k not in fields:
                raise UsageError(f"{where}: field not allowed by the pass-through")
            if v is not None:
                out[k] = fields[k](plan, v, where)
        for k in required:
            if k not in out:
                raise UsageError(f"{path + '.' if path else ''}{k}: required")
        return out
    return node


def _list(item: Node, max_items: int = 10_000, non_empty: bool = False) -> Node:
    def node(plan: Plan, value: Any, path: str) -> list[Any]:
        if not isinstance(value, list) or (non_empty and not value):
            raise UsageError(f"{path}: expected a {'non-empty ' if non_empty else ''}list")
        if len(value) > max_items:
            raise UsageError(f"{path}: too many items")
        return [item(plan, v, f"{path}[{i}]") for i, v in enumerate(value)]
    return node


def _enum(*allowed: str) -> Node:
    def node(plan: Plan, value: Any, path: str) -> str:
        if value not in allowed:
            raise UsageError(f"{path}: expected one of {', '.join(allowed)}")
        return str(value)
    return node


def _ident(pattern: re.Pattern[str]) -> Node:
    def node(plan: Plan, value: Any, path: str) -> _Slot:
        if not isinstance(value, str) or not pattern.match(value):
            raise UsageError(f"{path}: not a valid name")
        return plan.text(value, path, "ident")
    return node


def _text(plan: Plan, value: Any, path: str) -> _Slot:
    return plan.text(value, path)


def _boolean(plan: Plan, value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise UsageError(f"{path}: expected true or false")
    return value


def _number(plan: Plan, value: Any, path: str) -> _Slot:
    """A number forwarded as it is only if the guard finds nothing in its digits."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise UsageError(f"{path}: expected a number")
    slot = plan.text(str(value), path, "ident")
    return _Slot(slot.index, path, "ident", value)


def _text_or_texts(plan: Plan, value: Any, path: str) -> Any:
    if isinstance(value, list):
        return _list(_text, max_items=16)(plan, value, path)
    return _text(plan, value, path)


def _data(plan: Plan, value: Any, path: str, depth: int = 0) -> Any:
    """Any JSON value: strings redacted, keys checked, numbers checked."""
    if depth > MAX_DEPTH:
        raise UsageError(f"{path}: JSON nested too deeply")
    if isinstance(value, str):
        return plan.text(value, path)
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float)):
        slot = plan.text(str(value), path, "number")
        return _Slot(slot.index, path, "number", value)
    if isinstance(value, list):
        return [_data(plan, v, f"{path}[{i}]", depth + 1) for i, v in enumerate(value)]
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            where = f"{path}.<key>"
            plan.key(k, where)
            out[k] = _data(plan, v, where, depth + 1)
        return out
    raise UsageError(f"{path}: not JSON")


def _data_node(plan: Plan, value: Any, path: str) -> Any:
    return _data(plan, value, path)


def _arguments(plan: Plan, value: Any, path: str) -> Any:
    """Tool-call arguments: a JSON string or object, walked as data, sent as a JSON string.
    A string that is not JSON is redacted as text."""
    if isinstance(value, str):
        _check_unicode(value, path)
        try:
            parsed = json.loads(value)
        except ValueError:
            return plan.text(value, path)
        except RecursionError:
            raise UsageError(f"{path}: JSON nested too deeply") from None
        return _AsJson(_data(plan, parsed, path))
    if isinstance(value, (dict, list)):
        return _AsJson(_data(plan, value, path))
    raise UsageError(f"{path}: expected a JSON string or object")


def _call_id(plan: Plan, value: Any, path: str) -> str:
    return plan.call_id(value, path)


def _union(by_type: Mapping[type, Node]) -> Node:
    def node(plan: Plan, value: Any, path: str) -> Any:
        for kind, inner in by_type.items():
            if isinstance(value, kind):
                return inner(plan, value, path)
        raise UsageError(f"{path}: unexpected type")
    return node


# -- the allow-list --------------------------------------------------------------------

_fname = _ident(_FUNCTION_NAME)
_TEXT_PART = _obj({"type": _enum("text"), "text": _text}, required=("type", "text"))
_REFUSAL_PART = _obj({"type": _enum("refusal"), "refusal": _text}, required=("type", "refusal"))


def _content_part(plan: Plan, value: Any, path: str) -> Any:
    kind = value.get("type") if isinstance(value, dict) else None
    if kind == "text":
        return _TEXT_PART(plan, value, path)
    if kind == "refusal":
        return _REFUSAL_PART(plan, value, path)
    raise UsageError(f"{path}: only text content parts can be guarded")


_content = _union({str: _text, list: _list(_content_part)})
_call_function = _obj({"name": _fname, "arguments": _arguments}, required=("name",))
_tool_call = _obj({"id": _call_id, "type": _enum("function"), "function": _call_function},
                  required=("function",))
_function_def = _obj({"name": _fname, "description": _text, "parameters": _data_node,
                      "strict": _boolean}, required=("name",))
_json_schema = _obj({"name": _fname, "description": _text, "schema": _data_node, "strict": _boolean},
                    required=("name",))

ALLOWED_MESSAGE: dict[str, Node] = {
    "role": _enum("system", "developer", "user", "assistant", "tool", "function"),
    "content": _content,
    "refusal": _text,
    "tool_calls": _list(_tool_call),
    "function_call": _call_function,
    "tool_call_id": _call_id,
}
_message = _obj(ALLOWED_MESSAGE, required=("role",), dropped=frozenset({"name"}))

ALLOWED_TOP: dict[str, Node] = {
    "model": _ident(_MODEL),
    "messages": _list(_message, non_empty=True),
    **{k: _number for k in ("temperature", "top_p", "frequency_penalty", "presence_penalty",
                            "max_tokens", "max_completion_tokens", "n", "seed", "top_logprobs")},
    **{k: _boolean for k in ("stream", "logprobs", "parallel_tool_calls")},
    "stream_options": _obj({"include_usage": _boolean}),
    "stop": _text_or_texts,
    "response_format": _obj({"type": _enum("text", "json_object", "json_schema"),
                             "json_schema": _json_schema}, required=("type",)),
    "tools": _list(_obj({"type": _enum("function"), "function": _function_def}, required=("function",))),
    "tool_choice": _union({str: _enum("none", "auto", "required"),
                           dict: _obj({"type": _enum("function"), "function": _obj({"name": _fname})})}),
    "functions": _list(_function_def),
    "function_call": _union({str: _enum("none", "auto"), dict: _obj({"name": _fname})}),
    "logit_bias": _union({dict: lambda plan, v, path: _logit_bias(plan, v, path)}),
    "prediction": _obj({"type": _enum("content"), "content": _content}, required=("type", "content")),
    "reasoning_effort": _enum("none", "minimal", "low", "medium", "high"),
    "verbosity": _enum("low", "medium", "high"),
    "service_tier": _enum("auto", "default", "flex", "priority"),
    "modalities": _list(_enum("text"), max_items=1),
}
_top = _obj(ALLOWED_TOP, required=("messages",), dropped=DROPPED)


def _logit_bias(plan: Plan, value: dict[str, Any], path: str) -> dict[str, int | float]:
    """Token id -> bias. A key is a token id (an integer up to MAX_TOKEN_ID, refused
    otherwise) and, like every number forwarded, goes through the guard (#25 finding 5)."""
    out: dict[str, int | float] = {}
    for k, v in value.items():
        if not isinstance(k, str) or not _TOKEN_ID.match(k) or int(k) > MAX_TOKEN_ID:
            raise UsageError(f"{path}.<key>: expected a token id (an integer 0-{MAX_TOKEN_ID})")
        plan.key(k, f"{path}.<key>")
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not -100 <= v <= 100:
            raise UsageError(f"{path}.{k}: expected a number from -100 to 100")
        out[k] = v
    return out


def plan_request(body: dict[str, Any]) -> Plan:
    """Walk ``body`` against the allow-list (raises :class:`UsageError` naming the path)."""
    plan = Plan()
    plan.body = _top(plan, body, "")
    return plan
