"""The ``zoom:`` section of the sidecar config (the Zoom recording webhook).

```yaml
zoom:
  secret_env: ZOOM_WEBHOOK_SECRET          # the env variable holding the app's secret token
  secrets_env_previous: [ZOOM_WEBHOOK_SECRET_OLD]   # rotated-out secrets, tried in order
  replay_window_s: 5700                    # a signed request older (or newer) than this is refused
  api_base: https://zoom.us                # where the event's download URLs point
  download_hosts: [zoom.us]                # host or host:port a download may be redirected to
  purposes: [{purpose: summarization, recipient: summarizer}]
  max_download_mb: 500
```

With ``rtms`` (live meetings, docs/live.md) and neither ``download_hosts`` nor
``purposes``, the section is RTMS only: ``secret_env`` alone is required and
recording events are answered 204 and ignored.

Every key is overridable from the environment: ``MEETGUARD_ZOOM_<KEY>``
(lists comma-separated; ``MEETGUARD_ZOOM_PURPOSES`` as YAML/JSON). The secrets
themselves are read from the variables named, never from the file.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import yaml

from .._errors import ConfigError

__all__ = ["ZoomConfig", "ZoomPurpose", "host_key", "load_zoom"]

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_HOST = re.compile(r"^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?(:[0-9]{1,5})?$")
_KEYS = ("secret_env", "secrets_env_previous", "replay_window_s", "api_base", "download_hosts",
         "purposes", "max_download_mb", "rtms", "live")   # rtms, live: meetguard/live/config.py


@dataclass(frozen=True)
class ZoomPurpose:
    purpose: str
    recipient: str


@dataclass(frozen=True)
class ZoomConfig:
    secret_env: str
    download_hosts: tuple[str, ...]
    purposes: tuple[ZoomPurpose, ...]
    secrets: tuple[bytes, ...] = field(default=(), repr=False)   # current first, then previous
    secrets_env_previous: tuple[str, ...] = ()
    replay_window_s: int = 5700
    api_base: str = "https://zoom.us"
    max_download_mb: int = 500

    @property
    def max_download_bytes(self) -> int:
        return self.max_download_mb * 1024 * 1024

    @property
    def api_host(self) -> str:
        return host_key(self.api_base) or ""


def host_key(url: str) -> str | None:
    """``host`` or ``host:port`` (as written in the URL) of an http(s) URL; None if it has none."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname or "@" in parts.netloc:
        return None
    return parts.hostname.lower() + (f":{port}" if port is not None else "")


