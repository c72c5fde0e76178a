"""The CLI as a whole: help everywhere, documented in README, --json parses, global options,
and the installed console script."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from cli_support import Invoke
from typer import _click
from typer.core import TyperGroup

from decnet.cli.app import app
from decnet.errors import EXIT_USAGE

README = Path(__file__).resolve().parents[2] / "README.md"


def leaf_commands() -> Iterator[tuple[str, _click.Command]]:
    def walk(prefix: str, command: _click.Command) -> Iterator[tuple[str, _click.Command]]:
        if isinstance(command, TyperGroup):
            for name, sub in sorted(command.commands.items()):
                yield from walk(f"{prefix} {name}".strip(), sub)
        else:
            yield prefix, command

    yield from walk("", typer.main.get_command(app))


def cli_section() -> str:
    text = README.read_text()
    start = text.index("## CLI at a glance")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else None]


COMMANDS = [path for path, _ in leaf_commands()]


def test_the_tree_has_the_expected_commands() -> None:
    for expected in ("topology generate", "topology create", "topology list", "topology show",
                     "topology validate", "topology export", "topology graph", "topology delete",
                     "catalog services", "catalog archetypes"):  # fmt: skip
        assert expected in COMMANDS


@pytest.mark.parametrize("path", COMMANDS)
def test_every_command_has_help_and_is_in_the_readme(invoke: Invoke, path: str) -> None:
    result = invoke(*path.split(), "--help")
    assert result.exit_code == 0 and "Usage:" in result.stdout
    assert f"decnet {path}" in cli_section(), f"add `decnet {path}` to README's CLI section"


def every_command() -> Iterator[tuple[str, _click.Command]]:
    """Groups (the root as "") and leaf commands alike."""

    def walk(prefix: str, command: _click.Command) -> Iterator[tuple[str, _click.Command]]:
        yield prefix, command
        for name, sub in sorted(getattr(command, "commands", {}).items()):
            yield from walk(f"{prefix} {name}".strip(), sub)

    yield from walk("", typer.main.get_command(app))


def _squeezed(text: str) -> str:
    return "".join(text.split())  # help is wrapped to the terminal: compare without whitespace


@pytest.mark.parametrize(("path", "command"), list(every_command()), ids=lambda v: str(v) or "-")
def test_help_keeps_every_bracket_and_labels_no_flag_bool(
    invoke: Invoke, path: str, command: _click.Command
) -> None:
    result = invoke(*path.split(), "--help")
    assert result.exit_code == 0, result.stderr
    shown = _squeezed(result.stdout)
    assert "<bool>" not in result.stdout
    texts = [command.help or "", *(getattr(p, "help", None) or "" for p in command.params)]
    for text in texts:  # every word survives: `[a-z]` is not eaten as rich markup
        assert _squeezed(text.split("\n\n")[0]) in shown, (path, text)


def test_the_regex_of_generate_names_survives_in_its_help(invoke: Invoke) -> None:
    assert "(^[a-z][a-z0-9-]{0,62}$)" in _squeezed(invoke("topology", "generate", "-h").stdout)


def test_every_command_documents_itself() -> None:
    assert all(command.help for _, command in leaf_commands())


def test_read_commands_take_json(invoke: Invoke, tmp_path: Path) -> None:
    assert invoke("topology", "generate", "corp").exit_code == 0
    topo = tmp_path / "t.yml"
    topo.write_text(
        "name: other\nlans: [{name: dmz, dmz: true}]\ndeckies: [{name: a, home: dmz}]\n"
    )
    runs = [
        ["topology", "list"],
        ["topology", "show", "corp"],
        ["topology", "validate", "corp"],
        ["topology", "validate", "-f", str(topo)],
        ["topology", "generate", "more"],
        ["topology", "create", "-f", str(topo)],
        ["catalog", "services"],
        ["catalog", "archetypes"],
    ]
    for args in runs:
        result = invoke(*args, "--json")
        assert result.exit_code == 0, (args, result.stderr)
        json.loads(result.stdout)  # stdout is JSON and nothing else


def test_catalog_lists_services_and_archetypes(invoke: Invoke) -> None:
    services = json.loads(invoke("catalog", "services", "--json").stdout)
    assert {"ssh", "http"} <= {s["name"] for s in services}
    archetypes = json.loads(invoke("catalog", "archetypes", "--json").stdout)
    assert {"name": "linux-server", "services": ["ssh", "http"]}.items() <= archetypes[0].items()
    assert "linux-server" in invoke("catalog", "archetypes").stdout
    assert "password*" in invoke("catalog", "services").stdout  # secrets are flagged


def rows_of(table: str) -> dict[str, list[str]]:
    """A rich table's first line per row: first column -> its cells."""
    cells = (line.strip("│").split("│") for line in table.splitlines() if line.startswith("│ "))
    return {row[0].strip(): [c.strip() for c in row[1:]] for row in cells if row[0].strip()}


