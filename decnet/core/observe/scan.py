"""`attack.scan`: many connects from one source to one decky in a short window, as one event.

Windows are tumbling, per (topology, decky, source address): the first connect opens one for
WINDOW seconds (of sensor time); a connect after it ends, or `close_due(now)`, closes it. A
closed window with at least THRESHOLD connects becomes one `attack.scan` with the count, the
distinct ports and the first and last times; the connects themselves stay events of their own.
The scan's `line` is its last connect's, so writing it twice is refused like any event.

Pure: times come in with the connects and as `now`; the open windows live in this object
(bounded: past MAX_OPEN the oldest is closed early).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from decnet.events import AttackConnect, AttackScan

WINDOW = timedelta(seconds=60)
THRESHOLD = 20
MAX_PORTS = 1024
MAX_OPEN = 100_000
MULTIPLE = "multiple"
"""The scan's `service` when its connects reached more than one service."""

Key = tuple[str, str, str]


@dataclass
class _Window:
    first: datetime
    first_at: str
    ends_at: str
    """first + the window, spelled as observed_at is: fixed-width UTC text compares as time."""
    last: AttackConnect
    count: int = 0
    ports: set[int] = field(default_factory=set)
    services: set[str] = field(default_factory=set)


class ScanAggregator:
    def __init__(
        self, window: timedelta = WINDOW, threshold: int = THRESHOLD, max_open: int = MAX_OPEN
    ) -> None:
        self.window, self.threshold, self.max_open = window, threshold, max_open
        self.open: dict[Key, _Window] = {}

    def add(self, connect: AttackConnect) -> AttackScan | None:
        """Count one connect; the scan of the window it closed, if that was one."""
        key = (connect.topology, connect.decky, connect.src_ip)
        done = None
        current = self.open.get(key)
        if current is not None and connect.observed_at >= current.ends_at:
            done = self._close(key)
            current = None
        if current is None:
            if len(self.open) >= self.max_open:
                oldest = min(self.open, key=lambda k: self.open[k].first)
                done = done or self._close(oldest)
            at = datetime.fromisoformat(connect.observed_at)
            ends = (at + self.window).isoformat(timespec="microseconds")
            current = self.open[key] = _Window(at, connect.observed_at, ends, connect)
        current.count += 1
        current.last = connect
        if connect.dst_port is not None and len(current.ports) < MAX_PORTS:
            current.ports.add(connect.dst_port)
        current.services.add(connect.service)
        return done

    def close_due(self, now: datetime) -> list[AttackScan]:
        """Close every window that ended before `now`; the scans among them."""
        due = [k for k, w in self.open.items() if now - w.first >= self.window]
        return [scan for k in due if (scan := self._close(k)) is not None]

    def _close(self, key: Key) -> AttackScan | None:
        w = self.open.pop(key)
        if w.count < self.threshold:
            return None
        last = w.last
        return AttackScan(
            topology=last.topology,
            host=last.host,
            decky=last.decky,
            lan=last.lan,
            service=last.service if len(w.services) == 1 else MULTIPLE,
            src_ip=last.src_ip,
            dst_ip=last.dst_ip,
            sensor=last.sensor,
            observed_at=last.observed_at,
            line=last.line,
            raw="",
            connects=w.count,
            ports=sorted(w.ports),
            first_at=w.first_at,
            last_at=last.observed_at,
        )
