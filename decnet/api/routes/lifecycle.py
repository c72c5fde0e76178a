"""Lifecycle: deploy, teardown and reconcile run in the background worker (202 + run id)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Path, Response, status

from decnet.api.config import API_PREFIX
from decnet.api.deps import Admin
from decnet.api.schemas import DeployBody, TeardownBody
from decnet.api.state import ApiState, api_state
from decnet.engine.jobs import JobKind, JobRequest, JobView
from decnet.engine.tokens import Principal
from decnet.engine.topologies import check_name
from decnet.models import NAME_RE

router = APIRouter(tags=["lifecycle"])
State = Annotated[ApiState, Depends(api_state)]
Name = Annotated[str, Path(pattern=NAME_RE.pattern, description="A stored topology.")]
ACCEPTED = status.HTTP_202_ACCEPTED


def submit(state: ApiState, who: Principal, request: JobRequest, response: Response) -> JobView:
    """Queue a job (after checking it could run) and point at it: 202 + Location."""
    for name in request.topologies:
        check_name(name)
    job = state.worker.submit(state.context().store, request, who.name)
    response.headers["Location"] = f"{API_PREFIX}/runs/{job.id}"
    return job


@router.post("/topologies/{name}/deploy", status_code=ACCEPTED)
def deploy(
    state: State,
    who: Admin,
    name: Name,
    response: Response,
    body: Annotated[DeployBody | None, Body()] = None,
) -> JobView:
    """Validate, render and apply the topology (as `decnet deploy NAME`)."""
    opts = body or DeployBody()
    request = JobRequest(JobKind.DEPLOY, (name,), dry_run=opts.dry_run, force=opts.force)
    return submit(state, who, request, response)


@router.post("/topologies/{name}/teardown", status_code=ACCEPTED)
def teardown(
    state: State,
    who: Admin,
    name: Name,
    response: Response,
    body: Annotated[TeardownBody | None, Body()] = None,
) -> JobView:
    """Remove exactly what carries the topology's labels (as `decnet teardown NAME`)."""
    request = JobRequest(JobKind.TEARDOWN, (name,), force=(body or TeardownBody()).force)
    return submit(state, who, request, response)


@router.post("/reconcile", status_code=ACCEPTED)
def reconcile(state: State, who: Admin, response: Response) -> JobView:
    """Re-deploy exactly the topologies drift marked for resync (as `decnet reconcile`)."""
    return submit(state, who, JobRequest(JobKind.RECONCILE), response)
