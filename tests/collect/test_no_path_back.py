"""No path from the maze back (docs/observe.md): collection runs on the host side of the
engine and listens nowhere; the controller's API listens on loopback. From a container on a
decky network — an internal LAN and a DMZ — no listening port of ours (the API of
`decnet serve` with its in-process collector, the agent) can be reached. A listener of the
test's own on every address proves the probe would see one that could."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from collect_support import DECNET, context, decnet_env, local_inventory, wait_until, write, writer

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from subnet_pools import fresh_lans

pytestmark = pytest.mark.docker
IMAGE = "decnet-lure:0.1"
LABEL = "decnet.test=no-path-back"
_LISTEN = re.compile(r"^LISTEN\s+\S+\s+\S+\s+(\S+):(\d+)\s+\S+\s+users:(.*)$")


def docker(
    *args: str, check: bool = True, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=check,
                          timeout=timeout)  # fmt: skip


def listeners(pids: set[int]) -> list[tuple[str, int]]:
    """(address, port) of every TCP socket the processes `pids` listen on."""
    out = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True, check=True).stdout
    found = []
    for line in out.splitlines():
        match = _LISTEN.match(line.strip())
        if match and {int(p) for p in re.findall(r"pid=(\d+)", match[3])} & pids:
            found.append((match[1].strip("[]"), int(match[2])))
    return found


def children(pid: int) -> set[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    kids = {int(p) for p in out.split()}
    return kids.union(*(children(k) for k in kids)) if kids else set()


@contextmanager
def serve(tmp: Path, inventory: Path) -> Iterator[tuple[subprocess.Popen[str], int]]:
    env = {**decnet_env(tmp), "DECNET_INVENTORY": str(inventory)}
    argv = [str(DECNET), "serve", "--bind", "127.0.0.1:0", "--no-watch"]
    proc = subprocess.Popen(
        argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        assert proc.stdout is not None
        port = 0
        for line in proc.stdout:
            if m := re.search(r"listening on http://127\.0\.0\.1:(\d+)", line):
                port = int(m[1])
                break
        assert port, "decnet serve did not start"
        yield proc, port
    finally:
        proc.terminate()
        proc.wait(timeout=60)


@contextmanager
def network(internal: bool) -> Iterator[tuple[str, str]]:
    subnet = fresh_lans(1)[0]
    name = f"nopath-{uuid.uuid4().hex[:8]}"
    args = ["network", "create", "--label", LABEL, "--subnet", subnet]
    docker(*args, *(["--internal"] if internal else []), name)
    try:
        gateway = docker("network", "inspect", name, "--format",
                         "{{(index .IPAM.Config 0).Gateway}}").stdout.strip()  # fmt: skip
        yield name, gateway or subnet.rsplit(".", 1)[0] + ".1"
    finally:
        docker("network", "rm", name, check=False)


def probe(net: str, targets: list[tuple[str, int]]) -> dict[tuple[str, int], bool]:
    """From a container on `net`: which targets accept a TCP connection."""
    script = "; ".join(
        f"nc -w 2 {ip} {port} </dev/null >/dev/null 2>&1 && echo {ip}:{port}=open "
        f"|| echo {ip}:{port}=closed"
        for ip, port in targets
    )
    out = docker("run", "--rm", "--label", LABEL, "--network", net, "--entrypoint", "/bin/sh",
                 IMAGE, "-c", script).stdout  # fmt: skip
    seen = dict(line.split("=") for line in out.split())
    return {(ip, port): seen[f"{ip}:{port}"] == "open" for ip, port in targets}


@contextmanager
def control_listener() -> Iterator[int]:
    """A listener of the test's own on every address: the probe must find it open."""
    sock = socket.socket()
    sock.bind(("0.0.0.0", 0))
    sock.listen(8)
    stop = threading.Event()

    def accept() -> None:
        sock.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
                conn.close()
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield sock.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        sock.close()


def test_no_port_of_ours_is_reachable_from_a_decky_network(tmp_path: Path) -> None:
    if shutil.which("docker") is None or docker("image", "inspect", IMAGE, check=False).returncode:
        pytest.skip(f"needs the Docker engine and {IMAGE}")
    sensors = tmp_path / "sensors"
    inventory = local_inventory(tmp_path, sensors)
    write(writer(sensors / "np" / "gw" / "sensor"), 3)
    ctx = context(tmp_path, inventory)
    with serve(tmp_path, inventory) as (proc, port), control_listener() as control:

        def connected() -> bool:
            row = ctx.store.collect_hosts().get("localhost")
            return row is not None and row.state == "connected"

        wait_until(connected, 120)
        ours = {proc.pid, *children(proc.pid)}
        agents = [p for p in ours if "decnet-collect" in Path(f"/proc/{p}/cmdline").read_text()]
        assert agents, "the in-process collector runs its agent"
        assert listeners(set(agents)) == []  # the agent listens nowhere
        assert listeners(ours) == [("127.0.0.1", port)]  # the server: loopback only
        for internal in (True, False):
            with network(internal) as (net, gateway):
                ports = {port, control, *(p for _, p in listeners(ours))}
                result = probe(net, [(gateway, p) for p in sorted(ports)])
                # The probe sees an open port when there is one. (It does from an internal
                # LAN too: a host service bound to every address is reachable from the maze
                # through the bridge's address — docs/observe.md, "No path from the maze back".)
                assert result.pop((gateway, control))
                assert not any(result.values()), (net, result)
