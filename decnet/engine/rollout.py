"""One Ansible run over a set of topologies: deploy or teardown, with status, run and events.

The steps, in order (docs/lifecycle.md), each a function `rollout` calls on a line of its own,
passing one frozen `Run` along. Everything that can fail on our side fails in `_plan`, before
the first side effect but the recovery of step 1:
1. `_load`: recover topologies stuck by a dead controller; load and check the requested ones;
2. `_check_on_hosts`: validate every topology against its host (inventory, claimed subnets
   and ports; a teardown only needs the host in the inventory);
3. `_render` every bundle file (pure), then `write_bundle`;
4. `_begin`: move every topology to its in-flight status in one transaction; `_open_run`;
5. `_play` the playbook (ansible-runner), recording its events (`_dry_run`: check mode only);
6. `_finish`: map each host's outcome back to each of its topologies and close the run;
   `_clean_up`: drop the bundle (it holds secrets) and scrub the kept artifacts.
"""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
import uuid
from collections.abc import Callable, Mapping, Sequence
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


@dataclass(frozen=True)
class Run:
    """One rollout as its steps pass it along: what was asked, and everything decided before
    the first write (`_plan`); no step changes it."""

    ctx: Context
    kind: RolloutKind
    opts: RolloutOptions
    topologies: tuple[Topology, ...]
    inventory: Inventory
    files: Mapping[str, str]
    """The rendered bundle: relative path -> text."""
    secrets: frozenset[str]
    """Secret values to scrub from what the run leaves behind."""
    on_event: EventSink
    should_cancel: Callable[[], bool]
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])

    @property
    def data_dir(self) -> Path:
        return self.ctx.runs_dir() / self.id

    @property
    def bundle_dir(self) -> Path:
        return self.data_dir / "bundle"

    @property
    def hosts(self) -> list[str]:
        return sorted({t.host for t in self.topologies})


def rollout(
    ctx: Context,
    names: Sequence[str],
    kind: RolloutKind,
    opts: RolloutOptions = RolloutOptions(),
    on_event: EventSink = lambda _e: None,
    should_cancel: Callable[[], bool] = lambda: False,
) -> RolloutReport:
    """The steps of the module docstring (docs/lifecycle.md), one a line."""
    run = _plan(ctx, names, kind, opts, on_event, should_cancel)  # 1-3, nothing written
    write_bundle(run.files, run.bundle_dir)  # 3. the first write
    try:
        if opts.dry_run:
            return _dry_run(run)  # 5. in check mode: no status moves, no run record
        _begin(run)  # 4. every topology in flight, in one transaction
        _open_run(run)  # 4. the run record and its lease
        result = _play(run)  # 5. the playbook, its events recorded
        return _finish(run, result)  # 6. each topology's outcome; the run closed
    finally:
        _clean_up(run)  # 6. the bundle (secrets) gone, the artifacts scrubbed


def _plan(
    ctx: Context,
    names: Sequence[str],
    kind: RolloutKind,
    opts: RolloutOptions,
    on_event: EventSink,
    should_cancel: Callable[[], bool],
) -> Run:
    """Steps 1-3 up to the write: whatever can fail on our side fails here."""
    if not names:
        raise UsageError(f"nothing to {kind.name}", hint="name a topology or pass --all")
    topologies = _load(ctx, names, kind, opts.force)  # 1. recover, load, check the status
    inventory = load_inventory(ctx.inventory_path(opts.inventory), ctx.settings.home / "cache")
    _check_on_hosts(ctx, kind, topologies, inventory)  # 2. against each host
    files = _render(ctx, kind, topologies)  # 3. every file, pure
    secrets = secret_values(topologies, ctx.catalog)
    return Run(
        ctx, kind, opts, tuple(topologies), inventory, files, secrets, on_event, should_cancel
    )


def _check_on_hosts(
    ctx: Context, kind: RolloutKind, topologies: list[Topology], inventory: Inventory
) -> None:
    if kind is DEPLOY:
        validate_on_hosts(ctx, topologies, inventory)
        return
    for t in topologies:  # a teardown needs the host, not a valid topology
        if t.host not in inventory:
            raise NotFound(
                f"topology {t.name!r}: host {t.host!r} is not in inventory {inventory.path}",
                hint="pass the inventory that holds the host with --inventory",
            )


