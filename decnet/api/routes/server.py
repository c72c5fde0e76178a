"""The server itself: an unauthenticated health check and an authenticated status."""

from __future__ import annotations

import time
from importlib.metadata import PackageNotFoundError, version
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from decnet.api.deps import Viewer
from decnet.api.state import ApiState, api_state

router = APIRouter(tags=["server"])
health_router = APIRouter(tags=["server"])
State = Annotated[ApiState, Depends(api_state)]


class Health(BaseModel):
    status: str


class ServerInfo(BaseModel):
    version: str
    uptime_seconds: float
    watch: bool
    """Whether the reconciler of live mutations runs in this process."""
    collect: bool
    """Whether the collector of the sensors' lines runs in this process."""
    open_streams: int
    runs: dict[str, int]
    """Runs of this server by state."""
    event_position: int
    """The newest event id the stream tailer has seen."""


def _version() -> str:
    try:
        return version("decnet")
    except PackageNotFoundError:
        return "unknown"


@health_router.get("/healthz")
async def healthz() -> Health:
    """Liveness, with no token and no data."""
    return Health(status="ok")


@router.get("/server")
def server_info(state: State, _who: Viewer) -> ServerInfo:
    """Version, uptime, open streams and run counts."""
    counts: dict[str, int] = {}
    for job in state.worker.recent(10_000):
        counts[job.state] = counts.get(job.state, 0) + 1
    return ServerInfo(
        version=_version(),
        uptime_seconds=round(time.time() - state.started, 1),
        watch=state.config.watch,
        collect=state.config.collect,
        open_streams=state.hub.open_streams,
        runs=counts,
        event_position=state.hub.position,
    )
