"""Secrets never reach Ansible's output; the decnet fact is valid JSON and stays data."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from ansible_support import FACT_SCRIPT, REPO, VENV_BIN, Decky, run_ansible

pytestmark = pytest.mark.docker

CANARY = "canary-7f3e9b1d-$ecret-{{ lookup('env','HOME') }}"


def run_fact(topo, **env: str) -> dict:
    proc = subprocess.run(
        [str(FACT_SCRIPT)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "DECNET_TOPOLOGIES_DIR": str(topo.base_dir), **env},
    )
    return json.loads(proc.stdout)


@pytest.mark.parametrize(
    "verbosity",
    [
        ["-v"],
        ["-vvv"],
        # even with the task's no_log off, the module masks its argument and never echoes it
        ["-vvv", "-e", "decnet_topology_no_log=false"],
    ],
)
def test_compose_secret_never_in_output(make_topo, verbosity: list[str]) -> None:
    topo = make_topo([Decky("gw", 2, ["ssh"], env={"DECNET_SSH_PASSWORD": CANARY})])
    topo.write_bundle()
    ok = topo.deploy(*verbosity)
    assert ok.rc == 0, ok.out
    assert "canary-7f3e9b1d" not in ok.out
    # the value reached the container literally (no Ansible templating, `$$` undone by compose)
    env = topo.containers()[f"decnet-{topo.name}-gw-ssh"]["Config"]["Env"]
    assert f"DECNET_SSH_PASSWORD={CANARY}" in env
    # the failure path (compose error) is scrubbed too
    topo.deckies[0].image = "decnet-no-such-image:0"
    topo.write_bundle()
    failed = topo.deploy(*verbosity)
    assert failed.rc != 0
    assert "No such image" in failed.out, failed.out
    assert "canary-7f3e9b1d" not in failed.out


def test_invalid_compose_error_is_scrubbed(make_topo) -> None:
    topo = make_topo([Decky("gw", 2, ["ssh"], env={"DECNET_SSH_PASSWORD": "x"})])
    topo.write_bundle()
    compose = topo.bundle / "hosts" / "localhost" / topo.name / "compose.yml"
    # an unescaped `${` makes compose print the offending value in its error
    compose.write_text(compose.read_text().replace('"x"', '"canary-9a1b ${oops"'))
    run = topo.deploy("-v")
    assert run.rc != 0
    assert "invalid interpolation" in run.out, run.out
    assert "canary-9a1b" not in run.out


def test_fact_reports_topologies_as_json(make_topo) -> None:
    topo = make_topo()
    topo.desired_hash = "e" * 64
    topo.write_bundle()
    assert topo.deploy().rc == 0
    fact = run_fact(topo)
    assert fact["format"] == 1 and fact["errors"] == []
    entry = fact["topologies"][topo.name]
    assert entry["applied_hash"] == "e" * 64 and entry["applied_at"]
    names = {c["name"]: c for c in entry["containers"]}
    base = names[f"decnet-{topo.name}-gw"]
    assert base == {
        "name": f"decnet-{topo.name}-gw",
        "decky": "gw",
        "role": "base",
        "service": None,
        "state": "running",
        "networks": {f"decnet-{topo.name}-dmz": f"{topo.prefix}.2"},
    }
    assert names[f"decnet-{topo.name}-gw-ssh"]["service"] == "ssh"
    assert entry["networks"] == [
        {
            "name": f"decnet-{topo.name}-dmz",
            "lan": "dmz",
            "subnet": f"{topo.prefix}.0/24",
            "internal": False,
        }
    ]

    # running objects without applied.json still appear, with a null hash
    (topo.topo_dir / "applied.json").unlink()
    entry = run_fact(topo)["topologies"][topo.name]
    assert entry["applied_hash"] is None and len(entry["containers"]) == 4


def test_fact_reports_docker_errors_as_data(make_topo) -> None:
    topo = make_topo()
    topo.write_bundle()
    assert topo.deploy().rc == 0
    fact = run_fact(topo, DOCKER_HOST="tcp://127.0.0.1:1")
    assert fact["topologies"][topo.name]["applied_hash"] == topo.desired_hash
    assert fact["topologies"][topo.name]["containers"] == []
    assert len(fact["errors"]) == 1 and fact["errors"][0].startswith("docker: ")


def test_fact_file_content_is_data_only(tmp_path: Path) -> None:
    """A hostile applied.json reaches the controller as a literal string, never evaluated."""
    marker = tmp_path / "evaluated"
    base = tmp_path / "topologies"
    (base / "evil").mkdir(parents=True)
    hostile = "{{ lookup('ansible.builtin.pipe', 'touch " + str(marker) + "') }}"
    (base / "evil" / "applied.json").write_text(
        json.dumps({"topology": "evil", "applied_hash": hostile, "applied_at": "{{ 7 * 6 }}"})
    )
    facts_dir = tmp_path / "facts.d"
    facts_dir.mkdir()
    shutil.copy(FACT_SCRIPT, facts_dir / "decnet.fact")
    tree = tmp_path / "tree"
    run = run_ansible(
        [
            str(VENV_BIN / "ansible-playbook"),
            "-i",
            str(REPO / "inventory" / "localhost.yml"),
            str(REPO / "playbooks" / "facts.yml"),
            "-e",
            f"decnet_facts_dir={facts_dir}",
        ],
        env={
            "DECNET_TOPOLOGIES_DIR": str(base),
            "DOCKER_HOST": "tcp://127.0.0.1:1",
            "ANSIBLE_CALLBACKS_ENABLED": "ansible.builtin.tree",
            "ANSIBLE_CALLBACK_TREE_DIR": str(tree),
        },
    )
    assert run.rc == 0, run.out
    facts = json.loads((tree / "localhost").read_text())["ansible_facts"]["ansible_local"]
    evil = facts["decnet"]["topologies"]["evil"]
    assert evil == {
        "applied_hash": hostile,
        "applied_at": "{{ 7 * 6 }}",
        "containers": [],
        "networks": [],
    }
    assert not marker.exists()

    # a broken fact arrives as a string, for the controller to report as unknown
    (facts_dir / "decnet.fact").write_text("#!/bin/sh\necho 'not json {'\n")
    (facts_dir / "decnet.fact").chmod(0o755)
    run = run_ansible(
        [
            str(VENV_BIN / "ansible-playbook"),
            "-i",
            str(REPO / "inventory" / "localhost.yml"),
            str(REPO / "playbooks" / "facts.yml"),
            "-e",
            f"decnet_facts_dir={facts_dir}",
        ],
        env={
            "ANSIBLE_CALLBACKS_ENABLED": "ansible.builtin.tree",
            "ANSIBLE_CALLBACK_TREE_DIR": str(tree),
        },
    )
    assert run.rc == 0, run.out
    broken = json.loads((tree / "localhost").read_text())["ansible_facts"]["ansible_local"]
    assert isinstance(broken["decnet"], str)


CRASH = (
    "sh",
    "-c",
    'echo "banner $${DECNET_SSH_BANNER}, login failed for root/$${DECNET_SSH_PASSWORD}" >&2;'
    " exit 3",
)


@pytest.mark.parametrize("secret", ["zq", "Q"])
def test_exact_secrets_are_masked_at_any_length_and_nothing_else(make_topo, secret: str) -> None:
    """meta.json's secret_env names the secret: its value is masked however short, and the
    names and non-secret values around it stay readable (the crash's output is quoted)."""
    banner = "SSH-2.0-Banner"
    env = {"DECNET_SSH_PASSWORD": secret, "DECNET_SSH_BANNER": banner}
    topo = make_topo([Decky("gw", 2, ["ssh"], env=env, service_command=CRASH)])
    topo.write_bundle()
    run = topo.deploy("-v", "-e", "decnet_topology_no_log=false")
    assert run.rc != 0
    out = " ".join(run.out.split())  # undo the YAML callback's line folding
    crashed = re.search(
        rf"container decnet-{topo.name}-gw-ssh (is (exited|restarting) \(exit code 3\)|"
        rf"keeps restarting \(\d+ restarts\)): "
        rf"last output: banner {banner}, login failed for root/\*{{8}}",
        out,
    )
    assert crashed, run.out
    assert f"root/{secret}" not in out
    assert "rolled back: removed the 2 container(s) and 1 network(s)" in out, run.out


def test_a_bundle_without_secret_env_masks_every_environment_value(make_topo) -> None:
    env = {"DECNET_SSH_PASSWORD": "hunter2", "DECNET_SSH_BANNER": "SSH-2.0-Banner"}
    topo = make_topo([Decky("gw", 2, ["ssh"], env=env, service_command=CRASH)])
    topo.legacy_meta = True
    topo.write_bundle()
    run = topo.deploy()
    assert run.rc != 0
    out = " ".join(run.out.split())
    assert "last output: banner ********, login failed for root/********" in out, run.out
    assert "hunter2" not in run.out and "SSH-2.0-Banner" not in run.out
