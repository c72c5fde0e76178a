"""Exit codes that follow the failure's category (decnet/errors.py): 64 when the command was
called wrongly, 1 for everything else; one `error:` and one `hint:` line; nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_support import Invoke, snapshot

from decnet.errors import EXIT_ERROR, EXIT_USAGE
from decnet.models import Status
from decnet.store import Store


@pytest.fixture
def corp(invoke: Invoke, db: Path) -> str:
    assert invoke("topology", "generate", "corp").exit_code == 0
    return "corp"


@pytest.fixture
def edge_inventory(tmp_path: Path) -> Path:
    """An inventory without localhost, the host every generated topology is pinned to."""
    path = tmp_path / "edge.yml"
    path.write_text("all:\n  hosts:\n    edge-1:\n      ansible_connection: local\n")
    return path


def refused(invoke: Invoke, db: Path, code: int, needle: str, *args: str) -> None:
    before = snapshot(db)
    result = invoke(*args)
    assert result.exit_code == code, (result.stdout, result.stderr, result.exception)
    lines = result.stderr.splitlines()
    assert lines[0].startswith("error: ") and needle in lines[0], result.stderr
    assert lines[1].startswith("hint: ") and "Traceback" not in result.stderr
    assert snapshot(db) == before


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (("deploy", "corp", "--all"), EXIT_USAGE, "not both"),
        (("teardown", "corp", "--all"), EXIT_USAGE, "not both"),
        (("deploy",), EXIT_USAGE, "nothing to deploy"),
        (("deploy", "--all", "--failed"), EXIT_ERROR, "no failed topology to retry"),
        (("deploy", "corp", "-i", "/nonexistent/inv.yml"), EXIT_ERROR, "does not exist"),
        (("drift", "--host", "_edge"), EXIT_USAGE, "host '_edge' does not match"),
        (("drift", "--host", "edge\n"), EXIT_USAGE, "host 'edge\\n' does not match"),
        (("token", "create", "session-x", "--role", "admin"), EXIT_USAGE, "reserved"),
        (("token", "create", "ci\n", "--role", "admin"), EXIT_USAGE, "NAME_INVALID"),
        (("topology", "generate", "x", "--host", "fe80::1"), EXIT_USAGE, "does not match"),
        (("render", "corp", "corp", "--out", "{tmp}/b"), EXIT_USAGE, "appears twice"),
    ],
)
def test_failures_exit_with_their_category_code(
    invoke: Invoke,
    db: Path,
    corp: str,
    tmp_path: Path,
    args: tuple[str, ...],
    code: int,
    needle: str,
) -> None:
    refused(invoke, db, code, needle, *(a.replace("{tmp}", str(tmp_path)) for a in args))


def test_a_host_missing_from_the_inventory_is_not_found(
    invoke: Invoke, db: Path, corp: str, edge_inventory: Path
) -> None:
    with Store(db) as store:  # live without a deploy: teardown checks hosts before any run
        store.transition(corp, Status.DEPLOYING, reason="test")
        store.transition(corp, Status.ACTIVE, reason="test")
    inv = str(edge_inventory)
    refused(
        invoke, db, EXIT_ERROR, "host 'localhost' is not in inventory", "teardown", corp, "-i", inv
    )
    args = ("drift", "--host", "edge-2", "-i", inv)
    refused(invoke, db, EXIT_ERROR, "host 'edge-2' is not in inventory", *args)


def test_an_inventory_host_decnet_cannot_use_is_named(
    invoke: Invoke, db: Path, corp: str, tmp_path: Path
) -> None:
    inventory = tmp_path / "odd.yml"
    inventory.write_text("all:\n  hosts:\n    localhost:\n    _template:\n")
    args = ("deploy", corp, "-i", str(inventory))
    refused(invoke, db, EXIT_ERROR, "host '_template' does not match", *args)
