"""Delivery: at least once, retries with backoff, a failing output blocks nothing else, a
receiver that restarts gets everything, pruned events are a gap (never silent), one worker
per output across processes, a SIGKILLed runner loses nothing."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from event_support import TICK_TYPE, tick
from outputs_support import (
    DECNET,
    Cli,
    env_without_decnet,
    free_port,
    rsyslog,
    wait_for,
    webhook,
    write_events,
)

from decnet.core.output_request import OutputRequest
from decnet.engine import outputs as engine
from decnet.engine.delivery import DeliveryOptions, OutputRunner
from decnet.store import Store

FAST = DeliveryOptions(poll=0.05, retry_base=0.05, retry_cap=0.5, refresh=0.2, settle=0.3,
                       idle_advance=0.2)  # fmt: skip
KEY = "0123456789abcdef-webhook-key"


def add(db: Path, name: str, kind: str, **fields: Any) -> engine.OutputView:
    with Store(db) as store:
        request = OutputRequest(name=name, kind=kind, types=[TICK_TYPE], since=0, **fields)
        return engine.add_output(store, request)


def view(db: Path, name: str) -> engine.OutputView:
    with Store(db) as store:
        return engine.get_output(store, name)


def ticks(db: Path, count: int, start: int = 0) -> list[int]:
    return write_events(db, [tick(n) for n in range(start, start + count)])


@contextlib.contextmanager
def running(db: Path, opts: DeliveryOptions = FAST) -> Iterator[OutputRunner]:
    runner = OutputRunner(db, opts)
    stop = threading.Event()
    thread = threading.Thread(target=runner.run, args=(stop,), daemon=True)
    thread.start()
    try:
        yield runner
    finally:
        stop.set()
        thread.join(60)
        assert not thread.is_alive()


def types_of(db: Path, glob: str) -> list[dict[str, Any]]:
    with Store(db) as store:
        return [e.payload for e in store.query_events(0, type_glob=glob)]


def test_a_webhook_retries_5xx_and_429_and_drops_a_4xx(db: Path) -> None:
    with webhook(KEY.encode(), script=[503, 503, 200, 400, 429, 200],
                 retry_after="1") as receiver:  # fmt: skip
        add(db, "hook", "webhook", url=receiver.url(), secret=KEY)
        ids = ticks(db, 3)
        with running(db):
            wait_for(lambda: view(db, "hook").cursor >= ids[-1])
        got = [(json.loads(r.body)["id"], r.status, r.at) for r in receiver.received]
    assert [(i, s) for i, s, _ in got] == [(ids[0], 503), (ids[0], 503), (ids[0], 200),
                                           (ids[1], 400), (ids[2], 429), (ids[2], 200)]  # fmt: skip
    assert got[5][2] - got[4][2] >= 0.9  # Retry-After: 1 was honoured
    row = view(db, "hook")
    assert (row.delivered, row.dropped, row.failed, row.failures, row.lag_events) == (2, 1, 3, 0, 0)
    assert row.last_error is not None and "HTTP" in row.last_error
    assert [p["error"] for p in types_of(db, "output.failing")] == [
        f"webhook http://127.0.0.1:{receiver.port}/…: answered HTTP 503",
        f"webhook http://127.0.0.1:{receiver.port}/…: answered HTTP 429",
    ]
    assert [p["attempts"] for p in types_of(db, "output.recovered")] == [2, 1]


def test_a_failing_output_blocks_neither_collection_nor_other_outputs(
    db: Path, tmp_path: Path
) -> None:
    port = free_port()  # nothing listens there yet
    add(db, "down", "webhook", url=f"http://127.0.0.1:{port}/hook", secret=KEY)
    add(db, "file", "jsonl", path=str(tmp_path / "events.jsonl"))
    ids: list[int] = []
    with running(db):
        writer = threading.Thread(target=lambda: ids.extend(ticks(db, 300)))
        writer.start()
        writer.join(120)
        assert not writer.is_alive() and len(ids) == 300  # collection went on
        lines = wait_for(lambda: _lines(tmp_path / "events.jsonl", 300))
        assert [json.loads(line)["id"] for line in lines] == ids  # the other output too
        down = wait_for(lambda: (v := view(db, "down")).failed >= 2 and v)
        assert down.state == "failing" and down.lag_events == 300 and down.cursor < ids[0]
        assert down.last_error is not None and "ConnectionRefusedError" in down.last_error
        with webhook(KEY.encode(), port=port) as receiver:  # the receiver comes up
            wait_for(lambda: view(db, "down").cursor >= ids[-1], timeout=60)
            delivered = [b["id"] for b in receiver.bodies()]
    assert set(delivered) == set(ids) and len(delivered) == len(ids)
    assert view(db, "down").delivered == 300


def test_an_output_in_a_long_backoff_keeps_its_lease_and_shows_failing(db: Path) -> None:
    add(db, "down", "webhook", url=f"http://127.0.0.1:{free_port()}/", secret=KEY)
    ticks(db, 1)
    opts = replace(FAST, lease_seconds=0.6, retry_base=4.0, retry_cap=4.0)
    with running(db, opts):
        wait_for(lambda: view(db, "down").failed >= 1)
        time.sleep(1.2)  # twice the lease, still inside the backoff (2-4 s)
        row = view(db, "down")
    assert (row.state, row.failed, row.failures) == ("failing", 1, 1)


def _lines(path: Path, count: int) -> list[bytes] | None:
    if not path.exists():
        return None
    lines = path.read_bytes().splitlines()
    return lines if len(lines) >= count else None


def _covering(path: Path, ids: set[int]) -> list[bytes] | None:
    """The file's lines once they hold every id of `ids`."""
    lines = _lines(path, len(ids)) or []
    return lines if {json.loads(line)["id"] for line in lines} >= ids else None


