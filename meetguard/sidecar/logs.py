"""Structured JSON logs for the sidecar process (configured by :func:`serve` only).

Records carry fixed fields (request id, route, status, timings, decision,
error type); content, file names and header values are never passed to the
logger, so they cannot appear here.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

__all__ = ["JsonFormatter", "configure_logging"]

_FIELDS = ("request_id", "route", "method", "status", "duration_ms", "decision", "error_type", "code",
           "job", "jobs", "host", "port", "reason", "detail")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage() if record.name.startswith("meetguard") else record.msg,
        }
        for f in _FIELDS:
            if f in record.__dict__:
                out[f] = record.__dict__[f]
        if record.exc_info and record.exc_info[0] is not None:
            out["error_type"] = record.exc_info[0].__name__   # never the message or traceback
        return json.dumps(out, default=str)


def configure_logging(level: int = logging.INFO) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # aiohttp's access log would print paths and headers: our own request log replaces it.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
