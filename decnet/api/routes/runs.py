"""Runs: the jobs of the server's background worker (deploy, teardown, reconcile, drift)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from decnet.api.deps import Viewer
from decnet.api.state import ApiState, api_state
from decnet.engine.jobs import JobView

router = APIRouter(prefix="/runs", tags=["runs"])
State = Annotated[ApiState, Depends(api_state)]


@router.get("")
def list_runs(
    state: State, _who: Viewer, limit: Annotated[int, Query(ge=1, le=500)] = 100
) -> list[JobView]:
    """The server's runs, newest first (kept while it runs; their events stay in the bus)."""
    return state.worker.recent(limit)


@router.get("/{run_id}")
def get_run(
    state: State, _who: Viewer, run_id: Annotated[str, Path(pattern=r"^[0-9a-f]{12}$")]
) -> JobView:
    """One run: queued, running, succeeded, failed or cancelled, with its result."""
    return state.worker.get(run_id)