def _names(value: Any, where: str, src: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ConfigError(f"{src}: zoom.{where}: expected a list of non-empty strings")
    return tuple(v.strip() for v in value)


def _int(value: Any, src: str, where: str, least: int) -> int:
    if isinstance(value, str):
        try:
            value = int(value.strip())
        except ValueError:
            raise ConfigError(f"{src}: zoom.{where}: expected an integer") from None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{src}: zoom.{where}: expected an integer")
    if value < least:
        raise ConfigError(f"{src}: zoom.{where}: must be at least {least}")
    return value


def _purposes(value: Any, src: str) -> tuple[ZoomPurpose, ...]:
    if isinstance(value, str):
        try:
            value = yaml.safe_load(value)
        except yaml.YAMLError:
            raise ConfigError(f"{src}: zoom.purposes: invalid YAML/JSON") from None
    if not isinstance(value, list) or not value:
        raise ConfigError(f"{src}: zoom.purposes: expected a non-empty list of {{purpose, recipient}}")
    out: list[ZoomPurpose] = []
    for i, item in enumerate(value):
        if (not isinstance(item, dict) or set(item) != {"purpose", "recipient"}
                or not all(isinstance(v, str) and v.strip() for v in item.values())):
            raise ConfigError(f"{src}: zoom.purposes[{i}]: expected {{purpose, recipient}} strings")
        out.append(ZoomPurpose(item["purpose"].strip(), item["recipient"].strip()))
    if len(set(out)) != len(out):
        raise ConfigError(f"{src}: zoom.purposes: a purpose and recipient pair is listed twice")
    return tuple(out)


def _secret(env: Mapping[str, str], name: str, where: str, src: str) -> bytes:
    if not _ENV_NAME.match(name):
        raise ConfigError(f"{src}: zoom.{where}: not an environment variable name")
    value = env.get(name, "")
    if not value.strip():
        raise ConfigError(f"{src}: zoom.{where}: environment variable {name} is not set")
    return value.strip().encode("utf-8")


def _values(raw: Any, env: Mapping[str, str], src: str) -> dict[str, tuple[Any, str]]:
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{src}: zoom: expected a mapping")
    for k in raw:
        if k not in _KEYS:
            raise ConfigError(f"{src}: zoom.{k}: unknown key")
    values = {k: (v, src) for k, v in raw.items() if v is not None}
    for k in _KEYS:
        var = "MEETGUARD_ZOOM_" + k.upper()
        if var in env:
            values[k] = (env[var], var)
    return values


def load_zoom(raw: Any, env: Mapping[str, str], src: str,
              upstreams: Collection[str] | None = None) -> ZoomConfig | None:
    """The ``zoom`` section (None: the webhook is off); each purpose's recipient must be
    one of ``upstreams`` when given. Raises :class:`ConfigError`."""
    if raw is None and "MEETGUARD_ZOOM_SECRET_ENV" not in env:
        return None
    values = _values(raw, env, src)
    # RTMS alone (zoom.rtms, docs/live.md) needs only the webhook's secret: the recording
    # keys (download_hosts, purposes) are required only without it
    rtms_only = "rtms" in values and "download_hosts" not in values and "purposes" not in values
    for k in ("secret_env",) if rtms_only else ("secret_env", "download_hosts", "purposes"):
        if k not in values:
            raise ConfigError(f"{src}: zoom.{k}: required")
    secret_env, s_src = values["secret_env"]
    if not isinstance(secret_env, str) or not secret_env.strip():
        raise ConfigError(f"{s_src}: zoom.secret_env: expected a non-empty string")
    def get(key: str, default: Any) -> tuple[Any, str]:
        return values.get(key, (default, src))

    prev_v, prev_src = get("secrets_env_previous", [])
    previous = _names(prev_v, "secrets_env_previous", prev_src)
    secrets = (_secret(env, secret_env.strip(), "secret_env", s_src),
               *(_secret(env, n, "secrets_env_previous", prev_src) for n in previous))
    hosts_v, h_src = values.get("download_hosts", ([], src))
    hosts = tuple(h.lower() for h in _names(hosts_v, "download_hosts", h_src))
    for h in hosts:
        if not _HOST.match(h):
            raise ConfigError(f"{h_src}: zoom.download_hosts: expected host or host:port entries")
    api_base, a_src = get("api_base", "https://zoom.us")
    if not isinstance(api_base, str) or host_key(api_base.strip()) is None:
        raise ConfigError(f"{a_src}: zoom.api_base: expected an http(s) URL")
    window = _int(*get("replay_window_s", 5700), "replay_window_s", 1)
    cap = _int(*get("max_download_mb", 500), "max_download_mb", 1)
    purposes_v, p_src = values.get("purposes", (None, src))
    purposes = _purposes(purposes_v, p_src) if purposes_v is not None else ()
    for zp in purposes:
        if upstreams is not None and zp.recipient not in upstreams:
            raise ConfigError(f"{p_src}: zoom.purposes: recipient {zp.recipient!r} has no configured upstream")
    return ZoomConfig(secret_env=secret_env.strip(), download_hosts=hosts,
                      purposes=purposes, secrets=secrets,
                      secrets_env_previous=previous, replay_window_s=window,
                      api_base=api_base.strip().rstrip("/"), max_download_mb=cap)
