"""The event bus from the outside: the library calls behind `decnet events` (and `GET /events`).

Events are read by id: `--since ID` returns exactly the events after ID, and following polls for
ids above the last one seen (every writer appends under the write lock, so ids become visible in
order and a poll never skips one). Retention deletes the oldest events (SPEC §11).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta

from decnet.engine.topologies import check_name
from decnet.errors import InvalidRequest
from decnet.store import EventRow, Store

FOLLOW_POLL_SECONDS = 0.25
"""How often `--follow` looks for new events: well inside the promised ~0.5 s delay."""
MAX_PAGE = 1000
_GLOB_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789._-*?[]!")


@dataclass(frozen=True)
class EventFilter:
    topology: str | None = None
    type_glob: str | None = None

    def __post_init__(self) -> None:
        if self.topology is not None:
            check_name(self.topology, field="topology")
        if self.type_glob is not None and (
            not self.type_glob or not set(self.type_glob) <= _GLOB_CHARS
        ):
            raise InvalidRequest(
                f"event type pattern {self.type_glob!r} has characters no event type has",
                field="type",
                hint="use lower-case letters, digits, '.', '_', '-' and the wildcards * ? [ ]",
            )


def list_events(
    store: Store,
    *,
    since: int | None = None,
    last: int = 100,
    where: EventFilter = EventFilter(),
    limit: int = MAX_PAGE,
) -> list[EventRow]:
    """Events after `since` (up to `limit`), or the newest `last` when `since` is None."""
    if since is None:
        return store.last_events(last, topology=where.topology, type_glob=where.type_glob)
    return store.query_events(
        since, topology=where.topology, type_glob=where.type_glob, limit=limit
    )


def events_after(
    store: Store, since: int, *, where: EventFilter = EventFilter(), page: int = MAX_PAGE
) -> Iterator[EventRow]:
    """Every event after `since` in id order, however many: read a page at a time, so a dump
    of a long log holds one page in memory."""
    while True:
        rows = list_events(store, since=since, where=where, limit=page)
        yield from rows
        if len(rows) < page:
            return
        since = rows[-1].id


def follow(
    store: Store,
    after: int,
    *,
    where: EventFilter = EventFilter(),
    poll: float = FOLLOW_POLL_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
    stopped: Callable[[], bool] = lambda: False,
) -> Iterator[EventRow]:
    """Every event after `after`, in id order, until `stopped()` (checked between polls)."""
    while not stopped():
        batch = store.query_events(
            after, topology=where.topology, type_glob=where.type_glob, limit=MAX_PAGE
        )
        yield from batch
        if batch:
            after = batch[-1].id
        if len(batch) < MAX_PAGE:  # caught up: wait; a full page means more are waiting
            sleep(poll)


@dataclass(frozen=True)
class PruneResult:
    deleted: int
    through: int
    """The highest event id retention has removed so far."""
    older_than: timedelta


def prune(store: Store, older_than: timedelta) -> PruneResult:
    """Delete the events older than `older_than` (a prefix of ids; see store.bus)."""
    deleted, through = store.prune_events(older_than)
    return PruneResult(deleted=deleted, through=through, older_than=older_than)
