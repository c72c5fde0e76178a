"""Collection over real SSH from testbed hosts (docs/observe.md): the agent installed by
prepare.yml, one stream per host with the inventory's connection settings, the lines written on
the hosts by the sensor's real line writer. A host's cable pulled and plugged back: that host
stalls and resumes, the other host's lines keep arriving meanwhile, and in the end every line
of both is one event — nothing lost, nothing doubled."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from collector_thread import collector_following

from decnet.engine.collect import CollectOptions
from decnet.engine.context import Context
from decnet.runner.ansible import PlaybookJob, run_playbook
from decnet.settings import Settings
from decnet.testbed import Testbed

pytestmark = pytest.mark.testbed

FaultFn = Callable[[str, str], None]
WRITER = Path(__file__).resolve().parents[2] / "images/sensor/decnet_sensor/writer.py"
SENSORS = "/var/lib/decnet/sensors"
TOPOLOGY = f"cr-{uuid.uuid4().hex[:6]}"
DRIVER = """
import sys, time
from pathlib import Path
source, count, rate = Path(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
source.mkdir(parents=True, exist_ok=True)
w = LineWriter(source, max_bytes=1024 * 1024, files=5)
start = time.monotonic()
for i in range(count):
    w.write("decnet", {"kind": "connect", "proto": "tcp", "src_ip": "10.66.9.9",
                       "src_port": 1024 + i % 60000, "dst_ip": "10.77.0.2", "dst_port": 22},
            service="ssh", session="s%d" % i)
    delay = start + (i + 1) / rate - time.monotonic()
    if delay > 0:
        time.sleep(delay)
print(w.epoch, w.seq)
"""


def write_on(testbed: Testbed, host: str, source: str, count: int, rate: float) -> tuple[str, int]:
    """Write `count` lines into SENSORS/source on `host` with the real writer; (epoch, seq)."""
    script = WRITER.read_text() + DRIVER
    proc = testbed.exec(host, "python3", "-c", script, f"{SENSORS}/{source}", str(count),
                        str(rate), timeout=count / rate + 120)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    epoch, seq = proc.stdout.split()
    return epoch, int(seq)


@contextmanager
def following(settings: Settings, opts: CollectOptions) -> Iterator[None]:
    with collector_following(lambda: Context.open(settings), opts, join_timeout=120):
        yield


def wait_until(
    check: Callable[[], bool], timeout: float = 60.0, state: Callable[[], object] = lambda: ""
) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting {state()}"
        time.sleep(0.2)


def lines_of(ctx: Context, host: str) -> list[str]:
    """The lines of this test's sources on `host` (`host:TOPOLOGY/...`): a host may hold others."""
    rows = ctx.store.query_events(type_glob="attack.connect", limit=1_000_000)
    mine = f"{host}:{TOPOLOGY}/"
    return [r.payload["line"] for r in rows if r.payload["line"].startswith(mine)]


def all_of(ctx: Context, host: str, count: int) -> None:
    """Wait for `count` lines of `host`; on a timeout, say how far collection got."""
    wait_until(
        lambda: len(lines_of(ctx, host)) == count,
        90,
        lambda: (host, len(lines_of(ctx, host)), count, ctx.store.collect_hosts().get(host)),
    )


def test_a_host_link_down_and_back_loses_and_doubles_nothing(
    testbed: Testbed, fault: FaultFn, tmp_path: Path
) -> None:
    prep = run_playbook(PlaybookJob("prepare.yml", testbed.inventory_path, tmp_path / "prepare"))
    assert prep.status == "successful", {h: o.messages for h, o in prep.hosts.items()}
    for host in ("h1", "h2"):  # the agent is where the contract says, installed by the role
        installed = testbed.exec(host, "test", "-x", "/usr/local/lib/decnet/decnet-collect")
        assert installed.returncode == 0
    home = tmp_path / "home"
    home.mkdir()
    settings = Settings(db_path=tmp_path / "decnet.db", home=home, inventory=testbed.inventory_path)
    ctx = Context.open(settings)
    src1, src2 = f"{TOPOLOGY}/a/sensor", f"{TOPOLOGY}/b/sensor"
    opts = CollectOptions(stall_after=3.0, retry_min=0.5, retry_max=2.0)
    written: dict[str, tuple[str, int]] = {}
    try:
        write_on(testbed, "h1", src1, 200, 1000)
        write_on(testbed, "h2", src2, 100, 1000)
        with following(settings, opts):
            wait_until(lambda: len(lines_of(ctx, "h1")) == 200 and len(lines_of(ctx, "h2")) == 100)

            def up() -> bool:
                rows = ctx.store.collect_hosts()
                return all(h in rows and rows[h].state == "connected" for h in ("h1", "h2"))

            wait_until(up, 30)
            writers = {
                "h1": threading.Thread(target=lambda: written.update(h1=write_on(
                    testbed, "h1", src1, 600, 40))),
                "h2": threading.Thread(target=lambda: written.update(h2=write_on(
                    testbed, "h2", src2, 600, 40))),
            }  # fmt: skip
            for t in writers.values():
                t.start()
            time.sleep(2)
            fault("h1", "link-down")
            wait_until(lambda: bool(ctx.store.query_events(type_glob="collect.stalled")), 60)
            during = len(lines_of(ctx, "h2"))
            time.sleep(3)
            assert len(lines_of(ctx, "h2")) > during  # the other host is not held up
            fault("h1", "link-up")
            wait_until(lambda: bool(ctx.store.query_events(type_glob="collect.resumed")), 90)
            for t in writers.values():
                t.join()
            for host in ("h1", "h2"):
                all_of(ctx, host, written[host][1])
        (stalled,) = ctx.store.query_events(type_glob="collect.stalled")
        assert stalled.payload["host"] == "h1"
        for host, source in (("h1", src1), ("h2", src2)):
            epoch, last = written[host]
            lines = lines_of(ctx, host)
            expected = [f"{host}:{source}#{epoch}:{s}" for s in range(1, last + 1)]
            assert sorted(lines) == sorted(expected)
        assert ctx.store.query_events(type_glob="collect.gap") == []
    finally:
        ctx.store.close()
        for host in ("h1", "h2"):
            testbed.exec(host, "rm", "-rf", f"{SENSORS}/{TOPOLOGY}")
