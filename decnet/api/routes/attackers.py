"""The attacker's view: one row per source address, and one source's timeline (the same library
calls as `decnet attackers`; docs/observe.md)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from decnet.api.deps import Viewer
from decnet.api.state import ApiState, api_state
from decnet.core.observe.attackers import Attacker, AttackerDetail
from decnet.engine import attackers as engine
from decnet.errors import InvalidRequest, UsageError
from decnet.models import NAME_RE
from decnet.settings import parse_duration

router = APIRouter(tags=["attackers"])
State = Annotated[ApiState, Depends(api_state)]


@router.get("/attackers")
def list_attackers(
    state: State,
    _who: Viewer,
    topology: Annotated[str | None, Query(pattern=NAME_RE.pattern)] = None,
    since: Annotated[
        str | None, Query(max_length=12, description="Only the last DURATION, e.g. 24h.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=engine.MAX_ATTACKERS)] = engine.MAX_ATTACKERS,
) -> list[Attacker]:
    """One row per source address, the most recently active first: first and last seen,
    events, its path through the maze (deckies and LANs in the order it touched them), logins
    tried and succeeded, commands, downloads."""
    try:
        age = parse_duration(since, "since") if since is not None else None
    except UsageError as err:
        raise InvalidRequest(str(err), field="query.since", hint=err.hint) from None
    return engine.list_attackers(state.context().store, topology=topology, since=age, limit=limit)


@router.get("/attackers/{ip}")
def show_attacker(
    state: State,
    _who: Viewer,
    ip: Annotated[str, Path(max_length=64, description="The source address.")],
) -> AttackerDetail:
    """One source: its summary and its timeline, session by session (the newest events)."""
    address = engine.source_address(ip, field="path.ip")
    return engine.attacker(state.context().store, address)
