"""One Ansible run over a set of topologies: deploy or teardown, with status, run and events.

The steps, in order — everything that can fail on our side fails before the first side effect:
1. recover topologies stuck by a dead controller; load and check the requested ones;
2. validate every topology against its host (inventory, claimed subnets and ports);
3. render every bundle file (pure), then write the bundle;
4. move every topology to its in-flight status in one transaction and open the run;
5. run the playbook (ansible-runner), streaming events;
6. map each host's outcome back to each of its topologies; close the run; drop the bundle
   (it holds secrets) and scrub the kept artifacts.
"""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from decnet import events as ev
from decnet import policy
from decnet.core.render import render_bundle, teardown_view
from decnet.core.validate import ensure_valid
from decnet.engine.bundle import write_bundle
from decnet.engine.context import Context
from decnet.engine.leases import LEASE_SECONDS, current_owner, heartbeat, recover_stale
from decnet.engine.secrets import secret_values
from decnet.errors import DecnetError, IllegalTransition, NotFound, UsageError
from decnet.models import Status, Topology
from decnet.policy import Action
from decnet.runner.ansible import (
    HostOutcome,
    PlaybookJob,
    RunnerEvent,
    RunResult,
    run_playbook,
    scrub_tree,
)
from decnet.runner.inventory import Inventory, load_inventory

EventSink = Callable[[RunnerEvent], None]


@dataclass(frozen=True)
class RolloutKind:
    name: str
    """deploy | teardown"""
    playbook: str
    in_flight: Status
    success: Status
    allowed_from: frozenset[Status]

    @property
    def action(self) -> Action:
        return Action(self.name)


DEPLOY = RolloutKind(
    "deploy", "deploy.yml", Status.DEPLOYING, Status.ACTIVE, policy.statuses(Action.DEPLOY)
)
TEARDOWN = RolloutKind(
    "teardown",
    "teardown.yml",
    Status.TEARING_DOWN,
    Status.TORN_DOWN,
    policy.statuses(Action.TEARDOWN),
)


@dataclass(frozen=True)
class RolloutOptions:
    inventory: Path | None = None
    dry_run: bool = False
    force: bool = False
    limit: str | None = None
    serial: str | None = None
    max_fail_percentage: int | None = None
    keep_bundle: bool = False
    concurrency: int | None = None
    """Docker operations in flight per topology on a host (None: the role's default, from the
    host's CPU count or the inventory's decnet_topology_concurrency)."""
    timeout: int | None = None
    """Seconds a docker command may go without progress (None: the role's default)."""
    failure_status: Status = Status.FAILED
    """Where a topology goes when its apply fails: `degraded` for a live change (the
    reconciler's rounds), `failed` for a deploy."""


@dataclass
class TopologyOutcome:
    name: str
    host: str
    status: str
    """The status the topology ended in (or would, for a dry run)."""
    reason: str = ""
    changed: bool = False
    applied_hash: str | None = None


@dataclass
class RolloutReport:
    run_id: str
    kind: str
    dry_run: bool
    status: str
    topologies: list[TopologyOutcome] = field(default_factory=list)
    hosts: dict[str, dict[str, Any]] = field(default_factory=dict)
    artifact_dir: str = ""
    duration: float = 0.0

    @property
    def ok(self) -> bool:
        return all(
            t.status in (Status.ACTIVE, Status.TORN_DOWN, "would-apply") for t in self.topologies
        )


def _load(ctx: Context, names: Sequence[str], kind: RolloutKind, force: bool) -> list[Topology]:
    recover_stale(ctx.store, force=force, names=list(names))
    topologies = [ctx.store.get_topology(n) for n in names]
    for t in topologies:
        refused = ctx.store.verdict(t.name, kind.action).reason
        if refused:
            raise IllegalTransition(t.name, t.status, kind.in_flight, refused)
    return topologies


def validate_on_hosts(ctx: Context, topologies: list[Topology], inventory: Inventory) -> None:
    """Every topology against its host as deploy sees it: the inventory's hosts, and the
    subnets and ports the host's other live topologies claim. `decnet render` shares it."""
    for t in topologies:
        host_ctx = ctx.store.host_context(
            t.host, exclude=t.name, inventory_hosts=frozenset(inventory.hosts)
        )
        ensure_valid(t, ctx.catalog, host_ctx)


def _extravars(bundle_dir: Path, opts: RolloutOptions) -> dict[str, Any]:
    extra: dict[str, Any] = {"decnet_bundle_dir": str(bundle_dir)}
    if opts.serial is not None:
        extra["decnet_serial"] = opts.serial
    if opts.max_fail_percentage is not None:
        extra["decnet_max_fail_percentage"] = opts.max_fail_percentage
    # extravars beat the inventory: only what the command line set is passed
    if opts.concurrency is not None:
        extra["decnet_topology_concurrency"] = opts.concurrency
    if opts.timeout is not None:
        extra["decnet_topology_timeout"] = opts.timeout
    return extra


