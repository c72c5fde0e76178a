"""Deploy, teardown and status: the library calls behind `decnet deploy|teardown|status`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from pydantic import BaseModel, Field

from decnet.core.hashing import desired_hash
from decnet.core.validate import missing_services
from decnet.engine.context import Context
from decnet.engine.leases import recover_stale
from decnet.engine.rollout import (
    DEPLOY,
    TEARDOWN,
    EventSink,
    RolloutOptions,
    RolloutReport,
    rollout,
)
from decnet.errors import NotFound, UsageError
from decnet.models import LIVE, Issue, Status, Topology
from decnet.policy import WithActions


def _select(
    ctx: Context, names: Sequence[str], all_: bool, statuses: frozenset[Status]
) -> list[str]:
    if names and all_:
        raise UsageError("name topologies or pass --all, not both", hint="drop one of them")
    if not all_:
        return list(names)
    return [s.name for s in ctx.store.list_topologies() if s.status in statuses]


def deploy(
    ctx: Context,
    names: Sequence[str],
    *,
    all_: bool = False,
    opts: RolloutOptions = RolloutOptions(),
    on_event: EventSink = lambda _e: None,
    should_cancel: Callable[[], bool] = lambda: False,
    failed_only: bool = False,
) -> RolloutReport:
    selected = _select(ctx, names, all_, DEPLOY.allowed_from)
    if failed_only:  # retry exactly what failed, without repeating what succeeded
        selected = [n for n in selected if ctx.store.get_topology(n).status == Status.FAILED]
        if not selected:
            raise NotFound("no failed topology to retry", hint="see `decnet status`")
    return rollout(ctx, selected, DEPLOY, opts, on_event, should_cancel)


def teardown(
    ctx: Context,
    names: Sequence[str],
    *,
    all_: bool = False,
    opts: RolloutOptions = RolloutOptions(),
    on_event: EventSink = lambda _e: None,
    should_cancel: Callable[[], bool] = lambda: False,
) -> RolloutReport:
    selected = _select(ctx, names, all_, TEARDOWN.allowed_from)
    return rollout(ctx, selected, TEARDOWN, opts, on_event, should_cancel)


class RunView(BaseModel):
    id: str
    kind: str
    status: str
    started_at: str | None
    finished_at: str | None
    error: str | None = None


class StatusView(WithActions):
    name: str
    host: str
    version: int
    desired_hash: str | None
    """None when the topology cannot be hashed: `problems` says why and what to do."""
    applied_hash: str | None
    needs_resync: bool
    status_changed_at: str | None
    last_run: RunView | None
    recent: list[dict[str, Any]]
    problems: list[Issue] = Field(default_factory=list)


def desired_or_problems(ctx: Context, t: Topology) -> tuple[str | None, list[Issue]]:
    """The desired hash, or None and the reasons it has none (e.g. a service the catalogue
    no longer has): stored data is reported, never raised."""
    problems = missing_services(t, ctx.catalog)
    if problems:
        return None, problems
    return desired_hash(t, ctx.catalog, ctx.settings.site_images, secret_key=ctx.hash_key), []


def _applied_hash(ctx: Context, name: str) -> tuple[str | None, RunView | None]:
    run = ctx.store.last_run(name)
    if run is None:
        return None, None
    view = RunView(
        id=run.id,
        kind=run.kind,
        status=run.status,
        started_at=run.started_at,
        finished_at=run.finished_at,
        error=run.error,
    )
    applied = ((run.stats or {}).get("topologies") or {}).get(name, {}).get("applied_hash")
    return applied, view


def status(ctx: Context, name: str | None = None, *, recent: int = 5) -> list[StatusView]:
    recover_stale(ctx.store)
    names = [name] if name else [s.name for s in ctx.store.list_topologies()]
    views = []
    for n in names:
        t = ctx.store.get_topology(n)
        desired, problems = desired_or_problems(ctx, t)
        applied, run = _applied_hash(ctx, n)
        events = [e.model_dump(mode="json") for e in ctx.store.status_events(n, limit=recent)]
        views.append(
            StatusView(
                name=t.name,
                status=t.status,
                live_round=t.status is Status.DEPLOYING and ctx.store.in_live_round(t.name),
                host=t.host,
                version=t.version,
                desired_hash=desired,
                applied_hash=applied if t.status in LIVE else None,
                needs_resync=t.needs_resync,
                status_changed_at=t.status_changed_at,
                last_run=run,
                recent=events,
                problems=problems,
            )
        )
    return views
