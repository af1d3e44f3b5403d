"""The one place where exceptions become HTTP answers.

Every error body is ``{"error": code, "message": text}``. Messages come from
the meetguard error tree (one line, never a content value) or from a fixed
table; anything else is ``500 internal`` with a fixed message: no traceback,
no third-party text that might quote content.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiohttp import web

from .._errors import MeetguardError, Overloaded

__all__ = ["CODES", "error_outcome", "error_response"]

CODES: dict[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    408: "request_timeout",
    413: "too_large",
    415: "unsupported_media",
    422: "invalid_input",
    429: "too_many_requests",
    500: "internal",
    502: "upstream_failed",
    503: "unavailable",
}
_FIXED_MESSAGES: dict[int, str] = {
    401: "missing or invalid bearer token",
    404: "not found",
    405: "method not allowed",
    408: "request body not received in time",
    413: "request body too large",
    500: "internal error",
}


def error_outcome(exc: BaseException, scrub: Path | None = None,
                  retry_after_s: int = 5) -> tuple[int, dict[str, Any], dict[str, str]]:
    """(status, body, headers) for an exception. ``scrub``: a private directory whose
    path is removed from messages (uploads are named there)."""
    headers: dict[str, str] = {}
    if isinstance(exc, MeetguardError):
        status, code, message = exc.http_status, exc.code, exc.message
        if isinstance(exc, Overloaded) or status in (429, 503):
            headers["Retry-After"] = str(retry_after_s)
    elif isinstance(exc, web.HTTPException):
        status = exc.status
        code = CODES.get(status, "error")
        message = _FIXED_MESSAGES.get(status, code.replace("_", " "))
    else:
        status, code, message = 500, "internal", _FIXED_MESSAGES[500]
    if scrub is not None:
        message = message.replace(str(scrub) + "/", "").replace(str(scrub), "")
    return status, {"error": code, "message": message}, headers


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None,
                   **extra: Any) -> web.Response:
    return web.json_response({"error": code, "message": message, **extra}, status=status,
                             headers=headers)
