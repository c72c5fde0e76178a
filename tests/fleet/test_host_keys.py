"""SSH host keys on decnet runs (issue 7, item 2), over real SSH to a testbed host.

decnet runs honour Ansible's choice (ansible.cfg: host_key_checking = True) instead of turning
checking off: a host whose key changed is refused and its topology fails as unreachable with
the cause; an inventory that opts out explicitly (as the testbed's own does) still connects.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from fleet_support import topology

from decnet.engine.context import Context
from decnet.engine.lifecycle import deploy, teardown
from decnet.engine.rollout import RolloutOptions
from decnet.engine.topologies import create_topology
from decnet.models import Status
from decnet.runner.ansible import PlaybookJob, run_playbook
from decnet.settings import Settings
from decnet.testbed import GROUP, Testbed, host_ip

pytestmark = pytest.mark.testbed

HOST = "h1"
NAME = "hk1"


def inventory(testbed: Testbed, path: Path, known_hosts: Path, **extra: Any) -> Path:
    """The testbed's inventory for h1, with checking left to ssh and a known_hosts of ours:
    no StrictHostKeyChecking=no, and a fresh ControlPath per inventory (a persisted master
    from an earlier run would skip the key check). Unix sockets want a short path."""
    group = yaml.safe_load(testbed.inventory_path.read_text())["all"]["children"][GROUP]
    hostvars = dict(group["vars"])
    mux = tempfile.mkdtemp(prefix="hk-", dir="/tmp")
    hostvars["ansible_ssh_common_args"] = (
        f"-o ControlPath={mux}/%C -o UserKnownHostsFile={known_hosts} "
        "-o GlobalKnownHostsFile=/dev/null -o ConnectTimeout=5"
    )
    hostvars.update(extra)
    host = {"ansible_host": group["hosts"][HOST]["ansible_host"], **hostvars}
    path.write_text(yaml.safe_dump({"all": {"hosts": {HOST: host}}}))
    return path


def real_key(ip: str) -> str:
    out = subprocess.run(
        ["ssh-keyscan", "-T", "5", "-t", "ed25519", ip],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout
    lines = [ln for ln in out.splitlines() if ln and not ln.startswith("#")]
    assert lines, f"ssh-keyscan found no key on {ip}"
    return lines[0] + "\n"


def other_key(ip: str, tmp_path: Path) -> str:
    key = tmp_path / "other"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)],
        check=True,
        capture_output=True,
    )
    kind, blob = key.with_suffix(".pub").read_text().split()[:2]
    return f"{ip} {kind} {blob}\n"


@pytest.fixture
def setup(testbed: Testbed, tmp_path: Path) -> Iterator[tuple[Context, Path, str, str]]:
    prep = run_playbook(
        PlaybookJob("prepare.yml", testbed.inventory_path, tmp_path / "prepare", limit=HOST)
    )
    assert prep.status == "successful", {h: o.messages for h, o in prep.hosts.items()}
    ip = host_ip(HOST)
    known = tmp_path / "known_hosts"
    good, bad = real_key(ip), other_key(ip, tmp_path)
    known.write_text(good)
    inv = inventory(testbed, tmp_path / "inventory.yml", known)
    home = tmp_path / "home"
    home.mkdir()
    ctx = Context.open(Settings(db_path=tmp_path / "decnet.db", home=home, inventory=inv))
    create_topology(ctx.store, topology(NAME, HOST), catalog=ctx.catalog)
    try:
        yield ctx, known, good, bad
    finally:
        known.write_text(good)
        live = [s.name for s in ctx.store.list_topologies() if s.status != Status.TORN_DOWN]
        if live:
            teardown(ctx, live, opts=RolloutOptions(force=True))
        testbed.exec(HOST, "sh", "-c", f"rm -rf /var/lib/decnet/topologies/{NAME}")


def test_a_changed_host_key_is_refused_and_an_explicit_opt_out_is_honoured(
    setup: tuple[Context, Path, str, str], testbed: Testbed, tmp_path: Path
) -> None:
    ctx, known, _good, bad = setup
    # the right key in known_hosts: checking is on and passes
    first = deploy(ctx, [NAME])
    assert first.ok, [(t.name, t.status, t.reason) for t in first.topologies]

    # the host's key "changed": refused, nothing runs, the cause is in the reason
    known.write_text(bad)
    fresh = inventory(testbed, tmp_path / "fresh.yml", known)
    refused = deploy(ctx, [NAME], opts=RolloutOptions(inventory=fresh))
    (out,) = refused.topologies
    assert out.status == Status.FAILED
    assert out.reason.startswith("unreachable:"), out.reason
    assert "REMOTE HOST IDENTIFICATION HAS CHANGED" in out.reason, out.reason
    assert "Host key verification failed" in out.reason, out.reason
    assert refused.hosts[HOST]["unreachable"] is True

    # an inventory that opts out explicitly connects despite the changed key
    opt_out = inventory(testbed, tmp_path / "opt-out.yml", known, ansible_host_key_checking=False)
    again = deploy(ctx, [NAME], opts=RolloutOptions(inventory=opt_out))
    assert again.ok, [(t.name, t.status, t.reason) for t in again.topologies]
