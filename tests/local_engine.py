"""The local Docker engine as the tests leave it: everything of a topology a test deployed on
this machine goes, whichever way it was deployed (engine, API, `decnet serve`, plain Ansible)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

BUNDLE_DIR = Path("/var/lib/decnet/topologies")
SENSOR_DIR = Path("/var/lib/decnet/sensors")


def docker(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["docker", *args], capture_output=True, text=True, timeout=60, check=check
    )


def remove_labelled(name: str) -> None:
    """Everything of topology `name` on this machine: containers, networks, bundle, sensor lines."""
    ids = docker("ps", "-aq", "--filter", f"label=decnet.topology={name}", check=False).stdout
    if ids.split():
        docker("rm", "-f", "-v", *ids.split(), check=False)
    nets = docker(
        "network", "ls", "-q", "--filter", f"label=decnet.topology={name}", check=False
    ).stdout.split()
    if nets:
        docker("network", "rm", *nets, check=False)
    shutil.rmtree(BUNDLE_DIR / name, ignore_errors=True)
    shutil.rmtree(SENSOR_DIR / name, ignore_errors=True)  # the lines its sensors wrote


def listening(ip: str, port: int, timeout: float = 90) -> None:
    """Wait until something accepts TCP connections on `ip:port` (a decky's service)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((ip, port), timeout=2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise AssertionError(f"{ip}:{port} never listened") from None
            time.sleep(0.5)
