"""Download one Zoom recording file into a private spool, and nothing else.

- The first URL must be on ``api_base``'s host or one of ``download_hosts``; every
  redirect must go to a ``download_hosts`` entry (``host[:port]``, exact match).
- Plain ``http`` is accepted only for loopback hosts (tests, a local stand-in).
- ``Authorization: Bearer <download_token>`` goes only to the first URL's origin;
  a redirect elsewhere (a signed CDN URL) gets no token.
- The body streams to a new 0600 file; more than ``max_bytes`` (or a declared
  ``Content-Length`` above it) aborts, and the size must equal the event's
  ``file_size`` when it gave one.
- 401/403 mean the download token expired or was refused: :class:`TokenRefused`.

Errors carry no URL, token or content: only what failed and the HTTP status.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import aiohttp

from .._errors import MeetguardError
from .zoom_config import host_key

__all__ = ["DownloadError", "DownloadRules", "TokenRefused", "download_file"]

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_MAX_REDIRECTS = 5
_CHUNK = 1 << 16


class DownloadError(MeetguardError):
    """A recording file could not be fetched safely (the job fails closed)."""

    code = "download_failed"
    http_status = 502


class TokenRefused(DownloadError):
    code = "download_token_refused"


@dataclass(frozen=True)
class DownloadRules:
    first_hosts: frozenset[str]        # api_base's host + download_hosts
    redirect_hosts: frozenset[str]     # download_hosts
    max_bytes: int
    connect_timeout_s: float = 30.0
    read_timeout_s: float = 120.0


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _checked(url: str, allowed: frozenset[str], what: str) -> str:
    key = host_key(url)
    if key is None or key not in allowed:
        raise DownloadError(f"{what}: host not in zoom.download_hosts; refused")
    parts = urlsplit(url)
    if parts.scheme != "https" and not _loopback(parts.hostname or ""):
        raise DownloadError(f"{what}: plain http is refused (https only)")
    return url


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, (host_key(url) or "")


async def download_file(session: aiohttp.ClientSession, url: str, token: str, dest: Path,
                        rules: DownloadRules, expected_size: int | None = None) -> int:
    """Fetch ``url`` into the new file ``dest`` (0600). Returns the bytes written."""
    current = _checked(url, rules.first_hosts, "download URL")
    first_origin = _origin(current)
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=rules.connect_timeout_s,
                                    sock_read=rules.read_timeout_s)
    for _ in range(_MAX_REDIRECTS + 1):
        headers = {"Authorization": f"Bearer {token}"} if _origin(current) == first_origin else {}
        try:
            async with session.get(current, headers=headers, timeout=timeout,
                                   allow_redirects=False) as resp:
                if resp.status in _REDIRECTS:
                    location = resp.headers.get("Location", "")
                    if not location:
                        raise DownloadError("download: redirect without a Location")
                    current = _checked(urljoin(current, location), rules.redirect_hosts,
                                       "download redirect")
                    continue
                if resp.status in (401, 403):
                    raise TokenRefused(f"download token expired or refused (HTTP {resp.status})")
                if resp.status != 200:
                    raise DownloadError(f"download failed (HTTP {resp.status})")
                return await _spool(resp, dest, rules.max_bytes, expected_size)
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise DownloadError(f"download failed ({type(exc).__name__})") from None
    raise DownloadError("download: too many redirects")


async def _spool(resp: aiohttp.ClientResponse, dest: Path, max_bytes: int,
                 expected_size: int | None) -> int:
    limit_mb = max_bytes // (1024 * 1024)
    if resp.content_length is not None and resp.content_length > max_bytes:
        raise DownloadError(f"download exceeds zoom.max_download_mb ({limit_mb} MB)")
    if resp.content_type == "text/html":
        raise DownloadError("download returned a web page, not a recording file")
    fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    written = 0
    try:
        with os.fdopen(fd, "wb") as fh:
            async for chunk in resp.content.iter_chunked(_CHUNK):
                written += len(chunk)
                if written > max_bytes:
                    raise DownloadError(f"download exceeds zoom.max_download_mb ({limit_mb} MB)")
                fh.write(chunk)
            fh.flush()
            os.fsync(fh.fileno())
        if expected_size is not None and written != expected_size:
            raise DownloadError("downloaded size does not match the event's file_size")
    except BaseException:
        dest.unlink(missing_ok=True)
        raise
    return written
