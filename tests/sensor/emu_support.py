"""What the emulator tests share: a venv like the image's, a running emulator's handle, free
ports, and hostile variants of valid messages to fuzz a listener with."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import queue
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

SENSOR_SRC = Path(__file__).resolve().parents[2] / "images" / "sensor"
sys.path.insert(0, str(SENSOR_SRC))  # the emulators' pure parsers, imported by the unit tests

DEBIAN_PYTHON = "/usr/bin/python3"
# What the image's venv resolves for these (cowrie 3.1.4's pins); emulators add nothing.
VENV_PACKAGES = [
    "twisted==26.4.0",
    "pyopenssl==26.4.0",
    "cryptography==50.0.2",
    "service-identity==26.1.0",
]
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "decnet-tests"


def venv_python() -> Path:
    """A venv of Debian's python3 with VENV_PACKAGES (built once per machine, shared by
    xdist workers under a file lock)."""
    key = hashlib.sha256("\n".join(VENV_PACKAGES).encode()).hexdigest()[:12]
    venv = CACHE / f"emu-venv-{key}"
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / f"emu-venv-{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (venv / "ok").exists():
            env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
            env["PIP_CONFIG_FILE"] = os.devnull  # the host's pip config is not the image's
            subprocess.run([DEBIAN_PYTHON, "-m", "venv", "--clear", str(venv)], check=True)
            subprocess.run(
                [
                    str(venv / "bin/pip"),
                    "install",
                    "-q",
                    "--disable-pip-version-check",
                    *VENV_PACKAGES,
                ],
                check=True,
                env=env,
            )
            (venv / "ok").touch()
    return venv / "bin" / "python"


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Emulator:
    """One running testserve: `port(logical)` is where a logical port listens; `events()`."""

    def __init__(self, proc: subprocess.Popen[str], ports: dict[tuple[int, str], int]) -> None:
        self.proc = proc
        self.ports = ports
        self.lines: queue.Queue[dict[str, Any]] = queue.Queue()
        self.seen: list[dict[str, Any]] = []
        self.stderr: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._read_err, daemon=True).start()
        deadline = time.monotonic() + 30
        while True:
            try:
                ready = self.lines.get(timeout=0.2)
                break
            except queue.Empty:
                if proc.poll() is not None or time.monotonic() > deadline:
                    time.sleep(0.2)
                    raise AssertionError(
                        f"emulator did not start: {''.join(self.stderr)}"
                    ) from None
        assert ready == {"ready": True}, ready

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(json.loads(line))

    def _read_err(self) -> None:
        assert self.proc.stderr is not None
        self.stderr.extend(self.proc.stderr)

    def port(self, logical: int, proto: str = "tcp") -> int:
        return self.ports[(logical, proto)]

    def events(self, count: int = 1, timeout: float = 10, **match: Any) -> list[dict[str, Any]]:
        """Wait until `count` events (of all so far) match every `match` field; return them."""
        deadline = time.monotonic() + timeout
        while True:
            found = [e for e in self.seen if all(e.get(k) == v for k, v in match.items())]
            if len(found) >= count:
                return found
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {count} event(s) matching {match}; got {self.seen}")
            with contextlib.suppress(queue.Empty):
                self.seen.append(self.lines.get(timeout=left))

    def drain(self, settle: float = 0.3) -> list[dict[str, Any]]:
        """Every event so far (after `settle` seconds without a new one)."""
        with contextlib.suppress(queue.Empty):
            while True:
                self.seen.append(self.lines.get(timeout=settle))
        return self.seen

    def alive(self) -> bool:
        return self.proc.poll() is None


def mutations(seeds: list[bytes], rounds: int, seed: int = 14) -> Iterator[bytes]:
    """Hostile variants of valid messages: truncated, bit-flipped, random bytes, huge."""
    import random

    rnd = random.Random(seed)
    for i in range(rounds):
        base = seeds[i % len(seeds)]
        pick = i % 5
        if pick == 0 and base:
            yield base[: rnd.randrange(len(base))]
        elif pick == 1 and base:
            b = bytearray(base)
            for _ in range(1 + len(b) // 8):
                b[rnd.randrange(len(b))] = rnd.randrange(256)
            yield bytes(b)
        elif pick == 2:
            yield rnd.randbytes(rnd.randrange(1, 600))
        elif pick == 3:
            yield base + b"\xff" * 70000
        else:
            yield base * rnd.randrange(2, 50)


def fuzz_tcp(port: int, seeds: list[bytes], rounds: int = 25, prefix: bytes = b"") -> None:
    """Send each mutation on a fresh connection (after a valid `prefix`), read what comes."""
    for payload in mutations(seeds, rounds):
        with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
            s.settimeout(0.15)
            with contextlib.suppress(OSError):
                s.sendall(prefix + payload)
                while s.recv(65536):
                    pass


def fuzz_udp(port: int, seeds: list[bytes], rounds: int = 25) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.1)
        for payload in mutations(seeds, rounds):
            with contextlib.suppress(OSError):
                s.sendto(payload[:65000], ("127.0.0.1", port))
                s.recv(65536)