def _render(ctx: Context, kind: RolloutKind, topologies: list[Topology]) -> dict[str, str]:
    # A teardown removes by label: a service gone from the catalogue must not block it.
    rendered = topologies if kind is DEPLOY else [teardown_view(t, ctx.catalog) for t in topologies]
    return render_bundle(
        rendered,
        ctx.catalog,
        ctx.settings.site_images,
        ctx.compose_template(),
        secret_key=ctx.hash_key,
    )


def _job(run: Run) -> PlaybookJob:
    return PlaybookJob(
        playbook=run.kind.playbook,
        inventory=run.inventory.path,
        data_dir=run.data_dir / "ansible",
        extravars=_extravars(run.bundle_dir, run.opts),
        limit=run.opts.limit or ",".join(run.hosts),
        forks=max(1, min(len(run.hosts), 50)),
        check=run.opts.dry_run,
        secrets=run.secrets,
    )


def _dry_run(run: Run) -> RolloutReport:
    result = run_playbook(_job(run), run.on_event, run.should_cancel)
    report = _report(run.id, run.kind, True, result)
    for t in run.topologies:
        out = _outcome_for(t, result.hosts.get(t.host), result, run.kind)
        out.status = "would-apply" if out.status == run.kind.success else out.status
        report.topologies.append(out)
    return report


def _begin(run: Run) -> None:
    with run.ctx.store.transaction():
        for t in run.topologies:
            run.ctx.store.transition(
                t.name,
                run.kind.in_flight,
                reason=f"{run.kind.name} run {run.id}",
                expected_from=t.status,
            )


def _open_run(run: Run) -> None:
    ctx, kind, run_id, hosts = run.ctx, run.kind, run.id, run.hosts
    ctx.store.start_run(
        kind.name,
        hosts,
        [t.name for t in run.topologies],
        str(run.data_dir),
        current_owner(),
        LEASE_SECONDS,
        run_id=run_id,
    )
    ctx.store.append_event(ev.RunStarted(run=run_id, kind=kind.name, hosts=hosts))


def _play(run: Run) -> RunResult:
    record = _EventRecorder(run.ctx, run.id)

    def sink(event: RunnerEvent) -> None:
        record(event)
        run.on_event(event)

    try:
        with heartbeat(run.ctx.settings.db_path, run.id):
            return run_playbook(_job(run), sink, run.should_cancel)
    except BaseException as exc:  # KeyboardInterrupt included: never leave a topology in flight
        _abort(run, f"{run.kind.name} aborted: {type(exc).__name__}")
        raise


def _abort(run: Run, reason: str) -> None:
    for t in run.topologies:
        with contextlib.suppress(IllegalTransition):
            run.ctx.store.transition(
                t.name, Status.FAILED, reason=reason, expected_from=run.kind.in_flight
            )
    run.ctx.store.finish_run(run.id, "aborted", {}, error=reason)


def _clean_up(run: Run) -> None:
    if not run.opts.keep_bundle:
        shutil.rmtree(run.bundle_dir, ignore_errors=True)
    scrub_tree(run.data_dir, run.secrets)


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


def _settle(run: Run, t: Topology, result: RunResult) -> TopologyOutcome:
    """Record one topology's outcome. If its status moved under us (a `--force` recovery by
    another command, say), the store's status is the outcome and the reason says so: one
    topology that cannot be recorded never keeps the others or the run in flight."""
    ctx, kind, run_id = run.ctx, run.kind, run.id
    out = _outcome_for(t, result.hosts.get(t.host), result, kind)
    if out.status == Status.FAILED:
        out.status = run.opts.failure_status
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


def _finish(run: Run, result: RunResult) -> RolloutReport:
    report = _report(run.id, run.kind, False, result)
    try:
        for t in run.topologies:
            report.topologies.append(_settle(run, t, result))
    finally:
        _close_run(run.ctx, report, run.kind, run.id, result)
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