def _outcome_for(
    t: Topology, host: HostOutcome | None, result: RunResult, kind: RolloutKind
) -> TopologyOutcome:
    out = TopologyOutcome(name=t.name, host=t.host, status=Status.FAILED)
    if host is None:
        out.reason = f"host {t.host} took no part in the run ({result.status})"
        return out
    if host.unreachable:
        out.reason = next((m for m in host.messages if m.startswith("unreachable")), "unreachable")
        return out
    item = host.items.get(t.name)
    if item is not None and item.status in ("ok", "changed"):
        out.status, out.changed = kind.success, item.status == "changed"
        out.applied_hash = item.result.get("applied_hash")
        return out
    if item is not None and item.status == "failed":
        out.reason = item.msg or "the apply task failed"
    elif host.messages:
        out.reason = host.messages[-1]
    else:
        out.reason = (
            "cancelled" if result.status == "canceled" else f"no result for it ({result.status})"
        )
    return out


class _EventRecorder:
    """Writes the run's task events to the event table; progress only when it moved."""

    def __init__(self, ctx: Context, run_id: str) -> None:
        self.ctx, self.run_id = ctx, run_id
        self.last: dict[tuple[str | None, str], tuple[str, int, int]] = {}

    def __call__(self, event: RunnerEvent) -> None:
        if event.kind in ("task_start", "stats"):
            return
        if event.kind == "progress":
            self.progress(event)
            return
        result = ev.TASK_RESULTS[event.kind](
            run=self.run_id, host=event.host, task=event.task, item=event.item, msg=event.msg
        )
        self.ctx.store.append_event(result, topology=event.item)

    def progress(self, event: RunnerEvent) -> None:
        for name, doc in sorted(event.progress.items()):
            key = (event.host, name)
            seen = (str(doc.get("phase", "")), int(doc.get("done", 0)), int(doc.get("total", 0)))
            if self.last.get(key) == seen:
                continue
            self.last[key] = seen
            progress = ev.TaskProgress(
                run=self.run_id,
                host=event.host,
                topology=name,
                phase=seen[0],
                done=seen[1],
                total=seen[2],
            )
            self.ctx.store.append_event(progress, topology=name)


def rollout(
    ctx: Context,
    names: Sequence[str],
    kind: RolloutKind,
    opts: RolloutOptions = RolloutOptions(),
    on_event: EventSink = lambda _e: None,
    should_cancel: Callable[[], bool] = lambda: False,
) -> RolloutReport:
    if not names:
        raise UsageError(f"nothing to {kind.name}", hint="name a topology or pass --all")
    topologies = _load(ctx, names, kind, opts.force)
    inventory = load_inventory(ctx.inventory_path(opts.inventory), ctx.settings.home / "cache")
    if kind is DEPLOY:
        validate_on_hosts(ctx, topologies, inventory)
    else:
        _check_hosts(topologies, inventory)
    # A teardown removes by label: a service gone from the catalogue must not block it.
    rendered = topologies if kind is DEPLOY else [teardown_view(t, ctx.catalog) for t in topologies]
    files = render_bundle(
        rendered,
        ctx.catalog,
        ctx.settings.site_images,
        ctx.compose_template(),
        secret_key=ctx.hash_key,
    )
    run_id = uuid.uuid4().hex[:12]
    data_dir = ctx.runs_dir() / run_id
    bundle_dir = data_dir / "bundle"
    write_bundle(files, bundle_dir)
    secrets = secret_values(topologies, ctx.catalog)
    try:
        return _execute(
            ctx,
            topologies,
            kind,
            opts,
            run_id,
            data_dir,
            bundle_dir,
            inventory,
            secrets,
            on_event,
            should_cancel,
        )
    finally:
        if not opts.keep_bundle:
            shutil.rmtree(bundle_dir, ignore_errors=True)
        scrub_tree(data_dir, secrets)


def _check_hosts(topologies: list[Topology], inventory: Inventory) -> None:
    for t in topologies:
        if t.host not in inventory:
            raise NotFound(
                f"topology {t.name!r}: host {t.host!r} is not in inventory {inventory.path}",
                hint="pass the inventory that holds the host with --inventory",
            )


