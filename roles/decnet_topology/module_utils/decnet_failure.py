# Copyright: decnet contributors
# Apache-2.0 (see the repository's license)
"""A module failure whose message is safe to show, and how messages list things.

Standard library only: this runs on the managed host."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import TypeAlias

    Left: TypeAlias = dict[str, list[str]]
    """What a failed removal left: {"containers": names, "networks": names, "causes": texts}."""

SHOWN = 5
"""How many names a message lists before `and N more`."""


class Failure(Exception):
    """A failure with a message that is safe to show (already scrubbed)."""

    def __init__(self, msg: str, left: Left | None = None) -> None:
        super().__init__(msg)
        self.left = left


def listing(names: list[str], what: str) -> str:
    """`3 containers (a, b, c)`, at most SHOWN names then `and N more`."""
    shown = ", ".join(names[:SHOWN])
    more = f" and {len(names) - SHOWN} more" if len(names) > SHOWN else ""
    noun = what if len(names) == 1 else what + "s"
    return f"{len(names)} {noun} ({shown}{more})"
