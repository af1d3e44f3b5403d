"""Which scope each ``/v1/`` route needs (docs/deploy.md "Tokens and scopes").

The auth middleware checks the table after the bearer token is accepted: a
token without the route's scope gets ``403 forbidden``. A matched ``/v1/`` route
that is in neither table is refused too (fail closed): a new route names its
scope here. Scopes inside a route (``replay_at`` for a client ``at``,
``reidentify`` for ``X-Meetguard-Reidentify``) are checked by the route with
:func:`has_scope`.
"""

from __future__ import annotations

from aiohttp import web

from . import keys
from .errors import error_response

__all__ = ["ANY_TOKEN", "PREFIX_SCOPES", "ROUTE_SCOPES", "has_scope", "scope_refusal"]

ROUTE_SCOPES: dict[str, str] = {
    "/v1/guard": "guard",
    "/v1/redact": "guard",
    "/v1/release": "release",
    "/v1/chat/completions": "passthrough",
    "/v1/responses": "passthrough",
    "/v1/embeddings": "passthrough",
    "/v1/models": "passthrough",
    "/v1/reidentify": "reidentify",
    "/v1/withdrawals": "withdraw",
}
PREFIX_SCOPES: tuple[tuple[str, str], ...] = (("/v1/live", "live"),)
# any accepted token: a job is fetched by the token that created it (jobs.py checks), status is
# public to every token
ANY_TOKEN: frozenset[str] = frozenset({"/v1/jobs/{id}", "/v1/status"})


def has_scope(request: web.Request, scope: str) -> bool:
    return scope in request.app[keys.CONFIG].scopes_of(request[keys.TOKEN])


def _route(request: web.Request) -> str | None:
    info = request.match_info
    if info.http_exception is not None:
        return None                    # 404 / 405: the router answers, nothing runs
    resource = info.route.resource
    return resource.canonical if resource is not None else None


def required_scope(route: str) -> str | None:
    """The scope ``route`` needs; None for one any token may use. KeyError: unknown."""
    if route in ROUTE_SCOPES:
        return ROUTE_SCOPES[route]
    for prefix, scope in PREFIX_SCOPES:
        if route == prefix or route.startswith(prefix + "/"):
            return scope
    if route in ANY_TOKEN:
        return None
    raise KeyError(route)


def scope_refusal(request: web.Request) -> web.Response | None:
    """403 when the request's token lacks its route's scope (None: go on)."""
    route = _route(request)
    if route is None or not route.startswith("/v1/"):
        return None
    try:
        scope = required_scope(route)
    except KeyError:
        return error_response(403, "forbidden", "this route has no scope configured; refused")
    if scope is None or has_scope(request, scope):
        return None
    return error_response(403, "forbidden", f"this token lacks the scope {scope!r} "
                          "(tokens: [{token, scopes: [...]}] in the sidecar config)")