def test_a_syslog_receiver_that_restarts_between_batches_gets_every_event(
    db: Path, tmp_path: Path
) -> None:
    with rsyslog(tmp_path / "rsyslog") as receiver:
        add(db, "siem", "syslog", url=receiver.url)
        with running(db):
            first = ticks(db, 10)
            assert len(receiver.wait_lines(10)) == 10
            receiver.restart()  # same port; decnet's connection is now dead
            second = ticks(db, 10, start=10)
            wait_for(lambda: view(db, "siem").cursor >= second[-1])
            lines = receiver.wait_lines(20)
    got = [int(line.split(b' id="', 1)[1].split(b'"', 1)[0]) for line in lines]
    assert set(got) == set(first + second)


def test_events_pruned_before_delivery_are_a_counted_announced_gap(
    db: Path, tmp_path: Path, cli: Cli
) -> None:
    add(db, "file", "jsonl", path=str(tmp_path / "e.jsonl"))
    old = ticks(db, 5)
    with Store(db) as store:
        store.prune_events(timedelta(0))  # retention took them before any delivery
    new = ticks(db, 3, start=5)
    assert cli("outputs", "run", "--once").returncode == 0
    lines = (tmp_path / "e.jsonl").read_bytes().splitlines()
    assert [json.loads(line)["id"] for line in lines] == new
    [gap] = types_of(db, "output.gap")
    assert gap == {"output": "file", "after": 0, "through": old[-1], "missing": 5}
    row = view(db, "file")
    assert (
        row.lost == 5 and row.last_error is not None and "deleted by retention" in (row.last_error)
    )
    listed = json.loads(cli("outputs", "list", "--json").stdout)
    assert listed[0]["lost"] == 5 and "retention" in listed[0]["last_error"]


def test_a_new_output_since_0_starts_after_what_retention_deleted(db: Path, tmp_path: Path) -> None:
    old = ticks(db, 4)
    with Store(db) as store:
        store.prune_events(timedelta(0))
    assert add(db, "file", "jsonl", path=str(tmp_path / "e.jsonl")).cursor == old[-1]


def test_two_runners_never_deliver_one_output_twice(db: Path, tmp_path: Path) -> None:
    path = tmp_path / "e.jsonl"
    add(db, "file", "jsonl", path=str(path))
    with running(db) as first, running(db) as second:
        ids = ticks(db, 200)
        wait_for(lambda: _lines(path, 200))
        owner = view_owner(db)
        assert owner in (first.owner, second.owner)
    with running(db):  # a third takes over once the others released it
        ids += ticks(db, 50, start=200)
        lines = wait_for(lambda: _lines(path, 250))
    assert [json.loads(line)["id"] for line in lines] == ids


def view_owner(db: Path) -> str | None:
    with Store(db) as store:
        return store.get_output("file").lease_owner


def test_a_sigkilled_runner_loses_nothing(db: Path, tmp_path: Path) -> None:
    """`decnet outputs run` killed with SIGKILL mid-stream; the next run (after the dead
    owner's lease is found dead) delivers the rest: every event at least once, copies only of
    the last unacknowledged batch."""
    path = tmp_path / "e.jsonl"
    add(db, "file", "jsonl", path=str(path))
    env = env_without_decnet(DECNET_DB=str(db), DECNET_HOME=str(tmp_path / "home"))

    def start() -> subprocess.Popen[bytes]:
        return subprocess.Popen([str(DECNET), "outputs", "run"], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip

    runner = start()
    try:
        ids = ticks(db, 1500)
        wait_for(lambda: _lines(path, 200), timeout=60)
        os.kill(runner.pid, signal.SIGKILL)
        runner.wait(10)
        ids += ticks(db, 500, start=1500)
        runner = start()
        # every id, not a line count: the re-delivered batch's copies count as lines too
        lines = wait_for(lambda: _covering(path, set(ids)), timeout=120)
    finally:
        runner.send_signal(signal.SIGTERM)
        runner.wait(30)
    counts = Counter(json.loads(line)["id"] for line in lines)
    assert set(counts) == set(ids)
    assert sum(n - 1 for n in counts.values()) <= 500  # at most one batch came twice
    assert runner.returncode == 0  # SIGTERM: a clean stop


def test_run_once_reports_a_failing_output_and_exits_1(db: Path, cli: Cli) -> None:
    add(db, "down", "webhook", url=f"http://127.0.0.1:{free_port()}/", secret=KEY)
    ticks(db, 1)
    ran = cli("outputs", "run", "--once")
    assert ran.returncode == 1
    assert "down: error: webhook http://127.0.0.1:" in ran.stdout
    assert view(db, "down").failed == 1


def test_an_output_removed_while_running_stops_and_a_new_one_of_its_name_starts_fresh(
    db: Path, tmp_path: Path
) -> None:
    add(db, "file", "jsonl", path=str(tmp_path / "a.jsonl"))
    with running(db):
        first = ticks(db, 5)
        wait_for(lambda: _lines(tmp_path / "a.jsonl", 5))
        with Store(db) as store:
            engine.remove_output(store, "file")
        add(db, "file", "jsonl", path=str(tmp_path / "b.jsonl"))  # since=0: from the start
        ticks(db, 5, start=5)
        lines = wait_for(lambda: _lines(tmp_path / "b.jsonl", 10))
        time.sleep(0.5)
    assert len((tmp_path / "a.jsonl").read_bytes().splitlines()) == 5
    assert [json.loads(line)["id"] for line in lines][:5] == first
