"""The `decnet` command: the root app, global options, and the list of command groups.

To add a command group, write `decnet/cli/<group>.py` with a `typer.Typer()` named `app`, then
add one line to `GROUPS` below (and a line to README's "CLI at a glance").

Exit codes (the table in decnet/errors.py): 0 ok, 1 error, 2 drift found, 64 usage,
130 interrupted.
"""

from __future__ import annotations

import dataclasses
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import typer

from decnet.cli import (
    attackers,
    catalog,
    collect,
    common,
    events,
    fleet,
    image,
    lifecycle,
    mutate,
    outputs,
    serve,
    testbed,
    token,
    topology,
)
from decnet.cli.common import CliState
from decnet.cli.errors import DecnetGroup
from decnet.settings import Settings

GROUPS: list[tuple[str, typer.Typer]] = [
    ("topology", topology.app),
    ("catalog", catalog.app),
    ("mutations", mutate.mutations_app),
    ("image", image.app),
    ("testbed", testbed.app),
    ("events", events.app),
    ("attackers", attackers.app),
    ("token", token.app),
    ("outputs", outputs.app),
]
"""(name, sub-app) of every command group, in the order `decnet --help` lists them."""

app = typer.Typer(
    cls=DecnetGroup,
    name="decnet",
    help="Build, validate and deploy deception networks (decoy machines on isolated LANs).",
    no_args_is_help=True,
    # Tracebacks of real bugs, but never with local variables: they may hold secrets.
    pretty_exceptions_show_locals=False,
    rich_markup_mode=None,  # DecnetGroup makes the whole tree plain; see decnet/cli/errors.py
    context_settings={"help_option_names": ["-h", "--help"]},
)
for _name, _group in GROUPS:
    app.add_typer(_group, name=_name)
app.add_typer(lifecycle.app)  # top-level commands: render, deploy, teardown, status, demo
app.add_typer(fleet.app)  # top-level commands: drift, reconcile, hosts
app.add_typer(mutate.app)  # top-level commands: mutate, watch
app.add_typer(serve.app)  # top-level command: serve
app.add_typer(collect.app)  # top-level command: collect


def _version(value: bool) -> None:
    if value:
        try:
            typer.echo(f"decnet {version('decnet')}")
        except PackageNotFoundError:  # running from a checkout that was never installed
            typer.echo("decnet (not installed)")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    db: Path | None = typer.Option(
        None,
        "--db",
        envvar="DECNET_DB",
        help="SQLite database (default: $DECNET_HOME/decnet.db, "
        "i.e. ~/.local/share/decnet/decnet.db).",
        dir_okay=False,
        callback=common.absolute,
    ),
    show_version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Build, validate and deploy deception networks (decoy machines on isolated LANs)."""
    settings = Settings.from_env()
    if db is not None:
        settings = dataclasses.replace(settings, db_path=db)
    ctx.obj = CliState(settings=settings)


def main() -> None:
    """Console-script entry point (`decnet = decnet.cli.app:main`)."""
    app()
