"""The real sensor image on the local engine, collected: real clients (a TCP connect with an SSH
banner to Cowrie, an HTTP GET and a Redis AUTH to OpenCanary) become attack events attributed to
the maze — topology, decky, LAN (from the stored memberships), service, source. Needs the image
`decnet-sensor:0.1` (`decnet image build sensor`, branch sensor-img); skipped without it."""

from __future__ import annotations

import contextlib
import ipaddress
import os
import shutil
import socket
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from collect_support import collector_thread, context, local_inventory, wait_until

from decnet.engine.collect import CollectOptions
from decnet.engine.topologies import create_topology
from decnet.models import Decky, Lan, Membership, Topology

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from local_engine import listening
from subnet_pools import fresh_lans

pytestmark = pytest.mark.docker
IMAGE = "decnet-sensor:0.1"
HARDENING = ["--read-only", "--cap-drop", "ALL", "--security-opt", "no-new-privileges:true",
             "--user", "999:999", "--tmpfs", "/tmp"]  # fmt: skip


def docker(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=check,
                          timeout=180)  # fmt: skip


@contextmanager
def sensor(source: Path, subnet: str, ip: str, services: str) -> Iterator[str]:
    """The hardened sensor container on an internal network of its own, writing to `source`."""
    tag = uuid.uuid4().hex[:8]
    net, name = f"dn-collect-{tag}", f"dn-collect-{tag}"
    source.mkdir(parents=True)
    os.chown(source, 999, 999)
    source.chmod(0o750)
    docker("network", "create", "--internal", "--subnet", subnet, net)
    try:
        docker("run", "-d", "--name", name, "--network", net, "--ip", ip, *HARDENING,
               "-v", f"{source}:/var/lib/decnet-sensor", "-e", f"DECNET_SERVICES={services}",
               "-e", "DECNET_TOPOLOGY=t", "-e", "DECNET_DECKY=gw", "-e", "DECNET_HEARTBEAT=2",
               IMAGE)  # fmt: skip
        yield name
    finally:
        docker("rm", "-f", name, check=False)
        docker("network", "rm", net, check=False)


def test_real_clients_against_the_real_sensor_become_attributed_events(tmp_path: Path) -> None:
    if shutil.which("docker") is None or docker("image", "inspect", IMAGE, check=False).returncode:
        pytest.skip(f"needs the Docker engine and the sensor image {IMAGE}")
    subnet = fresh_lans(1)[0]
    ip = str(ipaddress.ip_network(subnet)[10])
    sensors = tmp_path / "sensors"
    inventory = local_inventory(tmp_path, sensors)
    ctx = context(tmp_path, inventory)
    name = f"rs-{uuid.uuid4().hex[:6]}"
    t = Topology(
        name=name, host="localhost", lans=[Lan(name="dmz", is_dmz=True, subnet=subnet)],
        deckies=[Decky(name="gw", home_lan="dmz", services=["ssh", "http", "redis"],
                       memberships=[Membership(lan="dmz", ip=ip)])],
    )  # fmt: skip
    create_topology(ctx.store, t, catalog=ctx.catalog)
    ctx.store.transition(name, "deploying", reason="test")
    ctx.store.transition(name, "active", reason="test")
    source = sensors / name / "gw" / "sensor"
    with sensor(source, subnet, ip, "ssh=22/tcp http=80/tcp redis=6379/tcp"):
        for port in (22, 80, 6379):
            listening(ip, port)
        with collector_thread(tmp_path, inventory, CollectOptions()):
            with socket.create_connection((ip, 22), timeout=20) as s:
                s.sendall(b"SSH-2.0-decnet_test\r\n")
                assert s.recv(256).startswith(b"SSH-2.0-")
            with contextlib.suppress(urllib.error.HTTPError):  # a refusal is an answer too
                urllib.request.urlopen(f"http://{ip}/admin.php", timeout=20).read()
            with socket.create_connection((ip, 6379), timeout=20) as s:
                s.sendall(b"*2\r\n$4\r\nAUTH\r\n$7\r\nfoobar1\r\n")
                s.recv(256)

            def seen() -> dict[str, list[dict[str, object]]]:
                found: dict[str, list[dict[str, object]]] = {}
                for row in ctx.store.query_events(type_glob="attack.*"):
                    found.setdefault(row.type, []).append(row.payload)
                return found

            wait_until(lambda: {"attack.request", "attack.login"} <= set(seen())
                       and len(seen().get("attack.connect", [])) >= 3, 90)  # fmt: skip
            wait_until(lambda: ctx.store.collect_sources()[0].sensor_kind == "heartbeat", 30)
    events = seen()
    connects = {p["service"] for p in events["attack.connect"]}
    assert {"ssh", "http", "redis"} <= connects
    (request,) = [p for p in events["attack.request"] if p["path"] == "/admin.php"]
    (login,) = [p for p in events["attack.login"] if p["service"] == "redis"]
    assert login["password"] == "foobar1" and login["outcome"] == "failure"
    for p in [*events["attack.connect"], request, login]:
        assert (p["topology"], p["decky"], p["lan"], p["host"]) == (name, "gw", "dmz", "localhost")
        assert p["dst_ip"] == ip and ipaddress.ip_address(p["src_ip"]) in ipaddress.ip_network(
            subnet
        )
    sessions = {p["session"] for p in events["attack.connect"] if p["service"] == "redis"}
    assert login["session"] in sessions  # the login belongs to its connection
