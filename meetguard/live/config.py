"""The live sections of the sidecar config (docs/live.md).

```yaml
zoom:
  secret_env: ZOOM_WEBHOOK_SECRET        # the webhook (zoom_config.py) carries the RTMS events
  ...
  rtms:
    client_id: AbCdEf123
    client_secret_env: ZOOM_CLIENT_SECRET # the variable holding the app's client secret
    server_hosts: [rtms.zoom.us]          # host or host:port the signaling/media sockets may reach
    media: [transcript, chat]             # any of transcript, chat, audio
    audio_delay_ms: 20000                 # audio: the fixed delay the guard holds (audio only)
live:                                     # (or zoom.live) each purpose the live stream feeds
  - {purpose: summarization, recipient: notetaker}
  - {purpose: coaching, recipient: coach, forward: coach-upstream}   # POST each event there
```
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from .._errors import ConfigError

__all__ = ["LiveConfig", "LivePurpose", "RtmsConfig", "load_live"]

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_HOST = re.compile(r"^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?(:[0-9]{1,5})?$")
_MEDIA = ("transcript", "chat", "audio")
# The embedded openai-whisper tiny.en holds 20 s for two streams on 2 idle CPU cores
# (benchmarks/bench_live.py --audio: 60 of 60 s released); 3 s, the old default, held nothing.
DEFAULT_AUDIO_DELAY_MS = 20000
_RTMS_KEYS = ("client_id", "client_secret_env", "server_hosts", "media", "audio_delay_ms")


@dataclass(frozen=True)
class LivePurpose:
    purpose: str
    recipient: str
    forward: str | None = None     # an upstream name: each event is POSTed there


@dataclass(frozen=True)
class RtmsConfig:
    client_id: str
    client_secret_env: str
    server_hosts: tuple[str, ...]
    media: tuple[str, ...] = ("transcript", "chat")
    audio_delay_ms: int = DEFAULT_AUDIO_DELAY_MS
    client_secret: bytes = field(default=b"", repr=False)


@dataclass(frozen=True)
class LiveConfig:
    purposes: tuple[LivePurpose, ...]
    rtms: RtmsConfig | None = None

    def purpose(self, name: str | None) -> LivePurpose | None:
        """The configured purpose ``name`` (None given: the only one configured)."""
        if name is None:
            return self.purposes[0] if len(self.purposes) == 1 else None
        return next((p for p in self.purposes if p.purpose == name), None)


def _maybe_yaml(value: Any, where: str, src: str) -> Any:
    if isinstance(value, str):
        try:
            return yaml.safe_load(value)
        except yaml.YAMLError:
            raise ConfigError(f"{src}: {where}: invalid YAML/JSON") from None
    return value


def _purposes(value: Any, src: str, upstreams: Collection[str] | None) -> tuple[LivePurpose, ...]:
    value = _maybe_yaml(value, "live", src)
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list) or not value:
        raise ConfigError(f"{src}: live: expected a list of {{purpose, recipient, forward?}}")
    out: list[LivePurpose] = []
    for i, item in enumerate(value):
        if (not isinstance(item, dict) or not {"purpose", "recipient"} <= set(item)
                or not set(item) <= {"purpose", "recipient", "forward"}
                or not all(isinstance(v, str) and v.strip() for v in item.values())):
            raise ConfigError(f"{src}: live[{i}]: expected {{purpose, recipient, forward?}} strings")
        fwd = item.get("forward")
        if fwd is not None and upstreams is not None and fwd.strip() not in upstreams:
            raise ConfigError(f"{src}: live[{i}].forward: {fwd!r} is not a configured upstream")
        out.append(LivePurpose(item["purpose"].strip(), item["recipient"].strip(),
                               fwd.strip() if fwd else None))
    if len({p.purpose for p in out}) != len(out):
        raise ConfigError(f"{src}: live: a purpose is listed twice")
    return tuple(out)


def _strings(value: Any, where: str, src: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v.strip() for v in value):
        raise ConfigError(f"{src}: zoom.rtms.{where}: expected a non-empty list of strings")
    return tuple(v.strip().lower() for v in value)


def _rtms(raw: Any, env: Mapping[str, str], src: str) -> RtmsConfig:
    raw = _maybe_yaml(raw, "zoom.rtms", src)
    if not isinstance(raw, dict):
        raise ConfigError(f"{src}: zoom.rtms: expected a mapping")
    for k in raw:
        if k not in _RTMS_KEYS:
            raise ConfigError(f"{src}: zoom.rtms.{k}: unknown key")
    for k in ("client_id", "client_secret_env", "server_hosts"):
        if k not in raw:
            raise ConfigError(f"{src}: zoom.rtms.{k}: required")
    client_id, secret_env = raw["client_id"], raw["client_secret_env"]
    if not isinstance(client_id, str) or not client_id.strip():
        raise ConfigError(f"{src}: zoom.rtms.client_id: expected a non-empty string")
    if not isinstance(secret_env, str) or not _ENV_NAME.match(secret_env.strip()):
        raise ConfigError(f"{src}: zoom.rtms.client_secret_env: not an environment variable name")
    secret = env.get(secret_env.strip(), "").strip()
    if not secret:
        raise ConfigError(f"{src}: zoom.rtms.client_secret_env: environment variable "
                          f"{secret_env.strip()} is not set")
    hosts = _strings(raw["server_hosts"], "server_hosts", src)
    if not all(_HOST.match(h) for h in hosts):
        raise ConfigError(f"{src}: zoom.rtms.server_hosts: expected host or host:port entries")
    media = _strings(raw.get("media", ["transcript", "chat"]), "media", src)
    if not set(media) <= set(_MEDIA):
        raise ConfigError(f"{src}: zoom.rtms.media: expected any of {', '.join(_MEDIA)}")
    delay = raw.get("audio_delay_ms", DEFAULT_AUDIO_DELAY_MS)
    if isinstance(delay, bool) or not isinstance(delay, int) or not 500 <= delay <= 60000:
        raise ConfigError(f"{src}: zoom.rtms.audio_delay_ms: expected an integer from 500 to 60000")
    return RtmsConfig(client_id.strip(), secret_env.strip(), hosts, tuple(dict.fromkeys(media)),
                      delay, secret.encode("utf-8"))


def load_live(raw: Mapping[str, Any], env: Mapping[str, str], src: str,
              upstreams: Collection[str] | None = None, *, zoom_webhook: bool = True) -> LiveConfig | None:
    """``live`` (top level or in ``zoom``) and ``zoom.rtms`` of the raw config; None: off.
    ``zoom_webhook``: the zoom webhook is configured (it carries the RTMS events).
    Raises :class:`ConfigError`."""
    zoom = raw.get("zoom")
    zoom = zoom if isinstance(zoom, dict) else {}
    top, inner = raw.get("live"), zoom.get("live")
    if top is not None and inner is not None:
        raise ConfigError(f"{src}: live: give it at the top level or in zoom, not both")
    given = top if top is not None else inner
    rtms_raw = zoom.get("rtms")
    if "MEETGUARD_ZOOM_RTMS" in env:
        rtms_raw = env["MEETGUARD_ZOOM_RTMS"]
    if "MEETGUARD_LIVE" in env:
        given = env["MEETGUARD_LIVE"]
    if given is None and rtms_raw is None:
        return None
    if given is None:
        raise ConfigError(f"{src}: live: required with zoom.rtms (the purposes the live stream feeds)")
    if rtms_raw is not None and not zoom_webhook:
        raise ConfigError(f"{src}: zoom.rtms: needs the zoom webhook (zoom.secret_env) that carries its events")
    rtms = _rtms(rtms_raw, env, src) if rtms_raw is not None else None
    return LiveConfig(_purposes(given, src, upstreams), rtms)
