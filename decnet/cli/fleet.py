"""`decnet drift|reconcile|hosts`: compare hosts with the database, re-apply drifted topologies."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import typer

from decnet.cli import common
from decnet.cli.lifecycle import INVENTORY_OPTION, print_report
from decnet.engine import drift as drift_engine
from decnet.engine.health import CollectHealth

app = typer.Typer()


@app.command()
def drift(
    ctx: typer.Context,
    host: str | None = typer.Option(None, "--host", help="Only the topologies on this host."),
    inventory: Path | None = INVENTORY_OPTION,
    json_out: bool = common.JSON_OPTION,
) -> None:
    """Gather the decnet fact and report each live topology: in_sync, config_drift,
    runtime_drift, unreachable or unknown. Exit 0 all in sync, 2 drift, 1 unreachable/unknown."""
    report = drift_engine.drift(common.open_context(ctx), host=host, inventory=inventory)
    if json_out:
        common.print_json(
            {
                "status": report.status,
                "exit_code": report.exit_code,
                "hosts": report.hosts,
                "findings": [asdict(f) for f in report.findings],
            }
        )
    else:
        rows = [[f.name, f.host, f.state, "; ".join(f.details)] for f in report.findings]
        common.stdout().print(
            common.table(
                f"drift ({len(report.findings)} topologies, {report.duration:.1f} s)",
                ["topology", "host", "state", "details"],
                rows,
            )
        )
    raise typer.Exit(report.exit_code)


@app.command()
def reconcile(
    ctx: typer.Context,
    inventory: Path | None = INVENTORY_OPTION,
    json_out: bool = common.JSON_OPTION,
) -> None:
    """Re-deploy exactly the topologies `decnet drift` marked as needing a resync."""
    report = drift_engine.reconcile(common.open_context(ctx), inventory=inventory)
    if not report.topologies:
        common.note("nothing to reconcile")
    print_report(report, json_out)


@app.command()
def hosts(
    ctx: typer.Context,
    inventory: Path | None = INVENTORY_OPTION,
    json_out: bool = common.JSON_OPTION,
) -> None:
    """Inventory hosts, the live topologies pinned to each, and the last drift report."""
    views = drift_engine.hosts(common.open_context(ctx), inventory)
    if json_out:
        common.print_json(views)
        return
    rows = [
        [
            v.host,
            ", ".join(v.topologies) or "-",
            v.gathered_at or "-",
            "-" if v.reachable is None else ("yes" if v.reachable else "no"),
            *_collect_cells(v.collect),
            "; ".join(e for e in (v.error, v.collect.error if v.collect else None) if e),
        ]
        for v in views
    ]
    columns = ["host", "topologies", "gathered", "reachable", "collect", "lag", "last line"]
    common.stdout().print(common.table(None, [*columns, "gaps", "error"], rows))


def _collect_cells(health: CollectHealth | None) -> list[str]:
    """collect state (stalled flagged), lag, last line, gaps (missing lines)."""
    if health is None:
        return ["-", "-", "-", "-"]
    state = health.state + (" (stalled)" if health.stalled_since else "")
    seconds = "" if health.lag_seconds is None else f", {health.lag_seconds:.1f} s"
    gaps = f"{health.gaps} ({health.missing} lines)" if health.gaps else "0"
    return [state, f"{health.lag_lines} lines{seconds}", health.last_line_at or "-", gaps]
