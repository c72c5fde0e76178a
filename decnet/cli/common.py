"""What every command module shares: settings and store from the root callback, output helpers.

Nothing is opened at import time: the root callback records settings in `ctx.obj`; a command
that needs the database opens it through `open_store`/`open_context`, and it is closed when
the command ends. Only commands that write from nothing (create, generate, token create,
demo, watch) create a missing database; every other says it does not exist.
"""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
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
from decnet.settings import absolute as settings_absolute
from decnet.store import Store
from decnet.text import MAX_CELL, terminal_safe

JSON_OPTION = typer.Option(False, "--json", help="Print JSON on stdout (for scripts).")


def absolute(value: Path | None) -> Path | None:
    """Callback of every path option: absolute against the working directory, once, here."""
    return None if value is None else settings_absolute(value)


@dataclass(frozen=True)
class CliState:
    settings: Settings


def settings(ctx: typer.Context) -> Settings:
    state = ctx.find_object(CliState)
    if state is None:  # a sub-app invoked on its own, e.g. in a unit test
        return Settings.from_env()
    return state.settings


def open_store(ctx: typer.Context, *, create: bool = False) -> Store:
    """The database; only commands that write it from nothing (`create=True`) may make it:
    for every other one a missing database is an error (a typo must not look empty)."""
    store = Store(settings(ctx).db_path, create=create)
    _close_later(ctx, store)
    return store


def open_context(ctx: typer.Context, *, create: bool = False) -> Context:
    """The engine's Context (settings, store, catalogue) for use-case modules that take one;
    `create` as in `open_store`."""
    context = Context.open(settings(ctx), create=create)
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
    typer.echo(terminal_safe(message), err=True)


def echo(line: str) -> None:
    """One line for people on stdout, control characters escaped (decnet/text.py)."""
    typer.echo(terminal_safe(line))


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
    """A rich table whose cells are literal text (a `[bold]` in a banner is not markup), with
    control characters escaped and overlong values cut (decnet/text.py)."""
    out = Table(title=None if title is None else Text(terminal_safe(title)), title_justify="left")
    for column in columns:
        out.add_column(column, overflow="fold")  # hashes and IPs wrap, never lose characters
    for row in rows:
        out.add_row(*(Text(terminal_safe("" if v is None else str(v), MAX_CELL)) for v in row))
    return out


def parse_json_option(option: str, text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as err:
        raise UsageError(
            f"{option} is not valid JSON: {err}", hint="quote it for the shell"
        ) from None


class DefaultCommandGroup(TyperGroup):
    """A group whose first argument, when it names no subcommand, goes to `list`:
    `decnet mutations corp` is `decnet mutations list corp`, `decnet attackers` is
    `decnet attackers list`."""

    default_command = "list"

    def parse_args(self, ctx: _click.Context, args: list[str]) -> list[str]:
        if not args or (args[0] not in self.commands and args[0] not in ("-h", "--help")):
            args = [self.default_command, *args]
        return super().parse_args(ctx, args)


@dataclass
class Stop:
    signum: int | None = None

    def is_set(self) -> bool:
        return self.signum is not None


@contextmanager
def stop_signals() -> Iterator[Stop]:
    """SIGINT/SIGTERM end a long-running command (a follow, a collector) at its next check.
    The handler only records the signal: an exception raised at an arbitrary point can be lost
    (in a finaliser), and a lock taken in a handler can deadlock with the code it interrupted."""
    stop = Stop()

    def handler(signum: int, _frame: FrameType | None) -> None:
        stop.signum = signum

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
