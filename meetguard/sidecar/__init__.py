"""The aiohttp sidecar: guard, release and OpenAI pass-through over HTTP.

Start with :func:`init_app` (the app factory) or :func:`serve` (``meetguard serve``).
"""

from __future__ import annotations

from .app import init_app, serve
from .config import SidecarConfig, UpstreamConfig, load_config

__all__ = ["SidecarConfig", "UpstreamConfig", "init_app", "load_config", "serve"]
