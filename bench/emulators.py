"""Memory of decnet's own sensor emulators (images/sensor/decnet_sensor/emulators).

Each run starts a fresh interpreter of the sensor's Python (Debian's python3 in a venv with the
image's Twisted), imports Twisted's reactor and application layer (what the launcher has loaded
anyway: the baseline), then imports, builds and starts the named emulators on free loopback
ports (implicit-TLS ports as the catalogue has them, so the certificate and pyOpenSSL count) and
reads /proc/self/smaps_rollup. Prints the PSS and anonymous memory each emulator adds alone,
and all of them together in one process (what one decky running every service would pay).

Run: .venv/bin/python bench/emulators.py [--python PATH] [SERVICE…]
(PATH defaults to the test venv tests/sensor builds under ~/.cache/decnet-tests.)
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SERVICES = ["smtp", "imap", "pop3", "postgres", "ldap", "mqtt", "dns", "elasticsearch", "smb"]
CATALOG_PORTS = {
    "smtp": [(25, "tcp"), (587, "tcp")],
    "imap": [(143, "tcp"), (993, "tcp")],
    "pop3": [(110, "tcp"), (995, "tcp")],
    "postgres": [(5432, "tcp")],
    "ldap": [(389, "tcp"), (636, "tcp")],
    "mqtt": [(1883, "tcp")],
    "dns": [(53, "udp"), (53, "tcp")],
    "elasticsearch": [(9200, "tcp"), (9300, "tcp")],
    "smb": [(445, "tcp"), (139, "tcp")],
}
TLS = {465, 636, 993, 995}

PROBE = r"""
import importlib, json, pathlib, sys, tempfile
def mem():
    out = {}
    for line in open("/proc/self/smaps_rollup"):
        k, v = line.split()[:2]
        if k in ("Pss:", "Anonymous:"):
            out[k[:-1].lower()] = int(v)
    return out
from twisted.internet import reactor, protocol
from twisted.application import internet, service
from twisted.protocols import basic, policies
base = mem()
from decnet_sensor.emulators import _common
from decnet_sensor.emulators.base import EmulatorContext
plan = json.loads(sys.argv[1])
_common.LISTEN_INTERFACE = "127.0.0.1"
_common.IMPLICIT_TLS_PORTS = set(plan["tls"])
top = service.MultiService()
state = pathlib.Path(tempfile.mkdtemp())
for name, ports in plan["services"].items():
    mod = importlib.import_module(f"decnet_sensor.emulators.{name}")
    if name == "elasticsearch":
        mod.TRANSPORT_PORTS = set(plan["transport"])
    ctx = EmulatorContext(name, [tuple(p) for p in ports], {}, "bench01", state / name, print)
    ctx.state_dir.mkdir()
    for s in mod.build(ctx):
        s.setServiceParent(top)
top.startService()
after = mem()
print(json.dumps({k: after[k] - base[k] for k in after} | {"base_pss": base["pss"]}))
"""


def free_port(kind: int) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def measure(python: Path, names: list[str]) -> dict[str, int]:
    services: dict[str, list[tuple[int, str]]] = {}
    tls: list[int] = []
    transport: list[int] = []
    for name in names:
        mapped: dict[int, int] = {}
        ports = []
        for port, proto in CATALOG_PORTS[name]:
            kind = socket.SOCK_DGRAM if proto == "udp" else socket.SOCK_STREAM
            real = mapped.setdefault(port, free_port(kind))
            ports.append((real, proto))
            if port in TLS:
                tls.append(real)
            if port == 9300:
                transport.append(real)
        services[name] = ports
    plan = json.dumps({"services": services, "tls": tls, "transport": transport})
    env = {"PYTHONPATH": str(ROOT / "images" / "sensor"), "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [str(python), "-c", PROBE, plan], capture_output=True, text=True, env=env, check=True
    )
    result: dict[str, int] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def default_python() -> Path:
    found = sorted((Path.home() / ".cache" / "decnet-tests").glob("emu-venv-*/bin/python"))
    if not found:
        sys.exit("error: no emulator venv\nhint: run `pytest tests/sensor` once, or pass --python")
    return found[-1]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--python", type=Path)
    p.add_argument("services", nargs="*", default=SERVICES)
    a = p.parse_args()
    python = a.python or default_python()
    print(f"{'emulator':<16}{'+PSS MiB':>10}{'+anon MiB':>11}   (baseline: Twisted loaded)")
    for name in a.services:
        m = measure(python, [name])
        print(f"{name:<16}{m['pss'] / 1024:>10.1f}{m['anonymous'] / 1024:>11.1f}")
    m = measure(python, a.services)
    print(f"{'all together':<16}{m['pss'] / 1024:>10.1f}{m['anonymous'] / 1024:>11.1f}")
    print(f"baseline PSS (python + Twisted reactor): {m['base_pss'] / 1024:.1f} MiB")


if __name__ == "__main__":
    main()
