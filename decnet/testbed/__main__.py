"""`python -m decnet.testbed …`: the `decnet testbed` commands on their own (scripts/testbed).

The group is a `DecnetGroup`, so errors, hints and exit codes are those of `decnet testbed`.
"""

from __future__ import annotations

from decnet.cli.testbed import app


def main() -> None:
    app(prog_name="testbed")


if __name__ == "__main__":
    main()
