"""What every command module shares: settings and store from the root callback, output helpers.

Nothing is opened at import time: the root callback records settings in `ctx.obj`; a command
that needs the database opens it through `open_store`/`open_context`, and it is closed when
the command ends.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import typer
from pydantic import BaseModel
from rich.console import Console
from rich.table import Table
from rich.text import Text
from typer import _click
from typer.core import TyperGroup

from decnet.core.catalog import load_catalog
from decnet.engine.context import Context
from decnet.errors import UsageError
from decnet.models import Catalog
from decnet.settings import Settings
from decnet.store import Store

JSON_OPTION = typer.Option(False, "--json", help="Print JSON on stdout (for scripts).")


@dataclass(frozen=True)
class CliState:
    settings: Settings


def settings(ctx: typer.Context) -> Settings:
    state = ctx.find_object(CliState)
    if state is None:  # a sub-app invoked on its own, e.g. in a unit test
        return Settings.from_env()
    return state.settings


def open_store(ctx: typer.Context) -> Store:
    store = Store(settings(ctx).db_path)
    _close_later(ctx, store)
    return store


def open_context(ctx: typer.Context) -> Context:
    """The engine's Context (settings, store, catalogue) for use-case modules that take one."""
    context = Context.open(settings(ctx))
    _close_later(ctx, context.store)
    return context


def _close_later(ctx: typer.Context, store: Store) -> None:
    close = getattr(store, "close", None)
    if callable(close):
        ctx.call_on_close(close)


def catalog() -> Catalog:
    return load_catalog()


def stdout() -> Console:
    # soft_wrap: long values (hashes, banners) stay on one line instead of being cut
    return Console(soft_wrap=True)


def stderr() -> Console:
    return Console(stderr=True)


def note(message: str) -> None:
    """Progress and warnings go to stderr, so stdout stays clean for --json and exports."""
    typer.echo(message, err=True)


def print_json(data: BaseModel | Sequence[BaseModel] | dict[str, Any] | list[Any]) -> None:
    typer.echo(json.dumps(_plain(data), indent=2, sort_keys=False))


def _plain(data: Any) -> Any:
    if isinstance(data, BaseModel):
        return data.model_dump(mode="json")
    if isinstance(data, list | tuple):
        return [_plain(item) for item in data]
    if isinstance(data, dict):
        return {k: _plain(v) for k, v in data.items()}
    return data


def table(title: str | None, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> Table:
    """A rich table whose cells are literal text (a `[bold]` in a banner is not markup)."""
    out = Table(title=title, title_justify="left")
    for column in columns:
        out.add_column(column, overflow="fold")  # hashes and IPs wrap, never lose characters
    for row in rows:
        out.add_row(*(Text("" if v is None else str(v)) for v in row))
    return out


_SHOWN_CHARS = 2000


def safe(text: str, limit: int = _SHOWN_CHARS) -> str:
    """Text fit for a terminal: control characters escaped (no ESC/BEL/NUL reach it), cut."""
    out = "".join(
        ch if ch.isprintable() or ch == " " else ch.encode("unicode_escape").decode("ascii")
        for ch in text[: limit + 1]
    )
    return out if len(text) <= limit else out[:limit] + "…"


def parse_json_option(option: str, text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as err:
        raise UsageError(
            f"{option} is not valid JSON: {err}", hint="quote it for the shell"
        ) from None


class DefaultCommandGroup(TyperGroup):
    """A group whose first argument, when it names no subcommand, goes to `list`:
    `decnet mutations corp` is `decnet mutations list corp`."""

    default_command = "list"

    def parse_args(self, ctx: _click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = [self.default_command, *args]
        return super().parse_args(ctx, args)
