"""Observation benchmark (issue 15; docs/observe.md): ingest, connect -> SSE latency, a flood.

1. Ingest: LINES sensor lines (the sensor's real writer) in four sources of one local host;
   the collector takes them into the bus (agent, stream, normalise, one transaction per round
   with the cursors). Sustained events/s = events / (last commit - first commit), from the
   events' own times. Baseline in the same run: the very rows it wrote (events and their
   attack index rows) inserted raw (sqlite3 executemany, one transaction per 5,000) into a
   fresh database of the same schema. Goal >= 5,000/s and within 3x of the raw insert.
2. Latency: the real sensor image (decnet-sensor:0.1) on an internal network, `decnet serve`'s
   server with its in-process collector, one SSE client; TCP connects to the decky's port 80;
   connect -> `attack.connect` of that source port on the client. Goal p50 <= 0.5 s,
   p99 <= 2 s. Skipped without the image. With --remote (root; holds the testbed lock, boots
   h1, tears it down after): a one-decky topology deployed on h1 by decnet (the sensor image
   shipped), collected over SSH; the connects made from inside h1's networks; both ends
   timed by this machine's clock, which h1 shares. Goal p99 <= 3 s.
3. Flood: FLOOD lines written as fast as the writer goes into one source of host A while host
   B (a second local host with its own sensor dir) gets 20 lines/s; the collector follows both.
   Every flood line counted once; the agent's peak memory and CPU and the collector process's;
   B's line -> commit lag before and during the flood.

Run: .venv/bin/python bench/observe.py [--lines N] [--flood N] [--connects N] [--remote]
"""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import json
import os
import resource
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import httpx
from httpx_sse import connect_sse

from decnet.api.config import API_PREFIX, ApiConfig
from decnet.api.server import ThreadedServer
from decnet.engine.collect import CollectOptions, Collector
from decnet.engine.context import Context
from decnet.engine.lifecycle import deploy, teardown
from decnet.engine.tokens import Role, create_token
from decnet.engine.topologies import generate_topology
from decnet.models import GeneratorParams
from decnet.settings import Settings
from decnet.store import Store
from decnet.testbed import Testbed

REPO = Path(__file__).resolve().parents[1]
WRITER = REPO / "images" / "sensor" / "decnet_sensor" / "writer.py"
SENSOR_IMAGE = "decnet-sensor:0.1"
INGEST_GOAL = 5000.0
RAW_RATIO_GOAL = 3.0
P50_GOAL, P99_GOAL, REMOTE_P99_GOAL = 0.5, 2.0, 3.0
AGENT_MB_GOAL = 64.0
WRITE_LINES = """
import json, sys, time
from pathlib import Path
source, count, rate = Path(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
source.mkdir(parents=True, exist_ok=True)
w = LineWriter(source, max_bytes=16 * 1024 * 1024, files=10)
start = time.monotonic()
for i in range(count):
    src = "10.66.%d.%d" % (i // 250 % 250, i % 250 + 1)
    w.write("decnet", {"kind": "connect", "proto": "tcp", "src_ip": src, "dst_port": 22,
                       "src_port": 1024 + i % 60000, "dst_ip": "10.77.0.2"},
            service="ssh", session="s%d" % i)
    if rate:
        delay = start + (i + 1) / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
print(json.dumps([w.epoch, w.seq]))
"""


