"""The app factory and the server entry point.

``init_app(config)`` builds the application; everything with a lifetime (the
guard, the upstream HTTP session, the job manager) is made and closed in one
cleanup context. Models warm up in the background, so ``/healthz`` answers at
once and ``/readyz`` says 503 until the guard is warm.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hmac
import logging
import signal
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from .._errors import ConfigError, MeetguardError, UsageError
from ..audio.limits import AudioLimits
from ..formats import Meeting
from ..state import FilesState, StateBackend, open_state
from ..vault import Vault
from . import keys
from .anchor import anchor_ctx
from .config import SidecarConfig, load_config
from .errors import error_outcome
from .handlers import routes
from .jobs import Gate, JobManager
from .metrics import Metrics
from .reidentify_route import routes as reidentify_routes
from .roundtrip import BOOKS, MeetingBooks
from .scopes import scope_refusal
from .service import GuardLike, GuardService, MeetingLoader
from .upstreams import build_upstreams
from .withdrawals import erasure_ctx
from .withdrawals import routes as withdrawal_routes
from .zoom_hook import HOOK_PATH, zoom_hook
from .zoom_job import start_zoom_jobs

__all__ = ["init_app", "serve"]

log = logging.getLogger("meetguard.sidecar")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
RETRY_AFTER_S = 5
SHUTDOWN_GRACE_S = 60.0


def init_app(config: SidecarConfig, guard: GuardLike | None = None, *,
             meeting_loader: MeetingLoader | None = None) -> web.Application:
    """Build the sidecar. ``guard``: use this guard (the caller owns and closes it)
    instead of building one from the config. ``meeting_loader``: replaces
    :meth:`Meeting.from_files` (tests)."""
    app = web.Application(client_max_size=config.max_body_bytes,
                          middlewares=[_observe_middleware, _auth_middleware])
    metrics = Metrics()
    app[keys.CONFIG] = config
    app[keys.METRICS] = metrics
    app[keys.READINESS] = keys.Readiness()
    app[keys.GATE] = Gate(config.limits.max_jobs, config.limits.queue, metrics, RETRY_AFTER_S)
    app[keys.RUNTIME] = keys.Runtime()
    app[BOOKS] = MeetingBooks(form=config.token_form)
    app.router.add_routes(routes)
    app.router.add_routes(withdrawal_routes)
    app.router.add_routes(reidentify_routes)
    _add_first_hour_routes(app)      # /v1/redact, /v1/responses, /v1/embeddings, /v1/models, /openapi.json
    if config.zoom is not None:      # authenticated by Zoom's signature, not a bearer token
        app.router.add_post(HOOK_PATH, zoom_hook)
    # The audio limits guard the real decoder (Meeting.from_files); a given loader decodes nothing.
    lim = config.limits
    limits = AudioLimits(lim.max_audio_minutes, lim.max_sample_rate, lim.max_channels)
    app.cleanup_ctx.append(_lifecycle(guard, meeting_loader or Meeting.from_files,
                                      limits if meeting_loader is None else None))
    app.cleanup_ctx.append(erasure_ctx)        # after _lifecycle: uses its HTTP session
    if config.live is not None:                # /v1/live/*, the RTMS events (docs/live.md)
        from ..live.routes import mount

        mount(app, config.live)
    app.cleanup_ctx.append(anchor_ctx)         # after _lifecycle: uses its state and guard
    return app


def _add_first_hour_routes(app: web.Application) -> None:
    from .openapi import openapi_routes
    from .redact_route import redact_routes
    from .responses_route import gateway_routes

    for table in (redact_routes, gateway_routes, openapi_routes):
        app.router.add_routes(table)


def _build_guard(config: SidecarConfig, state: StateBackend, vault: Vault | None) -> GuardLike:
    from .._guard import Guard, GuardOptions

    options = GuardOptions(audit_path=config.audit, hash_key=config.hash_key,
                           whisper_model=config.models.whisper,
                           transcriber_backend=config.models.backend,
                           spacy_model=config.models.spacy,
                           detection_workers=config.models.detection_workers,
                           token_form=config.token_form,
                           audit_replica=config.audit_replica, vault=vault)
    return Guard(config.policy, options, consent=state if state.shared else None)


def vault_of(config: SidecarConfig, state: StateBackend | None,
             loop: asyncio.AbstractEventLoop) -> Vault | None:
    """The vault re-identifiable meetings' maps go to (#25): the config's, its sealed
    files in the shared state when there is one (state/vault.py), else in vault.dir."""
    if config.vault is None:
        return None
    from ..state.vault import open_vault

    return open_vault(config.vault.dir, config.vault.key, state, loop)


def _share_books(app: web.Application, config: SidecarConfig, state: StateBackend) -> StateBackend:
    """The pass-through's pseudonym books in the shared state, sealed with a key derived
    from the vault's (state/books.py); without a vault they stay in this replica's memory."""
    from ..state.postgres import PostgresState

    if isinstance(state, PostgresState) and config.vault is not None:
        from ..state.books import SharedBooks

        app[BOOKS].shared = SharedBooks(state, config.vault.key, config.token_form)
    return state


def _shared_jobs(config: SidecarConfig, state: StateBackend) -> Any:
    """Async jobs seen by every replica (sidecar/jobs_shared.py): with the postgres backend
    and a vault key (their results are sealed with a key derived from it); else None."""
    from ..state.postgres import PostgresState

    if isinstance(state, PostgresState) and config.vault is not None:
        from .jobs_shared import SharedJobs

        return SharedJobs(state, config.vault.key)
    return None


async def _open_state(config: SidecarConfig, given: GuardLike | None) -> StateBackend:
    """The state backend, started. A database that cannot be reached now is no reason
    not to start: each use retries, and until it works requests are refused (503) and
    /readyz says not ready."""
    from .._guard import Guard
    from ..backends import plugin_entity_types

    if config.state.backend == "postgres":
        state = open_state(config.state)
    else:
        state = FilesState(config.state, config.policy, plugin_entity_types())
    if state.shared and given is not None:
        if not isinstance(given, Guard):
            raise ConfigError(f"{config.source}: state.backend: postgres needs the sidecar's own guard")
        given.consent = state      # its decisions read the shared consent events
        if config.vault is not None:  # and its re-identifiable maps go to the shared vault
            given.options = dataclasses.replace(
                given.options, vault=vault_of(config, state, asyncio.get_running_loop()))
    try:
        await state.start()
    except MeetguardError as exc:
        log.error("state database unavailable at start", extra={"error_type": type(exc).__name__})
    return state


def _video_limits(config: SidecarConfig) -> Any:
    """The sidecar's limits.max_video_* (docs/video.md)."""
    from ..video.decode import VideoLimits

    lim = config.limits
    return VideoLimits(lim.max_video_minutes, lim.max_video_width, lim.max_video_height, lim.max_video_fps)


