"""`decnet events [--follow] …` and `decnet events prune`: read, tail and trim the event bus."""

from __future__ import annotations

import json
import re
import signal
from typing import Any

import typer

from decnet.cli import common
from decnet.engine import events as engine
from decnet.settings import parse_duration
from decnet.store import EventRow

app = typer.Typer(help="Show, follow and prune the event log (every status change, run, finding).")

_PLAIN = re.compile(r"^[A-Za-z0-9._:/@+,=-]{1,200}$")
"""Values printed as they are; anything else is JSON-quoted, which also escapes control
characters, so an Ansible message can never drive the terminal."""


def _value(value: Any) -> str:
    if isinstance(value, str) and _PLAIN.fullmatch(value):
        return value
    return json.dumps(value, ensure_ascii=True, separators=(",", ":"))


def line(event: EventRow) -> str:
    """`ID  TIME  TYPE  TOPOLOGY  key=value …`"""
    pairs = " ".join(f"{_value(k)}={_value(v)}" for k, v in event.payload.items())
    topology = _value(event.topology) if event.topology else "-"
    return f"{event.id}  {event.at}  {_value(event.type)}  {topology}  {pairs}".rstrip()


def _emit(event: EventRow, json_out: bool) -> None:
    if json_out:
        typer.echo(json.dumps(event.model_dump(mode="json"), separators=(",", ":")))
    else:
        typer.echo(line(event))


@app.callback(invoke_without_command=True)
def events(
    ctx: typer.Context,
    follow: bool = typer.Option(
        False, "--follow", "-f", help="Keep printing new events (Ctrl-C stops, exit 130)."
    ),
    since: int | None = typer.Option(
        None, "--since", min=0, help="Only events after this id (0: all that are kept)."
    ),
    last: int = typer.Option(
        100, "--last", min=0, max=100_000, help="Without --since: the newest N events."
    ),
    topology: str | None = typer.Option(None, "--topology", help="Only this topology's events."),
    type_glob: str | None = typer.Option(
        None, "--type", help="Only types matching this glob, e.g. 'task.*' or 'topology.status'."
    ),
    json_out: bool = typer.Option(False, "--json", help="One JSON object per line."),
) -> None:
    """Show the event log: one line per event (`ID  TIME  TYPE  TOPOLOGY  key=value …`)."""
    if ctx.invoked_subcommand is not None:
        return
    where = engine.EventFilter(topology=topology, type_glob=type_glob)
    store = common.open_store(ctx)
    # read before the listing: an event written meanwhile is then listed or followed, never lost
    mark = store.latest_event_id() if since is None else since
    shown = (
        engine.list_events(store, last=last, where=where)
        if since is None
        else engine.events_after(store, since, where=where)
    )
    after = mark
    for event in shown:
        _emit(event, json_out)
        after = max(after, event.id)
    if not follow:
        return
    with common.stop_signals() as stop:
        for event in engine.follow(store, after, where=where, stopped=stop.is_set):
            _emit(event, json_out)
    if stop.signum == signal.SIGINT:
        raise KeyboardInterrupt  # the CLI's one Ctrl-C path: "interrupted", exit 130


@app.command()
def prune(
    ctx: typer.Context,
    older_than: str | None = typer.Option(
        None,
        "--older-than",
        help="Delete events older than this, e.g. 30d or 12h (default: DECNET_EVENT_RETENTION).",
    ),
) -> None:
    """Delete old events (retention); streams resuming from before them get a reset."""
    settings = common.settings(ctx)
    age = (
        parse_duration(older_than, "--older-than")
        if older_than is not None
        else settings.event_retention
    )
    result = engine.prune(common.open_store(ctx), age)
    typer.echo(f"pruned {result.deleted} events (ids up to {result.through} are gone)")
