"""The one place where expected failures become `error:`/`hint:` lines and exit codes.

Every command runs inside the root group's `invoke`, so catching here covers them all, under
the real console script and under `typer.testing.CliRunner` alike. Unexpected exceptions are
bugs and keep their traceback.
"""

from __future__ import annotations

from typing import Any

import typer
from typer import _click  # typer 0.29 vendors click; its group API takes this Context
from typer.core import TyperGroup

from decnet.errors import EXIT_INTERRUPTED, DecnetError


def report(err: DecnetError) -> None:
    """One line of cause, one of hint, on stderr; plain text, so `[...]` in values stays literal."""
    cause = " ".join(str(err).split("\n"))
    typer.echo(f"error: {cause}", err=True)
    if err.hint:
        typer.echo(f"hint: {err.hint}", err=True)


class DecnetGroup(TyperGroup):
    """The root command group: maps `DecnetError` to its exit code (decnet/errors.py)."""

    def invoke(self, ctx: _click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except DecnetError as err:
            report(err)
            raise typer.Exit(err.exit_code) from None
        except KeyboardInterrupt:
            typer.echo("interrupted", err=True)
            raise typer.Exit(EXIT_INTERRUPTED) from None
