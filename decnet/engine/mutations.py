"""Editing topologies with ops (SPEC §10): the library calls behind `decnet mutate|mutations`
and the API's `/ops` routes.

On a pending topology a batch applies to the stored design at once (validated in full,
`expected_version` checked, one transaction). On a live one it is validated against the state
the queue will produce and enqueued; the reconciler (`decnet.engine.watch`) applies it. Both
run inside one store transaction, so the check and the write cannot be split by another writer.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel

from decnet import policy
from decnet.core.edit import (
    WRITTEN_NOTE,
    EditResult,
    blind,
    changes_nothing,
    edit,
    secrets_written,
)
from decnet.core.ops import Batch, Op, dump_ops, mask_ops, op_label, parse_ops
from decnet.core.plan import Plan, plan_change
from decnet.core.render import compose_model
from decnet.engine.context import Context
from decnet.errors import EnvironmentProblem, InvalidBatch, InvalidRequest, VersionConflict
from decnet.models import Issue, Status, Topology
from decnet.store.rows import MutationRow, MutationState

FINISHED = frozenset({MutationState.APPLIED, MutationState.FAILED, MutationState.CANCELLED})


class MutationView(BaseModel):
    """A mutation as shown to people and tools: secret config values masked."""

    id: str
    topology: str
    op: str
    ops: list[dict[str, Any]]
    state: MutationState
    version: int | None
    requested_at: str
    started_at: str | None
    finished_at: str | None
    reason: str | None
    issues: list[Issue]


class SubmitResult(BaseModel):
    topology: str
    mode: Literal["applied", "enqueued", "unchanged"]
    """applied: a pending topology's design changed at once; enqueued: a live change queued;
    unchanged: the batch changes nothing (nothing written, no version bump, no mutation)."""
    version: int
    mutation: MutationView | None = None
    warnings: list[Issue] = []
    notes: list[str] = []


class PlanView(BaseModel):
    """Validation result and disruption of a batch, computed without changing anything."""

    topology: str
    status: Status
    live: bool
    valid: bool
    issues: list[Issue]
    plan: Plan | None


def view(row: MutationRow, ctx: Context) -> MutationView:
    data = row.model_dump(include=set(MutationView.model_fields))
    data["ops"] = mask_ops(row.ops, ctx.catalog)
    return MutationView(**data)


def _live(ctx: Context, t: Topology, expected_version: int | None) -> bool:
    """False for a pending topology; True for a live one; NotEditable for any other status
    (checked before the ops, so the status is what the caller hears about)."""
    _check_version(t, expected_version)
    if t.status in policy.DESIGN:
        return False
    ctx.store.check_mutable(t.name)
    return True


def _projected(ctx: Context, t: Topology) -> Topology:
    """The desired state once the queue has run: open batches not yet in the desired state
    applied in order (one that no longer applies is skipped, as the reconciler would fail it)."""
    state = t
    for row in ctx.store.open_mutations(t.name):
        if row.accepted:
            continue
        result = _edit(ctx, state, parse_ops(row.ops), live=True)
        if result.topology is not None:
            state = result.topology
    return state


def _edit(ctx: Context, t: Topology, ops: Sequence[Op], *, live: bool) -> EditResult:
    host_ctx = ctx.store.host_context(t.host, exclude=t.name)
    return edit(t, ops, ctx.catalog, host_ctx, live=live)


def _check_version(t: Topology, expected: int | None) -> None:
    if expected is not None and t.version != expected:
        raise VersionConflict(t.name, t.version, expected)


def submit_ops(
    ctx: Context, name: str, ops: Sequence[Op], *, expected_version: int | None = None
) -> SubmitResult:
    """Apply a batch to a pending topology at once, or enqueue it on a live one; a batch
    that would leave the topology invalid raises `InvalidBatch`, and one that changes nothing
    (judged blind to secrets: `decnet.core.edit.changes_nothing`) is `unchanged`: both write
    nothing."""
    with ctx.store.transaction():
        t = ctx.store.get_topology(name)
        live = _live(ctx, t, expected_version)
        before = _projected(ctx, t) if live else t
        result = _edit(ctx, before, ops, live=live)
        if result.topology is None:
            raise InvalidBatch(result.issues, subject=f"batch for topology {name!r}")
        warnings = result.issues
        if changes_nothing(before, result.topology, ops, ctx.catalog):
            return SubmitResult(
                topology=name, mode="unchanged", version=t.version,
                warnings=warnings, notes=result.notes,
            )  # fmt: skip
        if not live:
            stored = ctx.store.replace_topology(result.topology, expected_version=t.version)
            return SubmitResult(
                topology=name, mode="applied", version=stored.version,
                warnings=warnings, notes=result.notes,
            )  # fmt: skip
        row = ctx.store.enqueue_mutation(
            name, dump_ops(ops), op_label(ops), expected_version=t.version
        )
    return SubmitResult(
        topology=name,
        mode="enqueued",
        version=row.version or t.version + 1,
        mutation=view(row, ctx),
        warnings=warnings,
        notes=result.notes,
    )


def submit_batch(ctx: Context, name: str, batch: Batch) -> SubmitResult:
    return submit_ops(ctx, name, batch.ops, expected_version=batch.expected_version)


def plan_ops(
    ctx: Context, name: str, ops: Sequence[Op], *, expected_version: int | None = None
) -> PlanView:
    """What the batch would do, from the state the queue will produce; changes nothing."""
    with ctx.store.transaction():
        t = ctx.store.get_topology(name)
        live = _live(ctx, t, expected_version)
        before = _projected(ctx, t) if live else t
        result = _edit(ctx, before, ops, live=live)
    plan = None
    if result.topology is not None:
        plan = _plan(ctx, t.version, before, result.topology, ops, result.notes)
    return PlanView(
        topology=name,
        status=t.status,
        live=live,
        valid=result.topology is not None,
        issues=result.issues,
        plan=plan,
    )


def _plan(
    ctx: Context,
    version: int,
    before: Topology,
    after: Topology,
    ops: Sequence[Op],
    notes: list[str],
) -> Plan:
    """The plan from `before` to `after`, blind to secret values (`decnet.core.edit.blind`)."""
    catalog, site = ctx.catalog, ctx.settings.site_images
    written = secrets_written(ops, catalog)
    old = (
        compose_model(blind(before, catalog), catalog, site)
        if before.deckies or before.lans
        else None
    )
    new = compose_model(blind(after, catalog, written), catalog, site)
    return plan_change(
        before.name, version, old, new, [*notes, *([WRITTEN_NOTE] if written else [])]
    )


def list_mutations(
    ctx: Context, name: str, *, state: MutationState | None = None
) -> list[MutationView]:
    states = [state] if state is not None else None
    return [view(r, ctx) for r in ctx.store.list_mutations(name, states=states)]


def get_mutation(ctx: Context, mutation_id: str) -> MutationView:
    return view(ctx.store.get_mutation(_checked_id(mutation_id)), ctx)


def cancel_mutation(ctx: Context, mutation_id: str) -> MutationView:
    return view(ctx.store.cancel_mutation(_checked_id(mutation_id)), ctx)


def wait_mutation(
    ctx: Context, mutation_id: str, *, timeout: float = 3600.0, poll: float = 0.25
) -> MutationView:
    """Block until the mutation is applied, failed or cancelled (the watcher does the work)."""
    deadline = time.monotonic() + timeout
    while True:
        row = ctx.store.get_mutation(_checked_id(mutation_id))
        if row.state in FINISHED:
            return view(row, ctx)
        if time.monotonic() >= deadline:
            raise EnvironmentProblem(
                f"mutation {mutation_id} is still {row.state} after {timeout:.0f} s",
                hint="is a reconciler running? start `decnet watch` (or `decnet serve`)",
            )
        time.sleep(poll)


def _checked_id(mutation_id: str) -> str:
    if not (len(mutation_id) <= 64 and mutation_id.isascii() and mutation_id.isalnum()):
        raise InvalidRequest(
            "mutation id must be letters and digits",
            field="id",
            hint="copy the id `decnet mutations NAME` prints",
        )
    return mutation_id
