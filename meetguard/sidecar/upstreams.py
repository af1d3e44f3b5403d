"""Where released content goes: one tiny interface, two built-in kinds, plugins for more.

An upstream gets only what the guard released and only its own configured
headers, never the client's. Failures come back as values (status / detail
without content), so the guard can audit ``delivered: false``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import aiohttp

from .._errors import ConfigError
from .._plugins import load_group
from .config import UpstreamConfig

__all__ = ["Answer", "OpenAIUpstream", "PlainUpstream", "Upstream", "UpstreamFactory", "build_upstreams"]


@dataclass(frozen=True)
class Answer:
    """An upstream's reply. ``status`` None: no answer (timeout, connection error)."""

    status: int | None
    body: bytes = b""
    content_type: str = "application/json"
    detail: str = ""                    # why it failed; never content

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@runtime_checkable
class Upstream(Protocol):
    config: UpstreamConfig

    async def deliver(self, payload: Mapping[str, Any]) -> Answer:
        """Forward a release payload (contract §3)."""
        ...

    async def aclose(self) -> None: ...


UpstreamFactory = Callable[[UpstreamConfig, aiohttp.ClientSession], Upstream]


class PlainUpstream:
    """POST the release payload JSON to the configured URL."""

    def __init__(self, config: UpstreamConfig, session: aiohttp.ClientSession) -> None:
        self.config = config
        self._session = session

    async def post_json(self, url: str, body: Mapping[str, Any]) -> Answer:
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        headers = {"Content-Type": "application/json", **self.config.headers}
        timeout = aiohttp.ClientTimeout(total=self.config.timeout_s)
        try:
            async with self._session.post(url, data=data, headers=headers, timeout=timeout,
                                          allow_redirects=False) as resp:
                payload = await resp.read()
                return Answer(resp.status, payload, resp.headers.get("Content-Type", ""),
                              "" if 200 <= resp.status < 300 else f"upstream answered {resp.status}")
        except TimeoutError:
            return Answer(None, detail="upstream timed out")
        except aiohttp.ClientError as exc:
            return Answer(None, detail=f"upstream unreachable ({type(exc).__name__})")

    async def deliver(self, payload: Mapping[str, Any]) -> Answer:
        return await self.post_json(self.config.url, payload)

    async def aclose(self) -> None:
        return None


class OpenAIUpstream(PlainUpstream):
    """An OpenAI-compatible API at ``url`` (the ``/v1`` base).

    The pass-through posts to ``{url}/chat/completions``. A release to this kind
    becomes one chat completion (needs ``model`` in the upstream config) whose
    user message holds the released text files; audio is not sent.
    """

    def chat_url(self) -> str:
        return self.config.url + "/chat/completions"

    async def deliver(self, payload: Mapping[str, Any]) -> Answer:
        if not self.config.model:
            return Answer(None, detail="openai upstream has no model configured")
        content = payload.get("content") or {}
        parts = [f"### {name}\n{text}" for name, text in sorted(content.items())]
        body = {
            "model": self.config.model,
            "messages": [{"role": "user", "content": "\n\n".join(parts)}],
            "metadata": {"purpose": str(payload.get("purpose", ""))},
        }
        return await self.post_json(self.chat_url(), body)


BUILTIN: dict[str, UpstreamFactory] = {"plain": PlainUpstream, "openai": OpenAIUpstream}


def build_upstreams(configs: Mapping[str, UpstreamConfig], session: aiohttp.ClientSession) -> dict[str, Upstream]:
    """One upstream per configured name; kinds beyond the built-ins from ``meetguard.upstreams``."""
    factories: dict[str, UpstreamFactory] = dict(BUILTIN)
    if any(c.kind not in BUILTIN for c in configs.values()):
        factories.update(load_group("meetguard.upstreams", check=callable))
    out: dict[str, Upstream] = {}
    for name, cfg in configs.items():
        factory = factories.get(cfg.kind)
        if factory is None:
            raise ConfigError(f"upstreams.{name}.kind: unknown upstream kind {cfg.kind!r}")
        up = factory(cfg, session)
        if not isinstance(up, Upstream):
            raise ConfigError(f"upstreams.{name}.kind: plugin {cfg.kind!r} did not build an upstream")
        out[name] = up
    return out
