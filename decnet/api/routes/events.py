"""Events: a JSON page of the bus, and the server-sent event streams (decnet.api.stream)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from decnet.api import stream
from decnet.api.deps import Viewer
from decnet.api.openapi import STREAM
from decnet.api.state import ApiState, api_state
from decnet.engine import events as engine
from decnet.engine.snapshot import GlobalStreamFrames, TopologyStreamFrames
from decnet.engine.tokens import Principal
from decnet.errors import InvalidRequest
from decnet.events import Event
from decnet.models import NAME_RE

router = APIRouter(tags=["events"])
State = Annotated[ApiState, Depends(api_state)]
Name = Annotated[str, Path(pattern=NAME_RE.pattern, description="A stored topology.")]
Since = Annotated[int | None, Query(ge=0, description="Resume after this event id.")]
STREAM_DOC = "text/event-stream: `snapshot`, then `id:`/`event:`/`data:` per event (docs/api.md)"


class EventPage(BaseModel):
    items: list[Event]
    """Each event as it was written (docs/api.md lists the types and their payloads)."""
    next_since: int
    """Pass as `since` for the next page."""
    latest: int
    """The newest event id when the page was read."""
    pruned_through: int
    """Events up to this id were removed by retention: a `since` below it has missed some."""


@router.get("/events", response_model=EventPage)
def list_events(
    state: State,
    _who: Viewer,
    since: Annotated[int, Query(ge=0)] = 0,
    topology: Annotated[str | None, Query(pattern=NAME_RE.pattern)] = None,
    type_glob: Annotated[str | None, Query(alias="type", max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=engine.MAX_PAGE)] = 100,
) -> JSONResponse:
    """Events after `since`, oldest first (`decnet events --since N --json`)."""
    store = state.context().store
    latest, pruned = store.latest_event_id(), store.events_pruned_through()
    where = engine.EventFilter(topology=topology, type_glob=type_glob)
    items = engine.list_events(store, since=since, where=where, limit=limit)
    # A short page means we are caught up to `latest` (read first) for this filter.
    next_since = items[-1].id if len(items) == limit else max(since, latest)
    page = {
        "items": [row.model_dump(mode="json") for row in items],
        "next_since": next_since,
        "latest": latest,
        "pruned_through": pruned,
    }
    # The rows are sent as written (each was checked against its type when it was made); the
    # response model documents them. An older decnet's row must not make the page fail.
    return JSONResponse(page)


def _resume(last_event_id: str | None, since: int | None) -> int | None:
    if last_event_id is None:
        return since
    if not last_event_id.strip().isdigit():
        raise InvalidRequest(
            f"Last-Event-ID {last_event_id[:40]!r} is not an event id",
            field="header.last-event-id",
            hint="send the id: of the last event received",
        )
    return int(last_event_id.strip())


async def _open(
    state: ApiState, who: Principal, topology: str | None, resume: int | None
) -> EventSourceResponse:
    sub = state.hub.subscribe(topology, who.token_id)  # 429 past the per-token cap
    try:
        first = await run_in_threadpool(stream.opening, state.context, topology, resume)
    except BaseException:
        state.hub.unsubscribe(sub)
        raise

    async def release() -> None:  # async: the hub lives on the event loop, not in a worker
        state.hub.unsubscribe(sub)

    return EventSourceResponse(
        stream.events(state.hub, sub, state.context, first),
        ping=state.config.keepalive_seconds,
        ping_message_factory=lambda: ServerSentEvent(comment="keepalive"),
        headers={"Cache-Control": "no-store"},
        # HEAD never iterates the body: the subscription is released here as well.
        background=BackgroundTask(release),
    )


@router.get(
    "/events/stream",
    response_class=EventSourceResponse,
    description=STREAM_DOC,
    responses={200: {"model": GlobalStreamFrames, "description": STREAM_DOC}},
    openapi_extra=STREAM,
)
async def global_stream(
    state: State,
    who: Viewer,
    since: Since = None,
    last_event_id: Annotated[str | None, Header(max_length=40)] = None,
    ticket: Annotated[str | None, Query(description="From POST /stream-tickets.")] = None,
) -> EventSourceResponse:
    """Every event, after a snapshot summarising every topology."""
    return await _open(state, who, None, _resume(last_event_id, since))


@router.get(
    "/topologies/{name}/events/stream",
    response_class=EventSourceResponse,
    description=STREAM_DOC,
    responses={200: {"model": TopologyStreamFrames, "description": STREAM_DOC}},
    openapi_extra=STREAM,
)
async def topology_stream(
    state: State,
    who: Viewer,
    name: Name,
    since: Since = None,
    last_event_id: Annotated[str | None, Header(max_length=40)] = None,
    ticket: Annotated[str | None, Query(description="From POST /stream-tickets.")] = None,
) -> EventSourceResponse:
    """The topology's events, after its snapshot (404 for an unknown topology)."""
    return await _open(state, who, name, _resume(last_event_id, since))
