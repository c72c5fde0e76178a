"""What reaches the terminal: control characters escaped and long values cut (decnet/text.py),
through the real CLI: `error:` lines, tables, stored values echoed back, click's own errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_support import Invoke
from typer.testing import Result

from decnet.errors import EXIT_USAGE
from decnet.models import Status
from decnet.store import Store
from decnet.text import MAX_LINE, terminal_safe

NASTY = "a\x1b]0;pwned\x07\x1b[31mred\x00z\x9b2J\u202eevil"
"""An OSC title change ended by BEL, a CSI colour, a NUL, a C1 CSI and a bidi override."""
RAW = ("\x1b", "\x07", "\x00", "\x9b", "\u202e")


def topology_file(tmp_path: Path, decky: str) -> str:
    path = tmp_path / "t.yml"
    quoted = decky.encode("unicode_escape").decode("ascii").replace('"', '\\"')
    path.write_text(
        f'name: t\nlans: [{{name: dmz, dmz: true}}]\ndeckies: [{{name: "{quoted}", home: dmz}}]\n'
    )
    return str(path)


def assert_inert(result: Result) -> None:
    for stream in (result.stdout, result.stderr):
        assert not any(c in stream for c in RAW), repr(stream[:400])
    assert "Traceback" not in result.stderr


def test_escapes_in_a_file_reach_neither_the_table_nor_the_error_line(
    invoke: Invoke, tmp_path: Path
) -> None:
    path = topology_file(tmp_path, NASTY)
    table = invoke("topology", "validate", "-f", path)
    assert table.exit_code == 1 and "NAME_INVALID" in table.stdout
    assert_inert(table)
    assert "\\x1b]0;pwned\\x07" in table.stdout.replace("\n", "").replace(" ", "")
    error = invoke("topology", "create", "-f", path)
    assert error.exit_code == 1 and error.stderr.startswith("error: ")
    assert_inert(error)
    assert "\\x1b[31m" in error.stderr and "\\u202e" in error.stderr


def test_a_one_megabyte_name_gives_short_lines(invoke: Invoke, tmp_path: Path) -> None:
    path = topology_file(tmp_path, "a" * 1_000_000)
    error = invoke("topology", "create", "-f", path)
    assert error.exit_code == 1
    lines = error.stderr.splitlines()
    assert lines[0].startswith("error: ") and lines[1].startswith("hint: ")
    assert all(len(line) <= MAX_LINE + 60 for line in lines), [len(x) for x in lines]
    assert "more characters)" in lines[0]
    table = invoke("topology", "validate", "-f", path)
    assert table.exit_code == 1 and len(table.stdout) < 20_000, len(table.stdout)


def test_stored_values_echoed_back_are_escaped(invoke: Invoke, db: Path) -> None:
    assert invoke("topology", "generate", "corp").exit_code == 0
    with Store(db) as store:  # a reason as a host's Ansible message could carry it
        store.transition("corp", Status.DEPLOYING, reason="deploy run x")
        store.transition("corp", Status.FAILED, reason=f"container {NASTY} exited")
    status = invoke("status", "corp")
    assert status.exit_code == 0 and "exited" in status.stdout
    assert_inert(status)
    assert "\\x1b[31m" in status.stdout


def test_what_was_typed_is_escaped_in_usage_errors(invoke: Invoke) -> None:
    assert invoke("token", "create", "ci", "--role", "viewer").exit_code == 0  # a database
    shown = invoke("topology", "show", "x\x1b[2Jy")
    assert shown.exit_code == EXIT_USAGE and "NAME_INVALID" in shown.stderr
    assert_inert(shown)
    unknown = invoke("topology", "list", "--bo\x1b[2Jgus")
    assert unknown.exit_code == EXIT_USAGE and "--bo\\x1b[2Jgus" in unknown.stderr
    assert_inert(unknown)


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("plain [bold] text", 100, "plain [bold] text"),
        ("a\x1bb\x07c\x00d\x7fe", 100, "a\\x1bb\\x07c\\x00d\\x7fe"),
        ("two\nlines\ttab", 100, "two\\nlines\\ttab"),
        ("\u202eevil\u2028", 100, "\\u202eevil\\u2028"),
        ("x" * 12, 10, "xxxxxxxxxx… (2 more characters)"),
        ("\x1b" * 5, 10, "\\x1b\\x1b… (3 more characters)"),
    ],
)
def test_terminal_safe(text: str, limit: int, expected: str) -> None:
    assert terminal_safe(text, limit) == expected
