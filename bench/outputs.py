"""Outputs benchmark: delivery throughput per kind, and what outputs cost the bus's writers.

1. Throughput: N attack events in a fresh database; each output kind catches up on them
   (`OutputRunner.run_once`: leases, batches, cursor commits, acknowledgements) against a real
   receiver — rsyslogd on loopback (TCP), a JSON lines file, a local HTTP server (fewer events:
   one POST each). The baseline in the same run does the same reads and sends without decnet's
   delivery machinery: rows read by id, formatted the same way, written in one go (one fsync
   per 500 lines; one sendall per 500 frames; one POST per event without signature or
   cursor). Prints events/s and the ratio.
2. Writers: the time to append M events with no output running, then with `decnet outputs
   run` delivering to three outputs in another process (a JSON lines file, rsyslog, and a
   webhook whose receiver is down, retrying). Prints both and the ratio: outputs must not slow
   collection down.

Run: .venv/bin/python bench/outputs.py [--events N] [--writes M]
"""

from __future__ import annotations

import argparse
import http.client
import http.server
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from decnet import events as ev
from decnet.core import syslog
from decnet.core.output_request import OutputRequest
from decnet.core.outputs import SyslogOptions
from decnet.engine.delivery import OutputRunner
from decnet.engine.outputs import add_output
from decnet.engine.sinks import json_line
from decnet.store import Store

DECNET = Path(sys.executable).with_name("decnet")
KEY = "bench-webhook-key-0123456789"


def attack(i: int) -> ev.AttackLogin:
    return ev.AttackLogin(
        topology="bench", host="localhost", decky=f"web{i % 7}", lan="dmz", service="ssh",
        src_ip=f"203.0.113.{i % 250}", src_port=40000 + i % 20000, dst_ip="10.9.0.2",
        dst_port=22, session=f"s{i // 5}", sensor="cowrie",
        observed_at="2026-12-07T01:02:03.000000+00:00", line=f"localhost:bench/web1/ssh#1:{i}",
        raw='{"eventid":"cowrie.login.failed","username":"root","password":"123456"}',
        username="root", password=f"pass{i}", outcome="failure",
    )  # fmt: skip


def fill(db: Path, count: int) -> None:
    with Store(db) as store, store.transaction():
        for i in range(count):
            store.append_event(attack(i), topology="bench")


class Rsyslog:
    def __init__(self, work: Path) -> None:
        work.mkdir(parents=True, exist_ok=True)
        conf = work / "rsyslog.conf"
        conf.write_text(
            f'global(workDirectory="{work}" maxMessageSize="64k")\n'
            'module(load="imtcp")\n'
            f'input(type="imtcp" port="0" address="127.0.0.1" listenPortFileName="{work}/port")\n'
            'template(name="raw" type="string" string="%rawmsg%\\n")\n'
            f'action(type="omfile" file="{work}/out.log" template="raw")\n'
        )
        rsyslogd = shutil.which("rsyslogd") or "/usr/sbin/rsyslogd"
        self.proc = subprocess.Popen([rsyslogd, "-n", "-f", str(conf), "-i", f"{work}/pid"])
        while not (work / "port").exists() or not (work / "port").read_text().strip():
            time.sleep(0.05)
        self.port = int((work / "port").read_text())
        self.out = work / "out.log"

    def lines(self) -> int:
        return self.out.read_bytes().count(b"\n") if self.out.exists() else 0

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(10)


class Hook(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def add(db: Path, **fields: object) -> None:
    with Store(db) as store:
        add_output(store, OutputRequest.model_validate({**fields, "since": 0}))


def rows(db: Path) -> list[dict[str, object]]:
    """The events by id, as plain wire dicts (the reads delivery does, without the rest)."""
    conn = sqlite3.connect(db)
    try:
        sql = ("SELECT id, at, topic, topology, type, payload FROM event WHERE id > ? AND "
               "type GLOB 'attack.*' ORDER BY id LIMIT 500")  # fmt: skip
        out: list[dict[str, object]] = []
        after = 0
        while batch := conn.execute(sql, (after,)).fetchall():
            out += [{"id": i, "at": at, "topic": topic, "topology": t, "type": ty,
                     "payload": json.loads(p)} for i, at, topic, t, ty, p in batch]  # fmt: skip
            after = batch[-1][0]
        return out
    finally:
        conn.close()


def baseline_jsonl(db: Path, path: Path) -> None:
    events = rows(db)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        for start in range(0, len(events), 500):
            os.write(fd, b"".join(json_line(e) for e in events[start : start + 500]))
            os.fsync(fd)
    finally:
        os.close(fd)


def baseline_syslog(db: Path, port: int) -> None:
    opts = SyslogOptions(transport="tcp", host="127.0.0.1", port=port)
    events = rows(db)
    with socket.create_connection(("127.0.0.1", port)) as sock:
        for start in range(0, len(events), 500):
            chunk = events[start : start + 500]
            sock.sendall(b"".join(syslog.frame(syslog.format_event(e, opts, "h")) for e in chunk))


def baseline_webhook(db: Path, port: int, count: int) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port)
    for event in rows(db)[:count]:
        conn.request("POST", "/", body=json_line(event)[:-1],
                     headers={"Content-Type": "application/json"})  # fmt: skip
        conn.getresponse().read()
    conn.close()