def _import_text_stack() -> None:
    """spaCy's first import is not thread-safe (a request, a resumed job and the warm-up
    importing it at once in worker threads can see it half-initialised: ImportError), so
    the text stack is imported once, before any of them can start."""
    import presidio_anonymizer  # noqa: F401

    from .. import detection  # noqa: F401


def _lifecycle(given: GuardLike | None, loader: MeetingLoader, limits: AudioLimits | None
               ) -> Callable[[web.Application], AsyncIterator[None]]:
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        config = app[keys.CONFIG]
        runtime = app[keys.RUNTIME]
        readiness = app[keys.READINESS]
        loop = asyncio.get_running_loop()
        runtime.state = state = _share_books(app, config, await _open_state(config, given))
        guard = given if given is not None else await loop.run_in_executor(
            None, _build_guard, config, state, vault_of(config, state, loop))
        await loop.run_in_executor(None, _import_text_stack)
        # trust_env=False: no proxy from the environment; only configured upstreams are reached.
        session = aiohttp.ClientSession(trust_env=False)
        upstreams = {}
        try:
            upstreams = build_upstreams(config.upstreams, session)
            service = GuardService(guard, upstreams, app[keys.METRICS], loader, limits,
                                   _video_limits(config))
            jobs = JobManager(config.jobs_dir, app[keys.GATE], service.run, app[keys.METRICS],
                              ttl_s=config.jobs_ttl_s, shared=_shared_jobs(config, state))
            runtime.session, runtime.service, runtime.jobs = session, service, jobs
            runtime.zoom = start_zoom_jobs(config, guard, service, app[keys.GATE], app[keys.METRICS],
                                           session, state)

            async def warm() -> None:
                try:
                    await loop.run_in_executor(None, guard.warm)
                except MeetguardError as exc:
                    readiness.error = exc.message
                    log.error("warm-up failed", extra={"error_type": type(exc).__name__})
                except Exception as exc:  # noqa: BLE001
                    readiness.error = "model warm-up failed"
                    log.error("warm-up failed", extra={"error_type": type(exc).__name__})
                else:
                    readiness.warm = True
                    log.info("models ready")

            warm_task = loop.create_task(warm())
            resumed = jobs.resume()
            if resumed:
                log.info("jobs resumed", extra={"jobs": resumed})
            jobs.start_sweeping()
            yield
            if not warm_task.done():
                warm_task.cancel()
            await asyncio.gather(warm_task, return_exceptions=True)
            await jobs.aclose(SHUTDOWN_GRACE_S)
            if runtime.zoom is not None:
                await runtime.zoom.aclose(SHUTDOWN_GRACE_S)
        finally:
            runtime.service = runtime.jobs = runtime.session = runtime.zoom = None
            runtime.state = None
            await state.aclose()
            for up in upstreams.values():
                await up.aclose()
            await session.close()
            if given is None:
                await guard.aclose()       # closes the audit log

    return ctx


# -- middlewares -------------------------------------------------------------------------

def _route_label(request: web.Request) -> str:
    info = request.match_info
    resource = info.route.resource if info.http_exception is None else None
    return resource.canonical if resource is not None else "unmatched"


