"""The listening address, checked before anything slow happens.

Binding comes after the guard is built (models load in the app's startup), so a
port in use used to cost the whole model load and then read "internal error
(OSError)". :func:`check_free` binds and releases the address first and answers
with one line naming the address and the fix; :func:`bind_error` words a bind
failure that still happens later (another process took the port meanwhile).
"""

from __future__ import annotations

import errno
import socket

from .._errors import UsageError

__all__ = ["bind_error", "check_free"]


def bind_error(host: str, port: int, exc: OSError) -> UsageError:
    if exc.errno == errno.EADDRINUSE:
        return UsageError(f"port {port} on {host} is in use: stop what listens there, or pick another "
                          f"port with --port (or listen.port in the config)")
    if exc.errno in (errno.EACCES, errno.EPERM):
        return UsageError(f"may not listen on port {port} on {host} (ports under 1024 need privileges): "
                          f"pick another port with --port")
    if exc.errno == errno.EADDRNOTAVAIL:
        return UsageError(f"{host} is not an address of this machine: pick another with --host "
                          f"(or listen.host in the config)")
    return UsageError(f"cannot listen on {host}:{port} ({exc.strerror or type(exc).__name__}): "
                      f"check --host and --port")


def check_free(host: str, port: int) -> None:
    """Raise a one-line :class:`UsageError` when ``host:port`` cannot be listened on now."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror:
        raise UsageError(f"cannot resolve the listen host {host!r}: pick another with --host") from None
    for family, kind, proto, _, addr in infos[:1]:
        with socket.socket(family, kind, proto) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)   # as aiohttp binds
            try:
                sock.bind(addr)
            except OSError as exc:
                raise bind_error(host, port, exc) from None
