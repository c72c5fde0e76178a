"""Background services of `decnet serve`, started in order and stopped in reverse.

Each service is an object with `name` and async `start()`/`stop()`. The app's lifespan runs
the list that `background_services` builds: the event tailer, the run worker, — unless
`--no-watch` — the reconciler of live mutations (`decnet watch`, issue 8), — unless
`--no-collect` — the collector of the sensors' lines (`decnet collect`) and — unless
`--no-outputs` — the delivery to the outputs (`decnet outputs run`, docs/observe.md).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Protocol

from fastapi import FastAPI

from decnet.api.state import ApiState
from decnet.engine.collect import CollectOptions, Collector
from decnet.engine.context import Context
from decnet.engine.delivery import OutputRunner
from decnet.engine.jobs import RunWorker
from decnet.engine.watch import Watcher, WatchOptions

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


class WatchService:
    """The reconciler of live mutations (`decnet watch`) in a thread of its own, with its own
    Context (sqlite connections stay in their thread). Stopping lets the current round finish,
    so nothing is left `applying` or `deploying`."""

    name = "reconciler"

    def __init__(self, state: ApiState, opts: WatchOptions) -> None:
        self.state, self.opts = state, opts
        self.stopping = threading.Event()
        self.thread: threading.Thread | None = None

    def _run(self) -> None:
        ctx = Context.open(self.state.settings)
        try:
            watcher = Watcher(ctx, self.opts)
            self.state.watcher_wake = watcher.wake
            while not self.stopping.is_set():
                try:
                    watcher.run(self.stopping.is_set)
                except Exception:  # a bug in one round must not end the server's reconciler
                    log.exception("the reconciler's round failed; retrying")
                    self.stopping.wait(self.opts.interval)
        finally:
            self.state.watcher_wake = None
            ctx.store.close()

    async def start(self) -> None:
        self.thread = threading.Thread(target=self._run, name="decnet-watch", daemon=True)
        self.thread.start()

    async def stop(self) -> None:
        self.stopping.set()
        if self.thread is not None:
            await asyncio.to_thread(self.thread.join)


class CollectService:
    """The collector (`decnet collect`) in a thread of its own with its own Context; a failure
    of its loop is logged and the loop restarts (the store's cursors make that safe)."""

    name = "collector"
    RESTART_SECONDS = 5.0

    def __init__(self, state: ApiState, opts: CollectOptions) -> None:
        self.state, self.opts = state, opts
        self.stopping = threading.Event()
        self.thread: threading.Thread | None = None

    def _run(self) -> None:
        while not self.stopping.is_set():
            ctx = Context.open(self.state.settings)
            try:
                Collector(ctx, self.opts).run(self.stopping.is_set)
            except Exception:  # one failure must not end the server's collection
                log.exception("the collector failed; restarting")
                self.stopping.wait(self.RESTART_SECONDS)
            finally:
                ctx.store.close()

    async def start(self) -> None:
        self.thread = threading.Thread(target=self._run, name="decnet-collect", daemon=True)
        self.thread.start()

    async def stop(self) -> None:
        self.stopping.set()
        if self.thread is not None:
            await asyncio.to_thread(self.thread.join)


class OutputsService:
    """The outputs' runner (`decnet outputs run`) in a thread of its own: one worker thread per
    output, each with its own database connection. Stopping lets the deliveries in flight
    finish and commit their cursors."""

    name = "outputs"

    def __init__(self, state: ApiState) -> None:
        self.runner = OutputRunner(state.settings.db_path)
        self.stopping = threading.Event()
        self.thread: threading.Thread | None = None

    def _run(self) -> None:
        while not self.stopping.is_set():
            try:
                self.runner.run(self.stopping)
            except Exception:  # a bug must not end delivery for the server's lifetime
                log.exception("the outputs' runner failed; restarting it")
                self.stopping.wait(self.runner.opts.refresh)

    async def start(self) -> None:
        self.thread = threading.Thread(target=self._run, name="decnet-outputs", daemon=True)
        self.thread.start()

    async def stop(self) -> None:
        self.stopping.set()
        if self.thread is not None:
            await asyncio.to_thread(self.thread.join)


def watch_services(state: ApiState) -> list[Service]:
    """The in-process reconciler of live mutations; `--no-watch` leaves it out."""
    return [WatchService(state, state.config.watch_options)]


def background_services(state: ApiState) -> list[Service]:
    services: list[Service] = [state.hub, WorkerService(state.worker)]
    if state.config.watch:
        services += watch_services(state)
    if state.config.collect:
        services.append(CollectService(state, state.config.collect_options))
    if state.config.outputs:
        services.append(OutputsService(state))
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
