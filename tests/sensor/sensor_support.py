"""Running the real sensor image on the local engine, and real clients against it.

Every container runs as the render will run it (SENSORS-DESIGN.md, docs/sensors.md): read-only
root, all capabilities dropped, no-new-privileges, uid 999, a tmpfs at /tmp, a host directory
owned by 999 at /var/lib/decnet-sensor. Clients talk to it from the host over the bridge of an
internal network this module creates (a subnet from tests/subnet_pools.py).
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import paramiko

from decnet.engine.images import SENSOR_IMAGE, build_images
from decnet.settings import Settings

DOCKER_TIMEOUT = 120
START_TIMEOUT = 60.0
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


def docker(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["docker", *args], capture_output=True, text=True, timeout=DOCKER_TIMEOUT, check=check
    )


def docker_ok() -> bool:
    try:
        return docker("info", check=False).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def ensure_sensor_image() -> str:
    """Build (or find current) decnet-sensor once per machine state: the images carry the
    digest of their inputs, so a second session only inspects them. The build uses the
    controller's DECNET_HOME caches (wheels, Debian packages), like `decnet image build`.
    Concurrent xdist workers wait on one lock file; the first builds, the others find it."""
    home = Settings.from_env().home
    (home / "cache").mkdir(parents=True, exist_ok=True)
    with open(home / "cache" / ".image-build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        results = build_images(["sensor"], home=home, if_missing=True)
    return next(r.image_id for r in results if r.name == "sensor")


@contextmanager
def internal_network(subnet: str) -> Iterator[tuple[str, str]]:
    """(name, subnet) of an internal bridge network, removed afterwards."""
    name = f"dn-sensor-{secrets.token_hex(4)}"
    docker("network", "create", "--internal", "--subnet", subnet, name)
    try:
        yield name, subnet
    finally:
        docker("network", "rm", name, check=False)


def state_dir(parent: Path) -> Path:
    path = parent / f"state-{secrets.token_hex(3)}"
    path.mkdir()
    os.chown(path, 999, 999)
    path.chmod(0o750)
    return path


class SensorBox:
    """One sensor container: started hardened, its events file readable from the host."""

    def __init__(
        self, network: str, ip: str, state: Path, env: dict[str, str], image: str = SENSOR_IMAGE
    ) -> None:
        self.network, self.ip, self.state, self.env = network, ip, state, env
        self.image = image
        """By id in the tests: the tag may move on a shared engine while a test runs."""
        self.name = f"dn-sensor-{secrets.token_hex(4)}"

    def start(self, *, wait: bool = True) -> SensorBox:
        argv = ["run", "-d", "--name", self.name, "--network", self.network, "--ip", self.ip]
        argv += ["--hostname", self.env.get("DECNET_DECKY", "decky"), *HARDENING]
        argv += ["-v", f"{self.state}:/var/lib/decnet-sensor"]
        argv += [x for k, v in self.env.items() for x in ("-e", f"{k}={v}")]
        docker(*argv, self.image)
        if wait:
            starts = len(self.lines(lambda d: d["event"].get("kind") == "sensor.start"))
            self.wait(lambda d: d["event"].get("kind") == "sensor.start", count=starts + 1)
        return self

    def remove(self) -> None:
        docker("rm", "-f", self.name, check=False)

    def logs(self) -> str:
        proc = docker("logs", self.name, check=False)
        return proc.stdout + proc.stderr

    def files(self) -> list[Path]:
        return sorted(p for p in self.state.iterdir() if p.name.startswith("events.jsonl"))

    def raw(self) -> list[bytes]:
        out: list[bytes] = []
        for path in self.files():
            out += path.read_bytes().splitlines()
        return out

    def events(self) -> list[dict[str, Any]]:
        return sorted((json.loads(line) for line in self.raw()), key=lambda d: d["seq"])

    def lines(self, pred: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
        return [d for d in self.events() if pred(d)]

    def wait(
        self,
        pred: Callable[[dict[str, Any]], bool],
        *,
        count: int = 1,
        timeout: float = START_TIMEOUT,
    ) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        found: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            found = self.lines(pred) if self.files() else []
            if len(found) >= count:
                return found
            time.sleep(0.2)
        raise AssertionError(
            f"{self.name}: {len(found)} of {count} expected lines after {timeout} s; "
            f"logs: {self.logs()[-2000:]}; last lines: {self.raw()[-5:]}"
        )

    def processes(self) -> list[int]:
        out = docker("top", self.name, "-eo", "pid").stdout.split()[1:]
        return [int(p) for p in out]


def cowrie(eventid: str) -> Callable[[dict[str, Any]], bool]:
    return lambda d: d["sensor"] == "cowrie" and d["event"].get("eventid") == eventid


def canary(logtype: int) -> Callable[[dict[str, Any]], bool]:
    return lambda d: d["sensor"] == "opencanary" and d["event"].get("logtype") == logtype


def decnet(kind: str, service: str | None = None) -> Callable[[dict[str, Any]], bool]:
    return lambda d: (
        d["sensor"] == "decnet"
        and d["event"].get("kind") == kind
        and (service is None or d.get("service") == service)
    )


# --- clients ----------------------------------------------------------------------------------


def ssh_shell(ip: str, username: str, password: str, command: str) -> tuple[str, str]:
    """(the command's terminal output, the host key's SHA-256 fingerprint). An interactive
    shell, as an intruder's client opens one (Cowrie answers paramiko's exec requests before
    their reply is expected: cowrie/cowrie#141)."""
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    try:
        client.connect(
            ip,
            22,
            username=username,
            password=password,
            allow_agent=False,
            look_for_keys=False,
            timeout=20,
            banner_timeout=20,
            auth_timeout=20,
        )
        key = client.get_transport().get_remote_server_key()  # type: ignore[union-attr]
        channel = client.invoke_shell()
        channel.settimeout(20)
        read_until(channel.recv, b"# ")
        channel.send(command.encode() + b"\n")
        output = read_until(channel.recv, b"# ")
        return output.decode("utf-8", "replace"), key.fingerprint
    finally:
        client.close()


