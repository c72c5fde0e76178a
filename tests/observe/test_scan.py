"""The scan aggregate: many connects from one source to one decky in a window -> one scan."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from decnet.core.observe.scan import MULTIPLE, ScanAggregator
from decnet.events import AttackConnect

T0 = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)


def connect(seconds: float, port: int, src: str = "10.9.9.9", decky: str = "d") -> AttackConnect:
    at = (T0 + timedelta(seconds=seconds)).isoformat(timespec="microseconds")
    return AttackConnect(
        topology="t", host="h", decky=decky, lan="dmz", service=f"s{port % 2}", src_ip=src,
        src_port=40000, dst_ip="10.0.0.2", dst_port=port, session=None, sensor="decnet",
        observed_at=at, line=f"h:t/{decky}/sensor#e:{port}", raw="{}",
    )  # fmt: skip


def test_a_burst_is_one_scan_when_its_window_closes() -> None:
    agg = ScanAggregator(threshold=5)
    assert all(agg.add(connect(i * 0.1, 1000 + i)) is None for i in range(30))
    assert agg.close_due(T0 + timedelta(seconds=30)) == []
    (scan,) = agg.close_due(T0 + timedelta(seconds=61))
    assert scan.connects == 30 and scan.ports == list(range(1000, 1030))
    assert scan.service == MULTIPLE and scan.line == "h:t/d/sensor#e:1029"
    assert scan.first_at == connect(0, 0).observed_at
    assert scan.last_at == connect(2.9, 0).observed_at
    assert agg.open == {}


def test_a_connect_after_the_window_closes_it_and_opens_the_next() -> None:
    agg = ScanAggregator(threshold=3)
    for i in range(3):
        agg.add(connect(i, 22))
    scan = agg.add(connect(70, 22))
    assert scan is not None and scan.connects == 3 and scan.ports == [22] and scan.service == "s0"
    assert len(agg.open) == 1


def test_few_connects_are_no_scan_and_sources_and_deckies_count_apart() -> None:
    agg = ScanAggregator(threshold=3)
    agg.add(connect(0, 1, src="10.0.0.7"))
    agg.add(connect(1, 2, src="10.0.0.8"))
    agg.add(connect(2, 3, decky="e"))
    assert agg.close_due(T0 + timedelta(minutes=5)) == []


def test_open_windows_are_bounded() -> None:
    agg = ScanAggregator(threshold=1, max_open=10)
    closed = [agg.add(connect(i, 1, src=f"10.0.1.{i}")) for i in range(50)]
    assert len(agg.open) == 10 and sum(1 for s in closed if s is not None) == 40
