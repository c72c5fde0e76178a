"""playbooks/check.yml through plain ansible-playbook: what a CI job runs after deploy.yml.

No prepare.yml: deploy.yml installs the fact (the host files) with the topology's own base dir
and a private facts dir, so the fact finds the applied records there (the host contract's base
dir, not a hard-coded path)."""

from __future__ import annotations

import json
import subprocess

import pytest
from ansible_support import Decky

pytestmark = pytest.mark.docker


def flat(text: str) -> str:
    return " ".join(text.split())  # undo the YAML callback's line folding


def test_check_passes_in_sync_and_fails_on_config_and_runtime_drift(make_topo) -> None:
    one = make_topo([Decky("gw", 2, ["ssh"])])
    two = make_topo([Decky("gw", 2)])
    two.shared_bundle, two.root = one.bundle, one.root  # one bundle, one base dir, two topologies
    hosts = {"localhost": sorted([one.name, two.name])}
    one.desired_hash, two.desired_hash = "1" * 64, "2" * 64
    one.write_bundle(hosts)
    two.write_bundle(hosts)
    assert one.deploy().rc == 0

    ok = one.playbook("check")
    assert ok.rc == 0, ok.out
    out = flat(ok.out)
    assert f"msg: '{one.name}: in_sync'" in out or f"msg: {one.name}: in_sync" in out, ok.out
    assert f"{two.name}: in_sync" in out

    # config drift: the host's record says another hash
    applied = one.topo_dir / "applied.json"
    record = json.loads(applied.read_text())
    applied.write_text(json.dumps({**record, "applied_hash": "f" * 64}))
    drifted = one.playbook("check")
    assert drifted.rc != 0
    out = flat(drifted.out)
    assert f"{one.name}: config_drift: applied {'f' * 64} != desired {'1' * 64}" in out, out
    assert f"{two.name}: in_sync" in out
    assert f"not in sync: {one.name}" in out
    applied.write_text(json.dumps(record))

    # runtime drift: a container of the other topology is gone
    subprocess.run(["docker", "rm", "-f", f"decnet-{two.name}-gw"], check=True, capture_output=True)
    drifted = one.playbook("check")
    assert drifted.rc != 0
    out = flat(drifted.out)
    assert f"{two.name}: runtime_drift: container decnet-{two.name}-gw is missing" in out, out
    assert f"{one.name}: in_sync" in out and f"not in sync: {two.name}" in out


def test_check_says_unknown_on_a_host_never_deployed_to(make_topo) -> None:
    topo = make_topo([Decky("gw", 2)])
    topo.write_bundle()
    run = topo.playbook("check")  # nothing deployed: its facts dir is empty
    assert run.rc != 0
    assert f"{topo.name}: unknown: the decnet fact is missing" in flat(run.out), run.out


def test_check_needs_a_bundle(make_topo) -> None:
    topo = make_topo()
    run = topo.playbook("check", "-e", json.dumps({"decnet_bundle_dir": ""}))
    assert run.rc != 0
    assert "decnet_bundle_dir" in run.out and "bundle.json" in run.out, run.out
