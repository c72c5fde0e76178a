"""The collector end to end on this machine (`ansible_connection: local`): real agent, real
sources written by the sensor's writer, the store, the CLI. Nothing lost and nothing doubled
across a SIGKILLed collector and a restart; lines rotated away while it was down are one
`collect.gap` with the exact count; a retired source is collected before it is removed; a
host that stops reporting is `collect.stalled`, then `collect.resumed`; connects add up to a
scan."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path

from collect_support import (
    DECNET,
    collect_once,
    collector_process,
    collector_thread,
    context,
    decnet_env,
    ip_of,
    local_inventory,
    maze,
    wait_until,
    write,
    writer,
)

from decnet.engine.collect import CollectOptions, Collector
from decnet.runner.streams import LOCAL_AGENT, AgentOptions


def name() -> str:
    return f"co-{uuid.uuid4().hex[:6]}"


def attack_lines(ctx: object, glob: str = "attack.*") -> list[str]:
    rows = ctx.store.query_events(type_glob=glob, limit=1_000_000)  # type: ignore[attr-defined]
    return [r.payload["line"] for r in rows]


def agents_of(sensor_dir: Path) -> list[int]:
    """Pids of agents still running on `sensor_dir`."""
    out = subprocess.run(["pgrep", "-f", f"decnet-collect --sensor-dir {sensor_dir} "],
                         capture_output=True, text=True)  # fmt: skip
    return [int(p) for p in out.stdout.split()]


def test_lines_become_events_attributed_to_the_maze(tmp_path: Path) -> None:
    sensors = tmp_path / "sensors"
    ctx = context(tmp_path, local_inventory(tmp_path, sensors))
    t = maze(ctx, name())
    gw_inner, db = ip_of(t, "gw", "inner"), ip_of(t, "db", "inner")
    gw = writer(sensors / t.name / "gw" / "sensor")
    dbw = writer(sensors / t.name / "db" / "sensor")
    src = "10.66.1.5"
    ends: dict[str, object] = {"src_ip": src, "src_port": 5000}
    gw.write("decnet", {"kind": "sensor.start", "version": "0.1.0"})
    ends |= {"dst_ip": gw_inner, "dst_port": 22}
    ssh = {"service": "ssh", "session": "a1"}
    gw.write("decnet", {"kind": "connect", "proto": "tcp", **ends}, **ssh)
    login = {"eventid": "cowrie.login.success", "username": "root", "password": "x"}
    gw.write("cowrie", {**login, **ends}, **ssh)
    gw.write("cowrie", {"eventid": "cowrie.command.input", "input": "uname -a", **ends}, **ssh)
    time.sleep(0.01)  # the path is ordered by sensor time
    dbw.write("opencanary", {"logtype": 17001, "logdata": {"CMD": "AUTH", "ARGS": "hunter2"},
                             "src_host": src, "src_port": 5001, "dst_host": db,
                             "dst_port": 6379}, service="redis", session="b1")  # fmt: skip
    report = Collector(ctx, CollectOptions(once=True)).run()
    assert report.ok and report.hosts["localhost"].events == 4
    rows = ctx.store.query_events(type_glob="attack.*")
    rows.sort(key=lambda r: str(r.payload["observed_at"]))
    assert [(r.type, r.payload["decky"], r.payload["lan"], r.topology) for r in rows] == [
        ("attack.connect", "gw", "inner", t.name),
        ("attack.login", "gw", "inner", t.name),
        ("attack.command", "gw", "inner", t.name),
        ("attack.login", "db", "inner", t.name),
    ]
    assert rows[3].payload["password"] == "hunter2" and rows[3].payload["service"] == "redis"
    assert {r.payload["host"] for r in rows} == {"localhost"}
    # the attacker's view, through the CLI as a user runs it
    env = decnet_env(tmp_path)
    listed = subprocess.run([str(DECNET), "attackers", "--json"], env=env, capture_output=True,
                            text=True, check=True)  # fmt: skip
    (row,) = json.loads(listed.stdout)
    assert row["src_ip"] == src and row["events"] == 4 and row["logins"] == 2
    assert row["logins_succeeded"] == 1 and row["commands"] == 1
    assert [(s["decky"], s["lan"]) for s in row["path"]] == [("gw", "inner"), ("db", "inner")]
    shown = subprocess.run([str(DECNET), "attackers", "show", src, "--json"], env=env,
                           capture_output=True, text=True, check=True)  # fmt: skip
    sessions = json.loads(shown.stdout)["sessions"]
    assert [(s["session"], len(s["events"])) for s in sessions] == [("a1", 3), ("b1", 1)]
    inventory = str(tmp_path / "inventory.yml")
    hosts = subprocess.run([str(DECNET), "hosts", "-i", inventory, "--json"], env=env,
                           capture_output=True, text=True, check=True)  # fmt: skip
    (health,) = [h["collect"] for h in json.loads(hosts.stdout)]
    assert health["lag_lines"] == 0 and health["gaps"] == 0 and health["last_line_at"]
    starts = {s["source"]: s["sensor"] for s in health["sources"]}
    assert starts == {f"{t.name}/gw/sensor": "start", f"{t.name}/db/sensor": None}


def test_sigkill_and_restart_lose_and_double_nothing(tmp_path: Path) -> None:
    sensors = tmp_path / "sensors"
    inventory = local_inventory(tmp_path, sensors)
    ctx = context(tmp_path, inventory)
    # room for ~5,000 lines per source: no outage of this test (each start of a collector takes
    # seconds on a loaded machine) may rotate a line away, so every one must arrive
    sources = [writer(sensors / "kt" / f"d{i}" / "sensor", files=20) for i in range(3)]
    stop = threading.Event()
    written = [0]

    def produce() -> None:  # ~150 lines/s over three sources, for as long as the test runs
        while not stop.is_set():
            for w in sources:
                write(w, 5)
                written[0] += 5
            time.sleep(0.1)

    producer = threading.Thread(target=produce)
    producer.start()
    try:
        with collector_process(tmp_path, inventory) as first:
            wait_until(lambda: len(attack_lines(ctx)) > 100, timeout=90)
            os.killpg(first.pid, signal.SIGKILL)  # the collector and nothing else of its group
            first.wait()
        wait_until(lambda: agents_of(sensors) == [], timeout=15)  # its agent ended with it
        time.sleep(1.0)  # lines pile up while nothing collects
        before = len(attack_lines(ctx))
        with collector_process(tmp_path, inventory) as second:
            wait_until(lambda: len(attack_lines(ctx)) > before + 100, timeout=90)
            second.send_signal(signal.SIGTERM)  # a clean stop, then a third start
            assert second.wait(timeout=30) == 0
        with collector_process(tmp_path, inventory):
            time.sleep(1.5)
    finally:
        stop.set()
        producer.join()
    final = collect_once(tmp_path, inventory)
    assert final.returncode == 0, final.stderr
    lines = attack_lines(ctx)
    expected = {f"localhost:kt/d{i}/sensor#{w.epoch}:{s}" for i, w in enumerate(sources)
                for s in range(1, w.seq + 1)}  # fmt: skip
    assert len(lines) == len(set(lines)) == written[0]  # nothing doubled
    assert set(lines) == expected  # nothing lost
    assert attack_lines(ctx, "collect.gap") == []


def test_lines_rotated_away_while_down_are_one_gap_with_the_exact_count(tmp_path: Path) -> None:
    sensors = tmp_path / "sensors"
    inventory = local_inventory(tmp_path, sensors)
    ctx = context(tmp_path, inventory)
    w = writer(sensors / "rt" / "d1" / "sensor", files=2)
    write(w, 100)
    assert collect_once(tmp_path, inventory).returncode == 0
    write(w, 3000)  # two 64 KiB files keep ~560 of these
    oldest_kept = min(
        json.loads(p.read_text().splitlines()[0])["seq"]
        for p in (sensors / "rt" / "d1" / "sensor").glob("events.jsonl*")
    )
    result = collect_once(tmp_path, inventory)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["localhost"]["missing"] == oldest_kept - 101
    (gap,) = ctx.store.query_events(type_glob="collect.gap")
    assert gap.topology == "rt"
    assert gap.payload == {"host": "localhost", "source": "rt/d1/sensor",
                           "missing": oldest_kept - 101, "after_seq": 100}  # fmt: skip
    assert len(attack_lines(ctx)) == 100 + 3100 - oldest_kept + 1
    assert collect_once(tmp_path, inventory).returncode == 0  # and never reported twice
    assert len(ctx.store.query_events(type_glob="collect.gap")) == 1


def test_a_retired_source_is_collected_first_then_removed(tmp_path: Path) -> None:
    sensors = tmp_path / "sensors"
    ctx = context(tmp_path, local_inventory(tmp_path, sensors))
    gone = maze(ctx, name(), live=False)  # never deployed (or torn down): its deckies are gone
    kept = maze(ctx, name())
    old = writer(sensors / gone.name / "gw" / "sensor")
    write(old, 40)
    live = writer(sensors / kept.name / "gw" / "sensor")
    write(live, 5)
    foreign = writer(sensors / "not-ours" / "x" / "sensor")  # a topology this store never knew
    write(foreign, 3)
    opts = CollectOptions(once=True, agent=AgentOptions(quiet=0.2))
    time.sleep(0.3)
    report = Collector(ctx, opts).run().hosts["localhost"]
    assert report.events == 48 and report.removed == [f"{gone.name}/gw/sensor"]
    assert not (sensors / gone.name).exists()
    assert (sensors / kept.name / "gw" / "sensor").is_dir()
    assert (sensors / "not-ours" / "x" / "sensor").is_dir()
    sources = {s.source for s in ctx.store.collect_sources()}
    assert sources == {f"{kept.name}/gw/sensor", "not-ours/x/sensor"}
    assert len([x for x in attack_lines(ctx) if f":{gone.name}/" in x]) == 40


def test_a_host_that_stops_reporting_stalls_then_resumes(tmp_path: Path) -> None:
    sensors = tmp_path / "sensors"
    agent = tmp_path / "agent" / "decnet-collect"
    inventory = local_inventory(tmp_path, sensors, decnet_collect_agent=str(agent))
    ctx = context(tmp_path, inventory)
    opts = CollectOptions(stall_after=1.0, retry_min=0.2, retry_max=0.5)
    with collector_thread(tmp_path, inventory, opts):
        wait_until(lambda: bool(ctx.store.query_events(type_glob="collect.stalled")))
        (stalled,) = ctx.store.query_events(type_glob="collect.stalled")
        assert stalled.payload["host"] == "localhost"
        assert "not installed" in stalled.payload["reason"]
        # retried with backoff: between two tries the row says why the last one failed (each
        # new try clears it, so read it when it is there)
        wait_until(lambda: "not installed" in (ctx.store.collect_hosts()["localhost"].error or ""))
        assert ctx.store.collect_hosts()["localhost"].state in ("down", "connecting")
        agent.parent.mkdir()
        shutil.copy(LOCAL_AGENT, agent)  # the host side is installed: the stream comes up
        wait_until(lambda: bool(ctx.store.query_events(type_glob="collect.resumed")))
        wait_until(lambda: ctx.store.collect_hosts()["localhost"].state == "connected")
    assert ctx.store.collect_hosts()["localhost"].owner is None  # released on the way out


def test_many_connects_from_one_source_are_one_scan(tmp_path: Path) -> None:
    sensors = tmp_path / "sensors"
    ctx = context(tmp_path, local_inventory(tmp_path, sensors))
    w = writer(sensors / "sc" / "gw" / "sensor")
    for port in range(1, 41):
        w.write("decnet", {"kind": "connect", "proto": "tcp", "src_ip": "10.66.2.2",
                           "src_port": 40000 + port, "dst_ip": "10.77.0.2", "dst_port": port},
                service="ssh", session=f"p{port}")  # fmt: skip
    write(w, 3, src="10.66.2.3")  # another source: too few for a scan
    opts = CollectOptions(scan_window=timedelta(seconds=1), scan_threshold=20)
    with collector_thread(tmp_path, tmp_path / "inventory.yml", opts):
        wait_until(lambda: bool(ctx.store.query_events(type_glob="attack.scan")))
    (scan,) = ctx.store.query_events(type_glob="attack.scan")
    assert scan.payload["src_ip"] == "10.66.2.2" and scan.payload["connects"] == 40
    assert scan.payload["ports"] == list(range(1, 41)) and scan.payload["decky"] == "gw"
    assert len(ctx.store.query_events(type_glob="attack.connect")) == 43  # they stay


def test_one_host_is_streamed_by_one_collector(tmp_path: Path) -> None:
    sensors = tmp_path / "sensors"
    inventory = local_inventory(tmp_path, sensors)
    ctx = context(tmp_path, inventory)
    write(writer(sensors / "ls" / "d" / "sensor"), 5)
    with collector_process(tmp_path, inventory):
        wait_until(lambda: len(attack_lines(ctx)) == 5)
        second = collect_once(tmp_path, inventory)
        assert second.returncode == 1
        assert "another collector" in json.loads(second.stdout)["localhost"]["error"]
    assert collect_once(tmp_path, inventory).returncode == 0  # released when it stopped
