"""Alerts that do not flood: events folded per (source ip, topology, event type) and window.

Windows are aligned on the epoch (a 60 s window starts at a whole minute) and an event belongs
to the window of its `at`. An output's window opens at its oldest undelivered event, so the
same events always fold into the same aggregates: one redelivered after a crash carries the
same `id`, and a receiver can drop the copy.

An aggregate on the wire (docs/observe.md):

    {"aggregate": {"id", "type", "topology", "src_ip", "count", "first_id", "last_id",
                   "first_seen", "last_seen", "window_start", "window_end", "window_seconds",
                   "dst_ports", "deckies"},
     "sample": <the first event of the group, as GET /events serves it>}
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

MAX_GROUPS = 10_000
"""Groups one window holds before it is closed early (memory stays bounded in a flood)."""
MAX_PORTS = 1024
MAX_DECKIES = 100
Key = tuple[str | None, str | None, str]
"""(source ip, topology, event type)"""


def parse_at(at: str) -> datetime:
    moment = datetime.fromisoformat(at)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def window_start(at: str, seconds: int) -> datetime:
    """The start of the epoch-aligned window of `seconds` that holds `at`."""
    epoch = parse_at(at).timestamp()
    return datetime.fromtimestamp(epoch - epoch % seconds, UTC)


def key_of(event: dict[str, Any]) -> Key:
    src = (event.get("payload") or {}).get("src_ip")
    return (None if src is None else str(src), event.get("topology"), str(event["type"]))


@dataclass
class Group:
    key: Key
    sample: dict[str, Any]
    count: int = 0
    first_id: int = 0
    last_id: int = 0
    first_seen: str = ""
    last_seen: str = ""
    ports: set[int] = field(default_factory=set)
    deckies: set[str] = field(default_factory=set)

    def add(self, event: dict[str, Any]) -> None:
        payload = event.get("payload") or {}
        if not self.count:
            self.first_id, self.first_seen = int(event["id"]), str(event["at"])
        self.count += 1
        self.last_id, self.last_seen = int(event["id"]), str(event["at"])
        port = payload.get("dst_port")
        if isinstance(port, int) and len(self.ports) < MAX_PORTS:
            self.ports.add(port)
        decky = payload.get("decky")
        if isinstance(decky, str) and len(self.deckies) < MAX_DECKIES:
            self.deckies.add(decky)


@dataclass
class Window:
    start: datetime
    seconds: int
    groups: dict[Key, Group] = field(default_factory=dict)
    through: int = 0
    """The last event id folded in: the output's cursor once the window is delivered."""

    @classmethod
    def opening_at(cls, event: dict[str, Any], seconds: int) -> Window:
        return cls(start=window_start(str(event["at"]), seconds), seconds=seconds)

    @property
    def end(self) -> datetime:
        return self.start + timedelta(seconds=self.seconds)

    def holds(self, event: dict[str, Any]) -> bool:
        return parse_at(str(event["at"])) < self.end

    @property
    def full(self) -> bool:
        return len(self.groups) >= MAX_GROUPS

    def add(self, event: dict[str, Any]) -> None:
        key = key_of(event)
        group = self.groups.get(key)
        if group is None:
            group = self.groups[key] = Group(key=key, sample=event)
        group.add(event)
        self.through = int(event["id"])

    def aggregates(self) -> list[dict[str, Any]]:
        """The window's aggregates, in the order their groups began."""
        groups = sorted(self.groups.values(), key=lambda g: g.first_id)
        return [self._wire(g) for g in groups]

    def _wire(self, group: Group) -> dict[str, Any]:
        src_ip, topology, kind = group.key
        start = self.start.isoformat(timespec="seconds")
        ident = hashlib.sha256(f"{start}|{kind}|{topology}|{src_ip}|{group.first_id}".encode())
        info: dict[str, Any] = {
            "id": "agg-" + ident.hexdigest()[:24],
            "type": kind,
            "topology": topology,
            "src_ip": src_ip,
            "count": group.count,
            "first_id": group.first_id,
            "last_id": group.last_id,
            "first_seen": group.first_seen,
            "last_seen": group.last_seen,
            "window_start": start,
            "window_end": self.end.isoformat(timespec="seconds"),
            "window_seconds": self.seconds,
            "dst_ports": sorted(group.ports),
            "deckies": sorted(group.deckies),
        }
        return {"aggregate": info, "sample": group.sample}
