"""The state an event stream starts from (SPEC §11): per topology, or a summary of all.

Read the latest event id first, then the state: an event that lands in between is then both
in the snapshot and sent after it (harmless: applying an event twice to the same state is a
no-op for a client), never in neither.
"""

from __future__ import annotations

from pydantic import BaseModel

from decnet.engine.context import Context
from decnet.engine.lifecycle import RunView, StatusView, status
from decnet.engine.topologies import TopologyView, show_topology
from decnet.events import Event
from decnet.policy import WithActions


class MutationRef(BaseModel):
    id: str
    op: str
    state: str
    requested_at: str


class TopologySnapshot(BaseModel):
    """`event: snapshot` of a topology's stream."""

    latest_event_id: int
    status: str
    version: int
    desired_hash: str
    applied_hash: str | None
    needs_resync: bool
    last_run: RunView | None
    in_flight: list[MutationRef]
    topology: TopologyView
    """Exactly what `decnet topology show NAME --json` prints (secrets masked)."""


class SnapshotSummary(WithActions):
    name: str
    host: str
    version: int
    desired_hash: str
    applied_hash: str | None
    needs_resync: bool
    in_flight: list[MutationRef]
    last_run: RunView | None = None
    """The last Ansible run that touched the topology (the editor's list shows it)."""


class GlobalSnapshot(BaseModel):
    """`event: snapshot` of the global stream: one summary per topology."""

    latest_event_id: int
    topologies: list[SnapshotSummary]


class StreamReset(BaseModel):
    """`event: reset`: the resume point is unusable; a fresh snapshot follows."""

    since: int
    reason: str
    pruned_through: int


class StreamClosed(BaseModel):
    """`event: closed`: the stream ends (token revoked or expired, server stopping)."""

    reason: str


class TopologyStreamFrames(BaseModel):
    """The `data:` of each frame of a topology's event stream, by its `event:` name. Every
    other `event:` name is an event type: its `data:` is that event (`id:` is its id)."""

    snapshot: TopologySnapshot
    reset: StreamReset
    closed: StreamClosed
    event: Event


class GlobalStreamFrames(BaseModel):
    """The `data:` of each frame of the global event stream, by its `event:` name (see
    TopologyStreamFrames)."""

    snapshot: GlobalSnapshot
    reset: StreamReset
    closed: StreamClosed
    event: Event


def _in_flight(ctx: Context, name: str | None) -> dict[str, list[MutationRef]]:
    names = [name] if name is not None else ctx.store.topologies_with_open_mutations()
    return {
        n: [
            MutationRef(id=m.id, op=m.op, state=m.state, requested_at=m.requested_at)
            for m in ctx.store.open_mutations(n)
        ]
        for n in names
    }


def _summary(view: StatusView, in_flight: list[MutationRef]) -> SnapshotSummary:
    return SnapshotSummary(
        name=view.name,
        host=view.host,
        status=view.status,
        live_round=view.live_round,
        version=view.version,
        desired_hash=view.desired_hash,
        applied_hash=view.applied_hash,
        needs_resync=view.needs_resync,
        in_flight=in_flight,
        last_run=view.last_run,
    )


def topology_snapshot(ctx: Context, name: str) -> TopologySnapshot:
    latest = ctx.store.latest_event_id()
    shown = show_topology(
        ctx.store, name, catalog=ctx.catalog, site_images=ctx.settings.site_images
    )
    state = status(ctx, name, recent=0)[0]
    return TopologySnapshot(
        latest_event_id=latest,
        status=shown.status,
        version=shown.version,
        desired_hash=shown.desired_hash,
        applied_hash=state.applied_hash,
        needs_resync=shown.needs_resync,
        last_run=state.last_run,
        in_flight=_in_flight(ctx, name).get(name, []),
        topology=shown,
    )


def global_snapshot(ctx: Context) -> GlobalSnapshot:
    latest = ctx.store.latest_event_id()
    in_flight = _in_flight(ctx, None)
    return GlobalSnapshot(
        latest_event_id=latest,
        topologies=[_summary(v, in_flight.get(v.name, [])) for v in status(ctx, recent=0)],
    )
