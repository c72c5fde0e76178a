"""`decnet collect`: the sensors' lines of every inventory host, as attack events (one stream
per host; docs/observe.md)."""

from __future__ import annotations

import signal
from pathlib import Path

import typer

from decnet.cli import common
from decnet.cli.lifecycle import INVENTORY_OPTION
from decnet.engine import collect as engine
from decnet.errors import EXIT_ERROR

app = typer.Typer()


@app.command()
def collect(
    ctx: typer.Context,
    inventory: Path | None = INVENTORY_OPTION,
    once: bool = typer.Option(
        False, "--once", help="Collect what every host has now, then exit (1 if a host failed)."
    ),
    stall_after: float = typer.Option(
        30.0, "--stall-after", min=1.0, help="Seconds of silence before a host is stalled."
    ),
    json_out: bool = common.JSON_OPTION,
) -> None:
    """Stream the sensors' lines of every inventory host into attack events, one stream per
    host (ssh, or a local process); follows until Ctrl-C or SIGTERM, or `--once`."""
    context = common.open_context(ctx)
    opts = engine.CollectOptions(
        inventory=common.absolute(inventory), once=once, stall_after=stall_after
    )
    if once:
        report = engine.collect(context, opts)
    else:
        common.note("collecting; Ctrl-C stops (`decnet hosts` shows each host's stream)")
        with common.stop_signals() as stop:
            report = engine.collect(context, opts, stop.is_set)
        if stop.signum == signal.SIGINT:
            _print(report, json_out)
            raise KeyboardInterrupt
    _print(report, json_out)
    if once and not report.ok:
        raise typer.Exit(EXIT_ERROR)


def _print(report: engine.CollectReport, json_out: bool) -> None:
    if json_out:
        common.print_json({h: vars(r) for h, r in report.hosts.items()})
        return
    rows = [
        [r.host, "yes" if r.connected else "no", r.lines, r.events, r.gaps, r.missing,
         r.bad_lines, len(r.removed), r.error or ""]
        for r in report.hosts.values()
    ]  # fmt: skip
    columns = ["host", "connected", "lines", "events", "gaps", "missing", "bad", "removed"]
    common.stdout().print(common.table(None, [*columns, "error"], rows))
