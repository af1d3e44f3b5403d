"""The consent policy file (policy-v1.md): the strict parser and validator.

Validation is strict and fails closed: unknown keys, wrong types, missing
required keys, empty recipients, unknown entities or operators, timestamps
without a timezone, duplicate participant ids, a name shared by two
participants, duplicate YAML keys. Every problem raises one
:class:`~meetguard.PolicyError` naming the file, the key path and the reason.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from types import MappingProxyType
from typing import Any

import yaml

from .._errors import PolicyError
from .._time import is_aware
from .._vocabulary import GUARDED_LANGUAGES
from ..consent.history import learnt_order
from .model import (
    ENTITY_TYPES,
    OPERATORS,
    STATUSES,
    ConsentEvent,
    Participant,
    Policy,
    Purpose,
    RedactRule,
)
from .names import normalize_name

# The model's types are :mod:`.model`'s to export; this module only builds them.
__all__ = ["MAX_POLICY_BYTES", "parse_policy"]

_UNKNOWN_ID = re.compile(r"unknown-\d+\Z")
MAX_POLICY_BYTES = 8 * 1024 * 1024


# --------------------------------------------------------------------------- YAML


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that rejects duplicate keys in a mapping."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    out: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(
                None, None, "a mapping key must be a plain value", key_node.start_mark) from None
        if key in out:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {str(key)[:60]!r}", key_node.start_mark)
        out[key] = loader.construct_object(value_node, deep=True)
    return out


_StrictLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _yaml_error(path: str, exc: yaml.YAMLError) -> PolicyError:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or getattr(exc, "context", None) or "invalid YAML"
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    return PolicyError(path, "", f"invalid YAML{where}: {problem}")


# --------------------------------------------------------------------------- validation


class _V:
    """Validation helpers bound to one file path."""

    def __init__(self, path: str) -> None:
        self.path = path

    def fail(self, key: str, reason: str) -> PolicyError:
        return PolicyError(self.path, key, reason)

    def mapping(self, value: Any, key: str) -> Mapping[Any, Any]:
        if not isinstance(value, Mapping):
            raise self.fail(key, f"must be a mapping, not {_kind(value)}")
        for k in value:
            if not isinstance(k, str):
                hint = " (quote names like yes/no/on/off)" if isinstance(k, bool) else ""
                raise self.fail(key, f"keys must be strings, not {_kind(k)}{hint}")
        return value

    def keys(self, value: Mapping[str, Any], key: str, required: Iterable[str],
             optional: Iterable[str] = ()) -> None:
        req = tuple(required)
        allowed = set(req) | set(optional)
        for k in value:
            if k not in allowed:
                raise self.fail(_join(key, k), "unknown key")
        for k in req:
            if k not in value:
                raise self.fail(_join(key, k), "required key is missing")

    def string(self, value: Any, key: str, *, empty: bool = False) -> str:
        if not isinstance(value, str):
            raise self.fail(key, f"must be a string, not {_kind(value)}")
        if not empty and not value.strip():
            raise self.fail(key, "must not be empty")
        return value

    def choice(self, value: Any, key: str, choices: Iterable[str], what: str = "value") -> str:
        options = sorted(choices)
        if not isinstance(value, str) or value not in options:
            shown = repr(value)[:40] if isinstance(value, (str, int, float, bool)) else _kind(value)
            raise self.fail(key, f"unknown {what} {shown} (expected one of: {', '.join(options)})")
        return value

    def boolean(self, value: Any, key: str) -> bool:
        if not isinstance(value, bool):
            raise self.fail(key, f"must be true or false, not {_kind(value)}")
        return value

    def string_list(self, value: Any, key: str) -> tuple[str, ...]:
        if not isinstance(value, list):
            raise self.fail(key, f"must be a list, not {_kind(value)}")
        return tuple(self.string(v, f"{key}[{i}]") for i, v in enumerate(value))

    def timestamp(self, value: Any, key: str) -> datetime:
        if isinstance(value, datetime):
            ts = value
        elif isinstance(value, date):
            raise self.fail(key, "a date without time and timezone is not a timestamp")
        elif isinstance(value, str):
            try:
                ts = datetime.fromisoformat(value.strip())
            except ValueError:
                raise self.fail(key, "not an ISO 8601 timestamp") from None
        else:
            raise self.fail(key, f"must be a timestamp, not {_kind(value)}")
        if not is_aware(ts):
            raise self.fail(key, "timestamp has no timezone")
        return ts


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string",
            list: "a list", dict: "a mapping"}.get(type(value), type(value).__name__)


def _join(key: str, sub: str | int) -> str:
    if isinstance(sub, int):
        return f"{key}[{sub}]"
    return f"{key}.{sub}" if key else sub


def parse_policy(data: bytes, path: str, extra_entities: Iterable[str] = ()) -> Policy:
    """Parse and validate the bytes of a policy file (YAML or JSON)."""
    v = _V(path)
    doc = _document(v, data, path)
    v.keys(doc, "", ["version", "policy_id", "account", "purposes"],
           ["participants", "unknown_speakers", "audit", "limits", "detection"])
    version = doc["version"]
    if isinstance(version, bool) or version != 1:
        raise v.fail("version", f"unsupported version {str(version)[:20]!r} (expected 1)")
    policy_id = v.string(doc["policy_id"], "policy_id")
    account_id, ai_features = _account(v, doc["account"])
    entities = ENTITY_TYPES | frozenset(extra_entities)
    purposes_raw = v.mapping(doc["purposes"], "purposes")
    purposes = {name: _purpose(v, name, body, entities) for name, body in purposes_raw.items()}
    participants = _participants(v, doc.get("participants", []), purposes)
    unknown = "non_consenting"
    if "unknown_speakers" in doc:
        unknown = v.choice(doc["unknown_speakers"], "unknown_speakers",
                           ["non_consenting", "consenting"])
    return Policy(
        version=1,
        policy_id=policy_id,
        account_id=account_id,
        ai_features=MappingProxyType(ai_features),
        purposes=MappingProxyType(purposes),
        participants=participants,
        unknown_speakers=unknown,
        audit_path=_audit_path(v, doc),
        sha256=hashlib.sha256(data).hexdigest(),
        path=path,
        audit_key_env=_audit_key_env(v, doc),
        audio_limits=MappingProxyType(_audio_limits(v, doc.get("limits"))),
        detection_regions=_detection_regions(v, doc.get("detection")),
        detection_languages=_detection_languages(v, doc.get("detection")),
    )


def _detection_languages(v: _V, raw: Any) -> tuple[str, ...]:
    """``detection: {languages: [en, fr]}``: the languages documents may be in (default en)."""
    if raw is None:
        return ("en",)
    det = v.mapping(raw, "detection")
    v.keys(det, "detection", [], ["regions", "languages"])
    if "languages" not in det:
        return ("en",)
    names = v.string_list(det["languages"], "detection.languages")
    if not names:
        raise v.fail("detection.languages", "must list at least one language")
    for i, name in enumerate(names):
        if name not in GUARDED_LANGUAGES:
            raise v.fail(f"detection.languages[{i}]", f"unsupported language {name[:8]!r} (one of: "
                         + ", ".join(GUARDED_LANGUAGES) + ")")
    return tuple(dict.fromkeys(names))


def _document(v: _V, data: bytes, path: str) -> Mapping[Any, Any]:
    """The file's top-level mapping: size, encoding and YAML checked."""
    if len(data) > MAX_POLICY_BYTES:
        raise v.fail("", "policy file is too large")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise v.fail("", "not UTF-8 text") from None
    try:
        raw = yaml.load(text, Loader=_StrictLoader)  # a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise _yaml_error(path, exc) from None
    except RecursionError:
        raise v.fail("", "invalid YAML: nested too deeply") from None
    if raw is None:
        raise v.fail("", "the policy file is empty")
    doc = v.mapping(raw, "")
    if not isinstance(doc, Mapping):
        raise v.fail("", "must be a mapping")
    return doc


