"""First deploy → drift on fresh test hosts, through the CLI as a new user runs it (SPEC §9):
no playbooks/prepare.yml. `decnet deploy --all` installs the host side (the decnet fact and
its configuration, the base dir) and ships the sensor image the fresh hosts lack along with
the topologies, `decnet drift` says in_sync; a
container removed on a host → runtime_drift → `decnet reconcile` → in_sync again.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fleet_support import fleet_context

from decnet.engine.context import Context
from decnet.testbed import Testbed

pytestmark = pytest.mark.testbed

HOSTS = ("h1", "h2", "h3")
FACTS_DIR = "/etc/ansible/facts.d"
BASE_DIR = "/var/lib/decnet/topologies"
DECNET = Path(sys.executable).with_name("decnet")
SENSOR_IMAGE = "decnet-sensor:0.1"
GUESS = "fd1-guess-7"
SSH_UP = """
import socket, sys, time
deadline = time.monotonic() + 180
while True:
    try:
        with socket.create_connection((sys.argv[1], 22), timeout=5) as s:
            if s.recv(64).startswith(b"SSH-2.0-"):
                break
    except OSError:
        pass
    if time.monotonic() > deadline:
        sys.exit("nothing answers SSH on " + sys.argv[1])
    time.sleep(1)
"""


def image_id(image: str) -> str:
    inspect = ["docker", "image", "inspect", "--format", "{{.Id}}", image]
    return subprocess.run(inspect, capture_output=True, text=True, check=True).stdout.strip()


def sh(testbed: Testbed, host: str, script: str) -> str:
    return testbed.exec(host, "sh", "-c", script, check=True).stdout


def make_fresh(testbed: Testbed, host: str) -> None:
    """The host as decnet never saw it: no fact, no configuration, no base dir (earlier tests of
    the session prepared it)."""
    labelled = sh(testbed, host, "docker ps -aq --filter label=decnet.topology")
    assert labelled.split() == [], f"{host} still runs topologies"
    sh(testbed, host, f"rm -rf {FACTS_DIR}/decnet.fact {FACTS_DIR}/decnet.json /var/lib/decnet")
    sh(testbed, host, f"docker image rm -f {SENSOR_IMAGE} >/dev/null 2>&1 || :")
    assert sh(testbed, host, f"ls -d {FACTS_DIR}/decnet.* /var/lib/decnet 2>/dev/null || :") == ""


def cli(ctx: Context, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DECNET_")}
    env.update(
        DECNET_HOME=str(ctx.settings.home),
        DECNET_DB=str(ctx.settings.db_path),
        DECNET_INVENTORY=str(ctx.settings.inventory),
        COLUMNS="200",
    )
    return subprocess.run(
        [str(DECNET), *args], capture_output=True, text=True, env=env, timeout=600, check=False
    )


def drift_states(ctx: Context) -> tuple[int, dict[str, tuple[str, list[str]]]]:
    run = cli(ctx, "drift", "--json")
    assert run.stdout, run.stderr
    findings = json.loads(run.stdout)["findings"]
    return run.returncode, {f["name"]: (f["state"], f["details"]) for f in findings}


def intruder_on_h1(testbed: Testbed, ctx: Context) -> None:
    """OpenSSH's client on h1 tries a password on fd1's decky (the sensor shipped a moment ago);
    `decnet collect --once` brings the attempt over SSH as an attributed `attack.login`."""
    ip = ctx.store.get_topology("fd1").deckies[0].memberships[0].ip
    up = testbed.exec("h1", "python3", "-c", SSH_UP, ip, timeout=200)
    assert up.returncode == 0, up.stderr
    testbed.exec("h1", "sshpass", "-p", GUESS, "ssh", "-o", "StrictHostKeyChecking=no",
                 "-o", "UserKnownHostsFile=/dev/null", "-o", "PreferredAuthentications=password",
                 "-o", "PubkeyAuthentication=no", "-o", "ConnectTimeout=20",
                 "-o", "NumberOfPasswordPrompts=1", f"admin@{ip}", "true", timeout=120)  # fmt: skip
    collected = cli(ctx, "collect", "--once", "-i", str(testbed.inventory_path))
    assert collected.returncode == 0, collected.stdout + collected.stderr
    events = cli(ctx, "events", "--type", "attack.login", "--since", "0", "--json").stdout
    logins = [json.loads(line) for line in events.splitlines()]
    assert [
        (e["topology"], e["payload"]["host"], e["payload"]["decky"], e["payload"]["service"],
         e["payload"]["username"], e["payload"]["password"], e["payload"]["dst_ip"])
        for e in logins
    ] == [("fd1", "h1", "gw", "ssh", "admin", GUESS, ip)]  # fmt: skip


def test_first_deploy_then_drift_and_reconcile_without_prepare(
    testbed: Testbed, tmp_path: Path
) -> None:
    names = {f"fd{i}": host for i, host in enumerate(HOSTS, 1)}
    for host in HOSTS:
        make_fresh(testbed, host)
    with fleet_context(testbed, tmp_path, names, prepare=False) as ctx:
        deployed = cli(ctx, "deploy", "--all", "-i", str(testbed.inventory_path))
        assert deployed.returncode == 0, deployed.stdout + deployed.stderr
        for host in HOSTS:
            modes = sh(testbed, host, f"stat -c '%n %a %U' {FACTS_DIR}/decnet.* {BASE_DIR}")
            assert modes.split("\n")[:3] == [
                f"{FACTS_DIR}/decnet.fact 755 root",
                f"{FACTS_DIR}/decnet.json 644 root",
                f"{BASE_DIR} 700 root",
            ], modes
            # the sensor image came from the controller's engine, the same build
            inspect = f"docker image inspect --format '{{{{.Id}}}}' {SENSOR_IMAGE}"
            shipped = sh(testbed, host, inspect)
            assert shipped.strip() == image_id(SENSOR_IMAGE), host

        rc, found = drift_states(ctx)
        assert rc == 0 and found == {name: ("in_sync", []) for name in names}, found
        intruder_on_h1(testbed, ctx)

        sh(testbed, "h2", "docker rm -f decnet-fd2.gw.sensor")
        rc, found = drift_states(ctx)
        assert rc == 2, found
        assert found["fd2"] == ("runtime_drift", ["container decnet-fd2.gw.sensor is missing"])
        assert found["fd1"] == found["fd3"] == ("in_sync", [])

        fixed = cli(ctx, "reconcile")
        assert fixed.returncode == 0, fixed.stdout + fixed.stderr
        rc, found = drift_states(ctx)
        assert rc == 0 and found == {name: ("in_sync", []) for name in names}, found
