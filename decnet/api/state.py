"""What the app's routes share: settings, one store connection per worker thread, the event hub,
the run worker and the in-memory credentials. One `ApiState` per app, built by `create_app`."""

from __future__ import annotations

import threading
import time

from fastapi import Request

from decnet.api.config import ApiConfig
from decnet.api.credentials import OneTimeSecrets
from decnet.api.hub import EventHub
from decnet.engine.context import Context
from decnet.engine.jobs import RunWorker
from decnet.engine.tokens import Principal


class ApiState:
    def __init__(self, config: ApiConfig) -> None:
        self.config = config
        self.settings = config.settings
        self.hub = EventHub(config)
        self.worker = RunWorker(config.settings, grace=config.stop_grace_seconds)
        self.tickets: OneTimeSecrets[Principal] = OneTimeSecrets(config.ticket_seconds)
        self.login_codes: OneTimeSecrets[str] = OneTimeSecrets(config.login_code_seconds)
        self.started = time.time()
        self._local = threading.local()
        self.watcher_wake: threading.Event | None = None
        """Set by the in-process reconciler (services.WatchService) so an enqueue wakes it."""

    def context(self) -> Context:
        """This thread's Context: sqlite connections stay in the thread that opened them, and
        the server's worker threads are reused, so each opens its connection once."""
        ctx: Context | None = getattr(self._local, "ctx", None)
        if ctx is None:
            ctx = self._local.ctx = Context.open(self.settings)
        return ctx

    def wake_watcher(self) -> None:
        if self.watcher_wake is not None:
            self.watcher_wake.set()

    def new_login_code(self) -> str:
        """A one-time code for the local operator, exchanged for an editor session."""
        return self.login_codes.issue("local operator")


async def api_state(request: Request) -> ApiState:
    state: ApiState = request.app.state.decnet
    return state
