"""Relative paths are taken against the working directory, once, at the CLI/settings edge:
`-i`, `--out`, `-f`, `-o`, `--db` and DECNET_* paths. The end-to-end case is the one that
broke: `decnet deploy -i inv.yml` on the local engine (ansible-runner read a relative path as
inventory text), followed by drift (exit 2 when drift is found) and teardown."""

from __future__ import annotations

import json
import shutil
import stat
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_support import DECNET, clean_env, run_decnet
from local_engine import remove_labelled
from subnet_pools import fresh_lans

from decnet.errors import EXIT_DRIFT
from decnet.settings import PROJECT_ROOT, Settings


def test_settings_paths_are_absolute_against_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    s = Settings.from_env({"DECNET_HOME": "h", "DECNET_DB": "d.db", "DECNET_INVENTORY": "i.yml"})
    assert (s.home, s.db_path, s.inventory) == (
        tmp_path / "h",
        tmp_path / "d.db",
        tmp_path / "i.yml",
    )
    assert Settings.from_env({"XDG_DATA_HOME": "x"}).db_path == tmp_path / "x/decnet/decnet.db"
    assert Settings.from_env({"HOME": "~nobody-such"}).home.is_absolute()


@pytest.mark.skipif(not DECNET.exists(), reason="console script not installed")
def test_relative_path_options_of_the_real_cli(tmp_path: Path) -> None:
    env = clean_env(DECNET_HOME="home", XDG_DATA_HOME=str(tmp_path / "xdg"))
    work = tmp_path / "work"
    work.mkdir()
    (work / "t.yml").write_text(
        "name: rel\nhost: web9\nlans: [{name: dmz, dmz: true}]\n"
        "deckies: [{name: gw, home: dmz, services: [ssh]}]\n"
    )
    (work / "inv.yml").write_text("all:\n  hosts:\n    web9:\n      ansible_connection: local\n")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        proc = run_decnet("--db", "d.db", *args, cwd=work, env=env)
        assert proc.returncode == 0, (args, proc.stderr)
        return proc

    run("topology", "create", "-f", "t.yml")
    assert (work / "d.db").is_file()
    run("topology", "export", "rel", "-o", "out.yml")
    assert (work / "out.yml").read_text().startswith("# decnet topology file")
    rendered = run("render", "rel", "--out", "bundle", "-i", "inv.yml")
    assert rendered.stdout.strip() == str(work / "bundle")
    assert json.loads((work / "bundle" / "bundle.json").read_text())["hosts"] == {"web9": ["rel"]}
    assert (work / "home").is_dir()  # DECNET_HOME=home, under the working directory


# --- the real deploy ---------------------------------------------------------------------------


def _docker(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=120)


def _docker_ready() -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        return _docker("image", "inspect", "decnet-lure:0.1").returncode == 0
    except subprocess.TimeoutExpired:
        return False


@pytest.fixture
def e2e_name() -> Iterator[str]:
    name = f"e2e-{uuid.uuid4().hex[:6]}"
    try:
        yield name
    finally:
        remove_labelled(name)


@pytest.mark.docker
@pytest.mark.skipif(not DECNET.exists(), reason="console script not installed")
@pytest.mark.skipif(not _docker_ready(), reason="needs a Docker engine and decnet-lure:0.1")
def test_deploy_drift_teardown_with_a_relative_inventory(tmp_path: Path, e2e_name: str) -> None:
    work = tmp_path / "work"
    work.mkdir()
    shutil.copy(PROJECT_ROOT / "inventory" / "localhost.yml", work / "inv.yml")
    (subnet,) = fresh_lans(1)
    (work / "t.yml").write_text(
        f"name: {e2e_name}\nlans: [{{name: dmz, dmz: true, subnet: {subnet}}}]\n"
        "deckies: [{name: gw, home: dmz, services: [ssh]}]\n"
    )
    env = clean_env(DECNET_HOME="home", XDG_DATA_HOME=str(tmp_path / "xdg"))

    def run(*args: str, code: int = 0) -> subprocess.CompletedProcess[str]:
        proc = run_decnet("--db", "d.db", *args, cwd=work, env=env, timeout=600)
        assert proc.returncode == code, (args, proc.stdout, proc.stderr)
        return proc

    run("topology", "create", "-f", "t.yml")
    report = json.loads(run("deploy", e2e_name, "-i", "inv.yml", "--json").stdout)
    assert [(t["name"], t["status"]) for t in report["topologies"]] == [(e2e_name, "active")]
    runs = work / "home" / "runs"
    assert stat.S_IMODE(runs.stat().st_mode) == 0o700
    assert all(stat.S_IMODE(r.stat().st_mode) == 0o700 for r in runs.iterdir())

    assert run("drift", "-i", "inv.yml").returncode == 0  # in sync
    # gw's ssh runs in its sensor container (no DECNET_IMAGES here: the default layout)
    assert _docker("rm", "-f", f"decnet-{e2e_name}.gw.sensor").returncode == 0
    drifted = run("drift", "-i", "inv.yml", "--json", code=EXIT_DRIFT)
    states = {f["name"]: f["state"] for f in json.loads(drifted.stdout)["findings"]}
    assert states[e2e_name] == "runtime_drift"

    torn = json.loads(run("teardown", e2e_name, "-i", "inv.yml", "--json").stdout)
    assert [t["status"] for t in torn["topologies"]] == ["torn_down"]
    assert _docker("ps", "-aq", "--filter", f"label=decnet.topology={e2e_name}").stdout == ""
