"""`decnet render` through the real CLI: it replaces nothing but a bundle it wrote, leaves no
debris, refuses the working directory, the database and DECNET_HOME, and validates as deploy."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from cli_support import Invoke, snapshot
from typer.testing import Result

from decnet.errors import EXIT_USAGE
from decnet.store import Store


def ok(result: Result) -> Result:
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    return result


def refused(result: Result, code: int, *needles: str) -> None:
    assert result.exit_code == code, (result.stdout, result.stderr, result.exception)
    assert result.stderr.startswith("error: ") and "\nhint: " in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    for needle in needles:
        assert needle in result.stderr, result.stderr


def tree(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): p.read_text() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def corp(invoke: Invoke) -> str:
    ok(invoke("topology", "generate", "corp", "--seed", "3"))
    return "corp"


def test_a_bundle_is_private_marked_and_replaced_without_debris(
    invoke: Invoke, corp: str, tmp_path: Path
) -> None:
    out = tmp_path / "out" / "bundle"
    first = ok(invoke("render", corp, "--out", str(out)))
    assert first.stdout.strip() == str(out)
    meta = json.loads((out / "bundle.json").read_text())
    assert meta["written_by"] == "decnet" and meta["format"] == 1
    for path in [out, *out.rglob("*")]:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == (0o700 if path.is_dir() else 0o600), (path, oct(mode))
    ok(invoke("topology", "generate", "more", "--seed", "4"))
    ok(invoke("render", corp, "more", "--out", str(out)))  # replaces the earlier bundle
    assert sorted(json.loads((out / "bundle.json").read_text())["hosts"]["localhost"]) == [
        "corp",
        "more",
    ]
    assert [p.name for p in out.parent.iterdir()] == ["bundle"]  # nothing beside it


@pytest.mark.parametrize(
    "content",
    [
        {"notes.txt": "mine"},
        {"bundle.json": '{"format": 1, "hosts": {}}', "hosts/x": "not decnet's"},
        {"bundle.json": '{"format": 1, "written_by": "decnet", "hosts": {}}', "keep.txt": "x"},
    ],
)
def test_a_directory_that_is_not_a_decnet_bundle_is_left_alone(
    invoke: Invoke, corp: str, tmp_path: Path, content: dict[str, str]
) -> None:
    target = tmp_path / "mine"
    for rel, text in content.items():
        (target / rel).parent.mkdir(parents=True, exist_ok=True)
        (target / rel).write_text(text)
    refused(invoke("render", corp, "--out", str(target)), EXIT_USAGE, "not a bundle decnet wrote")
    assert tree(target) == content
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_a_file_and_the_database_are_never_replaced(
    invoke: Invoke, corp: str, db: Path, tmp_path: Path
) -> None:
    precious = tmp_path / "precious.txt"
    precious.write_text("keep me")
    refused(invoke("render", corp, "--out", str(precious)), EXIT_USAGE, "not a directory")
    assert precious.read_text() == "keep me"
    before = snapshot(db)
    refused(invoke("render", corp, "--out", str(db)), EXIT_USAGE, "the database")
    refused(invoke("render", corp, "--out", str(db.parent)), EXIT_USAGE)
    assert snapshot(db) == before and precious.read_text() == "keep me"


def test_the_working_directory_and_decnet_home_are_refused(
    invoke: Invoke, corp: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = tmp_path / "work" / "here"
    work.mkdir(parents=True)
    (work / "file.txt").write_text("x")
    monkeypatch.chdir(work)
    refused(invoke("render", corp, "--out", "."), EXIT_USAGE, "working directory")
    refused(invoke("render", corp, "--out", ".."), EXIT_USAGE, "working directory")
    assert sorted(p.name for p in work.iterdir()) == ["file.txt"]  # no ..old-* debris
    assert sorted(p.name for p in work.parent.iterdir()) == ["here"]
    home = tmp_path / "xdg" / "decnet"
    refused(invoke("render", corp, "--out", str(home)), EXIT_USAGE, "DECNET_HOME")
    ok(invoke("render", corp, "--out", "bundle"))  # relative: under the working directory
    assert (work / "bundle" / "bundle.json").is_file()


def test_all_with_names_and_nothing_at_all_are_usage_errors(
    invoke: Invoke, corp: str, tmp_path: Path
) -> None:
    out = tmp_path / "b"
    refused(invoke("render", "--all", corp, "--out", str(out)), EXIT_USAGE, "not both")
    refused(invoke("render", "--out", str(out)), EXIT_USAGE, "nothing to render")
    assert not out.exists()
    ok(invoke("render", "--all", "--out", str(out)))
    assert json.loads((out / "bundle.json").read_text())["hosts"] == {"localhost": ["corp"]}


def test_render_validates_hosts_as_deploy_does(invoke: Invoke, tmp_path: Path) -> None:
    ok(invoke("topology", "generate", "edge", "--host", "web9"))
    out = tmp_path / "b"
    refused(invoke("render", "edge", "--out", str(out)), 1, "HOST_UNKNOWN")
    assert not out.exists()
    inventory = tmp_path / "inv.yml"
    inventory.write_text("all:\n  hosts:\n    web9:\n      ansible_connection: local\n")
    ok(invoke("render", "edge", "--out", str(out), "-i", str(inventory)))
    assert json.loads((out / "bundle.json").read_text())["hosts"] == {"web9": ["edge"]}


def test_render_refuses_subnets_another_live_topology_claims(
    invoke: Invoke, corp: str, db: Path, tmp_path: Path
) -> None:
    with Store(db) as store:  # a twin stored behind validation's back, on corp's subnets
        twin = store.get_topology(corp).model_copy(update={"name": "twin"})
        store.insert_topology(twin)
    out = tmp_path / "b"
    refused(invoke("render", "twin", "--out", str(out)), 1, "SUBNET_OVERLAP")
    assert not out.exists()
