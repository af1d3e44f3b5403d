"""A stand-in Zoom on loopback: the web host that checks the download token and serves
or redirects recording files, and a download host (CDN) that serves redirected files.
Every request is recorded (server name, path, Authorization header) so tests can see
what was fetched, from where, with which credentials."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from aiohttp import web


@dataclass
class ZoomState:
    files: dict[str, bytes] = field(default_factory=dict)        # file id -> content
    token: str = "dl-tok-9f2c41"                                 # the valid download token
    redirect: dict[str, str] = field(default_factory=dict)       # file id -> absolute URL
    hits: list[tuple[str, str, str | None]] = field(default_factory=list)
    hold: asyncio.Event | None = None                            # serve only once set
    held: set[str] = field(default_factory=set)                  # hold only these ids (all: empty)

    def fetched(self, server: str | None = None) -> list[str]:
        return [path.rsplit("/", 1)[-1] for name, path, _ in self.hits
                if server is None or name == server]


async def _serve(state: ZoomState, file_id: str) -> web.StreamResponse:
    if state.hold is not None and (not state.held or file_id in state.held):
        await state.hold.wait()
    data = state.files.get(file_id)
    if data is None:
        return web.json_response({"code": 3301, "message": "file not found"}, status=404)
    return web.Response(body=data, content_type="application/octet-stream")


def build_zoom(state: ZoomState) -> web.Application:
    """Zoom's web host: ``GET /rec/download/{id}`` with ``Authorization: Bearer <token>``."""
    async def download(request: web.Request) -> web.StreamResponse:
        auth = request.headers.get("Authorization")
        state.hits.append(("zoom", request.path, auth))
        if auth != f"Bearer {state.token}":
            return web.json_response({"code": 124, "message": "Invalid access token."}, status=401)
        file_id = request.match_info["id"]
        if file_id in state.redirect:
            raise web.HTTPFound(state.redirect[file_id])
        return await _serve(state, file_id)

    app = web.Application()
    app.router.add_get("/rec/download/{id}", download)
    return app


def build_cdn(state: ZoomState, name: str = "cdn") -> web.Application:
    """A download host: ``GET /files/{id}`` (a signed URL in real life; no token needed)."""
    async def files(request: web.Request) -> web.StreamResponse:
        state.hits.append((name, request.path, request.headers.get("Authorization")))
        return await _serve(state, request.match_info["id"])

    app = web.Application()
    app.router.add_get("/files/{id}", files)
    return app