def _account(v: _V, raw: Any) -> tuple[str, dict[str, bool]]:
    account = v.mapping(raw, "account")
    v.keys(account, "account", ["id", "ai_features"])
    account_id = v.string(account["id"], "account.id")
    feats = v.mapping(account["ai_features"], "account.ai_features")
    return account_id, {k: v.boolean(val, f"account.ai_features.{k}") for k, val in feats.items()}


def _audit_path(v: _V, doc: Mapping[Any, Any]) -> str | None:
    if "audit" not in doc:
        return None
    audit = v.mapping(doc["audit"], "audit")
    v.keys(audit, "audit", [], ["path", "key_env"])
    return v.string(audit["path"], "audit.path") if "path" in audit else None


def _audit_key_env(v: _V, doc: Mapping[Any, Any]) -> str | None:
    """``audit.key_env``: the variable holding the audit chain's HMAC key (docs/security.md)."""
    if "audit" not in doc:
        return None
    audit = v.mapping(doc["audit"], "audit")
    return v.string(audit["key_env"], "audit.key_env") if "key_env" in audit else None


AUDIO_LIMIT_KEYS = ("max_audio_minutes", "max_sample_rate", "max_channels",
                    # the video stage's (docs/video.md), in the same ``limits:`` mapping
                    "max_video_minutes", "max_video_width", "max_video_height", "max_video_fps")


