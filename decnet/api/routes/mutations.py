"""Edits with ops (SPEC §10): one batch route for pending and live topologies, its plan, and
the mutation queue. The same library calls as `decnet mutate|mutations` (docs/mutations.md)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response, status

from decnet.api.deps import Admin, Viewer
from decnet.api.state import ApiState, api_state
from decnet.core.ops import Batch
from decnet.engine import mutations as engine
from decnet.models import NAME_RE
from decnet.store.rows import MutationState

router = APIRouter(tags=["mutations"])
State = Annotated[ApiState, Depends(api_state)]
Name = Annotated[str, Path(pattern=NAME_RE.pattern, description="A stored topology.")]
MutationId = Annotated[str, Path(pattern=r"^[A-Za-z0-9]{1,64}$", description="A mutation id.")]


@router.post(
    "/topologies/{name}/ops",
    responses={202: {"model": engine.SubmitResult, "description": "Enqueued on a live topology."}},
)
def submit_ops(
    state: State,
    _who: Admin,
    name: Name,
    body: Batch,
    response: Response,
    plan: Annotated[bool, Query(description="Validate and plan only; change nothing.")] = False,
) -> engine.SubmitResult | engine.PlanView:
    """A batch of ops, all or none: applied at once on a pending topology (200), enqueued on a
    live one (202, the mutation id), or with `plan=true` only validated and planned (200).
    A batch that changes nothing is `mode: unchanged` (200; no version bump, no mutation).
    A batch that fails validation is 400 with the issue list; a stale `expected_version` 409."""
    ctx = state.context()
    if plan:
        return engine.plan_ops(ctx, name, body.ops, expected_version=body.expected_version)
    result = engine.submit_batch(ctx, name, body)
    if result.mutation is not None:
        response.status_code = status.HTTP_202_ACCEPTED
        state.wake_watcher()
    return result


@router.get("/topologies/{name}/mutations")
def list_mutations(
    state: State,
    _who: Viewer,
    name: Name,
    state_: Annotated[MutationState | None, Query(alias="state")] = None,
) -> list[engine.MutationView]:
    """The topology's mutations, oldest first (secret config values masked)."""
    return engine.list_mutations(state.context(), name, state=state_)


@router.get("/mutations/{mutation_id}")
def get_mutation(state: State, _who: Viewer, mutation_id: MutationId) -> engine.MutationView:
    return engine.get_mutation(state.context(), mutation_id)


@router.post("/mutations/{mutation_id}/cancel")
def cancel_mutation(state: State, _who: Admin, mutation_id: MutationId) -> engine.MutationView:
    """Cancel a pending mutation (409 once it is being applied or finished)."""
    return engine.cancel_mutation(state.context(), mutation_id)
