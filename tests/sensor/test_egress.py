"""Contained (docs/sensors.md, "Downloads" and "Contained"): sensors deployed by `decnet serve`,
tried from inside. The sensor of a decky on an internal LAN reaches its LAN and not another LAN
of the maze; the fake shell of a DMZ decky, asked by an intruder to fetch from a listener the
sensor itself can reach, reaches nothing (`wget`, `curl`, `nc` answer as on a host without a
network). The host's own addresses still answer a decky network: a known gap, held by a strict
xfail so that its fix is noticed. Every target is an address of this test's own."""

from __future__ import annotations

import functools
import ipaddress
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sensor_support import docker, docker_ok, ssh_shell
from serve_support import Server, serving, wait_for
from subnet_pools import fresh_lans

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


class Listener:
    """A TCP listener of the test's own on one address: who connected."""

    def __init__(self, address: str) -> None:
        self.sock = socket.create_server((address, 0))
        self.port = self.sock.getsockname()[1]
        self.peers: list[str] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, peer = self.sock.accept()
            except OSError:
                return
            self.peers.append(peer[0])
            conn.close()

    def close(self) -> None:
        self.sock.close()


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


def ssh_up(ip: str) -> bool:
    try:
        with socket.create_connection((ip, 22), timeout=2) as s:
            s.settimeout(5)
            return s.recv(64).startswith(b"SSH-2.0-")
    except OSError:
        return False


@dataclass
class Maze:
    """A DMZ with the decky `edge` (also on `inner`) and the decky `deep` on the internal LAN
    `inner`; each decky's sensor container, and a listener of the test's own on the DMZ
    bridge's host address."""

    name: str
    ips: dict[tuple[str, str], str]
    sensors: dict[str, str]
    gateway: str
    listener: Listener


@pytest.fixture(scope="module")
def maze(server: Server) -> Iterator[Maze]:
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
    wait_for(functools.partial(ssh_up, ips[("edge", "dmz")]), 300, what="the edge's ssh")
    gateway = str(next(ipaddress.ip_network(dmz).hosts()))
    listener = Listener(gateway)
    try:
        sensors = {d: sensor_of(name, d) for d in ("edge", "deep")}
        yield Maze(name, ips, sensors, gateway, listener)
    finally:
        listener.close()


def test_an_internal_lans_sensor_reaches_its_lan_and_no_other(maze: Maze) -> None:
    deep = maze.sensors["deep"]
    assert connect_from(deep, maze.ips[("edge", "inner")], 22) == "connected"
    assert connect_from(deep, maze.ips[("edge", "dmz")], 22).startswith("refused")


def test_the_fake_shell_fetches_nothing_the_sensor_could_reach(maze: Maze) -> None:
    listener, gateway = maze.listener, maze.gateway
    before = len(listener.peers)
    assert connect_from(maze.sensors["edge"], gateway, listener.port) == "connected"
    wait_for(lambda: len(listener.peers) == before + 1, 10, what="the control connection")
    url = f"http://{gateway}:{listener.port}/x.sh"
    commands = f"wget {url}; curl -O {url}; nc {gateway} {listener.port}"
    output, _ = ssh_shell(maze.ips[("edge", "dmz")], "root", PASSWORD, commands)
    assert "unable to resolve host address" in output and "Could not resolve host" in output
    time.sleep(2)
    assert len(listener.peers) == before + 1, listener.peers  # the control connection only


@pytest.mark.xfail(
    strict=True,
    reason="known gap (docs/sensors.md, Contained): the host's own addresses answer a decky "
    "network — a host service listening on all addresses is reachable from every LAN",
)
def test_the_host_is_not_reachable_from_an_internal_lan(maze: Maze) -> None:
    reached = connect_from(maze.sensors["deep"], maze.gateway, maze.listener.port)
    assert reached.startswith("refused"), reached
