"""Structured JSON logs for the sidecar process (configured by :func:`serve` only).

Records carry fixed fields (request id, route, status, timings, decision,
error type); content, file names and header values are never passed to the
logger, so they cannot appear here.

Libraries (Presidio, spaCy, aiohttp, ...) log with their own ``%``-arguments,
which meetguard does not control. Their lines carry the formatted message, with
each argument shown only when it cannot be a value from content: numbers,
booleans, types, and code identifiers (``UsSsnRecognizer``, ``EMAIL_ADDRESS``,
``en_core_web_sm``). Any other argument (free text, an e-mail, a number with
digits, an exception, an object) is shown as ``<str>`` / ``<TypeName>``, and a
non-string message as its type name.
"""

from __future__ import annotations

import enum
import json
import logging
import re
import time
from collections.abc import Mapping
from typing import Any

__all__ = ["JsonFormatter", "configure_logging", "library_message"]

_FIELDS = ("request_id", "route", "method", "status", "duration_ms", "decision", "error_type", "code",
           "job", "jobs", "host", "port", "reason", "detail")


# Code identifiers, never values from content: a CamelCase class name with a code word at
# its end (``UsSsnRecognizer``), an upper-case constant with "_" (``EMAIL_ADDRESS``), a
# lower-case name with two or more "_" or "." (``en_core_web_sm``, ``presidio_analyzer.x``).
_CODE_WORDS = ("Recognizer", "Engine", "Provider", "Registry", "Enhancer", "Chunker", "Operator",
               "Anonymizer", "Analyzer", "Pipeline", "Model", "Handler", "Error", "Exception", "Warning")
_CAMEL = re.compile(r"(?:[A-Z][a-z0-9]*)+(?:" + "|".join(_CODE_WORDS) + ")")
_CONSTANT = re.compile(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+")
_DOTTED = re.compile(r"[a-z][a-z0-9]*(?:[._][a-z0-9]+){2,}")


def _safe_str(value: str) -> bool:
    if len(value) > 80 or re.search(r"\d{3}", value):  # no phone, card or account number
        return False
    return any(p.fullmatch(value) for p in (_CAMEL, _CONSTANT, _DOTTED))


class _Withheld:
    """A placeholder that reads the same under ``%s`` and ``%r`` (and fails ``%d``)."""

    def __init__(self, label: str) -> None:
        self.label = label

    def __repr__(self) -> str:
        return self.label

    __str__ = __repr__


def _safe_arg(value: Any) -> Any:
    """``value`` where it cannot come from content, else a placeholder naming its type."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, type):
        return value.__name__
    if isinstance(value, str):
        return value if _safe_str(value) else _Withheld("<str>")
    if isinstance(value, list | tuple | set | frozenset) and len(value) <= 50:
        items = [_safe_arg(v) for v in (sorted(value, key=str) if isinstance(value, set | frozenset) else value)]
        return "[" + ", ".join(str(i) for i in items) + "]"
    return _Withheld(f"<{type(value).__name__}>")


def library_message(record: logging.LogRecord) -> str:
    """A library record's message, formatted with only the arguments safe to show."""
    if not isinstance(record.msg, str):
        return f"<{type(record.msg).__name__}>"
    if not record.args:
        return record.msg
    args: Any
    if isinstance(record.args, Mapping):
        args = {k: _safe_arg(v) for k, v in record.args.items()}
    else:
        args = tuple(_safe_arg(v) for v in record.args)
    try:
        return str(record.msg % args)
    except (TypeError, ValueError, KeyError):  # "%d" given a placeholder, a bad template
        return record.msg


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage() if _ours(record) else library_message(record),
        }
        for f in _FIELDS:
            if f in record.__dict__:
                out[f] = record.__dict__[f]
        if record.exc_info and record.exc_info[0] is not None:
            out["error_type"] = record.exc_info[0].__name__   # never the message or traceback
        return json.dumps(out, default=str)


def _ours(record: logging.LogRecord) -> bool:
    return record.name == "meetguard" or record.name.startswith("meetguard.")


def configure_logging(level: int = logging.INFO) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # aiohttp's access log would print paths and headers: our own request log replaces it.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
