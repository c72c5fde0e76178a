"""One tailer of the event table for every open stream, fanned out in memory (SPEC §11).

SQLite has no notify, so one thread polls `event` for ids above the last it saw and hands each
batch to the event loop, which appends it to the pending list of every subscriber whose filter
matches. The cost of polling does not grow with the number of clients.

A subscriber records the hub's position when it subscribes (`mark`): everything after the mark
reaches it through `pending`; what lies between its resume point and the mark it reads from the
table itself (see `decnet.api.stream`). A subscriber that falls `max_pending` events behind is
not dropped: its pending list is cleared and it re-reads from the table (`resync`).

The same thread re-checks, about once a second, that the tokens of open streams are still
valid (a revoked token's streams end at once), and prunes events past retention hourly.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Iterable

from decnet.api.config import ApiConfig
from decnet.api.wire import Wired, wire
from decnet.errors import DecnetError, EnvironmentProblem, TooManyRequests
from decnet.store import EventRow, Store

log = logging.getLogger("decnet.api")
PAGE = 1000


class Closed(Exception):
    """The stream must end; `str()` says why (token revoked, server stopping)."""


class Subscriber:
    def __init__(self, topology: str | None, token_id: str, mark: int) -> None:
        self.topology = topology
        self.token_id = token_id
        self.mark = mark
        self.pending: deque[Wired] = deque()
        self.overflowed = False
        self.closed: str | None = None
        self.wake = asyncio.Event()

    async def next(self) -> list[Wired]:
        """The events pending now (waiting for some); [] after an overflow: re-read."""
        while True:
            if self.closed is not None:
                raise Closed(self.closed)
            if self.overflowed:
                return []
            if self.pending:
                batch = list(self.pending)
                self.pending.clear()
                return batch
            self.wake.clear()
            await self.wake.wait()

    def close(self, reason: str) -> None:
        self.closed = reason
        self.wake.set()


class EventHub:
    """Start/stop on the event loop (a background service of the app's lifespan)."""

    name = "event tailer"

    def __init__(self, config: ApiConfig) -> None:
        self.config = config
        self.position = 0
        self._subs: set[Subscriber] = set()
        self._token_ids: frozenset[str] = frozenset()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self.closing = False

    # --- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._thread = threading.Thread(target=self._run, name="decnet-event-tailer", daemon=True)
        self._thread.start()
        await asyncio.to_thread(self._ready.wait)
        if self._error is not None:
            raise self._error

    async def stop(self) -> None:
        self.closing = True
        self.close_all("the server is stopping")
        self._stop.set()
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join)

    # --- the subscribers' side (event loop thread) --------------------------------------------

    def subscribe(self, topology: str | None, token_id: str) -> Subscriber:
        if self.closing:
            raise EnvironmentProblem("the server is stopping", hint="reconnect in a moment")
        held = sum(1 for s in self._subs if s.token_id == token_id)
        cap = self.config.settings.api_streams_per_token
        if held >= cap:
            raise TooManyRequests(
                f"this token already holds {held} open event streams (the cap is {cap})",
                hint="close a stream first, or raise DECNET_API_STREAMS_PER_TOKEN",
            )
        sub = Subscriber(topology, token_id, self.position)
        self._subs.add(sub)
        self._token_ids = frozenset(s.token_id for s in self._subs)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        self._subs.discard(sub)
        self._token_ids = frozenset(s.token_id for s in self._subs)

    def resync(self, sub: Subscriber) -> None:
        """After an overflow: drop what is pending; the stream re-reads up to the new mark."""
        sub.pending.clear()
        sub.overflowed = False
        sub.mark = self.position

    def close_all(self, reason: str) -> None:
        for sub in list(self._subs):
            sub.close(reason)

    def shut(self, reason: str) -> None:
        """From any thread: refuse new streams and end the open ones."""
        self.closing = True
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self.close_all, reason)

    @property
    def open_streams(self) -> int:
        return len(self._subs)

    def _publish(self, rows: list[Wired]) -> None:
        self.position = rows[-1].id
        limit = self.config.max_pending_events
        for sub in self._subs:
            mine = rows if sub.topology is None else [r for r in rows if r.topology == sub.topology]
            if not mine or sub.overflowed:
                continue
            if len(sub.pending) + len(mine) > limit:
                sub.pending.clear()
                sub.overflowed = True
            else:
                sub.pending.extend(mine)
            sub.wake.set()

    def _close_tokens(self, dead: Iterable[str]) -> None:
        gone = set(dead)
        for sub in list(self._subs):
            if sub.token_id in gone:
                sub.close("the API token was revoked or has expired")

    # --- the tailer thread ------------------------------------------------------------------

    def _run(self) -> None:
        try:
            store = Store(self.config.settings.db_path)
            self.position = store.latest_event_id()
        except BaseException as err:  # reported by start()
            self._error = err
            self._ready.set()
            return
        self._ready.set()
        try:
            self._tail(store)
        finally:
            store.close()

    def _tail(self, store: Store) -> None:
        # `pruned` starts an interval in the past: retention runs once at start, then hourly
        position, checked = self.position, 0.0
        pruned = time.monotonic() - self.config.prune_every_seconds
        while not self._stop.is_set():
            rows: list[EventRow] = []
            try:
                rows = store.query_events(position, limit=PAGE)
                if rows:
                    position = rows[-1].id
                    self._call(self._publish, [wire(r) for r in rows])  # encoded once, here
                now = time.monotonic()
                if now - checked >= self.config.token_check_seconds:
                    checked = now
                    self._check_tokens(store)
                if now - pruned >= self.config.prune_every_seconds:
                    pruned = now
                    store.prune_events(self.config.settings.event_retention)
            except (sqlite3.Error, DecnetError) as err:  # a locked or busy DB: try again
                log.warning("event tailer: %s", err)
            if len(rows) < PAGE:
                self._stop.wait(self.config.poll_seconds)

    def _check_tokens(self, store: Store) -> None:
        held = self._token_ids
        dead = held - store.live_token_ids(held)
        if dead:
            self._call(self._close_tokens, dead)

    def _call(self, fn: object, arg: object) -> None:
        assert self._loop is not None and callable(fn)
        try:
            self._loop.call_soon_threadsafe(fn, arg)
        except RuntimeError:  # the loop is closing: nobody is listening any more
            self._stop.set()
