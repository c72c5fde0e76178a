"""`decnet render|deploy|teardown|status|demo`: rollout commands."""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from types import FrameType
from typing import Any

import typer
from rich.console import Console
from rich.live import Live
from rich.table import Table

from decnet.cli import common
from decnet.engine import demo as demo_engine
from decnet.engine import render as render_engine
from decnet.engine.lifecycle import deploy as deploy_topologies
from decnet.engine.lifecycle import status as topology_status
from decnet.engine.lifecycle import teardown as teardown_topologies
from decnet.engine.rollout import RolloutOptions, RolloutReport
from decnet.errors import EXIT_ERROR
from decnet.runner.ansible import RunnerEvent

app = typer.Typer()

INVENTORY_OPTION = typer.Option(
    None,
    "--inventory",
    "-i",
    help="Ansible inventory (default: DECNET_INVENTORY or inventory/).",
    callback=common.absolute,
)
ALL_OPTION = typer.Option(False, "--all", help="Every topology the command applies to.")
FORCE_OPTION = typer.Option(
    False, "--force", help="Take over a topology stuck in a run even if its lease looks alive."
)
CONCURRENCY_OPTION = typer.Option(
    None,
    "--concurrency",
    min=1,
    max=256,
    help="Docker operations (create, start, stop, remove) in flight at once per topology "
    "(default: 4 per CPU of the host, or decnet_topology_concurrency in the inventory).",
)
TIMEOUT_OPTION = typer.Option(
    None,
    "--timeout",
    min=1,
    max=86400,
    help="Seconds a docker command may run without progress before it is stopped "
    "(default 300, or decnet_topology_timeout in the inventory).",
)


class Progress:
    """A live per-host view of the run: the task each host is on, its counters, and the
    progress of its topologies (containers done out of the total, per phase)."""

    def __init__(self, console: Console) -> None:
        self.rows: dict[str, dict[str, object]] = {}
        self.work: dict[str, dict[str, Mapping[str, Any]]] = {}
        self.live = Live(self._table(), console=console, transient=False, auto_refresh=False)
        self.started = False

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *_exc: object) -> None:
        if self.started:
            self.live.stop()

    def _table(self) -> Table:
        out = Table(
            "host",
            "task",
            "ok",
            "changed",
            "failed",
            "progress",
            title="ansible",
            title_justify="left",
        )
        for host, row in sorted(self.rows.items()):
            out.add_row(
                host,
                str(row["task"]),
                str(row["ok"]),
                str(row["changed"]),
                str(row["failed"]),
                self._progress(host),
            )
        return out

    def _progress(self, host: str) -> str:
        """`corp: start 120/1000` for each topology still at work (finished ones drop out)."""
        parts = []
        for name, doc in sorted(self.work.get(host, {}).items()):
            phase = str(doc.get("phase", ""))
            if phase in ("done", "failed"):
                continue
            total = int(doc.get("total", 0) or 0)
            count = f" {int(doc.get('done', 0) or 0)}/{total}" if total else ""
            parts.append(f"{name}: {phase}{count}")
        return "\n".join(parts)

    def __call__(self, event: RunnerEvent) -> None:
        if event.host is None:
            return
        if not self.started:  # no empty table when the command fails before any task runs
            self.live.start()
            self.started = True
        row = self.rows.setdefault(event.host, {"task": "", "ok": 0, "changed": 0, "failed": 0})
        if event.kind == "progress":
            self.work.setdefault(event.host, {}).update(event.progress)
            self.live.update(self._table(), refresh=True)
            return
        row["task"] = event.task + (f" [{event.item}]" if event.item else "")
        if event.kind in ("ok", "changed", "failed"):
            row[event.kind] = int(str(row[event.kind])) + 1
        elif event.kind == "unreachable":
            row["task"] = f"UNREACHABLE: {event.msg}"
        self.live.update(self._table(), refresh=True)


@contextmanager
def cancellable() -> Iterator[Callable[[], bool]]:
    """Ctrl-C asks ansible-runner to cancel; the run then ends and statuses stay consistent."""
    flag = {"cancel": False}

    def handler(_sig: int, _frame: FrameType | None) -> None:
        if flag["cancel"]:
            raise KeyboardInterrupt
        flag["cancel"] = True
        common.note("cancelling: waiting for the running task to finish (Ctrl-C again to abort)")

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield lambda: flag["cancel"]
    finally:
        signal.signal(signal.SIGINT, previous)


def print_report(report: RolloutReport, json_out: bool) -> None:
    if json_out:
        common.print_json(
            {
                "run": report.run_id,
                "kind": report.kind,
                "dry_run": report.dry_run,
                "status": report.status,
                "hosts": report.hosts,
                "artifact_dir": report.artifact_dir,
                "topologies": [vars(t) for t in report.topologies],
            }
        )
    else:
        rows = [
            [t.name, t.host, t.status, "yes" if t.changed else "no", t.reason]
            for t in report.topologies
        ]
        common.stdout().print(
            common.table(
                f"{report.kind} run {report.run_id or '-'} "
                f"({report.status}, {report.duration:.1f} s)",
                ["topology", "host", "status", "changed", "reason"],
                rows,
            )
        )
    if not report.ok:
        raise typer.Exit(EXIT_ERROR)


def _rollout(
    ctx: typer.Context,
    fn: Callable[..., RolloutReport],
    names: list[str],
    all_: bool,
    opts: RolloutOptions,
    json_out: bool,
) -> None:
    context = common.open_context(ctx)
    progress = Progress(common.stderr())
    with cancellable() as should_cancel, progress:
        report = fn(
            context, names, all_=all_, opts=opts, on_event=progress, should_cancel=should_cancel
        )
    print_report(report, json_out)


