"""The Ray engine: a pool of actors, one Guard each (extra ``meetguard[ray]``).

Without an address a local Ray instance starts with the dashboard off;
with one, the driver joins that cluster. Usage statistics are
off in the driver (``RAY_USAGE_STATS_ENABLED=0``); a cluster started by an
operator must be started the same way (docs/batch.md). Actors read inputs from
paths they can see (a shared file system) and send results back through Ray's
object store; only the driver writes the audit chain, so a task Ray retries
after losing an actor is never audited twice.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from ._errors import UsageError
from .batch import GuardFactory, Item, JobSettings, WorkerReply

__all__ = ["LOOPBACK_ENV", "RayEngine"]

# Ray's switch (ray_constants.ENABLE_RAY_CLUSTER): "0" keeps every Ray process on 127.0.0.1.
LOOPBACK_ENV = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise UsageError("--engine ray needs Ray: pip install 'meetguard[ray]'") from None
    return ray


class RayEngine:
    """``workers`` actors (one CPU each) on a local Ray instance or the cluster at ``address``."""

    def __init__(self, workers: int | None = None, address: str | None = None, *,
                 ray: Any = None) -> None:
        self.slots = max(1, workers or os.cpu_count() or 1)
        self.address = address
        self._module = ray              # the ray module; tests pass a fake
        self._started_ray = False
        self._idle: asyncio.Queue[Any] = asyncio.Queue()
        self._actors: list[Any] = []

    def _ray(self) -> Any:
        os.environ["RAY_USAGE_STATS_ENABLED"] = "0"       # before Ray reads it, whatever was set
        if self.address is None:
            # A local instance binds and connects on loopback only: without this Ray swaps
            # 127.0.0.1 for the machine's reachable address. Read at Ray's import, so set first.
            os.environ[LOOPBACK_ENV] = "0"
        if self._module is None:
            self._module = _import_ray()
        return self._module

    async def start(self, factory: GuardFactory, settings: JobSettings) -> None:
        ray = self._ray()
        if not ray.is_initialized():
            self._init(ray)      # on this thread: Ray sets its signal handlers in the main one
        from .batch import BatchWorker

        actor = ray.remote(num_cpus=1, max_restarts=1, max_task_retries=1)(BatchWorker)
        self._actors = [actor.remote(factory, settings) for _ in range(self.slots)]
        for a in self._actors:
            self._idle.put_nowait(a)

    def _init(self, ray: Any) -> None:
        common: dict[str, Any] = {"log_to_driver": False, "configure_logging": False}
        if self.address is not None:
            ray.init(address=self.address, **common)
        else:
            ray.init(include_dashboard=False, num_cpus=max(self.slots, os.cpu_count() or 1), **common)
        self._started_ray = True

    async def run(self, item: Item) -> WorkerReply:
        actor = await self._idle.get()
        try:
            # BatchWorker has an async method, so Ray runs it as an async actor: call that one
            reply: WorkerReply = await actor.arun.remote(item)
            return reply
        finally:
            self._idle.put_nowait(actor)

    async def aclose(self) -> None:
        ray = self._ray()
        actors, self._actors = self._actors, []
        for a in actors:
            ray.kill(a)
        if self._started_ray:         # a joined cluster is only disconnected from, not stopped
            self._started_ray = False
            await asyncio.get_running_loop().run_in_executor(None, ray.shutdown)