@web.middleware
async def _observe_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Request id, error mapping (the one place), metrics and one JSON log line."""
    request_id = uuid.uuid4().hex
    request[keys.REQUEST_ID] = request_id
    started = time.perf_counter()
    error_type: str | None = None
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            response = exc
        elif exc.status == 404 and request.path.startswith("/v1/"):
            from .openapi import not_found

            response = not_found(request)          # names the supported routes
        else:
            response = _error_response(exc)
    except MeetguardError as exc:
        error_type = type(exc).__name__
        response = _error_response(exc)
    except asyncio.CancelledError:
        raise
    except (RecursionError, UnicodeError, aiohttp.ClientPayloadError, ConnectionResetError) as exc:
        # Hostile input a route's parser did not name (JSON nested past the recursion limit,
        # a lone surrogate, a body cut off): the sender's fault, a 400, never a 500.
        error_type = type(exc).__name__
        response = _error_response(UsageError("request: malformed or incomplete input"))
    except Exception as exc:  # fail closed: nothing but a fixed 500  # noqa: BLE001
        error_type = type(exc).__name__
        response = _error_response(exc)
    route = _route_label(request)
    elapsed = time.perf_counter() - started
    metrics = request.app[keys.METRICS]
    metrics.requests.labels(route, str(response.status)).inc()
    metrics.latency.labels(route).observe(elapsed)
    if not response.prepared:
        response.headers["X-Request-Id"] = request_id
    if route not in ("/healthz", "/readyz", "/metrics") or response.status >= 400:
        extra: dict[str, object] = {"request_id": request_id, "route": route, "method": request.method,
                                    "status": response.status, "duration_ms": round(elapsed * 1000, 1)}
        if keys.DECISION in request:
            extra["decision"] = request[keys.DECISION]
        if error_type is not None:
            extra["error_type"] = error_type
        # not ready yet, and a refusal when the queue is full (503 + Retry-After), are no errors
        failed = response.status >= 500 and route != "/readyz" and error_type != "Overloaded"
        log.log(logging.ERROR if failed else logging.INFO, "request", extra=extra)
    return response


def _error_response(exc: BaseException) -> web.Response:
    status, body, headers = error_outcome(exc, retry_after_s=RETRY_AFTER_S)
    return web.json_response(body, status=status, headers=headers)


@web.middleware
async def _auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not request.path.startswith("/v1/") or (
            request.path == HOOK_PATH and request.app[keys.CONFIG].zoom is not None):
        return await handler(request)
    tokens = request.app[keys.CONFIG].tokens
    if not tokens:                     # allowed only on loopback (config refuses otherwise)
        request[keys.TOKEN] = ""       # scopes: guard, release, passthrough only
        return await _scoped(request, handler)
    scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
    presented = presented.strip()
    ok = False
    if scheme.lower() == "bearer" and presented:
        candidate = presented.encode("utf-8", "surrogateescape")   # header bytes that are not UTF-8
        for token in tokens:          # no early exit: same work whichever token matches
            ok |= hmac.compare_digest(candidate, token.encode("utf-8"))
    if not ok:
        return web.json_response({"error": "unauthorized", "message": "missing or invalid bearer token"},
                                 status=401, headers={"WWW-Authenticate": "Bearer"})
    request[keys.TOKEN] = presented
    return await _scoped(request, handler)


async def _scoped(request: web.Request, handler: Handler) -> web.StreamResponse:
    refused = scope_refusal(request)
    return refused if refused is not None else await handler(request)


# -- serving -----------------------------------------------------------------------------

def serve(config_path: str | Path | None, host: str | None = None, port: int | None = None) -> None:
    """Run the sidecar until SIGINT/SIGTERM; then stop accepting, finish in-flight
    requests and running jobs (up to a grace period), close the guard and its audit log.

    Raises :class:`ConfigError` (and the guard's PolicyError / ModelUnavailable) for the
    CLI to map to exit 2.
    """
    from .logs import configure_logging

    config = load_config(config_path)
    if host is not None or port is not None:
        from dataclasses import replace

        config = replace(config, host=host or config.host, port=port if port is not None else config.port)
        load_config_check_tokens(config)
    from .listen import check_free

    check_free(config.host, config.port)      # before the models load, not after
    configure_logging()
    app = init_app(config)
    log.info("starting", extra={"host": config.host, "port": config.port})
    asyncio.run(_run(app, config.host, config.port))
    log.info("stopped")


async def _run(app: web.Application, host: str, port: int) -> None:
    """As ``web.run_app``, but served by :class:`SidecarRunner` (aiohttp's protocol
    errors answered as JSON): until SIGINT/SIGTERM, then a graceful cleanup."""
    from .protocol import SidecarRunner

    runner = SidecarRunner(app, access_log=None, keepalive_timeout=75.0, shutdown_timeout=SHUTDOWN_GRACE_S)
    await runner.setup()
    try:
        try:
            await web.TCPSite(runner, host, port).start()
        except OSError as exc:
            from .listen import bind_error

            raise bind_error(host, port, exc) from None
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
    finally:
        await runner.cleanup()


def load_config_check_tokens(config: SidecarConfig) -> None:
    from .._errors import ConfigError
    from .config import is_loopback

    if not config.tokens and not is_loopback(config.host):
        raise ConfigError(f"{config.source}: tokens: an empty token list is refused unless listening on loopback")
