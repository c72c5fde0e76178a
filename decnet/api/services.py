"""Background services of `decnet serve`, started in order and stopped in reverse.

Each service is an object with `name` and async `start()`/`stop()`. The app's lifespan runs
the list that `background_services` builds: the event tailer, the run worker and — unless
`--no-watch` — the reconciler of live mutations (`decnet watch`, issue 8).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Protocol

from fastapi import FastAPI

from decnet.api.state import ApiState
from decnet.engine.jobs import RunWorker

log = logging.getLogger("decnet.api")


class Service(Protocol):
    name: str

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class WorkerService:
    """The run worker (a thread) as a service: stopping waits for its running job."""

    name = "run worker"

    def __init__(self, worker: RunWorker) -> None:
        self.worker = worker

    async def start(self) -> None:
        self.worker.start()

    async def stop(self) -> None:
        await asyncio.to_thread(self.worker.stop)


def watch_services(state: ApiState) -> list[Service]:
    """The in-process reconciler of live mutations joins here (issue 8); `--no-watch` leaves
    this list out."""
    return []


def background_services(state: ApiState) -> list[Service]:
    services: list[Service] = [state.hub, WorkerService(state.worker)]
    if state.config.watch:
        services += watch_services(state)
    return services


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    state: ApiState = app.state.decnet
    started: list[Service] = []
    try:
        for service in background_services(state):
            await service.start()
            started.append(service)
            log.info("started %s", service.name)
        yield
    finally:
        for service in reversed(started):
            try:
                await service.stop()
            except Exception:  # one failing service must not keep the others running
                log.exception("stopping %s failed", service.name)
