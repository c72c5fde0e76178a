"""What a security probe found (issue 13), through the real `decnet` console script in its own
process: each test failed on the code the probe ran against."""

from __future__ import annotations

import json
import socket
import subprocess
from pathlib import Path

import pytest
from cli_support import clean_env, run_decnet, snapshot

from decnet.core.secrets import MASK
from decnet.errors import EXIT_USAGE


@pytest.fixture
def cli(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A working directory and an environment with a database of its own."""
    env = clean_env(DECNET_DB=str(tmp_path / "decnet.db"), XDG_DATA_HOME=str(tmp_path / "xdg"))
    return tmp_path, env


def decnet(cli: tuple[Path, dict[str, str]], *args: str) -> subprocess.CompletedProcess[str]:
    return run_decnet(*args, cwd=cli[0], env=cli[1])


def ok(proc: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert proc.returncode == 0, (proc.stdout, proc.stderr)
    return proc


def assert_clean_error(proc: subprocess.CompletedProcess[str], code: int, *words: str) -> None:
    assert proc.returncode == code, (proc.stdout, proc.stderr)
    assert proc.stderr.startswith("error: ") and "\nhint: " in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    for word in words:
        assert word in proc.stderr, proc.stderr


def test_mutate_refuses_the_mask_as_a_secret_value(cli: tuple[Path, dict[str, str]]) -> None:
    ok(decnet(cli, "topology", "generate", "corp", "--deckies", "1-1", "--services", "ssh"))
    ok(decnet(cli, "mutate", "corp", "update_decky", "name=gw", "config.ssh.password=real"))
    db = cli[0] / "decnet.db"
    before = snapshot(db)
    for args in (
        ["update_decky", "name=gw", f"config.ssh.password={MASK}"],
        [
            "update_decky",
            "name=gw",
            "--payload",
            json.dumps({"config": {"ssh": {"password": MASK}}}),
        ],
        ["add_decky", "name=n", "lan=dmz", "services=ssh", f"config.ssh.password={MASK}"],
    ):
        for plan in ([], ["--plan"]):
            proc = decnet(cli, "mutate", "corp", *args, *plan)
            assert_clean_error(proc, EXIT_USAGE, "ops[0].config.ssh.password", "secret mask")
    assert snapshot(db) == before


def test_mutate_refuses_a_nul_in_a_config_string(cli: tuple[Path, dict[str, str]]) -> None:
    ok(decnet(cli, "topology", "generate", "corp", "--deckies", "1-1", "--services", "ssh"))
    before = snapshot(cli[0] / "decnet.db")
    payload = json.dumps({"config": {"ssh": {"banner": "SSH-2.0\x00"}}})
    for plan in ([], ["--plan"]):
        proc = decnet(cli, "mutate", "corp", "update_decky", "name=gw", "--payload", payload, *plan)
        assert proc.returncode == 1, (proc.stdout, proc.stderr)
        assert "SERVICE_CONFIG_CHARACTER" in proc.stdout + proc.stderr
        assert "Traceback" not in proc.stderr
    assert snapshot(cli[0] / "decnet.db") == before


def test_mutate_says_unchanged_and_bumps_nothing(cli: tuple[Path, dict[str, str]]) -> None:
    ok(decnet(cli, "topology", "generate", "corp", "--deckies", "1-1", "--services", "ssh"))
    ok(decnet(cli, "mutate", "corp", "update_decky", "name=gw", "config.ssh.banner=x"))
    db = cli[0] / "decnet.db"
    before = snapshot(db)
    args = ["mutate", "corp", "update_decky", "name=gw", "config.ssh.banner=x"]
    text = ok(decnet(cli, *args)).stdout
    assert text.startswith("unchanged: the batch changes nothing in corp (still at version 2")
    result = json.loads(ok(decnet(cli, *args, "--json")).stdout)
    assert (result["mode"], result["version"], result["mutation"]) == ("unchanged", 2, None)
    assert snapshot(db) == before


def test_json_files_and_batches_take_floats_written_with_an_exponent(
    cli: tuple[Path, dict[str, str]],
) -> None:
    doc = {
        "name": "corp",
        "lans": [{"name": "dmz", "dmz": True, "canvas": {"x": 1e-05, "w": 2.5e-06}}],
        "deckies": [{"name": "gw", "home": "dmz", "services": ["http"]}],
    }
    (cli[0] / "corp.json").write_text(json.dumps(doc))
    ok(decnet(cli, "topology", "create", "-f", "corp.json"))
    batch = {"ops": [{"op": "update_lan", "name": "dmz", "canvas": {"y": -1e-05}}]}
    (cli[0] / "batch.yml").write_text(json.dumps(batch))  # JSON is YAML
    ok(decnet(cli, "mutate", "corp", "-f", "batch.yml"))
    shown = json.loads(ok(decnet(cli, "topology", "show", "corp", "--json")).stdout)
    (dmz,) = shown["lans"]
    assert (dmz["x"], dmz["y"], dmz["w"]) == (1e-05, -1e-05, 2.5e-06)
    doc["lans"][0]["canvas"] = {"x": float("inf")}  # json.dumps writes Infinity: still refused
    (cli[0] / "inf.json").write_text(json.dumps({**doc, "name": "inf"}))
    assert decnet(cli, "topology", "create", "-f", "inf.json").returncode == 1


def test_serve_on_a_taken_port_is_an_error_line_and_exit_1(
    cli: tuple[Path, dict[str, str]],
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = decnet(cli, "serve", "--bind", f"127.0.0.1:{port}")
    assert_clean_error(proc, 1, f"cannot listen on 127.0.0.1:{port}", "Address already in use")
    assert "ERROR:" not in proc.stderr and "Errno" not in proc.stderr
    assert not (cli[0] / "decnet.db").exists()  # nothing started before the port was had


def test_a_database_that_is_not_a_regular_file_is_named(tmp_path: Path) -> None:
    """DECNET_DB=/dev/null said "locked past the busy timeout" after 0.6 s."""
    env = clean_env(DECNET_DB="/dev/null", XDG_DATA_HOME=str(tmp_path / "xdg"))
    for args in (["topology", "list"], ["topology", "generate", "corp"]):
        proc = run_decnet(*args, cwd=tmp_path, env=env)
        assert_clean_error(proc, 1, "'/dev/null' is not a regular file")
        assert "locked" not in proc.stderr


READS = [
    ["topology", "list"],
    ["topology", "show", "corp"],
    ["topology", "export", "corp"],
    ["topology", "validate", "corp"],
    ["status"],
    ["events"],
    ["mutations", "corp"],
    ["token", "list"],
    ["mutate", "corp", "remove_decky", "name=gw"],
    ["deploy", "corp"],
]


@pytest.mark.parametrize("args", READS, ids=[" ".join(a) for a in READS])
def test_commands_that_only_read_never_create_a_database(tmp_path: Path, args: list[str]) -> None:
    """DECNET_DB=/nonexistent/dir/x.db decnet topology list made the directories and an empty
    database: a typo looked like an empty list."""
    db = tmp_path / "typo" / "dir" / "x.db"
    env = clean_env(DECNET_DB=str(db), XDG_DATA_HOME=str(tmp_path / "xdg"))
    proc = run_decnet(*args, cwd=tmp_path, env=env)
    assert_clean_error(proc, 1, f"database '{db}' does not exist", "DECNET_DB")
    assert not (tmp_path / "typo").exists() and not (tmp_path / "xdg").exists()


def test_a_command_that_writes_creates_the_database(tmp_path: Path) -> None:
    db = tmp_path / "new" / "dir" / "x.db"
    env = clean_env(DECNET_DB=str(db), XDG_DATA_HOME=str(tmp_path / "xdg"))
    ok(run_decnet("topology", "generate", "corp", cwd=tmp_path, env=env))
    assert db.is_file()
    assert "corp" in ok(run_decnet("topology", "list", cwd=tmp_path, env=env)).stdout


def test_validating_a_file_without_a_database_says_so_and_creates_none(tmp_path: Path) -> None:
    db = tmp_path / "typo" / "x.db"
    env = clean_env(DECNET_DB=str(db), XDG_DATA_HOME=str(tmp_path / "xdg"))
    (tmp_path / "t.yml").write_text(
        "name: t\nlans: [{name: dmz, dmz: true}]\ndeckies: [{name: gw, home: dmz}]\n"
    )
    proc = ok(run_decnet("topology", "validate", "-f", "t.yml", cwd=tmp_path, env=env))
    assert "valid" in proc.stdout and f"no database at {db}" in proc.stderr
    assert not (tmp_path / "typo").exists()
