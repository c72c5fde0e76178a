"""Server-sent event streams: a snapshot first, then every event, resumable by id (SPEC §11).

Wire format (docs/api.md): `event: snapshot` (no `id:`), then per event `id: <event id>`,
`event: <type>`, `data: <json>`. A resume point (`Last-Event-ID` or `?since=`) older than the
retained history, or newer than the newest event, gets `event: reset` and a fresh snapshot, and
the stream continues from that snapshot. Only durable events carry an `id:`, so a browser's
automatic reconnect resumes exactly after the last event it saw.

Ordering without loss or repeats: subscribe first (the hub then queues everything after its
position, the subscriber's `mark`), read the table from the resume point up to the mark, then
take what the hub queued, skipping ids already sent.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from starlette.concurrency import run_in_threadpool

from decnet.api.hub import PAGE, Closed, EventHub, Subscriber
from decnet.api.wire import message, wire
from decnet.engine.context import Context
from decnet.engine.snapshot import (
    StreamClosed,
    StreamReset,
    global_snapshot,
    topology_snapshot,
)
from decnet.store import EventRow

ContextOf = Callable[[], Context]


@dataclass(frozen=True)
class Opening:
    """What a stream sends before its first event, and the id it continues after."""

    snapshot: dict[str, Any]
    start: int
    reset: dict[str, Any] | None = None


def opening(context: ContextOf, topology: str | None, resume: int | None) -> Opening:
    """(In a worker thread.) The snapshot, and whether the resume point is still usable."""
    ctx = context()
    pruned = ctx.store.events_pruned_through()
    shot = (
        topology_snapshot(ctx, topology) if topology is not None else global_snapshot(ctx)
    ).model_dump(mode="json")
    latest = int(shot["latest_event_id"])
    if resume is None:
        return Opening(shot, latest)
    if resume < pruned or resume > latest:
        why = "older than the kept history" if resume < pruned else "newer than the newest event"
        reset = StreamReset(
            since=resume, reason=f"the resume point is {why}", pruned_through=pruned
        ).model_dump(mode="json")
        return Opening(shot, latest, reset)
    return Opening(shot, resume)


def _backfill(
    context: ContextOf, topology: str | None, after: int, upto: int
) -> tuple[list[EventRow], bool]:
    """(In a worker thread.) Events in (after, upto], and whether retention removed any of
    them meanwhile (the mark is read after the rows: a later prune cannot hide behind it)."""
    store = context().store
    rows = [r for r in store.query_events(after, topology=topology, limit=PAGE) if r.id <= upto]
    return rows, store.events_pruned_through() > after


async def events(
    hub: EventHub, sub: Subscriber, context: ContextOf, first: Opening
) -> AsyncIterator[bytes]:
    """The stream body, one chunk per batch of events; always unsubscribes, however it ends."""
    try:
        if first.reset is not None:
            yield message("reset", first.reset)
        yield message("snapshot", first.snapshot)
        last = first.start
        while True:
            while last < sub.mark:  # what happened before the hub started queueing for us
                upto = sub.mark
                rows, lost = await run_in_threadpool(_backfill, context, sub.topology, last, upto)
                if lost:
                    again = await run_in_threadpool(opening, context, sub.topology, last)
                    yield message("reset", again.reset or {}) + message("snapshot", again.snapshot)
                    last = again.start
                    hub.resync(sub)
                    continue
                if rows:
                    yield b"".join(wire(row).frame for row in rows)
                # a short page means everything up to the mark is sent (for this filter)
                last = rows[-1].id if len(rows) == PAGE else upto
            batch = await sub.next()
            if not batch:  # overflowed: re-read from the table up to the hub's position
                hub.resync(sub)
                continue
            fresh = [w for w in batch if w.id > last]
            if fresh:
                yield b"".join(w.frame for w in fresh)
                last = fresh[-1].id
    except Closed as closed:
        yield message("closed", StreamClosed(reason=str(closed)).model_dump(mode="json"))
    finally:
        hub.unsubscribe(sub)
