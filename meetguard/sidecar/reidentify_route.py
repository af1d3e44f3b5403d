"""``POST /v1/reidentify`` (docs/reidentify.md): restore a meeting's pseudonyms in a text,
for tokens configured ``reidentify: true`` only; every call audited, never a value."""

from __future__ import annotations

import asyncio
import functools
import hashlib

from aiohttp import web

from .._errors import UsageError
from .._ids import check_id
from ..audit import AuditLog
from ..reidentify import reidentify_meeting
from ..vault import VaultNotFound
from . import keys
from .errors import error_response
from .openai_proxy import parse_body
from .scopes import has_scope

__all__ = ["caller_of", "entitled", "routes"]

routes = web.RouteTableDef()
MAX_TEXT = 1 << 20


def caller_of(token: str) -> str:
    """How the audit names a caller: a digest of its token, never the token."""
    return "token:" + hashlib.sha256(token.encode("utf-8")).hexdigest()[:12]


def entitled(request: web.Request) -> bool:
    return has_scope(request, "reidentify")


@routes.post("/v1/reidentify")
async def reidentify(request: web.Request) -> web.StreamResponse:
    config = request.app[keys.CONFIG]
    if not entitled(request):
        return error_response(403, "forbidden", "this token may not re-identify")
    if config.vault is None:
        raise VaultNotFound("vault: none configured")
    body = parse_body(await request.read())
    meeting, text = body.get("meeting_id"), body.get("text")
    if not isinstance(meeting, str):
        raise UsageError("meeting_id: expected a string")
    check_id("meeting_id", meeting)          # an identifier, never free text (#25)
    if not isinstance(text, str) or len(text) > MAX_TEXT:
        raise UsageError("text: expected a string (at most 1 MiB)")
    from .withdrawals import _audit_facts

    path, key = _audit_facts(config)
    audit = AuditLog(path, key=key, replica=config.audit_replica)
    from ..state.vault import open_vault

    vault = open_vault(config.vault.dir, config.vault.key, request.app[keys.RUNTIME].state,
                       asyncio.get_running_loop())
    family = config.family_of(request[keys.TOKEN])   # restores only its own family's meetings
    out, count = await asyncio.to_thread(functools.partial(
        reidentify_meeting, vault, meeting, text, caller_of(request[keys.TOKEN]), audit,
        family=family))
    return web.json_response({"text": out, "restored": count})