@app.command()
def deploy(
    ctx: typer.Context,
    names: list[str] = typer.Argument(None, help="Topologies to deploy."),
    all_: bool = ALL_OPTION,
    inventory: Path | None = INVENTORY_OPTION,
    dry_run: bool = typer.Option(
        False,
        "--dry-run",
        help="Validate, render, and run Ansible in "
        "check mode: report what would change, change nothing.",
    ),
    force: bool = FORCE_OPTION,
    limit: str | None = typer.Option(None, "--limit", help="Ansible --limit host pattern."),
    serial: str | None = typer.Option(None, "--serial", help="Hosts per batch (Ansible serial)."),
    max_fail_percentage: int | None = typer.Option(
        None, "--max-fail-percentage", min=0, max=100, help="Ansible max_fail_percentage."
    ),
    failed: bool = typer.Option(
        False, "--failed", help="Only the named (or, with --all, every) failed topology: a retry."
    ),
    concurrency: int | None = CONCURRENCY_OPTION,
    timeout: int | None = TIMEOUT_OPTION,
    json_out: bool = common.JSON_OPTION,
) -> None:
    """Deploy topologies to their hosts (validate, render, run playbooks/deploy.yml)."""
    opts = RolloutOptions(
        inventory=inventory,
        dry_run=dry_run,
        force=force,
        limit=limit,
        serial=serial,
        max_fail_percentage=max_fail_percentage,
        concurrency=concurrency,
        timeout=timeout,
    )
    _rollout(ctx, partial(deploy_topologies, failed_only=failed), names or [], all_, opts, json_out)


@app.command()
def teardown(
    ctx: typer.Context,
    names: list[str] = typer.Argument(None, help="Topologies to tear down."),
    all_: bool = ALL_OPTION,
    inventory: Path | None = INVENTORY_OPTION,
    force: bool = FORCE_OPTION,
    concurrency: int | None = CONCURRENCY_OPTION,
    timeout: int | None = TIMEOUT_OPTION,
    json_out: bool = common.JSON_OPTION,
) -> None:
    """Remove topologies from their hosts: exactly what carries their labels."""
    opts = RolloutOptions(
        inventory=inventory, force=force, concurrency=concurrency, timeout=timeout
    )
    _rollout(ctx, teardown_topologies, names or [], all_, opts, json_out)


@app.command()
def status(
    ctx: typer.Context,
    name: str | None = typer.Argument(None, help="One topology (default: all)."),
    json_out: bool = common.JSON_OPTION,
) -> None:
    """Status, host, desired and applied hash, last run and recent status changes."""
    views = topology_status(common.open_context(ctx), name)
    if json_out:
        common.print_json(views)
        return
    rows = [
        [
            v.name,
            v.status,
            v.host,
            (v.desired_hash or "-")[:12],
            (v.applied_hash or "-")[:12],
            "yes" if v.needs_resync else "no",
            f"{v.last_run.kind} {v.last_run.status}" if v.last_run else "-",
        ]
        for v in views
    ]
    columns = ["topology", "status", "host", "desired", "applied", "resync", "last run"]
    common.stdout().print(common.table(None, columns, rows))
    for v in views:
        for p in v.problems:
            common.stdout().print(f"  {v.name}: {p.code} at {p.path}: {p.message}", markup=False)
    for v in views if name else []:
        for e in v.recent:
            common.echo(
                f"  {e.get('at')}  {e.get('from_status')} -> "
                f"{e.get('to_status')}  {e.get('reason') or ''}"
            )


@app.command()
def render(
    ctx: typer.Context,
    names: list[str] = typer.Argument(None, help="Topologies to render."),
    all_: bool = ALL_OPTION,
    out: Path = typer.Option(
        ...,
        "--out",
        help="Bundle directory to write: new, empty, or a bundle decnet wrote (replaced).",
        callback=common.absolute,
    ),
    inventory: Path | None = INVENTORY_OPTION,
) -> None:
    """Validate as deploy does, then write a bundle (per host, per topology: compose file +
    metadata) for ansible-playbook."""
    result = render_engine.render(
        common.open_context(ctx), names or [], out=out, all_=all_, inventory=inventory
    )
    common.note(f"bundle with {len(result.topologies)} topologies written to {result.out_dir}")
    typer.echo(str(result.out_dir))


@app.command()
def demo(
    ctx: typer.Context,
    down: bool = typer.Option(False, "--down", help="Tear the demo down and delete it."),
    inventory: Path | None = INVENTORY_OPTION,
) -> None:
    """Generate and deploy a small topology named `demo` to the local Docker engine."""
    context = common.open_context(ctx, create=True)
    progress = Progress(common.stderr())
    if down:
        with progress:
            report = demo_engine.demo_down(context, progress, inventory)
        if report is not None:
            print_report(report, False)
        typer.echo("demo torn down and deleted")
        return
    with cancellable() as should_cancel, progress:
        result = demo_engine.demo_up(context, progress, should_cancel, inventory)
    if result.report is None:
        common.note("no Docker engine answers here: rendered a dry-run bundle instead")
        typer.echo(f"bundle: {result.bundle_dir}")
        return
    print_report(result.report, False)
    typer.echo(_NEXT_STEPS)


_NEXT_STEPS = """
The demo maze runs on the local Docker engine. Try:
  decnet status demo                      # status, desired/applied hash, last run
  decnet topology show demo               # LANs, deckies, IPs, services
  decnet topology graph demo              # a Mermaid graph of the maze
  docker ps --filter label=decnet.topology=demo
  docker exec decnet-demo.gw sh -c "nc -w 2 <IP of a DMZ decky> 22 </dev/null"
  decnet demo --down                      # tear it down
"""