def write_lines(source: Path, count: int, rate: float = 0.0) -> subprocess.Popen[str]:
    """The sensor's real writer in a process of its own (its CPU is not the collector's)."""
    script = WRITER.read_text() + WRITE_LINES
    return subprocess.Popen(
        [sys.executable, "-c", script, str(source), str(count), str(rate)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip


def inventory(tmp: Path, hosts: dict[str, Path]) -> Path:
    doc = {"all": {"hosts": {h: {"ansible_connection": "local", "decnet_sensor_dir": str(d)}
                             for h, d in hosts.items()}}}  # fmt: skip
    path = tmp / "inventory.yml"
    path.write_text(json.dumps(doc))
    return path


def settings(tmp: Path, inv: Path, db: str = "decnet.db") -> Settings:
    home = tmp / "home"
    home.mkdir(exist_ok=True)
    return Settings(db_path=tmp / db, home=home, inventory=inv)


@contextmanager
def following(s: Settings, opts: CollectOptions) -> Iterator[threading.Event]:
    stop = threading.Event()

    def run() -> None:
        ctx = Context.open(s)
        try:
            Collector(ctx, opts).run(stop.is_set)
        finally:
            ctx.store.close()

    thread = threading.Thread(target=run, name="bench-collector")
    thread.start()
    try:
        yield stop
    finally:
        stop.set()
        thread.join()


def seconds(a: str, b: str) -> float:
    return (datetime.fromisoformat(b) - datetime.fromisoformat(a)).total_seconds()


# --- 1. ingest --------------------------------------------------------------------------------


def ingest(tmp: Path, lines: int) -> tuple[float, float]:
    sensors = tmp / "ingest"
    per = lines // 4
    procs = [write_lines(sensors / "bench" / f"d{i}" / "sensor", per) for i in range(4)]
    for p in procs:
        p.communicate()
    s = settings(tmp, inventory(tmp, {"localhost": sensors}), "ingest.db")
    ctx = Context.open(s)
    started = time.monotonic()
    report = Collector(ctx, CollectOptions(once=True)).run()
    wall = time.monotonic() - started
    n = report.hosts["localhost"].events
    first, last = ctx.store.conn.execute(
        "SELECT min(at), max(at) FROM event WHERE topic = 'attack'"
    ).fetchone()
    rate = n / max(seconds(first, last), 1e-6)
    print(f"ingest: {n} of {per * 4} lines -> events in {wall:.1f} s wall (agent start included)")
    print(f"  sustained (first to last commit): {rate:8.0f} events/s")
    raw = raw_insert(ctx.store, tmp / "raw.db")
    ctx.store.close()
    print(f"  raw sqlite3 insert of the same rows (events + index rows): {raw:8.0f} events/s")
    return rate, raw


def raw_insert(store: Store, path: Path) -> float:
    events = store.conn.execute(
        "SELECT id, at, topic, topology_id, topology, type, payload FROM event "
        "WHERE topic = 'attack' ORDER BY id"
    ).fetchall()
    attacks = store.conn.execute("SELECT * FROM attack ORDER BY event_id").fetchall()
    Store(path).close()  # the same schema, migrated
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = ON")
    started = time.perf_counter()
    for i in range(0, len(events), 5000):
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany("INSERT INTO event VALUES (?,?,?,?,?,?,?)", events[i : i + 5000])
        conn.executemany(
            "INSERT INTO attack VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", attacks[i : i + 5000]
        )
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn.close()
    return len(events) / elapsed


# --- 2. latency -------------------------------------------------------------------------------


def latency(tmp: Path, connects: int) -> list[float] | None:
    probe = subprocess.run(["docker", "image", "inspect", SENSOR_IMAGE], capture_output=True)
    if shutil.which("docker") is None or probe.returncode:
        print(f"latency: skipped (needs the Docker engine and {SENSOR_IMAGE})")
        return None
    sensors = tmp / "latency"
    source = sensors / "lat" / "gw" / "sensor"
    source.mkdir(parents=True)
    os.chown(source, 999, 999)
    subnet = f"10.209.{uuid.uuid4().int % 250 + 1}.0/24"  # outside the test and demo pools
    ip = str(ipaddress.ip_network(subnet)[10])
    s = settings(tmp, inventory(tmp, {"localhost": sensors}), "latency.db")
    with Store(s.db_path) as store:
        _, token = create_token(store, "bench", Role.VIEWER)
    with sensor(source, subnet, ip):
        config = ApiConfig(settings=s, web_dir=str(tmp / "no-web"), watch=False, collect=True)
        server = ThreadedServer(config).start()
        try:
            return measure_latency(server.url, token, connects, local_connects(ip, connects))
        finally:
            server.stop()


@contextmanager
def sensor(source: Path, subnet: str, ip: str) -> Iterator[None]:
    tag = uuid.uuid4().hex[:8]
    net, name = f"bench-obs-{tag}", f"bench-obs-{tag}"
    hardening = ["--read-only", "--cap-drop", "ALL", "--security-opt", "no-new-privileges:true",
                 "--user", "999:999", "--tmpfs", "/tmp"]  # fmt: skip
    subprocess.run(["docker", "network", "create", "--internal", "--subnet", subnet, net],
                   check=True, capture_output=True)  # fmt: skip
    try:
        subprocess.run(["docker", "run", "-d", "--name", name, "--network", net, "--ip", ip,
                        *hardening, "-v", f"{source}:/var/lib/decnet-sensor",
                        "-e", "DECNET_SERVICES=http=80/tcp", SENSOR_IMAGE],
                       check=True, capture_output=True)  # fmt: skip
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection((ip, 80), timeout=1):
                break
            time.sleep(0.5)
        yield
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True)
        subprocess.run(["docker", "network", "rm", net], capture_output=True)


Connects = Callable[[], dict[int, float]]
"""Makes the connects; each one's source port and wall time (`time.time()`: a testbed host
shares this machine's clock)."""


def local_connects(ip: str, connects: int) -> Connects:
    def run() -> dict[int, float]:
        sent = {}
        for _ in range(connects):
            with socket.create_connection((ip, 80), timeout=5) as s:
                sent[s.getsockname()[1]] = time.time()
            time.sleep(0.05)
        return sent

    return run


def measure_latency(url: str, token: str, connects: int, connect: Connects) -> list[float]:
    sent: dict[int, float] = {}
    got: dict[int, float] = {}
    ready, done = threading.Event(), threading.Event()

    def listen() -> None:
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=url + API_PREFIX, headers=headers, timeout=None) as c:  # noqa: SIM117
            with connect_sse(c, "GET", "/events/stream") as events:
                for frame in events.iter_sse():
                    ready.set()
                    if frame.event == "attack.connect":
                        port = json.loads(frame.data)["payload"]["src_port"]
                        got.setdefault(port, time.time())
                    if done.is_set() and len(got) >= connects and all(p in got for p in sent):
                        return

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    ready.wait(30)
    time.sleep(3)  # the collector's stream is up
    sent.update(connect())
    done.set()
    thread.join(60)
    lat = sorted(got[p] - t for p, t in sent.items() if p in got)
    print(f"latency: TCP connect on a decky -> attack.connect on an SSE client, {len(lat)} of "
          f"{connects} seen")  # fmt: skip
    return lat


