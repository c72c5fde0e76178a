"""Alerts that do not flood: with `--aggregate`, a port scan is one delivery per source,
topology and event type per window, delivered when the window closes, at least once and with
the same aggregate id when delivered again."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from outputs_support import wait_for, webhook
from test_delivery import FAST, KEY, running, view

from decnet import events as ev
from decnet.core.output_request import OutputRequest
from decnet.engine import outputs as engine
from decnet.engine.delivery import DeliveryOptions, OutputWorker, Step
from decnet.engine.sinks import DeliveryError, Item
from decnet.store import Store


def attack(kind: type[ev.AttackEvent], ip: str, topology: str, **extra: Any) -> ev.AttackEvent:
    common = {
        "topology": topology, "host": "localhost", "decky": "web1", "lan": "dmz",
        "service": "ssh", "src_ip": ip, "sensor": "cowrie",
        "observed_at": "2026-12-07T01:00:00Z", "line": "l", "raw": "r",
    }  # fmt: skip
    return kind(**common, **extra)


def write_at(db: Path, moment: datetime, payloads: Sequence[ev.EventPayload]) -> list[int]:
    """Append with the store's clock set to `moment` (the events' `at`)."""
    with Store(db, clock=lambda: moment) as store:
        return [store.append_event(p, topology=getattr(p, "topology", None)) for p in payloads]


def closed_window(seconds: int) -> datetime:
    """A moment inside a window of `seconds` that closed a while ago."""
    now = time.time()
    return datetime.fromtimestamp(now - now % seconds - 2 * seconds + 1.5, UTC)


def add_hook(db: Path, url: str, window: str, **fields: Any) -> None:
    with Store(db) as store:
        engine.add_output(store, OutputRequest(name="alerts", kind="webhook", url=url,
                                               secret=KEY, aggregate=window, since=0,
                                               **fields))  # fmt: skip


def summary(bodies: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return sorted(
        (b["aggregate"]["src_ip"], b["aggregate"]["topology"], b["aggregate"]["type"],
         b["aggregate"]["count"])
        for b in bodies
    )  # fmt: skip


def test_a_port_scan_is_one_alert(db: Path) -> None:
    moment = closed_window(60)
    scan = [attack(ev.AttackConnect, "203.0.113.9", "corp", dst_port=p) for p in range(1, 1001)]
    logins = [attack(ev.AttackLogin, "198.51.100.7", "corp", username="root", outcome="failure")
              for _ in range(5)]  # fmt: skip
    others = [attack(ev.AttackConnect, "198.51.100.7", "corp", dst_port=22) for _ in range(3)]
    elsewhere = [attack(ev.AttackConnect, "203.0.113.9", "lab", dst_port=80) for _ in range(2)]
    with webhook(KEY.encode()) as receiver:
        add_hook(db, receiver.url(), "60s")
        ids = write_at(db, moment, [*scan, *logins, *others, *elsewhere])
        with running(db, FAST):
            wait_for(lambda: view(db, "alerts").cursor >= ids[-1])
        bodies = receiver.bodies()
        assert all(r.verified for r in receiver.received)
    assert summary(bodies) == [
        ("198.51.100.7", "corp", "attack.connect", 3),
        ("198.51.100.7", "corp", "attack.login", 5),
        ("203.0.113.9", "corp", "attack.connect", 1000),
        ("203.0.113.9", "lab", "attack.connect", 2),
    ]
    [scan_alert] = [b for b in bodies if b["aggregate"]["count"] == 1000]
    info = scan_alert["aggregate"]
    assert info["dst_ports"] == list(range(1, 1001)) and info["deckies"] == ["web1"]
    assert (info["first_id"], info["last_id"], info["window_seconds"]) == (ids[0], ids[999], 60)
    assert scan_alert["sample"]["id"] == ids[0] and scan_alert["sample"]["type"] == "attack.connect"
    assert view(db, "alerts").delivered == 4


def test_a_window_is_delivered_once_it_has_closed(db: Path) -> None:
    with webhook(KEY.encode()) as receiver:
        add_hook(db, receiver.url(), "3s")
        with running(db, FAST):
            moment = datetime.now(UTC)
            ids = write_at(db, moment, [attack(ev.AttackConnect, "192.0.2.1", "corp")] * 20)
            end = moment.timestamp() - moment.timestamp() % 3 + 3
            if time.time() < end - 0.2:  # still open: nothing may have gone out yet
                time.sleep(max(0.0, end - 0.2 - time.time()))
                assert receiver.bodies() == []
            wait_for(lambda: view(db, "alerts").cursor >= ids[-1])
            first = min(r.wall for r in receiver.received)
    assert first >= end + FAST.settle - 0.05
    assert summary(receiver.bodies()) == [("192.0.2.1", "corp", "attack.connect", 20)]


class FlakySink:
    """Acknowledges aggregates into `got`; fails (retryably) once on the `fail_at`-th."""

    chunk = 1

    def __init__(self, got: list[Item], fail_at: int | None) -> None:
        self.got, self.fail_at = got, fail_at

    def send(self, items: Sequence[Item]) -> None:
        if self.fail_at is not None and len(self.got) == self.fail_at:
            self.fail_at = None
            raise DeliveryError("the receiver went away")
        self.got.extend(items)

    def linger(self, seconds: float) -> None:
        pass

    def close(self) -> None:
        pass


def test_a_window_redelivered_after_a_crash_has_the_same_ids(db: Path, tmp_path: Path) -> None:
    """The worker dies between two aggregates of a window (no cursor commit); the worker
    that takes over folds the same events into the same aggregates: at least once, with ids
    a receiver can deduplicate on."""
    moment = closed_window(60)
    ids = write_at(db, moment, [attack(ev.AttackConnect, f"192.0.2.{i % 3}", "corp")
                                for i in range(30)])  # fmt: skip
    with Store(db) as store:
        request = OutputRequest(name="alerts", kind="jsonl", path=str(tmp_path / "x"),
                                aggregate="60s", since=0)  # fmt: skip
        output_id = store.get_output(engine.add_output(store, request).name).id
    got: list[Item] = []
    opts = DeliveryOptions(lease_seconds=0.2, retry_base=0.01, retry_cap=0.01)

    def sinks(fail_at: int | None) -> Any:
        return lambda _spec, _secret: FlakySink(got, fail_at)

    with Store(db) as store:
        crashed = OutputWorker(store, output_id, "crashed#1", opts, sinks(1))
        assert crashed.hold() and crashed.step() is Step.FAILED  # one went out, then it died
        time.sleep(0.3)  # its lease runs out
        taker = OutputWorker(store, output_id, "taker#2", opts, sinks(None))
        assert taker.hold() and taker.step() is Step.DELIVERED
        assert store.get_output("alerts").cursor >= ids[-1]
    names = [a["aggregate"]["id"] for a in got]
    assert len(names) == 4 and names[0] == names[1] and len(set(names)) == 3
    assert sorted(a["aggregate"]["count"] for a in got[1:]) == [10, 10, 10]


def test_jsonl_rotates_by_size_and_keeps_what_it_was_told(db: Path, tmp_path: Path) -> None:
    path = tmp_path / "out" / "events.jsonl"
    with Store(db) as store:
        engine.add_output(store, OutputRequest(name="file", kind="jsonl", path=str(path),
                                               max_bytes=4096, keep=2, types=["watch.*"],
                                               since=0))  # fmt: skip
        ids = [store.append_event(ev.WatchError(chore="c", error="x" * 150)) for _ in range(120)]
    with running(db, FAST):
        wait_for(lambda: view(db, "file").cursor >= ids[-1])
    files = sorted(path.parent.iterdir())
    assert [f.name for f in files] == ["events.jsonl", "events.jsonl.1", "events.jsonl.2"]
    kept: list[int] = []
    for name in ("events.jsonl.2", "events.jsonl.1", "events.jsonl"):
        data = (path.parent / name).read_bytes()
        assert len(data) <= 4096 and data.endswith(b"\n")
        assert (path.parent / name).stat().st_mode & 0o777 == 0o600
        kept += [json.loads(line)["id"] for line in data.splitlines()]
        longest = max(len(line) + 1 for line in data.splitlines())
    assert kept == ids[-len(kept) :]  # contiguous, the newest, in order
    assert len(kept) >= 2 * (4096 // longest)  # the two rotated files were full
