"""Contained (docs/sensors.md, "Downloads" and "Contained"; docs/observe.md, "No path from the
maze back"): sensors deployed by `decnet serve`, tried from inside. The sensor of a decky on an
internal LAN reaches its LAN and not another LAN of the maze; the fake shell of a DMZ decky,
told by an intruder to fetch from a decky its sensor can reach, reaches nothing (`wget`, `curl`,
`nc` answer as on a host without a network); and no LAN, internal or DMZ, reaches a service of
the host itself. Every target is an address of this test's own."""

from __future__ import annotations

import functools
import ipaddress
import json
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sensor_support import docker, docker_ok, ssh_shell, ssh_up
from serve_support import Server, serving, wait_for
from subnet_pools import fresh_lans

from decnet.core.render import SENSOR_DIR

pytestmark = [pytest.mark.docker, pytest.mark.timeout(1800)]

TIMEOUT = 900
"""A deploy with sensor containers, beside three test workers on two cores."""
PASSWORD = "egress-Decky-pw"
CONNECT = """
import socket, sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3).close()
    print("connected")
except OSError as exc:
    print(f"refused {exc.errno}")
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    if not docker_ok():
        pytest.skip("needs the Docker engine")
    with serving(tmp_path_factory.mktemp("egress") / "home", DECNET_IMAGES="") as srv:
        yield srv


def sensor_of(name: str, decky: str) -> str:
    (cid,) = docker("ps", "-q", "--filter", f"label=decnet.topology={name}",
                    "--filter", f"label=decnet.decky={decky}",
                    "--filter", "label=decnet.family=sensor").stdout.split()  # fmt: skip
    return cid


def connect_from(container: str, ip: str, port: int) -> str:
    """`connected`, or `refused ERRNO`: a connect from inside `container`."""
    return docker("exec", container, "python3", "-c", CONNECT, ip, str(port)).stdout.strip()


@dataclass
class Maze:
    """A DMZ with the decky `edge` (also on `inner`) and the decky `deep` on the internal LAN
    `inner`; each decky's sensor container; the host's address on each LAN's bridge."""

    name: str
    ips: dict[tuple[str, str], str]
    sensors: dict[str, str]
    bridges: dict[str, str]


@pytest.fixture(scope="module")
def maze(server: Server) -> Maze:
    name = server.new_name()
    dmz, inner = fresh_lans(2)
    server.create_document(
        f"name: {name}\nhost: localhost\nlans:\n  - {{name: dmz, dmz: true, subnet: {dmz}}}\n"
        f"  - {{name: inner, subnet: {inner}}}\n"
        "deckies:\n  - name: edge\n    home: dmz\n    services: [ssh]\n"
        f"    config: {{ssh: {{password: {PASSWORD}}}}}\n"
        "    attach: [inner]\n"
        "  - {name: deep, home: inner, services: [ssh]}\n"
    )
    view = server.deploy(name, TIMEOUT)
    assert view["state"] == "succeeded", view
    ips = {
        (d["name"], m["lan"]): m["ip"]
        for d in server.topology(name)["deckies"]
        for m in d["memberships"]
    }
    for decky, lan in (("edge", "dmz"), ("deep", "inner")):
        wait_for(functools.partial(ssh_up, ips[(decky, lan)]), 300, what=f"{decky}'s ssh")
    bridges = {lan: str(next(ipaddress.ip_network(net).hosts())) for lan, net in
               (("dmz", dmz), ("inner", inner))}  # fmt: skip
    return Maze(name, ips, {d: sensor_of(name, d) for d in ("edge", "deep")}, bridges)


def connects_from(maze: Maze, decky: str, source: str) -> int:
    """The connects from `source` that `decky`'s sensor wrote a line for."""
    found = 0
    for path in (Path(SENSOR_DIR) / maze.name / decky / "sensor").glob("events.jsonl*"):
        for line in path.read_text().splitlines():
            event = json.loads(line).get("event", {})
            found += event.get("kind") == "connect" and event.get("src_ip") == source
    return found


def test_an_internal_lans_sensor_reaches_its_lan_and_no_other(maze: Maze) -> None:
    deep = maze.sensors["deep"]
    assert connect_from(deep, maze.ips[("edge", "inner")], 22) == "connected"
    assert connect_from(deep, maze.ips[("edge", "dmz")], 22).startswith("refused")


def test_the_fake_shell_reaches_nothing_the_sensor_could_reach(maze: Maze) -> None:
    target, edge = maze.ips[("deep", "inner")], maze.ips[("edge", "inner")]
    before = connects_from(maze, "deep", edge)
    assert connect_from(maze.sensors["edge"], target, 22) == "connected"  # the sensor itself can
    wait_for(lambda: connects_from(maze, "deep", edge) == before + 1, 30, what="its line")
    url = f"http://{target}:22/x.sh"
    commands = f"wget {url}; curl -O {url}; nc {target} 22"
    output, _ = ssh_shell(maze.ips[("edge", "dmz")], "root", PASSWORD, commands)
    assert "unable to resolve host address" in output and "Could not resolve host" in output
    time.sleep(3)
    assert connects_from(maze, "deep", edge) == before + 1  # the control connection only


@pytest.mark.parametrize("decky", ["deep", "edge"])
def test_no_lan_reaches_a_service_of_the_host(maze: Maze, decky: str) -> None:
    """A listener on all of the host's addresses, as sshd is: the host itself reaches it on each
    bridge's address, no decky does (the firewall rule of roles/decnet_topology's module)."""
    listener = socket.create_server(("0.0.0.0", 0))
    port = listener.getsockname()[1]
    try:
        for address in maze.bridges.values():
            socket.create_connection((address, port), timeout=3).close()  # it listens there
            reached = connect_from(maze.sensors[decky], address, port)
            assert reached.startswith("refused"), (decky, address, reached)
    finally:
        listener.close()