def throughput(tmp: Path, count: int) -> None:
    db = tmp / "t.db"
    fill(db, count)
    receiver = Rsyslog(tmp / "rsyslog")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    hook_count = min(count, 2000)
    try:
        print(f"delivery of {count} attack.login events (webhook: {hook_count}), events/s:")
        cases: list[tuple[str, dict[str, object], Callable[[], None], int]] = [
            ("jsonl", {"kind": "jsonl", "path": str(tmp / "d.jsonl")},
             lambda: baseline_jsonl(db, tmp / "b.jsonl"), count),
            ("syslog", {"kind": "syslog", "url": f"tcp://127.0.0.1:{receiver.port}",
                        "max_message": 65536},
             lambda: baseline_syslog(db, receiver.port), count),
        ]  # fmt: skip
        for name, fields, base, n in cases:
            add(db, name=name, **fields)
            ours = timed(partial(OutputRunner(db).run_once, [name]))
            theirs = timed(base)
            print(f"  {name:8} decnet {n / ours:9.0f}   baseline {n / theirs:9.0f}"
                  f"   ratio {ours / theirs:5.2f}x")  # fmt: skip
        hook_db = tmp / "h.db"
        fill(hook_db, hook_count)
        add(hook_db, name="hook", kind="webhook",
            url=f"http://127.0.0.1:{server.server_address[1]}/h", secret=KEY)  # fmt: skip
        ours = timed(lambda: OutputRunner(hook_db).run_once(["hook"]))
        theirs = timed(lambda: baseline_webhook(hook_db, server.server_address[1], hook_count))
        print(f"  {'webhook':8} decnet {hook_count / ours:9.0f}   baseline "
              f"{hook_count / theirs:9.0f}   ratio {ours / theirs:5.2f}x")  # fmt: skip
        assert receiver.lines() >= 2 * count, "rsyslog did not receive every message"
    finally:
        receiver.stop()
        server.shutdown()


def appends(db: Path, count: int) -> float:
    with Store(db) as store:
        start = time.perf_counter()
        for i in range(count):  # one transaction each, as a collector's small batches
            store.append_event(attack(i), topology="bench")
        return time.perf_counter() - start


def with_runner(db: Path, count: int, until: Callable[[], bool]) -> float:
    """Append `count` events while `decnet outputs run` delivers the database's outputs."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DECNET_")}
    env["DECNET_DB"] = str(db)
    runner = subprocess.Popen([str(DECNET), "outputs", "run"], env=env,
                              stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        time.sleep(3)  # the runner's workers are up
        seconds = appends(db, count)
        deadline = time.monotonic() + 120
        while not until() and time.monotonic() < deadline:
            time.sleep(0.1)
        return seconds
    finally:
        runner.send_signal(signal.SIGTERM)
        runner.wait(60)


def writers(tmp: Path, count: int) -> None:
    """The same appends with no output, with one failing output (retrying: it must cost the
    writers nothing), and with three (two delivering everything at the writers' pace: what
    it costs is the CPU of formatting and sending, on the same cores)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        down = f"http://127.0.0.1:{sock.getsockname()[1]}/"
    bare = appends(tmp / "bare.db", count)
    add(tmp / "failing.db", name="down", kind="webhook", url=down, secret=KEY)
    failing = with_runner(tmp / "failing.db", count, lambda: True)
    receiver = Rsyslog(tmp / "rsyslog-w")
    db = tmp / "busy.db"
    add(db, name="file", kind="jsonl", path=str(tmp / "w.jsonl"))
    add(db, name="siem", kind="syslog", url=f"tcp://127.0.0.1:{receiver.port}")
    add(db, name="down", kind="webhook", url=down, secret=KEY)
    try:
        busy = with_runner(db, count, lambda: receiver.lines() >= count)
    finally:
        receiver.stop()
    print(f"appending {count} events one transaction each, events/s (ratio to no output):")
    print(f"  no output {count / bare:9.0f}")
    print(f"  one failing output {count / failing:9.0f}   ratio {failing / bare:5.2f}x")
    print(f"  jsonl + syslog + failing webhook {count / busy:9.0f}   ratio {busy / bare:5.2f}x"
          f"   (rsyslog received {receiver.lines()} of {count})")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--writes", type=int, default=5_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        throughput(Path(tmp), args.events)
        writers(Path(tmp), args.writes)


if __name__ == "__main__":
    main()
