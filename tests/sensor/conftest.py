"""Run decnet's sensor emulators the way the image does: Debian's python3 in a venv with the
image's Twisted, one emulator per process (`decnet_sensor.emulators.testserve`) on loopback,
its events read back as JSON lines from its stdout (helpers: emu_support.py)."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from emu_support import SENSOR_SRC, Emulator, free_port, venv_python


@pytest.fixture(scope="session")
def emu_python() -> Path:
    return venv_python()


@pytest.fixture
def serve(emu_python: Path, tmp_path: Path) -> Iterator[Callable[..., Emulator]]:
    """serve(service, ["25/tcp", …], config={}, tls=[465]) -> a running Emulator."""
    started: list[Emulator] = []

    def start(
        service: str,
        ports: list[str],
        config: dict[str, str] | None = None,
        tls: tuple[int, ...] = (),
        transport: tuple[int, ...] = (),
        hostname: str = "decky01",
        idle: float = 0,
    ) -> Emulator:
        mapping: dict[tuple[int, str], int] = {}
        for spec in ports:
            port, _, proto = spec.partition("/")
            proto = proto or "tcp"
            kind = socket.SOCK_DGRAM if proto == "udp" else socket.SOCK_STREAM
            mapping[(int(port), proto)] = free_port(kind)
        # one real port for a logical port of both protocols (DNS 53/udp + 53/tcp)
        for port, proto in list(mapping):
            if proto == "udp" and (port, "tcp") in mapping:
                mapping[(port, "tcp")] = mapping[(port, "udp")]
        real = sorted({f"{mapping[k]}/{k[1]}" for k in mapping})
        args = [
            str(emu_python),
            "-m",
            "decnet_sensor.emulators.testserve",
            service,
            ",".join(real),
            "--hostname",
            hostname,
            "--state",
            str(tmp_path),
        ]
        for port in tls:
            args += ["--tls", str(mapping[(port, "tcp")])]
        if idle:
            args += ["--idle", str(idle)]
        for port in transport:
            args += ["--transport", str(mapping[(port, "tcp")])]
        args += [f"{k}={v}" for k, v in (config or {}).items()]
        env = {**os.environ, "PYTHONPATH": str(SENSOR_SRC), "PYTHONDONTWRITEBYTECODE": "1"}
        proc = subprocess.Popen(
            args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
        )
        emu = Emulator(proc, mapping)
        started.append(emu)
        return emu

    yield start
    for emu in started:
        crashed = emu.proc.poll() is not None
        emu.proc.terminate()
        try:
            emu.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            emu.proc.kill()
            emu.proc.wait()
        time.sleep(0.1)  # the stderr reader's last lines
        log = "".join(emu.stderr)
        # hostile input must never crash the process nor raise inside a protocol handler
        assert not crashed, log
        assert "Traceback" not in log and "Unhandled" not in log, log
