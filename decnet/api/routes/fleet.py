"""Fleet: the inventory's hosts, the last drift findings, and gathering new ones (202)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response, status
from pydantic import BaseModel

from decnet.api.deps import Admin, Viewer
from decnet.api.routes.lifecycle import submit
from decnet.api.state import ApiState, api_state
from decnet.engine import drift as drift_engine
from decnet.engine.jobs import JobKind, JobRequest, JobView

router = APIRouter(tags=["fleet"])
State = Annotated[ApiState, Depends(api_state)]


class FindingOut(BaseModel):
    topology: str | None
    host: str | None
    state: str
    details: list[str]
    at: str
    event_id: int


class DriftOut(BaseModel):
    findings: list[FindingOut]
    """The newest finding of every topology (from the `drift.finding` events)."""
    hosts: dict[str, dict[str, Any]]
    """host -> when its fact was gathered, whether it answered, and any error."""


@router.get("/hosts")
def hosts(state: State, _who: Viewer) -> list[drift_engine.HostView]:
    """Inventory hosts, the live topologies pinned to each, the last fact report."""
    return drift_engine.hosts(state.context())


@router.get("/drift")
def last_drift(state: State, _who: Viewer) -> DriftOut:
    """The last drift findings, without gathering anything."""
    store = state.context().store
    findings = [
        FindingOut(
            topology=e.topology,
            host=e.payload.get("host"),
            state=str(e.payload.get("state", "unknown")),
            details=list(e.payload.get("details") or []),
            at=e.at,
            event_id=e.id,
        )
        for e in store.last_findings()
    ]
    reports = {
        h: {"gathered_at": r.gathered_at, "reachable": r.reachable, "error": r.error}
        for h, r in store.host_reports().items()
    }
    return DriftOut(findings=findings, hosts=reports)


@router.post("/drift", status_code=status.HTTP_202_ACCEPTED)
def gather_drift(state: State, who: Admin, response: Response) -> JobView:
    """Gather the decnet fact from the hosts and classify every live topology (as `decnet
    drift`); the findings arrive as `drift.finding` events and in the run's result."""
    return submit(state, who, JobRequest(JobKind.DRIFT), response)
