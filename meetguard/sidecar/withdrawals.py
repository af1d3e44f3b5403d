"""``POST /v1/withdrawals`` and the background sender of erasure requests.

The handler records the withdrawal (policy file, audit, erasure requests) off
the event loop, wakes the sender and answers 202 with what was recorded. The
sender resumes pending requests at start-up and retries them with backoff
until they are acknowledged or fail (docs/consent.md).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import os
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import aiohttp
from aiohttp import web

from .._errors import ConfigError, MeetguardError, PolicyError, UsageError
from .._ids import check_id
from .._time import is_aware
from ..audit import AuditLog
from ..consent import (
    ErasureDispatcher,
    ErasureEndpoint,
    WithdrawalResult,
    WithdrawalSettings,
    check_withdrawal,
    record_withdrawal,
)
from ..policy import Policy, load_policy
from ..state.postgres import PostgresState
from . import keys
from .config import SidecarConfig
from .forms import read_body
from .roundtrip import BOOKS

__all__ = ["ERASURES", "Erasures", "erasure_ctx", "routes", "withdrawal_settings"]

log = logging.getLogger("meetguard.sidecar")
routes = web.RouteTableDef()
IDLE_POLL_S = 60.0


def _audit_facts(config: SidecarConfig) -> tuple[Path, bytes | None]:
    """The audit log as the guard finds it (config, else the policy's audit.path, else
    ./meetguard-audit.jsonl) and its HMAC key (the policy's audit.key_env)."""
    from .._audit_chain import key_from_env

    try:
        policy: Policy | None = load_policy(config.policy)
    except PolicyError:
        policy = None          # the withdrawal itself reports the invalid policy
    path = config.audit or Path((policy.audit_path if policy else None) or "meetguard-audit.jsonl")
    return path, key_from_env(policy.audit_key_env if policy else None)


def withdrawal_settings(config: SidecarConfig,
                        env: Mapping[str, str] = os.environ) -> WithdrawalSettings:
    """Where a withdrawal reads and writes, from the sidecar config. Raises ConfigError
    when an upstream's ``erasure_key_env`` names an unset variable."""
    endpoints: dict[str, ErasureEndpoint] = {}
    for name, up in config.upstreams.items():
        key: bytes | None = None
        if up.erasure_url is not None and up.erasure_key_env is not None:
            value = env.get(up.erasure_key_env)
            if not value:
                raise ConfigError(f"{config.source}: upstreams.{name}.erasure_key_env: "
                                  f"variable {up.erasure_key_env} is not set")
            key = value.encode("utf-8")
        endpoints[name] = ErasureEndpoint(name, up.erasure_url, key, up.timeout_s)
    from ..backends import plugin_entity_types
    from ..vault import Vault

    audit_path, audit_key = _audit_facts(config)
    vault = Vault(config.vault.dir, config.vault.key) if config.vault else None
    return WithdrawalSettings(policy_path=config.policy, audit_path=audit_path,
                              store_dir=config.erasures_dir, endpoints=endpoints, vault=vault,
                              extra_entities=plugin_entity_types(), audit_key=audit_key,
                              replica=config.audit_replica)


@dataclass
class Erasures:
    """The sender's state while the app runs (mutable: set up in the cleanup context)."""

    settings: WithdrawalSettings | None = None
    error: ConfigError | None = None
    wake: asyncio.Event = field(default_factory=asyncio.Event)


ERASURES = web.AppKey("erasures", Erasures)


def _dispatcher(settings: WithdrawalSettings) -> ErasureDispatcher:
    return ErasureDispatcher(settings.erasure_store(), settings.endpoints,
                             AuditLog(settings.audit_path, key=settings.audit_key,
                                      replica=settings.replica))


async def _send_loop(dispatcher: ErasureDispatcher, session: aiohttp.ClientSession,
                     wake: asyncio.Event) -> None:
    while True:
        try:
            await dispatcher.run_due(session)
        except Exception as exc:  # noqa: BLE001 -- keep sending later; the state is on disk
            log.error("erasure sending failed", extra={"error_type": type(exc).__name__})
        try:
            delay = await asyncio.get_running_loop().run_in_executor(None, dispatcher.next_due_in)
        except Exception as exc:  # noqa: BLE001 -- the store (a database) is away: poll later
            log.error("erasure store unavailable", extra={"error_type": type(exc).__name__})
            delay = None
        wait = IDLE_POLL_S if delay is None else min(IDLE_POLL_S, max(0.05, delay))
        try:
            async with asyncio.timeout(wait):
                await wake.wait()
        except TimeoutError:
            pass
        wake.clear()


async def erasure_ctx(app: web.Application) -> AsyncIterator[None]:
    state = Erasures()
    app[ERASURES] = state
    try:
        state.settings = withdrawal_settings(app[keys.CONFIG])
        shared, vault = app[keys.RUNTIME].state, app[keys.CONFIG].vault
        if shared is not None and shared.shared and vault is not None:   # crypto-shred there
            from ..state.vault import open_vault

            state.settings = dataclasses.replace(state.settings, vault=open_vault(
                vault.dir, vault.key, shared, asyncio.get_running_loop()))
        if isinstance(shared, PostgresState):    # erasure requests shared by every replica
            from ..state.erasures import SharedErasureStore

            state.settings = dataclasses.replace(state.settings, store=SharedErasureStore(
                state.settings.store_dir, state=shared, loop=asyncio.get_running_loop()))
    except ConfigError as exc:
        state.error = exc
        log.error("erasure requests disabled", extra={"error_type": type(exc).__name__})
        yield
        return
    session = app[keys.RUNTIME].session or aiohttp.ClientSession(trust_env=False)
    task = asyncio.get_running_loop().create_task(
        _send_loop(_dispatcher(state.settings), session, state.wake))
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        if session is not app[keys.RUNTIME].session:
            await session.close()


def _parse_body(raw: bytes) -> tuple[str, str, datetime | None]:
    try:
        body = json.loads(raw)
    except ValueError:
        raise UsageError("request: body is not valid JSON") from None
    if not isinstance(body, dict):
        raise UsageError("request: expected a JSON object")
    unknown = set(body) - {"participant", "purpose", "at"}
    if unknown:
        raise UsageError("request: unknown field (expected participant, purpose, at)")
    participant, purpose, at = body.get("participant"), body.get("purpose"), body.get("at")
    if not isinstance(participant, str) or not participant:
        raise UsageError("participant: required")
    if not isinstance(purpose, str) or not purpose:
        raise UsageError("purpose: required")
    if at is None:
        return participant, purpose, None
    try:
        when = datetime.fromisoformat(at) if isinstance(at, str) else None
    except ValueError:
        when = None
    if when is None or not is_aware(when):
        raise UsageError("at: expected an ISO 8601 time with a timezone")
    return participant, purpose, when


@routes.post("/v1/withdrawals")
async def withdrawals(request: web.Request) -> web.Response:
    state = request.app[ERASURES]
    gate = request.app[keys.GATE]
    gate.reserve()      # a queue place before any byte of the body is read (#19 finding 5)
    try:                # given back once read: a withdrawal never waits behind a guard run
        raw = await read_body(request, request.app[keys.CONFIG].limits.body_timeout_s)
        participant, purpose, at = _parse_body(raw)
    finally:
        gate.cancel()
    if state.error is not None:
        raise state.error
    settings = state.settings
    if settings is None:
        raise RuntimeError("sidecar not started")
    with _fixed_errors():
        result = await _record(request, settings, participant, purpose, at)
    # the pass-through's in-memory books holding the participant go too: nothing of theirs
    # may be restored from memory after this (#25 finding 6)
    await request.app[BOOKS].forget_everywhere(participant)
    state.wake.set()
    return web.json_response(result.to_json(), status=202)


class PolicyNotChanged(MeetguardError):
    """The policy file could not be read, validated or written: a fixed answer (#25)."""

    http_status = 500
    code = "invalid_policy"


@contextmanager
def _fixed_errors() -> Iterator[None]:
    """Answers that name no server path and echo no value of the request (#25): the
    policy's own messages (its path, the id asked for) go no further than here."""
    try:
        yield
    except (PolicyError, ConfigError) as exc:
        log.error("withdrawal not recorded", extra={"error_type": type(exc).__name__})
        raise PolicyNotChanged("the policy file could not be changed; nothing was recorded "
                               "(the server log has the error type)") from None
    except UsageError as exc:
        if "future" in exc.message:
            raise UsageError("at: a withdrawal cannot be dated in the future") from None
        raise UsageError("participant or purpose: not in the policy") from None


async def _record(request: web.Request, settings: WithdrawalSettings, participant: str,
                  purpose: str, at: datetime | None) -> WithdrawalResult:
    check_id("participant", participant)       # identifiers, never free text
    check_id("purpose", purpose)
    loop = asyncio.get_running_loop()
    shared = request.app[keys.RUNTIME].state
    if shared is not None and shared.shared:
        # The shared state: the event goes to the database (one transaction), where every
        # replica reads it before its next decision; the policy file stays the baseline.
        policy, when = await loop.run_in_executor(
            None, check_withdrawal, settings, participant, purpose, at)
        others = await shared.releases() if isinstance(shared, PostgresState) else []
        await shared.record_consent(policy.policy_id, participant, purpose, "withdrawn", when)
        result = await loop.run_in_executor(None, lambda: record_withdrawal(
            settings, participant, purpose, when, recorded=policy, other_records=others))
    else:
        result = await loop.run_in_executor(
            None, lambda: record_withdrawal(settings, participant, purpose, at))
    return result
