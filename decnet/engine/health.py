"""Sensor health: each host's collection state, read from what the collector keeps in the store
(`decnet hosts`, `GET /hosts`; docs/observe.md, "Sensor health").

A host is `connected` only while a collector holds its lease (a collector renews it every
few seconds, so a collector that died shows as `not collected` within a lease) and its stream
is up. The lag of a source is the lines the host side saw that are not committed yet, and how
old the last committed line was when the host reported newer ones.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from pydantic import BaseModel

from decnet.store import Store
from decnet.store.rows import CollectHostRow, CollectSourceRow

NOT_COLLECTED = "not collected"


class SourceHealth(BaseModel):
    source: str
    """TOPOLOGY/DECKY/FAMILY on the host."""
    lines: int
    lag_lines: int
    last_line_at: str | None
    gaps: int
    missing: int
    sensor: str | None
    """The sensor's last word about itself: start, heartbeat or error."""
    sensor_at: str | None


class CollectHealth(BaseModel):
    state: str
    """connected | connecting | down | elsewhere (another collector streams it) | not collected"""
    connected: bool
    since: str | None
    last_frame_at: str | None
    """When the host last sent anything (lines, or its status every few seconds)."""
    last_line_at: str | None
    """Sensor time of the newest line collected."""
    lag_lines: int
    lag_seconds: float | None
    gaps: int
    missing: int
    """Lines rotated away before they were collected."""
    stalled_since: str | None
    error: str | None
    sources: list[SourceHealth]


def _time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _lag(row: CollectSourceRow) -> int:
    if row.written_seq is None:
        return 0
    behind = row.written_seq - row.seq if row.written_epoch == row.epoch else row.written_seq
    return max(0, behind)


def _lag_seconds(rows: Iterable[CollectSourceRow]) -> float | None:
    worst: float | None = None
    for row in rows:
        reported, last = _time(row.reported_at), _time(row.last_line_at)
        if reported is None or last is None:
            continue
        seconds = max(0.0, (reported - last).total_seconds()) if _lag(row) else 0.0
        worst = seconds if worst is None else max(worst, seconds)
    return worst


def _source(row: CollectSourceRow) -> SourceHealth:
    return SourceHealth(
        source=row.source, lines=row.lines, lag_lines=_lag(row), last_line_at=row.last_line_at,
        gaps=row.gaps, missing=row.missing, sensor=row.sensor_kind, sensor_at=row.sensor_at,
    )  # fmt: skip


def host_health(
    host: CollectHostRow | None, sources: list[CollectSourceRow], now: datetime
) -> CollectHealth:
    alive = (
        host is not None
        and host.owner is not None
        and host.lease_expires_at is not None
        and datetime.fromisoformat(host.lease_expires_at) > now
    )
    state = host.state if host is not None and alive else NOT_COLLECTED
    lines = [r.last_line_at for r in sources if r.last_line_at]
    return CollectHealth(
        state=state,
        connected=state == "connected",
        since=host.state_since if host is not None and alive else None,
        last_frame_at=host.last_frame_at if host is not None else None,
        last_line_at=max(lines) if lines else None,
        lag_lines=sum(_lag(r) for r in sources),
        lag_seconds=_lag_seconds(sources),
        gaps=sum(r.gaps for r in sources),
        missing=sum(r.missing for r in sources),
        stalled_since=host.stalled_since if host is not None else None,
        error=host.error if host is not None else None,
        sources=[_source(r) for r in sources],
    )


def collection_health(store: Store, hosts: Iterable[str]) -> dict[str, CollectHealth]:
    """host -> its collection health, for each of `hosts` (one that was never collected
    included)."""
    rows = store.collect_hosts()
    sources: dict[str, list[CollectSourceRow]] = {}
    for row in store.collect_sources():
        sources.setdefault(row.host, []).append(row)
    now = datetime.now(UTC)
    return {h: host_health(rows.get(h), sources.get(h, []), now) for h in hosts}