REMOTE_CONNECTS = """
import socket, sys, time
ip, count = sys.argv[1], int(sys.argv[2])
deadline = time.monotonic() + 300
while True:  # the sensor starts on the host after the deploy returns
    try:
        socket.create_connection((ip, 80), timeout=2).close()
        break
    except OSError:
        if time.monotonic() > deadline:
            sys.exit(f"nothing answers on {ip}:80")
        time.sleep(1)
time.sleep(3)  # that first connect's event is not measured
for _ in range(count):
    with socket.create_connection((ip, 80), timeout=5) as s:
        print(s.getsockname()[1], time.time(), flush=True)
    time.sleep(0.05)
"""


def remote_latency(tmp: Path, connects: int) -> list[float]:
    """The latency leg against a decky deployed on testbed host h1 (real sensor, shipped by
    the deploy), collected over SSH by the server's in-process collector; the connects are
    made from inside h1's networks."""
    tb = Testbed()
    with tb.lock(wait=1800):
        try:
            if tb.check_clean():  # we hold the lock: a crashed run of ours left it
                tb.down()
            tb.up(1)
            return _remote_latency(tmp, tb, connects)
        finally:
            tb.down()
            print(f"testbed after down: {tb.check_clean() or 'clean'}")


def _remote_latency(tmp: Path, tb: Testbed, connects: int) -> list[float]:
    s = settings(tmp, tb.inventory_path, "remote.db")
    ctx = Context.open(s)
    name = f"bench-obs-{os.getpid()}"
    params = GeneratorParams(name=name, depth=1, branching=1, deckies_min=1, deckies_max=1,
                             services=["http"], seed=5)  # fmt: skip
    try:
        generate_topology(ctx.store, params, host="h1", catalog=ctx.catalog)
        report = deploy(ctx, [name])
        assert report.ok, [(t.status, t.reason) for t in report.topologies]
        ip = next(
            m.ip for d in ctx.store.get_topology(name).deckies if "http" in d.services
            for m in d.memberships
        )  # fmt: skip
        _, token = create_token(ctx.store, "bench", Role.VIEWER)
        config = ApiConfig(settings=s, web_dir=str(tmp / "no-web"), watch=False, collect=True)
        server = ThreadedServer(config).start()
        try:
            return measure_latency(server.url, token, connects, on_h1(tb, str(ip), connects))
        finally:
            server.stop()
    finally:
        with contextlib.suppress(Exception):
            teardown(ctx, [name])
        ctx.store.close()


