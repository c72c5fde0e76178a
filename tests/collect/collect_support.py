"""What the collection tests share: sources written by the sensor's real line writer, the real
agent as a process, and a controller context on a local inventory."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from collector_thread import collector_following
from decnet_sensor.writer import LineWriter

from decnet.engine.context import Context
from decnet.runner.streams import LOCAL_AGENT, Frame, parse_frame
from decnet.settings import Settings

REPO = Path(__file__).resolve().parents[2]
DECNET = Path(sys.executable).with_name("decnet")


def connect_event(i: int, src: str = "10.66.0.9", dst: str = "10.77.0.2") -> dict[str, Any]:
    return {"kind": "connect", "proto": "tcp", "src_ip": src, "src_port": 1024 + i % 60000,
            "dst_ip": dst, "dst_port": 22}  # fmt: skip


def writer(source: Path, *, max_bytes: int = 64 * 1024, files: int = 5) -> LineWriter:
    source.mkdir(parents=True, exist_ok=True)
    return LineWriter(source, max_bytes=max_bytes, files=files)


def write(w: LineWriter, n: int, **kw: Any) -> list[int]:
    """`n` connect lines (each its own session); the seqs written."""
    seqs = []
    for _ in range(n):
        assert w.write("decnet", connect_event(w.seq, **kw), service="ssh", session=f"s{w.seq}")
        seqs.append(w.seq)
    return seqs


@dataclass
class Agent:
    """The real agent as a process, driven as the controller drives it."""

    proc: subprocess.Popen[bytes]
    frames: list[Frame] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def send(self, message: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write((json.dumps(message) + "\n").encode())
        self.proc.stdin.flush()

    def read_all(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            with self.lock:
                self.frames.append(parse_frame(raw.rstrip(b"\n")))

    def of(self, kind: type) -> list[Any]:
        with self.lock:
            return [f for f in self.frames if isinstance(f, kind)]

    def wait_for(self, check: Callable[[], bool], timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; frames so far: {self.frames[-5:]}")
            time.sleep(0.02)


@contextmanager
def agent(
    sensor_dir: Path,
    cursors: dict[str, list[Any]] | None = None,
    retired: list[str] | None = None,
    *args: str,
) -> Iterator[Agent]:
    argv = [sys.executable, str(LOCAL_AGENT), "--sensor-dir", str(sensor_dir), "--poll", "0.02",
            "--status-every", "0.5", *args]  # fmt: skip
    proc = subprocess.Popen(
        argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    a = Agent(proc)
    a.send({"op": "start", "cursors": cursors or {}, "retired": retired or []})
    reader = threading.Thread(target=a.read_all, daemon=True)
    reader.start()
    try:
        yield a
    finally:
        if proc.poll() is None:
            assert proc.stdin is not None
            proc.stdin.close()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        reader.join(timeout=5)
        _close(proc.stdout, proc.stderr)


def _close(*streams: IO[bytes] | None) -> None:
    for s in streams:
        if s is not None:
            s.close()


def local_inventory(tmp: Path, sensor_dir: Path, **extra: Any) -> Path:
    """A one-host inventory: this machine as `localhost`, its sensors under `sensor_dir`."""
    host = {"ansible_connection": "local", "decnet_sensor_dir": str(sensor_dir), **extra}
    path = tmp / "inventory.yml"
    path.write_text(json.dumps({"all": {"hosts": {"localhost": host}}}))
    return path


def context(tmp: Path, inventory: Path) -> Context:
    home = tmp / "home"
    home.mkdir(exist_ok=True)
    return Context.open(Settings(db_path=tmp / "decnet.db", home=home, inventory=inventory))


def decnet_env(tmp: Path) -> dict[str, str]:
    return {**os.environ, "DECNET_HOME": str(tmp / "home"), "DECNET_DB": str(tmp / "decnet.db")}


@contextmanager
def collector_process(tmp: Path, inventory: Path, *args: str) -> Iterator[subprocess.Popen[str]]:
    """`decnet collect -i INVENTORY` following, as its own process; stopped (SIGTERM) after."""
    proc = subprocess.Popen(
        [str(DECNET), "collect", "-i", str(inventory), *args],
        env=decnet_env(tmp), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        _close_text(proc)


def _close_text(proc: subprocess.Popen[str]) -> None:
    for s in (proc.stdout, proc.stderr):
        if s is not None:
            s.close()


def collect_once(tmp: Path, inventory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(DECNET), "collect", "-i", str(inventory), "--once", "--json", *args],
        env=decnet_env(tmp), capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def wait_until(check: Callable[[], bool], timeout: float = 30.0, every: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(every)


def maze(ctx: Context, name: str, *, live: bool = True) -> Any:
    """A stored two-LAN topology on `localhost`: decky `gw` on dmz and inner, `db` on inner;
    active (as after a deploy) unless `live` is False (pending: its sources are retired)."""
    from decnet.engine.topologies import create_topology
    from decnet.models import Decky, Lan, Membership, Topology

    t = Topology(
        name=name,
        host="localhost",
        lans=[Lan(name="dmz", is_dmz=True), Lan(name="inner")],
        deckies=[
            Decky(name="gw", home_lan="dmz", services=["ssh"],
                  memberships=[Membership(lan="dmz"), Membership(lan="inner")]),
            Decky(name="db", home_lan="inner", services=["redis"],
                  memberships=[Membership(lan="inner")]),
        ],
    )  # fmt: skip
    stored = create_topology(ctx.store, t, catalog=ctx.catalog)
    if live:
        ctx.store.transition(name, "deploying", reason="test")
        stored = ctx.store.transition(name, "active", reason="test")
    return stored


def ip_of(topology: Any, decky: str, lan: str) -> str:
    d = next(d for d in topology.deckies if d.name == decky)
    return str(next(m.ip for m in d.memberships if m.lan == lan))


@contextmanager
def collector_thread(tmp: Path, inventory: Path, opts: Any) -> Iterator[None]:
    """A Collector following in a thread of this process; stopped and joined after."""
    with collector_following(lambda: context(tmp, inventory), opts):
        yield