def _audio_limits(v: _V, given: Any) -> dict[str, int]:
    """``limits:`` (optional): bounds on audio input, each a positive integer."""
    if given is None:
        return {}
    limits = v.mapping(given, "limits")
    v.keys(limits, "limits", [], list(AUDIO_LIMIT_KEYS))
    out: dict[str, int] = {}
    for k in AUDIO_LIMIT_KEYS:
        if k in limits:
            n = limits[k]
            if isinstance(n, bool) or not isinstance(n, int) or n < 1:
                raise v.fail(f"limits.{k}", "expected a positive integer")
            out[k] = n
    return out


def _detection_regions(v: _V, raw: Any) -> tuple[str, ...]:
    """``detection: {regions: [GB, DE, ...]}``: where national phone numbers come from."""
    import phonenumbers

    if raw is None:
        return ()
    det = v.mapping(raw, "detection")
    v.keys(det, "detection", [], ["regions", "languages"])
    if "regions" not in det:
        return ()
    names = v.string_list(det["regions"], "detection.regions")
    out: list[str] = []
    for i, name in enumerate(names):
        code = name.upper()
        if code not in phonenumbers.SUPPORTED_REGIONS:
            raise v.fail(f"detection.regions[{i}]", f"unknown region {name[:8]!r} (ISO 3166 alpha-2)")
        out.append(code)
    return tuple(dict.fromkeys(out))


def _purpose(v: _V, name: str, body: Any, entities: frozenset[str]) -> Purpose:
    key = f"purposes.{name}"
    if not name.strip():
        raise v.fail(key, "a purpose name must not be empty")
    m = v.mapping(body, key)
    v.keys(m, key, ["consent", "missing_consent", "recipients", "redact", "audio"],
           ["private_messages", "retention_days", "reidentify", "video"])
    consent = v.choice(m["consent"], f"{key}.consent", ["opt_in", "opt_out"], "consent mode")
    missing = v.choice(m["missing_consent"], f"{key}.missing_consent", ["exclude", "deny"])
    recipients = v.string_list(m["recipients"], f"{key}.recipients")
    if not recipients:
        raise v.fail(f"{key}.recipients", "a purpose needs at least one recipient")
    if len(set(recipients)) != len(recipients):
        raise v.fail(f"{key}.recipients", "a recipient is listed twice")

    rkey = f"{key}.redact"
    r = v.mapping(m["redact"], rkey)
    v.keys(r, rkey, ["entities", "operator"], ["speakers"])
    ents_raw = r["entities"]
    if ents_raw == "all":
        ents = entities
    elif isinstance(ents_raw, list):
        names = v.string_list(ents_raw, f"{rkey}.entities")
        for i, e in enumerate(names):
            if e not in entities:
                raise v.fail(f"{rkey}.entities[{i}]", f"unknown entity {e[:40]!r}")
        ents = frozenset(names)
    else:
        raise v.fail(f"{rkey}.entities", "must be a list of entity types or 'all'")
    op = r["operator"]
    if not isinstance(op, str) or op not in OPERATORS:
        shown = repr(op)[:40] if isinstance(op, str) else _kind(op)
        raise v.fail(f"{rkey}.operator", f"unknown operator {shown}")
    speakers = "pseudonymize"
    if "speakers" in r:
        speakers = v.choice(r["speakers"], f"{rkey}.speakers", ["keep", "pseudonymize"])

    audio = v.choice(m["audio"], f"{key}.audio", ["bleep", "silence", "drop"], "audio rule")
    private = "exclude"
    if "private_messages" in m:
        private = v.choice(m["private_messages"], f"{key}.private_messages",
                           ["exclude", "include"])
    retention: int | None = None
    if "retention_days" in m and m["retention_days"] is not None:
        rd = m["retention_days"]
        if isinstance(rd, bool) or not isinstance(rd, int) or rd < 0:
            raise v.fail(f"{key}.retention_days", "must be a non-negative integer")
        retention = rd
    reidentify = m.get("reidentify", False)
    if not isinstance(reidentify, bool):
        raise v.fail(f"{key}.reidentify", "must be true or false")
    return Purpose(name, consent, missing, recipients, RedactRule(ents, op, speakers),
                   audio, private, retention, reidentify, _video_faces(v, name, m.get("video")),
                   m.get("video") is not None)


