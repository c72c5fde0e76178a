"""Text bound for a terminal: control characters escaped, long values cut.

Names, banners, host messages and file contents reach `error:` lines and tables. Written raw,
an ESC or BEL sequence in one of them would drive the reader's terminal (retitle it, recolour
it, hide what follows), a NUL would go out as is, and a 1 MB name would make a 2 MB line.
Everything decnet prints for people goes through `terminal_safe`; `--json`, exports and graphs
are data and keep their own escaping (JSON, YAML).
"""

from __future__ import annotations

MAX_LINE = 1000
"""Characters of one message line (`error:`, `hint:`, notes) before it is cut."""
MAX_CELL = 500
"""Characters of one table cell before it is cut."""
MAX_VALUE = 80
"""Characters of a value quoted inside a message (see `shown`)."""
CUT = "…"
"""What ends a message cut short (`clip`); the host module cuts with the same mark."""


def _escape(char: str) -> str:
    # repr's own spelling: \x1b, \x07, \x00, \n, \u202e (bidi override), \xa0
    return repr(char)[1:-1] if char != "'" else char


def terminal_safe(text: str, limit: int = MAX_LINE) -> str:
    """`text` with every non-printable character (C0/C1 controls, DEL, bidi and other format
    characters, line separators) written as a Python escape, cut to at most `limit` characters
    plus a note of how many were left out."""
    if len(text) <= limit and text.isprintable():
        return text  # the common case: one C-level scan, no copy
    out: list[str] = []
    used = 0
    for index, char in enumerate(text):
        piece = char if char.isprintable() else _escape(char)
        if used + len(piece) > limit:
            return "".join(out) + f"… ({len(text) - index} more characters)"
        out.append(piece)
        used += len(piece)
    return "".join(out)


def shown(value: str, limit: int = MAX_VALUE) -> str:
    """A string quoted inside a message: its repr (which escapes controls), at most `limit`
    characters of the value."""
    return repr(value if len(value) <= limit else value[: limit - 3] + "...")


def clip(text: str, width: int) -> str:
    """`text` cut to at most `width` characters, the last being CUT when it was cut. Scrub
    secrets before (decnet.core.secrets.scrub): a cut inside one leaves its beginning."""
    return text if len(text) <= width else text[: width - 1] + CUT
