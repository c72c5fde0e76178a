"""prepare.yml (decnet_host): engine and compose checks, directories, the host files (the fact
script and its configuration), which a deploy then finds current."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

import pytest
from ansible_support import FACT_SCRIPT, REPO, VENV_BIN, Decky, Run, run_ansible

pytestmark = pytest.mark.docker


def prepare(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> Run:
    return run_ansible(
        [
            str(VENV_BIN / "ansible-playbook"),
            "-i",
            str(REPO / "inventory" / "localhost.yml"),
            str(REPO / "playbooks" / "prepare.yml"),
            "-e",
            f"decnet_host_base_dir={tmp_path}/lib/topologies",
            "-e",
            f"decnet_host_facts_dir={tmp_path}/facts.d",
            *args,
        ],
        env=env,
    )


def test_prepare_installs_directories_and_fact(engine: None, tmp_path: Path) -> None:
    run = prepare(tmp_path)
    assert run.rc == 0, run.out
    fact = tmp_path / "facts.d" / "decnet.fact"
    assert stat.S_IMODE(fact.stat().st_mode) == 0o755
    assert fact.read_bytes() == FACT_SCRIPT.read_bytes()
    assert stat.S_IMODE((tmp_path / "lib" / "topologies").stat().st_mode) == 0o700
    out = subprocess.run(
        [str(fact)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "DECNET_TOPOLOGIES_DIR": str(tmp_path / "lib" / "topologies")},
    )
    assert json.loads(out.stdout)["format"] == 1
    config = tmp_path / "facts.d" / "decnet.json"
    assert json.loads(config.read_text()) == {"format": 1, "base_dir": f"{tmp_path}/lib/topologies"}
    assert stat.S_IMODE(config.stat().st_mode) == 0o644
    again = prepare(tmp_path)
    assert again.recap["changed"] == 0, again.out


def test_a_deploy_after_prepare_leaves_the_host_files_alone(make_topo) -> None:
    topo = make_topo([Decky("gw", 2)])
    topo.write_bundle()
    assert topo.prepare().rc == 0
    installed = sorted(topo.facts_dir.iterdir())
    stamps = [(p.stat().st_ino, p.stat().st_mtime_ns) for p in installed]
    run = topo.deploy()
    assert run.rc == 0, run.out
    assert run.recap["changed"] == 1, run.out  # the topology's job only: the quick look wrote none
    assert sorted(topo.facts_dir.iterdir()) == installed
    assert [(p.stat().st_ino, p.stat().st_mtime_ns) for p in installed] == stamps


def test_prepare_explains_a_missing_engine(tmp_path: Path) -> None:
    run = prepare(tmp_path, env={"DOCKER_HOST": "tcp://127.0.0.1:1"})
    assert run.rc != 0
    assert "The Docker engine does not answer" in run.out and "apt-get install" in run.out
    assert not (tmp_path / "facts.d").exists()


def test_prepare_explains_an_old_compose(engine: None, tmp_path: Path) -> None:
    run = prepare(tmp_path, "-e", "decnet_host_compose_min_version=99.0")
    assert run.rc != 0
    assert "docker compose v2 >= 99.0 is required" in run.out, run.out
