"""The collector's tables: attack events with their index rows, cursors per source, host streams.

`collect(batches)` is the collector's one write: in ONE transaction it appends the attack
events of a batch of sensor lines (each with its `attack` row), the `collect.gap` events of the
lines rotated away, and moves each source's cursor to the last line it covered. A line at or
before its source's committed cursor is skipped, and `attack`'s UNIQUE (line, type) refuses an
event written before, so delivering a line twice (the stream is at-least-once) writes nothing
twice. Ids are given in order under the write lock, so event readers tailing ids never skip.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from decnet import events as ev
from decnet.core.observe.normalise import SensorNote
from decnet.events import AttackEvent
from decnet.store import db as dbmod
from decnet.store.base import StoreBase
from decnet.store.rows import CollectHostRow, CollectSourceRow
from decnet.store.topologies import dumps

Cursor = tuple[str, int]
"""(epoch, seq) of the last line of a source that is committed."""

_SOURCE_COLUMNS = (
    "host, source, epoch, seq, committed_at, last_line_at, lines, gaps, missing, written_epoch, "
    "written_seq, reported_at, sensor_kind, sensor_at, sensor_detail"
)
_HOST_COLUMNS = (
    "host, owner, lease_expires_at, state, state_since, last_frame_at, host_time, error, "
    "stalled_since, updated_at"
)


@dataclass(frozen=True, slots=True)
class Collected:
    """One line read from a source, and what it produced (maybe nothing)."""

    source: str
    epoch: str
    seq: int
    at: str | None = None
    """Sensor time of the line (None when it could not be read)."""
    events: tuple[AttackEvent, ...] = ()
    note: SensorNote | None = None


@dataclass(frozen=True, slots=True)
class Skipped:
    """Lines of a source rotated away before they were read: `missing` lines after
    `after_seq` (0: from the start of the epoch)."""

    source: str
    epoch: str
    after_seq: int
    missing: int


@dataclass
class Batch:
    host: str
    items: list[Collected | Skipped] = field(default_factory=list)
    """In the order the host sent them (each source's lines in sequence order)."""
    extra: list[AttackEvent] = field(default_factory=list)
    """Events not tied to a line's cursor (the scan aggregates)."""


@dataclass
class HostCounts:
    events: int = 0
    """Attack events written (a refused duplicate of an earlier write is not told apart)."""
    duplicates: int = 0
    """Lines at or before their source's cursor: delivered again, skipped."""
    gaps: int = 0


@dataclass
class BatchResult:
    events: int = 0
    duplicates: int = 0
    gaps: int = 0
    hosts: dict[str, HostCounts] = field(default_factory=dict)
    cursors: dict[tuple[str, str], Cursor] = field(default_factory=dict)
    """(host, source) -> the cursor now committed, for every source the batches touched."""
    first_id: int = 0
    last_id: int = 0


@dataclass
class _SourceChange:
    cursor: Cursor
    lines: int = 0
    gaps: int = 0
    missing: int = 0
    last_line_at: str | None = None
    note: SensorNote | None = None


def _attack_row(event_id: int, e: AttackEvent) -> tuple[Any, ...]:
    outcome = e.__dict__.get("outcome")  # only logins have one (getattr would raise inside)
    return (
        event_id, e.line, e.type, e.observed_at, e.topology, e.host, e.decky, e.lan, e.service,
        e.src_ip, e.dst_port, e.session, outcome,
    )  # fmt: skip


class _Writer:
    """The rows of one `collect` call, gathered first and written with one statement each."""

    def __init__(self, conn: sqlite3.Connection, now: str, next_id: int) -> None:
        self.conn, self.now, self.next_id = conn, now, next_id
        self.events: list[tuple[Any, ...]] = []
        self.attacks: list[tuple[Any, ...]] = []
        self.topology_ids: dict[str, str | None] = {}

    def topology_id(self, name: str) -> str | None:
        if name not in self.topology_ids:
            row = self.conn.execute("SELECT id FROM topology WHERE name = ?", (name,)).fetchone()
            self.topology_ids[name] = row[0] if row else None
        return self.topology_ids[name]

    def add(self, payload: ev.EventPayload, topology: str) -> int:
        self.next_id += 1
        self.events.append(
            (self.next_id, self.now, payload.topic, self.topology_id(topology), topology,
             payload.type, dumps(payload.wire()))
        )  # fmt: skip
        if isinstance(payload, AttackEvent):
            self.attacks.append(_attack_row(self.next_id, payload))
        return self.next_id

    def flush(self) -> int:
        """Write the rows; events whose attack row was refused (written before) are taken out
        again. Returns how many were refused."""
        if not self.events:
            return 0
        self.conn.executemany(
            "INSERT INTO event (id, at, topic, topology_id, topology, type, payload) "
            "VALUES (?,?,?,?,?,?,?)",
            self.events,
        )
        before = self.conn.total_changes
        self.conn.executemany(
            "INSERT OR IGNORE INTO attack (event_id, line, type, observed_at, topology, host, "
            "decky, lan, service, src_ip, dst_port, session, outcome) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            self.attacks,
        )
        refused = len(self.attacks) - (self.conn.total_changes - before)
        if refused:
            lo, hi = self.events[0][0], self.events[-1][0]
            self.conn.execute(
                "DELETE FROM event WHERE id BETWEEN ? AND ? AND topic = 'attack' AND id NOT IN "
                "(SELECT event_id FROM attack WHERE event_id BETWEEN ? AND ?)",
                (lo, hi, lo, hi),
            )
        return refused


class CollectMixin(StoreBase):
    """Cursors, the batched idempotent write of collected lines, and the streams' health."""

    def collect(self, batches: Sequence[Batch]) -> BatchResult:
        """Write the batches in one transaction (see the module's docstring)."""
        result = BatchResult()
        with self.transaction() as conn:
            base = _latest_id(conn)
            writer = _Writer(conn, self._now(), base)
            for batch in batches:
                counts = result.hosts.setdefault(batch.host, HostCounts())
                before = len(writer.attacks)
                changes = self._apply(conn, writer, batch, counts)
                for e in batch.extra:
                    writer.add(e, e.topology)
                counts.events += len(writer.attacks) - before
                _save_cursors(conn, batch.host, changes, writer.now)
                for source, change in changes.items():
                    result.cursors[(batch.host, source)] = change.cursor
            refused = writer.flush()
        result.gaps = sum(c.gaps for c in result.hosts.values())
        result.events = len(writer.attacks) - refused
        result.duplicates = sum(c.duplicates for c in result.hosts.values()) + refused
        result.first_id, result.last_id = base + 1, writer.next_id
        return result

    def _apply(
        self, conn: sqlite3.Connection, writer: _Writer, batch: Batch, counts: HostCounts
    ) -> dict[str, _SourceChange]:
        committed = _cursors(conn, batch.host, {i.source for i in batch.items})
        changes: dict[str, _SourceChange] = {}
        for item in batch.items:
            now = changes[item.source].cursor if item.source in changes else None
            current = now or committed.get(item.source)
            if isinstance(item, Skipped):
                end = item.after_seq + item.missing
                if current is not None and current[0] == item.epoch and current[1] >= end:
                    continue
                gap = ev.CollectGap(
                    host=batch.host, source=item.source, missing=item.missing,
                    after_seq=item.after_seq,
                )  # fmt: skip
                writer.add(gap, item.source.split("/", 1)[0])
                change = changes.setdefault(item.source, _SourceChange((item.epoch, end)))
                change.cursor = (item.epoch, end)
                change.gaps += 1
                change.missing += item.missing
                counts.gaps += 1
                continue
            if current is not None and current[0] == item.epoch and item.seq <= current[1]:
                counts.duplicates += 1
                continue
            for event in item.events:
                writer.add(event, event.topology)
            change = changes.setdefault(item.source, _SourceChange((item.epoch, item.seq)))
            change.cursor = (item.epoch, item.seq)
            change.lines += 1
            change.last_line_at = item.at or change.last_line_at
            change.note = item.note or change.note
        return changes

    # --- cursors and sources ----------------------------------------------------------------

    def collect_cursors(self, host: str) -> dict[str, Cursor]:
        """source -> committed (epoch, seq) of every source of `host`."""
        rows = self.conn.execute(
            "SELECT source, epoch, seq FROM collect_source WHERE host = ?", (host,)
        )
        return {source: (epoch, seq) for source, epoch, seq in rows}

    def collect_sources(self, host: str | None = None) -> list[CollectSourceRow]:
        where, params = ("WHERE host = ?", (host,)) if host is not None else ("", ())
        rows = self.db.query(
            f"SELECT {_SOURCE_COLUMNS} FROM collect_source {where} ORDER BY host, source", params
        )
        return [CollectSourceRow(**row) for row in rows]

    def report_sources(self, host: str, written: Mapping[str, Cursor], at: str) -> None:
        """What the host side saw last in each source (for the lag); sources the collector has
        no cursor for yet are left alone (their first line makes the row)."""
        if not written:
            return
        with self.transaction() as conn:
            conn.executemany(
                "UPDATE collect_source SET written_epoch = ?, written_seq = ?, reported_at = ? "
                "WHERE host = ? AND source = ?",
                [(e, s, at, host, source) for source, (e, s) in written.items()],
            )

    def forget_source(self, host: str, source: str) -> None:
        """The host side removed the source directory (everything in it was collected)."""
        with self.transaction() as conn:
            conn.execute("DELETE FROM collect_source WHERE host = ? AND source = ?", (host, source))

    # --- host streams -----------------------------------------------------------------------

    def collect_hosts(self) -> dict[str, CollectHostRow]:
        rows = self.db.query(f"SELECT {_HOST_COLUMNS} FROM collect_host ORDER BY host")
        return {row["host"]: CollectHostRow(**row) for row in rows}

    def claim_collect_host(
        self, host: str, owner: str, lease: float, *, owner_dead: Any = None
    ) -> bool:
        """Take (or keep) the stream of `host` for `owner` until the lease runs out; False
        while another collector's lease runs and `owner_dead(owner)` does not say it is gone."""
        now = self.clock()
        expires = dbmod.iso(now + timedelta(seconds=lease))
        with self.transaction() as conn:
            row = conn.execute(
                "SELECT owner, lease_expires_at FROM collect_host WHERE host = ?", (host,)
            ).fetchone()
            if row is not None and row[0] and row[0] != owner:
                running = row[1] is not None and datetime.fromisoformat(row[1]) > now
                if running and not (owner_dead is not None and owner_dead(row[0])):
                    return False
            conn.execute(
                "INSERT INTO collect_host (host, owner, lease_expires_at, updated_at) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (host) DO UPDATE SET owner = excluded.owner, "
                "lease_expires_at = excluded.lease_expires_at, updated_at = excluded.updated_at",
                (host, owner, expires, dbmod.iso(now)),
            )
        return True

    def release_collect_hosts(self, owner: str) -> None:
        with self.transaction() as conn:
            conn.execute(
                "UPDATE collect_host SET owner = NULL, lease_expires_at = NULL, state = 'down', "
                "updated_at = ? WHERE owner = ?",
                (self._now(), owner),
            )

    def update_collect_host(self, host: str, owner: str, **fields: Any) -> None:
        """Set the stream's health fields (state, state_since, last_frame_at, host_time,
        error, stalled_since) while `owner` holds it."""
        allowed = {"state", "state_since", "last_frame_at", "host_time", "error", "stalled_since"}
        unknown = set(fields) - allowed
        if unknown:
            raise ValueError(f"not a collect_host field: {sorted(unknown)}")
        sets = "".join(f", {name} = ?" for name in fields)
        with self.transaction() as conn:
            conn.execute(
                f"UPDATE collect_host SET updated_at = ?{sets} WHERE host = ? AND owner = ?",
                (self._now(), *fields.values(), host, owner),
            )

    def recent_connects(self, since: str) -> list[dict[str, Any]]:
        """Payloads of the connects observed at or after `since` that no scan covered yet,
        oldest first (to rebuild the scan windows after a restart)."""
        scanned = {
            (t, d, ip): last
            for t, d, ip, last in self.conn.execute(
                "SELECT topology, decky, src_ip, max(observed_at) FROM attack "
                "WHERE type = 'attack.scan' AND observed_at >= ? GROUP BY topology, decky, src_ip",
                (since,),
            )
        }
        rows = self.conn.execute(
            "SELECT a.topology, a.decky, a.src_ip, a.observed_at, e.payload FROM attack a "
            "JOIN event e ON e.id = a.event_id WHERE a.observed_at >= ? "
            "AND a.type = 'attack.connect' ORDER BY a.observed_at, a.event_id",
            (since,),
        )
        return [
            json.loads(payload)
            for t, d, ip, at, payload in rows
            if at > scanned.get((t, d, ip), "")
        ]


def _latest_id(conn: sqlite3.Connection) -> int:
    row = conn.execute(
        "SELECT max(coalesce((SELECT max(id) FROM event), 0), "
        "coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'event'), 0))"
    ).fetchone()
    return int(row[0])


def _cursors(conn: sqlite3.Connection, host: str, sources: Iterable[str]) -> dict[str, Cursor]:
    found: dict[str, Cursor] = {}
    for source in sources:
        row = conn.execute(
            "SELECT epoch, seq FROM collect_source WHERE host = ? AND source = ?", (host, source)
        ).fetchone()
        if row is not None:
            found[source] = (row[0], row[1])
    return found


def _save_cursors(
    conn: sqlite3.Connection, host: str, changes: Mapping[str, _SourceChange], now: str
) -> None:
    conn.executemany(
        "INSERT INTO collect_source (host, source, epoch, seq, committed_at, last_line_at, "
        "lines, gaps, missing, sensor_kind, sensor_at, sensor_detail) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT (host, source) DO UPDATE SET "
        "epoch = excluded.epoch, seq = excluded.seq, committed_at = excluded.committed_at, "
        "last_line_at = coalesce(excluded.last_line_at, last_line_at), "
        "lines = lines + excluded.lines, gaps = gaps + excluded.gaps, "
        "missing = missing + excluded.missing, "
        "sensor_kind = coalesce(excluded.sensor_kind, sensor_kind), "
        "sensor_at = coalesce(excluded.sensor_at, sensor_at), "
        "sensor_detail = coalesce(excluded.sensor_detail, sensor_detail)",
        [
            (host, source, c.cursor[0], c.cursor[1], now, c.last_line_at, c.lines, c.gaps,
             c.missing, c.note.kind if c.note else None, c.note.at if c.note else None,
             c.note.detail if c.note else None)
            for source, c in changes.items()
        ],
    )  # fmt: skip
