"""A decky's face outlives its container (docs/sensors.md, "Believable, and not all alike"):
two deckies deployed by `decnet serve` with the real sensors show two different SSH host keys,
and a live edit that recreates one decky's sensor container (a service added through the API's
ops, applied by the server's reconciler) leaves the key an intruder already saw unchanged."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator

import pytest
from sensor_support import docker, docker_ok, host_key, ssh_up
from serve_support import Server, serving, wait_for
from subnet_pools import fresh_lans

pytestmark = [pytest.mark.docker, pytest.mark.timeout(1800)]

TIMEOUT = 900
"""A deploy or an edit with sensor containers, beside three test workers on two cores."""


def sensor_container(name: str, decky: str) -> str:
    ids = docker("ps", "-q", "--no-trunc", "--filter", f"label=decnet.topology={name}",
                 "--filter", f"label=decnet.decky={decky}", "--filter",
                 "label=decnet.family=sensor").stdout.split()  # fmt: skip
    assert len(ids) == 1, ids
    return ids[0]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    if not docker_ok():
        pytest.skip("needs the Docker engine")
    with serving(tmp_path_factory.mktemp("live-sensors") / "home", DECNET_IMAGES="") as srv:
        yield srv


def test_a_live_edit_that_recreates_a_decky_keeps_its_host_key(server: Server) -> None:
    name = server.new_name()
    (dmz,) = fresh_lans(1)
    server.create_document(
        f"name: {name}\nhost: localhost\nlans:\n  - {{name: dmz, dmz: true, subnet: {dmz}}}\n"
        "deckies:\n  - {name: a, home: dmz, services: [ssh]}\n"
        "  - {name: b, home: dmz, services: [ssh]}\n"
    )
    view = server.deploy(name, TIMEOUT)
    assert view["state"] == "succeeded", view
    ips = {d["name"]: d["memberships"][0]["ip"] for d in server.topology(name)["deckies"]}
    for ip in ips.values():
        wait_for(functools.partial(ssh_up, ip), 300, what=f"ssh on {ip}")
    keys = {decky: host_key(ip) for decky, ip in ips.items()}
    assert keys["a"] != keys["b"]  # per decky, not one key for the whole maze
    before = sensor_container(name, "a")

    op = {"op": "update_decky", "name": "a", "services": ["ssh", "http"]}
    row = server.apply_ops(name, [op], TIMEOUT)
    assert row["state"] == "applied", json.dumps(row)
    assert sensor_container(name, "a") != before  # the container was recreated
    wait_for(lambda: ssh_up(ips["a"]), 300, what="ssh on the recreated decky")
    assert host_key(ips["a"]) == keys["a"]
    assert host_key(ips["b"]) == keys["b"]
