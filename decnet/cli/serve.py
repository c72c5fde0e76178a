"""`decnet serve`: the HTTP API and the web editor on uvicorn (docs/api.md)."""

from __future__ import annotations

from pathlib import Path

import typer

from decnet.cli import common
from decnet.cli.lifecycle import INVENTORY_OPTION

app = typer.Typer()
DEFAULT_BIND = "127.0.0.1:8400"


@app.command()
def serve(
    ctx: typer.Context,
    bind: str = typer.Option(
        DEFAULT_BIND, "--bind", help="HOST:PORT to listen on (loopback by default; port 0: any)."
    ),
    no_watch: bool = typer.Option(
        False,
        "--no-watch",
        help="Do not run the reconciler of live mutations in this process "
        "(run `decnet watch` elsewhere).",
    ),
    no_collect: bool = typer.Option(
        False,
        "--no-collect",
        help="Do not collect the sensors' lines in this process (run `decnet collect` elsewhere).",
    ),
    no_outputs: bool = typer.Option(
        False,
        "--no-outputs",
        help="Do not deliver to the outputs in this process (run `decnet outputs run` elsewhere).",
    ),
    inventory: Path | None = INVENTORY_OPTION,
    drift_every: float = typer.Option(
        300.0, "--drift-every", min=0.0, help="Seconds between the reconciler's drift scans."
    ),
) -> None:
    """Serve the HTTP API, the event streams and the web editor; prints a one-time login URL."""
    # Imported here: FastAPI and uvicorn take a second to import, and only this command needs them.
    from decnet.api.config import ApiConfig
    from decnet.api.server import build_server, listen_socket, parse_bind
    from decnet.engine.collect import CollectOptions
    from decnet.engine.watch import WatchOptions

    where = parse_bind(bind)
    sock = listen_socket(where)  # before anything starts: a taken port is an error: line
    settings = common.settings(ctx)
    watch = WatchOptions(inventory=common.absolute(inventory), drift_every=drift_every)
    config = ApiConfig(
        settings=settings,
        watch=not no_watch,
        watch_options=watch,
        collect=not no_collect,
        collect_options=CollectOptions(inventory=common.absolute(inventory)),
        outputs=not no_outputs,
    )
    server = build_server(config, where)
    if not where.loopback:
        common.note(
            f"warning: listening on {where.host}, not loopback: put TLS in front of it, since "
            "tokens travel in headers"
        )

    def started(port: int) -> None:
        code = server.state.new_login_code()
        url = where.url(port)
        typer.echo(f"decnet serve: listening on {url} (API under {url}/api/v1)")
        typer.echo(f"open the editor: {url}/#login={code}")
        common.note("the login link works once, within 10 minutes; API clients use a token")

    server.on_started = started
    server.run(sockets=[sock])