def on_h1(tb: Testbed, ip: str, connects: int) -> Connects:
    def run() -> dict[int, float]:
        out = tb.exec("h1", sys.executable, "-c", REMOTE_CONNECTS, ip, str(connects),
                      timeout=600, check=True, network_only=True).stdout  # fmt: skip
        return {int(port): float(at) for port, at in (line.split() for line in out.splitlines())}

    return run


# --- 3. flood ---------------------------------------------------------------------------------


def proc_stats(pid: int) -> tuple[float, float]:
    """(peak resident MB, CPU seconds) of a process."""
    status = Path(f"/proc/{pid}/status").read_text()
    hwm = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM"))
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return hwm / 1024, (int(fields[11]) + int(fields[12])) / ticks


def agents() -> dict[str, int]:
    """sensor dir -> pid of each agent this process runs."""
    out = subprocess.run(["pgrep", "-P", str(os.getpid())], capture_output=True, text=True)
    found = {}
    for pid in map(int, out.stdout.split()):
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        if any(b"decnet-collect" in c for c in cmd):
            found[cmd[cmd.index(b"--sensor-dir") + 1].decode()] = pid
    return found


def lags(store: Store, host: str, since_id: int) -> list[float]:
    rows = store.conn.execute(
        "SELECT e.at, a.observed_at FROM attack a JOIN event e ON e.id = a.event_id "
        "WHERE a.host = ? AND a.event_id > ?",
        (host, since_id),
    ).fetchall()
    return sorted(seconds(observed, at) for at, observed in rows)


