"""Sensor memory benchmark: idle PSS of decnet-sensor containers (goals in issue 14, never
asserted in tests).

Runs hardened sensor containers (as the render will: read-only, no capabilities, uid 999,
tmpfs /tmp, a state directory) on an internal network of its own and, once every one has
written `sensor.start` and idled for --idle seconds, reads the PSS of each container's
processes (tini and the sensor) from /proc/PID/smaps_rollup. Scenarios:

  linux-server    one container, ssh + http (the commonest archetype)
  legacy-host     one container, ftp + telnet + vnc + snmp (four services, three sensors)
  ten             ten linux-server containers started together: PSS per container and in
                  total (file-backed pages of the shared image are split between them), and
                  the time until all ten wrote `sensor.start`

Goal: <= 70 MB PSS per decky on average (a decky also has its base container, ~1 MB).
Everything it creates is removed at the end. Run as root: .venv/bin/python bench/sensors.py
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from decnet.engine.images import SENSOR_IMAGE, build_images
from decnet.settings import Settings

SCENARIOS: dict[str, tuple[int, str]] = {
    "linux-server": (1, "ssh=22/tcp http=80/tcp"),
    "legacy-host": (1, "ftp=21/tcp telnet=23/tcp vnc=5900/tcp snmp=161/udp"),
    "ten": (10, "ssh=22/tcp http=80/tcp"),
}
HARDENING = [
    "--read-only",
    "--cap-drop",
    "ALL",
    "--security-opt",
    "no-new-privileges:true",
    "--user",
    "999:999",
    "--tmpfs",
    "/tmp",
]


def docker(*args: str) -> str:
    return subprocess.run(
        ["docker", *args], capture_output=True, text=True, check=True, timeout=300
    ).stdout


def pss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    return 0


def container_pss(name: str) -> int:
    pids = [int(p) for p in docker("top", name, "-eo", "pid").split()[1:]]
    return sum(pss_kib(pid) for pid in pids)


def started(state: Path) -> bool:
    path = state / "events.jsonl"
    if not path.exists():
        return False
    return any(json.loads(line)["event"].get("kind") == "sensor.start" for line in path.open())


@contextlib.contextmanager
def network() -> Iterator[tuple[str, str]]:
    name = f"dn-bench-sensors-{secrets.token_hex(3)}"
    prefix = f"10.249.{secrets.randbelow(250) + 1}"
    docker("network", "create", "--internal", "--subnet", f"{prefix}.0/24", name)
    try:
        yield name, prefix
    finally:
        subprocess.run(["docker", "network", "rm", name], capture_output=True, check=False)


def scenario(net: tuple[str, str], count: int, services: str, idle: float) -> dict[str, float]:
    names: list[str] = []
    with tempfile.TemporaryDirectory(prefix="decnet-bench-sensors-") as tmp:
        states = []
        try:
            start = time.monotonic()
            for i in range(count):
                state = Path(tmp) / f"s{i}"
                state.mkdir()
                os.chown(state, 999, 999)
                states.append(state)
                name = f"{net[0]}-{i}"
                names.append(name)
                docker(
                    "run", "-d", "--name", name, "--network", net[0],
                    "--ip", f"{net[1]}.{10 + i}", *HARDENING,
                    "-v", f"{state}:/var/lib/decnet-sensor",
                    "-e", f"DECNET_SERVICES={services}", "-e", "DECNET_SSH_PASSWORD=bench",
                    "-e", "DECNET_HEARTBEAT=0", SENSOR_IMAGE,
                )  # fmt: skip
            while not all(started(s) for s in states):
                if time.monotonic() - start > 300:
                    raise RuntimeError("sensors did not start within 300 s")
                time.sleep(0.2)
            ready = time.monotonic() - start
            time.sleep(idle)
            per = [container_pss(n) / 1024 for n in names]
        finally:
            for n in names:
                subprocess.run(["docker", "rm", "-f", n], capture_output=True, check=False)
    return {
        "containers": count,
        "start_s": round(ready, 1),
        "pss_mib_avg": round(sum(per) / len(per), 1),
        "pss_mib_min": round(min(per), 1),
        "pss_mib_max": round(max(per), 1),
        "pss_mib_total": round(sum(per), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--idle", type=float, default=10.0, help="idle seconds before reading")
    parser.add_argument("--only", choices=sorted(SCENARIOS), action="append")
    args = parser.parse_args()
    build_images(["sensor"], home=Settings.from_env().home, if_missing=True)
    rows = []
    with network() as net:
        for name in args.only or list(SCENARIOS):
            count, services = SCENARIOS[name]
            rows.append({"scenario": name, **scenario(net, count, services, args.idle)})
            print(json.dumps(rows[-1]), flush=True)
    load = os.getloadavg()
    print(f"load average during the run: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")


if __name__ == "__main__":
    main()