def _video_faces(v: _V, name: str, raw: Any) -> str:
    """``video: {faces: blur | keep}`` (docs/video.md); absent: ``keep`` for summarization
    (nothing of the picture is asked of a summary), ``blur`` for every other purpose."""
    default = "keep" if name == "summarization" else "blur"
    if raw is None:
        return default
    key = f"purposes.{name}.video"
    m = v.mapping(raw, key)
    v.keys(m, key, [], ["faces"])
    return v.choice(m["faces"], f"{key}.faces", ["blur", "keep"]) if "faces" in m else default


def _participants(v: _V, raw: Any, purposes: Mapping[str, Purpose]) -> tuple[Participant, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise v.fail("participants", f"must be a list, not {_kind(raw)}")
    out: list[Participant] = []
    ids: set[str] = set()
    owner: dict[str, str] = {}
    email_owner: dict[str, str] = {}
    for i, body in enumerate(raw):
        key = f"participants[{i}]"
        m = v.mapping(body, key)
        v.keys(m, key, ["id"], ["names", "emails", "consent"])
        pid = v.string(m["id"], f"{key}.id")
        if pid != pid.strip() or any(c.isspace() for c in pid):
            raise v.fail(f"{key}.id", "an id must not contain whitespace")
        if _UNKNOWN_ID.match(pid):
            raise v.fail(f"{key}.id", "ids of the form unknown-N are reserved")
        if pid in ids:
            raise v.fail(f"{key}.id", f"duplicate participant id {pid!r}")
        ids.add(pid)
        names = v.string_list(m.get("names", []), f"{key}.names") if "names" in m else ()
        for j, n in enumerate(names):
            norm = normalize_name(n)
            if not norm:
                raise v.fail(f"{key}.names[{j}]", "name is empty after normalisation")
            prev = owner.get(norm)
            if prev is not None and prev != pid:
                raise v.fail(f"{key}.names[{j}]", f"name is shared with participant {prev!r}")
            owner[norm] = pid
        emails = _emails(v, m, key, pid, email_owner)
        consent: dict[str, tuple[ConsentEvent, ...]] = {}
        if "consent" in m and m["consent"] is not None:
            cm = v.mapping(m["consent"], f"{key}.consent")
            for purpose, events in cm.items():
                ckey = f"{key}.consent.{purpose}"
                if purpose not in purposes:
                    raise v.fail(ckey, f"purpose {purpose[:40]!r} is not defined")
                consent[purpose] = _events(v, ckey, events)
        out.append(Participant(pid, names, MappingProxyType(consent), emails))
    return tuple(out)


def _emails(v: _V, m: Mapping[str, Any], key: str, pid: str, owner: dict[str, str]) -> tuple[str, ...]:
    """``emails``: addresses, compared case-insensitively, each owned by one participant."""
    if "emails" not in m:
        return ()
    out: list[str] = []
    for j, e in enumerate(v.string_list(m["emails"], f"{key}.emails")):
        norm = e.strip().lower()
        local, at, domain = norm.partition("@")
        if not at or not local or "." not in domain or any(c.isspace() for c in norm):
            raise v.fail(f"{key}.emails[{j}]", "not an email address")
        prev = owner.get(norm)
        if prev is not None and prev != pid:
            raise v.fail(f"{key}.emails[{j}]", f"email is shared with participant {prev!r}")
        owner[norm] = pid
        if norm not in out:
            out.append(norm)
    return tuple(out)


def _events(v: _V, key: str, raw: Any) -> tuple[ConsentEvent, ...]:
    if isinstance(raw, Mapping):
        items: list[tuple[str, Any]] = [(key, raw)]
    elif isinstance(raw, list):
        items = [(f"{key}[{i}]", e) for i, e in enumerate(raw)]
    else:
        raise v.fail(key, f"must be an event or a list of events, not {_kind(raw)}")
    events: list[ConsentEvent] = []
    for ekey, body in items:
        m = v.mapping(body, ekey)
        v.keys(m, ekey, ["status", "at"], ["expires", "recorded"])
        status = v.choice(m["status"], f"{ekey}.status", STATUSES, "status")
        at = v.timestamp(m["at"], f"{ekey}.at")
        expires = None
        if "expires" in m and m["expires"] is not None:
            expires = v.timestamp(m["expires"], f"{ekey}.expires")
            if expires <= at:
                raise v.fail(f"{ekey}.expires", "expires before the event itself")
        recorded = None
        if "recorded" in m and m["recorded"] is not None:
            recorded = v.timestamp(m["recorded"], f"{ekey}.recorded")
        events.append(ConsentEvent(status, at, expires, recorded))
    return learnt_order(events)     # the order learnt (consent/history.py)
