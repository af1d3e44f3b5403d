"""aiohttp's own protocol errors as our JSON errors (issue #19 finding 10).

A malformed request line, bad header bytes, oversize headers or a broken
chunked body never reach a middleware: aiohttp's ``RequestHandler.handle_error``
answers them itself, as text/plain that quotes the offending bytes, and logs
them at error level. :class:`SidecarRunner` serves the app with a handler whose
``handle_error`` answers ``{"error": code, "message": text}`` from a fixed table
(nothing of the request is echoed) and logs one info line (status and error
type only); a 5xx stays an error line.

The seam is aiohttp's public classes: ``web.Server`` builds each connection's
handler (``__call__``, with aiohttp's own argument handling), and the handler is
given a subclass that only adds ``handle_error`` (same slots, so the swap is
exact). ``AppRunner._make_server`` is where aiohttp's runner builds that server.
"""

from __future__ import annotations

import logging

from aiohttp import web

from .errors import CODES

__all__ = ["SidecarRunner"]

log = logging.getLogger("meetguard.sidecar")
_MESSAGES = {400: "malformed HTTP request", 500: "internal error", 504: "request timed out"}


class _JsonErrorHandler(web.RequestHandler):
    __slots__ = ()

    def handle_error(self, request: web.BaseRequest, status: int = 500, exc: BaseException | None = None,
                     message: str | None = None) -> web.StreamResponse:
        level = logging.INFO if status < 500 else logging.ERROR
        log.log(level, "protocol error", extra={"status": status, "error_type": type(exc).__name__
                                                 if exc is not None else None})
        if request.writer.output_size > 0:   # as aiohttp: an answer is on the wire already
            raise ConnectionError("response already sent, cannot send an error")
        code = CODES.get(status, "error")
        resp = web.json_response({"error": code, "message": _MESSAGES.get(status, code.replace("_", " "))},
                                 status=status)
        resp.force_close()
        return resp


class _JsonErrorServer(web.Server):
    def __call__(self) -> web.RequestHandler:
        handler = super().__call__()
        handler.__class__ = _JsonErrorHandler
        return handler


class SidecarRunner(web.AppRunner):
    """``web.AppRunner`` whose connections answer protocol errors as JSON."""

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        server.__class__ = _JsonErrorServer
        return server