def _execute(
    ctx: Context,
    topologies: list[Topology],
    kind: RolloutKind,
    opts: RolloutOptions,
    run_id: str,
    data_dir: Path,
    bundle_dir: Path,
    inventory: Inventory,
    secrets: frozenset[str],
    on_event: EventSink,
    should_cancel: Callable[[], bool],
) -> RolloutReport:
    hosts = sorted({t.host for t in topologies})
    job = PlaybookJob(
        playbook=kind.playbook,
        inventory=inventory.path,
        data_dir=data_dir / "ansible",
        extravars=_extravars(bundle_dir, opts),
        limit=opts.limit or ",".join(hosts),
        forks=max(1, min(len(hosts), 50)),
        check=opts.dry_run,
        secrets=secrets,
    )
    if opts.dry_run:
        result = run_playbook(job, on_event, should_cancel)
        report = _report(run_id, kind, True, result)
        for t in topologies:
            out = _outcome_for(t, result.hosts.get(t.host), result, kind)
            out.status = "would-apply" if out.status == kind.success else out.status
            report.topologies.append(out)
        return report
    _begin(ctx, topologies, kind, run_id)
    ctx.store.start_run(
        kind.name,
        hosts,
        [t.name for t in topologies],
        str(data_dir),
        current_owner(),
        LEASE_SECONDS,
        run_id=run_id,
    )
    ctx.store.append_event(ev.RunStarted(run=run_id, kind=kind.name, hosts=hosts))

    record = _EventRecorder(ctx, run_id)

    def sink(event: RunnerEvent) -> None:
        record(event)
        on_event(event)

    try:
        with heartbeat(ctx.settings.db_path, run_id):
            result = run_playbook(job, sink, should_cancel)
    except BaseException as exc:  # KeyboardInterrupt included: never leave a topology in flight
        _abort(ctx, topologies, kind, run_id, f"{kind.name} aborted: {type(exc).__name__}")
        raise
    return _finish(ctx, topologies, kind, run_id, result, opts.failure_status)


def _begin(ctx: Context, topologies: list[Topology], kind: RolloutKind, run_id: str) -> None:
    with ctx.store.transaction():
        for t in topologies:
            ctx.store.transition(
                t.name, kind.in_flight, reason=f"{kind.name} run {run_id}", expected_from=t.status
            )


def _abort(
    ctx: Context, topologies: list[Topology], kind: RolloutKind, run_id: str, reason: str
) -> None:
    for t in topologies:
        with contextlib.suppress(IllegalTransition):
            ctx.store.transition(t.name, Status.FAILED, reason=reason, expected_from=kind.in_flight)
    ctx.store.finish_run(run_id, "aborted", {}, error=reason)


def _report(run_id: str, kind: RolloutKind, dry_run: bool, result: RunResult) -> RolloutReport:
    return RolloutReport(
        run_id=run_id,
        kind=kind.name,
        dry_run=dry_run,
        status=result.status,
        hosts={h: o.stats() for h, o in result.hosts.items()},
        artifact_dir=str(result.artifact_dir),
        duration=result.duration,
    )


def _settle(
    ctx: Context,
    t: Topology,
    kind: RolloutKind,
    run_id: str,
    result: RunResult,
    failure_status: Status = Status.FAILED,
) -> TopologyOutcome:
    """Record one topology's outcome. If its status moved under us (a `--force` recovery by
    another command, say), the store's status is the outcome and the reason says so: one
    topology that cannot be recorded never keeps the others or the run in flight."""
    out = _outcome_for(t, result.hosts.get(t.host), result, kind)
    if out.status == Status.FAILED:
        out.status = failure_status
    try:
        with ctx.store.transaction():
            ctx.store.transition(
                t.name,
                out.status,
                reason=out.reason or f"{kind.name} run {run_id}",
                expected_from=kind.in_flight,
            )
            if out.status == Status.ACTIVE:
                ctx.store.set_needs_resync(t.name, False)
    except (DecnetError, sqlite3.Error) as err:  # IllegalTransition, NotFound, a locked DB
        found = f"{kind.name} ended {out.status}" + (f" ({out.reason})" if out.reason else "")
        out.reason = f"{found}, but its status could not be recorded: {err}"
        out.status = _current_status(ctx, t.name)
    return out


def _current_status(ctx: Context, name: str) -> str:
    try:
        return str(ctx.store.get_topology(name).status)
    except (DecnetError, sqlite3.Error):
        return "unknown"


def _finish(
    ctx: Context,
    topologies: list[Topology],
    kind: RolloutKind,
    run_id: str,
    result: RunResult,
    failure_status: Status = Status.FAILED,
) -> RolloutReport:
    report = _report(run_id, kind, False, result)
    try:
        for t in topologies:
            report.topologies.append(_settle(ctx, t, kind, run_id, result, failure_status))
    finally:
        _close_run(ctx, report, kind, run_id, result)
    return report


def _close_run(
    ctx: Context, report: RolloutReport, kind: RolloutKind, run_id: str, result: RunResult
) -> None:
    """Finish the run with what was recorded, even after an error mid-way; a run that a
    recovery already marked abandoned keeps that status."""
    stats = {
        "hosts": report.hosts,
        "topologies": {
            o.name: {
                "status": str(o.status),
                "reason": o.reason,
                "changed": o.changed,
                "applied_hash": o.applied_hash,
            }
            for o in report.topologies
        },
    }
    note = None
    try:
        ctx.store.finish_run(run_id, result.status, stats)
    except DecnetError as err:
        note = str(err)
    finished = ev.RunFinished(run=run_id, kind=kind.name, status=result.status, note=note)
    ctx.store.append_event(finished)