def ssh_up(ip: str) -> bool:
    """Something on `ip:22` greets as an SSH server (a sensor that has started)."""
    try:
        with socket.create_connection((ip, 22), timeout=2) as s:
            s.settimeout(5)
            return s.recv(64).startswith(b"SSH-2.0-")
    except OSError:
        return False


def host_key(ip: str) -> str:
    transport = paramiko.Transport((ip, 22))
    try:
        transport.start_client(timeout=20)
        return str(transport.get_remote_server_key().fingerprint)
    finally:
        transport.close()


def read_until(
    recv: Callable[[int], bytes], marker: bytes | tuple[bytes, ...], limit: float = 20.0
) -> bytes:
    """Read until the output ends with `marker` (or one of them), the peer closes, or `limit`."""
    ends = tuple(m.rstrip() for m in ((marker,) if isinstance(marker, bytes) else marker))
    data = b""
    deadline = time.monotonic() + limit
    while not data.rstrip().endswith(ends) and time.monotonic() < deadline:
        try:
            chunk = recv(4096)
        except TimeoutError:
            break
        if not chunk:
            break
        data += chunk
    return data


def telnet_session(ip: str, username: bytes, password: bytes, command: bytes) -> bytes:
    """Log in over Telnet (answering no option negotiation) and run one command."""
    with socket.create_connection((ip, 23), timeout=20) as s:
        read_until(s.recv, b"login:")
        s.sendall(username + b"\r\n")
        read_until(s.recv, b"Password:")
        s.sendall(password + b"\r\n")
        banner = read_until(s.recv, (b"# ", b"login:"))
        if not banner.rstrip().endswith(b"#"):
            return banner
        s.sendall(command + b"\r\n")
        return read_until(s.recv, b"# ")


def redis_commands(ip: str, *commands: list[bytes]) -> list[bytes]:
    replies = []
    with socket.create_connection((ip, 6379), timeout=20) as s:
        for parts in commands:
            frame = b"*%d\r\n" % len(parts) + b"".join(
                b"$%d\r\n%s\r\n" % (len(p), p) for p in parts
            )
            s.sendall(frame)
            replies.append(s.recv(4096))
    return replies


def _ber(tag: int, value: bytes) -> bytes:
    assert len(value) < 128
    return bytes([tag, len(value)]) + value


def snmp_get(ip: str, community: bytes, oid: bytes) -> bytes | None:
    """An SNMPv2c GetRequest for one OID (BER-encoded `oid`), the raw reply or None."""
    varbind = _ber(0x30, _ber(0x06, oid) + _ber(0x05, b""))
    pdu = _ber(0x02, b"\x07") + _ber(0x02, b"\x00") + _ber(0x02, b"\x00") + _ber(0x30, varbind)
    message = _ber(0x30, _ber(0x02, b"\x01") + _ber(0x04, community) + _ber(0xA0, pdu))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(3)
        s.sendto(message, (ip, 161))
        try:
            return s.recv(4096)
        except TimeoutError:
            return None
