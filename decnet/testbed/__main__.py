"""`python -m decnet.testbed …`: the `decnet testbed` commands on their own (scripts/testbed)."""

from __future__ import annotations

import sys

import typer

from decnet.cli.testbed import app
from decnet.errors import EXIT_INTERRUPTED, DecnetError


def main() -> None:
    try:
        # click handles its own usage errors and exits; ours come out as exceptions
        app(prog_name="testbed")
    except DecnetError as err:
        typer.echo(f"error: {' '.join(str(err).split())}", err=True)
        if err.hint:
            typer.echo(f"hint: {err.hint}", err=True)
        sys.exit(err.exit_code)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)


if __name__ == "__main__":
    main()
