"""The collector's write: events and cursors in one transaction, idempotent by line and cursor,
gaps counted once; and the attack index the attacker views read."""

from __future__ import annotations

import threading
from pathlib import Path

from decnet.core.observe.normalise import SensorNote
from decnet.events import AttackConnect, AttackLogin, AttackScan
from decnet.store import Store
from decnet.store.collect import Batch, Collected, Skipped

from .conftest import MakeTopology

SRC = "alpha/gw/sensor"


def connect(seq: int, src_ip: str = "10.9.9.9", *, epoch: str = "e1") -> AttackConnect:
    return AttackConnect(
        topology="alpha", host="h1", decky="gw", lan="dmz", service="ssh", src_ip=src_ip,
        src_port=40000 + seq, dst_ip="10.10.0.2", dst_port=22, session=f"s{seq}",
        sensor="decnet", observed_at=f"2026-12-07T10:00:{seq % 60:02d}.000000+00:00",
        line=f"h1:{SRC}#{epoch}:{seq}", raw="{}",
    )  # fmt: skip


def login(seq: int, outcome: str = "failure") -> AttackLogin:
    base = connect(seq).model_dump(exclude={"transport"})
    return AttackLogin(**base, username="root", password="x", outcome=outcome)  # type: ignore[arg-type]


def line(seq: int, *events: AttackConnect | AttackLogin, epoch: str = "e1") -> Collected:
    return Collected(SRC, epoch, seq, f"2026-12-07T10:00:{seq % 60:02d}.000000+00:00", events)


def test_lines_events_and_cursor_commit_together(store: Store, make_topology: MakeTopology) -> None:
    store.insert_topology(make_topology())
    note = SensorNote("heartbeat", "2026-12-07T10:00:00.000000+00:00", '{"open":1}')
    items: list[Collected | Skipped] = [
        Collected(SRC, "e1", 1, note.at, note=note),
        line(2, connect(2)),
        line(3, login(3)),
        line(4),
    ]
    result = store.collect([Batch("h1", items)])
    assert (result.events, result.duplicates, result.gaps) == (2, 0, 0)
    assert result.cursors == {("h1", SRC): ("e1", 4)}
    assert store.collect_cursors("h1") == {SRC: ("e1", 4)}
    rows = store.query_events(type_glob="attack.*")
    assert [r.type for r in rows] == ["attack.connect", "attack.login"]
    assert rows[0].topology == "alpha" and rows[0].payload == connect(2).wire()
    (source,) = store.collect_sources("h1")
    assert (source.lines, source.sensor_kind) == (4, "heartbeat")
    assert source.sensor_detail == '{"open":1}'
    assert source.last_line_at == "2026-12-07T10:00:04.000000+00:00"


def test_a_line_delivered_twice_is_written_once(store: Store) -> None:
    store.collect([Batch("h1", [line(1, connect(1)), line(2, connect(2))])])
    again = store.collect([Batch("h1", [line(1, connect(1)), line(2, connect(2)), line(3)])])
    assert (again.events, again.duplicates) == (0, 2)
    assert len(store.query_events(type_glob="attack.*")) == 2
    # a cursor that lost its row (a restored backup, a second collector) still never doubles:
    store.forget_source("h1", SRC)
    third = store.collect([Batch("h1", [line(2, connect(2)), line(4, connect(4))])])
    assert (third.events, third.duplicates) == (1, 1)
    ids = [r.id for r in store.query_events()]
    assert ids == sorted(set(ids)) and len(store.query_events(type_glob="attack.*")) == 3


def test_a_new_epoch_restarts_the_cursor(store: Store) -> None:
    store.collect([Batch("h1", [line(5, connect(5))])])
    result = store.collect([Batch("h1", [line(1, connect(1, epoch="e2"), epoch="e2")])])
    assert result.events == 1 and store.collect_cursors("h1") == {SRC: ("e2", 1)}


def test_gaps_are_events_counted_once(store: Store) -> None:
    gap = Skipped(SRC, "e1", 3, 40)
    first = store.collect([Batch("h1", [line(3, connect(3)), gap, line(44, connect(44))])])
    assert (first.events, first.gaps) == (2, 1)
    (event,) = store.query_events(type_glob="collect.gap")
    assert event.payload == {"host": "h1", "source": SRC, "missing": 40, "after_seq": 3}
    assert event.topology == "alpha"
    again = store.collect([Batch("h1", [gap])])
    assert again.gaps == 0 and len(store.query_events(type_glob="collect.gap")) == 1
    (source,) = store.collect_sources("h1")
    assert (source.gaps, source.missing, source.seq) == (1, 40, 44)


def test_scans_are_idempotent_by_line(store: Store) -> None:
    base = connect(9).model_dump(exclude={"transport", "src_port", "dst_port", "session"})
    scan = AttackScan(
        **base, connects=30, ports=[22, 23], first_at=base["observed_at"],
        last_at=base["observed_at"],
    )  # fmt: skip
    assert store.collect([Batch("h1", [line(9, connect(9))], extra=[scan])]).events == 2
    assert store.collect([Batch("h1", [], extra=[scan])]).duplicates == 1
    assert [r.type for r in store.query_events(type_glob="attack.*")] == [
        "attack.connect", "attack.scan"
    ]  # fmt: skip


def test_attacker_counts_and_stops(store: Store) -> None:
    items: list[Collected | Skipped] = [
        line(1, connect(1)), line(2, login(2)), line(3, login(3, "success")),
        line(4, connect(4, "10.8.8.8")),
    ]  # fmt: skip
    store.collect([Batch("h1", items)])
    counts = store.attacker_counts()
    assert [c[0] for c in counts] == ["10.8.8.8", "10.9.9.9"]
    assert counts[1][3:] == (3, 2, 1, 0, 0)
    stops = store.attacker_stops(["10.9.9.9"])
    assert stops == [("10.9.9.9", "alpha", "gw", "dmz", "2026-12-07T10:00:01.000000+00:00")]
    events = store.attacker_events("10.9.9.9", limit=2)
    assert [e.type for e in events] == ["attack.login", "attack.login"]
    assert store.attacker_counts(topology="other") == []
    assert [c[0] for c in store.attacker_counts(since="2026-12-07T10:00:04")] == ["10.8.8.8"]


def test_retention_takes_the_index_rows_along(store: Store) -> None:
    from datetime import timedelta

    store.collect([Batch("h1", [line(1, connect(1))])])
    store.clock.advance(3600)  # type: ignore[attr-defined]
    deleted, _ = store.prune_events(timedelta(seconds=60))
    assert deleted == 1 and store.attacker_counts() == []


def test_two_collectors_racing_write_each_line_once(db_path: Path) -> None:
    """Two stores (two collector processes) deliver the same lines at the same time."""
    Store(db_path).close()
    lines = [line(i, connect(i)) for i in range(1, 401)]
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with Store(db_path) as s:
                for start in range(0, len(lines), 20):
                    s.collect([Batch("h1", list(lines[start : start + 20]))])
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with Store(db_path) as s:
        rows = s.query_events(type_glob="attack.*", limit=10_000)
        assert len(rows) == 400 and len({r.payload["line"] for r in rows}) == 400
        assert s.collect_cursors("h1") == {SRC: ("e1", 400)}