def flood(tmp: Path, count: int) -> tuple[bool, float, float]:
    a_dir, b_dir = tmp / "flood-a", tmp / "flood-b"
    s = settings(tmp, inventory(tmp, {"hosta": a_dir, "hostb": b_dir}), "flood.db")
    store = Store(s.db_path)
    usage0 = resource.getrusage(resource.RUSAGE_SELF)
    rss0 = usage0.ru_maxrss / 1024
    trickle = write_lines(b_dir / "fl" / "b" / "sensor", 20 * 600, 20.0)
    with following(s, CollectOptions()):
        time.sleep(8)  # B alone: its lag at rest
        mark = int(store.conn.execute("SELECT coalesce(max(id), 0) FROM event").fetchone()[0])
        quiet = lags(store, "hostb", 0)
        started = time.monotonic()
        writer = write_lines(a_dir / "fl" / "a" / "sensor", count)
        epoch_seq = json.loads(writer.communicate()[0])
        written_in = time.monotonic() - started
        deadline = time.monotonic() + 300

        def counted() -> int:
            row = store.conn.execute("SELECT count(*) FROM attack WHERE host = 'hosta'").fetchone()
            return int(row[0])

        while counted() < count and time.monotonic() < deadline:
            time.sleep(0.2)
        took = time.monotonic() - started
        busy = lags(store, "hostb", mark)
        pids = agents()
        a_mb, a_cpu = proc_stats(pids[str(a_dir)]) if str(a_dir) in pids else (0.0, 0.0)
    trickle.kill()
    trickle.wait()
    usage1 = resource.getrusage(resource.RUSAGE_SELF)
    distinct = store.conn.execute(
        "SELECT count(DISTINCT line), count(*) FROM attack WHERE host = 'hosta'"
    ).fetchone()
    gaps = store.conn.execute("SELECT count(*) FROM event WHERE type = 'collect.gap'").fetchone()
    store.close()
    cpu = (usage1.ru_utime + usage1.ru_stime) - (usage0.ru_utime + usage0.ru_stime)
    once = distinct[0] == distinct[1] == count == epoch_seq[1] and gaps[0] == 0
    print(f"flood: {count} lines written in {written_in:.1f} s; all counted after {took:.1f} s; "
          f"distinct {distinct[0]}, rows {distinct[1]}, gaps {gaps[0]}")  # fmt: skip
    print(f"  agent (host A): peak {a_mb:.1f} MB resident, {a_cpu:.1f} s CPU "
          f"({a_cpu / count * 1e6:.0f} us/line)")  # fmt: skip
    rss1 = usage1.ru_maxrss / 1024
    print(f"  collector process: {cpu:.1f} s CPU ({cpu / count * 1e6:.0f} us/line), peak "
          f"{rss1:.0f} MB resident ({rss1 - rss0:+.0f} MB over the run)")  # fmt: skip
    q50 = statistics.median(quiet) if quiet else float("nan")
    b50 = statistics.median(busy) if busy else float("nan")
    b99 = busy[int(len(busy) * 0.99)] if busy else float("nan")
    print(f"  host B line -> commit: p50 {q50 * 1e3:.0f} ms alone; during the flood p50 "
          f"{b50 * 1e3:.0f} ms, p99 {b99 * 1e3:.0f} ms ({len(busy)} lines)")  # fmt: skip
    return once, a_mb, b50 / q50 if q50 and busy else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=40_000, help="Lines of the ingest leg.")
    parser.add_argument("--flood", type=int, default=100_000, help="Lines of the flood.")
    parser.add_argument("--connects", type=int, default=200, help="Connects of the latency leg.")
    remote_help = "Also the latency leg to testbed host h1 over SSH (root)."
    parser.add_argument("--remote", action="store_true", help=remote_help)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        rate, raw = ingest(tmp, args.lines)
        lat = latency(tmp, args.connects)
        remote = remote_latency(tmp, args.connects) if args.remote else None
        once, agent_mb, b_ratio = flood(tmp, args.flood)
    print()
    ratio = raw / rate
    print(f"ingest {rate:.0f}/s (goal >= {INGEST_GOAL:.0f}): "
          f"{'ok' if rate >= INGEST_GOAL else 'MISSED'}")  # fmt: skip
    print(f"raw insert / ingest = {ratio:.2f} (goal <= {RAW_RATIO_GOAL}): "
          f"{'ok' if ratio <= RAW_RATIO_GOAL else 'MISSED'}")  # fmt: skip
    if lat:
        p50, p99 = statistics.median(lat), lat[min(len(lat) - 1, int(len(lat) * 0.99))]
        verdict = "ok" if p50 <= P50_GOAL and p99 <= P99_GOAL else "MISSED"
        print(f"latency p50 {p50 * 1e3:.0f} ms, p99 {p99 * 1e3:.0f} ms (goal <= "
              f"{P50_GOAL * 1e3:.0f} / {P99_GOAL * 1e3:.0f} ms): {verdict}")  # fmt: skip
    else:
        print("latency: not measured (no sensor image)")
    if remote:
        p50, p99 = statistics.median(remote), remote[min(len(remote) - 1, int(len(remote) * 0.99))]
        verdict = "ok" if p99 <= REMOTE_P99_GOAL else "MISSED"
        goal = f"goal p99 <= {REMOTE_P99_GOAL * 1e3:.0f} ms"
        print(f"latency over SSH from testbed host h1: p50 {p50 * 1e3:.0f} ms, p99 "
              f"{p99 * 1e3:.0f} ms ({goal}): {verdict}")  # fmt: skip
    else:
        print("latency over SSH to a testbed host: not measured (run with --remote)")
    print(f"host B's lag during the flood / alone = {b_ratio:.2f}")
    bounded = "ok" if 0 < agent_mb < AGENT_MB_GOAL else "MISSED"
    print(f"flood counted once: {'ok' if once else 'MISSED'}; agent memory bounded "
          f"(< {AGENT_MB_GOAL:.0f} MB): {bounded}")  # fmt: skip


if __name__ == "__main__":
    main()
