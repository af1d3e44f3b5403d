"""Typed keys for the sidecar's application and request state."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

import aiohttp
from aiohttp import web

from ..state import StateBackend
from .config import SidecarConfig
from .jobs import Gate, JobManager
from .metrics import Metrics
from .service import GuardService
from .zoom_job import ZoomJobs

__all__ = [
    "CONFIG",
    "DECISION",
    "GATE",
    "METRICS",
    "READINESS",
    "REQUEST_ID",
    "RUNTIME",
    "TOKEN",
    "Readiness",
    "Runtime",
    "jobs",
    "service",
    "session",
    "state",
    "zoom_jobs",
]


@dataclass
class Readiness:
    """Mutable on purpose: the warm-up task flips it once."""

    warm: bool = False
    error: str | None = None
    logged_rejection: str | None = None     # the rejected reload last written to the log


@dataclass
class Runtime:
    """What exists only while the app runs (created and closed in its cleanup context)."""

    session: aiohttp.ClientSession | None = None
    service: GuardService | None = None
    jobs: JobManager | None = None
    zoom: ZoomJobs | None = None      # only with a zoom: config section
    state: StateBackend | None = None  # files or postgres (config state:, meetguard/state/)


_T = TypeVar("_T")

CONFIG = web.AppKey("config", SidecarConfig)
METRICS = web.AppKey("metrics", Metrics)
READINESS = web.AppKey("readiness", Readiness)
GATE = web.AppKey("gate", Gate)
RUNTIME = web.AppKey("runtime", Runtime)

TOKEN = web.RequestKey("token", str)          # the bearer token that authenticated the request
REQUEST_ID = web.RequestKey("request_id", str)
DECISION = web.RequestKey("decision", str)     # for the request log line


def _started(part: _T | None) -> _T:
    if part is None:
        raise RuntimeError("sidecar not started")
    return part


def service(app: web.Application) -> GuardService:
    return _started(app[RUNTIME].service)


def jobs(app: web.Application) -> JobManager:
    return _started(app[RUNTIME].jobs)


def session(app: web.Application) -> aiohttp.ClientSession:
    return _started(app[RUNTIME].session)


def state(app: web.Application) -> StateBackend:
    return _started(app[RUNTIME].state)


def zoom_jobs(app: web.Application) -> ZoomJobs:
    return _started(app[RUNTIME].zoom)
