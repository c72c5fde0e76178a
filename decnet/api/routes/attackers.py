"""The attacker's view: one row per source address, and one source's timeline (the same library
calls as `decnet attackers`; docs/observe.md)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from decnet.api.deps import Viewer
from decnet.api.state import ApiState, api_state
from decnet.core.observe.attackers import Attacker, AttackerDetail, DeckyActivity
from decnet.engine import attackers as engine
from decnet.errors import InvalidRequest, UsageError
from decnet.events import Event
from decnet.models import NAME_RE
from decnet.settings import parse_duration

router = APIRouter(tags=["attackers"])
State = Annotated[ApiState, Depends(api_state)]
Since = Annotated[str | None, Query(max_length=12, description="Only the last DURATION, e.g. 24h.")]


class TopologyActivity(BaseModel):
    """What the editor's activity view starts from (docs/editor.md)."""

    deckies: list[DeckyActivity]
    """Each decky attacked in the window: its count and the sensor time of the newest."""
    events: list[Event]
    """The newest attack events of the window, newest first (at most `limit`)."""
    latest: int
    """The newest event id when this was read: the stream's events after it are news."""


def _age(since: str | None) -> timedelta | None:
    try:
        return parse_duration(since, "since") if since is not None else None
    except UsageError as err:
        raise InvalidRequest(str(err), field="query.since", hint=err.hint) from None


@router.get("/attackers")
def list_attackers(
    state: State,
    _who: Viewer,
    topology: Annotated[str | None, Query(pattern=NAME_RE.pattern)] = None,
    since: Since = None,
    limit: Annotated[int, Query(ge=1, le=engine.MAX_ATTACKERS)] = engine.MAX_ATTACKERS,
) -> list[Attacker]:
    """One row per source address, the most recently active first: first and last seen,
    events, its path through the maze (deckies and LANs in the order it touched them), logins
    tried and succeeded, commands, downloads."""
    store = state.context().store
    return engine.list_attackers(store, topology=topology, since=_age(since), limit=limit)


@router.get("/attackers/{ip}")
def show_attacker(
    state: State,
    _who: Viewer,
    ip: Annotated[str, Path(max_length=64, description="The source address.")],
) -> AttackerDetail:
    """One source: its summary and its timeline, session by session (the newest events)."""
    address = engine.source_address(ip, field="path.ip")
    return engine.attacker(state.context().store, address)


@router.get("/topologies/{name}/activity", response_model=TopologyActivity)
def topology_activity(
    state: State,
    _who: Viewer,
    name: Annotated[str, Path(pattern=NAME_RE.pattern, description="A stored topology.")],
    since: Since = None,
    limit: Annotated[int, Query(ge=1, le=engine.FEED)] = engine.FEED,
) -> JSONResponse:
    """The attacks on one topology in a window (sensor time): each attacked decky's count and
    newest time, and the newest attack events; 404 for an unknown topology."""
    deckies, events, latest = engine.topology_activity(
        state.context().store, name, since=_age(since), limit=limit
    )
    # The events are sent as written (each was checked against its type when it was made).
    body = {
        "deckies": [d.model_dump(mode="json") for d in deckies],
        "events": [e.model_dump(mode="json") for e in events],
        "latest": latest,
    }
    return JSONResponse(body)
