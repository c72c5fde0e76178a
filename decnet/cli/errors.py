"""The one place where failures become `error:`/`hint:` lines and exit codes.

Every command runs inside the root group's `invoke`, so catching here covers them all, under
the real console script and under `typer.testing.CliRunner` alike. Click's own usage errors
(missing argument, unknown option, bad value) are given decnet's usage exit code here too.
Unexpected exceptions are bugs and keep their traceback.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import typer
from typer import _click  # typer 0.29 vendors click; its group API takes this Context
from typer.core import TyperGroup

from decnet.errors import EXIT_INTERRUPTED, EXIT_USAGE, DecnetError
from decnet.text import terminal_safe


def report(err: DecnetError) -> None:
    """One line of cause, one of hint, on stderr; plain text, so `[...]` in values stays literal."""
    cause = " ".join(str(err).split("\n"))  # a multi-line cause (Ansible's) stays one line
    typer.echo(f"error: {terminal_safe(cause)}", err=True)
    if err.hint:
        typer.echo(f"hint: {terminal_safe(err.hint)}", err=True)


@contextmanager
def _usage_exit_code() -> Iterator[None]:
    try:
        yield
    except _click.exceptions.UsageError as err:
        err.exit_code = EXIT_USAGE  # click's default, 2, is decnet's "drift found"
        if not isinstance(err, _click.exceptions.NoArgsIsHelpError):  # that one is the help
            err.message = terminal_safe(err.message)  # it may quote what was typed
        raise


def _plain_help(command: _click.Command) -> None:
    """Help as plain text for the whole tree: rich markup would eat `[a-z]` in help strings,
    and rich's panels label every flag `<bool>`."""
    if hasattr(command, "rich_markup_mode"):
        command.rich_markup_mode = None
    for sub in getattr(command, "commands", {}).values():
        _plain_help(sub)


class DecnetGroup(TyperGroup):
    """The root command group: exit codes (decnet/errors.py) and plain help for every command."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        _plain_help(self)

    def make_context(
        self,
        info_name: str | None,
        args: Sequence[str],
        parent: _click.Context | None = None,
        **extra: Any,
    ) -> _click.Context:
        with _usage_exit_code():  # the root's own options: `decnet --bogus`
            return super().make_context(info_name, list(args), parent, **extra)

    def invoke(self, ctx: _click.Context) -> Any:
        try:
            with _usage_exit_code():
                return super().invoke(ctx)
        except DecnetError as err:
            report(err)
            raise typer.Exit(err.exit_code) from None
        except KeyboardInterrupt:
            typer.echo("interrupted", err=True)
            raise typer.Exit(EXIT_INTERRUPTED) from None
