"""`decnet token create|list|revoke`: bearer tokens for the HTTP API (docs/api.md)."""

from __future__ import annotations

import typer

from decnet.cli import common
from decnet.engine import tokens as engine
from decnet.settings import parse_duration

app = typer.Typer(help="Create, list and revoke HTTP API tokens.", no_args_is_help=True)


@app.command()
def create(
    ctx: typer.Context,
    name: str = typer.Argument(..., metavar="NAME", help="A name for the token, e.g. ci."),
    role: engine.Role = typer.Option(
        ..., "--role", help="admin: everything; viewer: read-only (writes answer 403)."
    ),
    expires: str | None = typer.Option(
        None, "--expires", help="Lifetime, e.g. 30d or 12h (default: never expires)."
    ),
    json_out: bool = common.JSON_OPTION,
) -> None:
    """Create a token and print it once (only its hash is stored)."""
    lifetime = parse_duration(expires, "--expires") if expires is not None else None
    info, token = engine.create_token(common.open_store(ctx, create=True), name, role, lifetime)
    if json_out:
        common.print_json({**info.model_dump(mode="json"), "token": token})
        return
    until = f"until {info.expires_at}" if info.expires_at else "no expiry"
    common.note(f"token {info.name} ({info.role}, {until}): shown once, store it now")
    typer.echo(token)


@app.command("list")
def list_(ctx: typer.Context, json_out: bool = common.JSON_OPTION) -> None:
    """List tokens and editor sessions: role, state, created, expires, last used."""
    rows = engine.list_tokens(common.open_store(ctx))
    if json_out:
        common.print_json(rows)
        return
    columns = ["name", "role", "state", "created", "expires", "last used"]
    values = [
        [t.name, t.role, t.state, t.created_at, t.expires_at or "never", t.last_used_at or "-"]
        for t in rows
    ]
    common.stdout().print(common.table(None, columns, values))


@app.command()
def revoke(
    ctx: typer.Context, name: str = typer.Argument(..., metavar="NAME", help="The token's name.")
) -> None:
    """Revoke a token: every request and open stream with it fails from now on."""
    info = engine.revoke_token(common.open_store(ctx), name)
    typer.echo(f"revoked {info.name}")