def test_catalog_names_the_image_each_service_runs_in(
    invoke: Invoke, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sensor's family image, not the lure a service falls back to; a site override wins."""
    monkeypatch.setitem(env, "COLUMNS", "250")
    rows = rows_of(invoke("catalog", "services").stdout)
    assert rows["ssh"][3] == rows["smb"][3] == "decnet-sensor:0.1", rows
    monkeypatch.setitem(env, "DECNET_IMAGES", "ssh=reg.example/cowrie:2")
    rows = rows_of(invoke("catalog", "services").stdout)
    assert (rows["ssh"][3], rows["http"][3]) == ("reg.example/cowrie:2", "decnet-sensor:0.1")


def test_db_comes_from_the_option_or_the_environment(tmp_path: Path, env: dict[str, str]) -> None:
    from typer.testing import CliRunner

    runner, via_env = CliRunner(), tmp_path / "env.db"
    result = runner.invoke(
        app, ["topology", "generate", "x"], env={**env, "DECNET_DB": str(via_env)}
    )
    assert result.exit_code == 0 and via_env.exists()
    default = Path(env["XDG_DATA_HOME"]) / "decnet" / "decnet.db"
    assert runner.invoke(app, ["topology", "generate", "y"], env=env).exit_code == 0
    assert default.exists()


def test_version_and_bare_invocation(invoke: Invoke) -> None:
    result = invoke("--version")
    assert result.exit_code == 0 and result.stdout.startswith("decnet ")
    bare = invoke()  # no command: the help, as a usage error
    assert bare.exit_code == EXIT_USAGE and "Usage:" in bare.stderr + bare.stdout


def test_help_does_not_touch_the_database(invoke: Invoke, db: Path) -> None:
    assert invoke("topology", "--help").exit_code == 0
    assert invoke("catalog", "services").exit_code == 0
    assert not db.exists()


def test_bad_site_setting_is_a_clean_usage_error(invoke: Invoke, db: Path) -> None:
    from typer.testing import CliRunner

    result = CliRunner().invoke(
        app, ["--db", str(db), "topology", "list"], env={"DECNET_IMAGES": "ssh"}
    )
    assert result.exit_code == EXIT_USAGE and result.stderr.startswith("error: DECNET_IMAGES")


SCRIPT = Path(sys.executable).with_name("decnet")


@pytest.mark.skipif(not SCRIPT.exists(), reason="console script not installed in this venv")
def test_installed_console_script(tmp_path: Path) -> None:
    env = {**os.environ, "DECNET_DB": str(tmp_path / "s.db"), "XDG_DATA_HOME": str(tmp_path)}
    env.pop("DECNET_IMAGES", None)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(SCRIPT), *args], capture_output=True, text=True, env=env, timeout=60, check=False
        )

    assert run("topology", "generate", "corp", "--seed", "3").returncode == 0
    shown = run("topology", "show", "corp", "--json")
    assert shown.returncode == 0 and json.loads(shown.stdout)["name"] == "corp"
    missing = run("topology", "show", "nope")
    assert missing.returncode == 1 and missing.stdout == ""
    assert missing.stderr.startswith("error: ") and "Traceback" not in missing.stderr
    assert run("topology", "generate", "--deckies", "x", "y").returncode == EXIT_USAGE
    assert run("topology", "generate").returncode == EXIT_USAGE  # click's own: missing NAME
    assert run("--help").returncode == run("topology", "generate", "-h").returncode == 0
