"""Reading the event bus with filters, its high-water mark, and retention (SPEC §11).

Retention deletes a prefix of ids and records the highest id it deleted, so a stream resuming
from an id below that mark knows events are lost and must start over from a snapshot.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import timedelta
from typing import Any

from decnet.store import db as dbmod
from decnet.store.base import StoreBase
from decnet.store.rows import EventRow

PRUNED_KEY = "events_pruned_through"
"""`setting` row: the highest event id retention has deleted (0 = none). Pruning always
deletes a prefix of ids, so a resume point below this mark has lost events."""
_PRUNE_CHUNK = 5000
"""Ids deleted per transaction: a long prune never holds the write lock for long."""
_COLUMNS = "SELECT id, at, topic, topology, type, payload FROM event"


def _rows(conn: sqlite3.Connection, sql: str, params: list[Any]) -> list[EventRow]:
    return [
        EventRow(id=i, at=at, topic=topic, topology=t, type=ty, payload=json.loads(p))
        for i, at, topic, t, ty, p in conn.execute(sql, params)
    ]


def _where(topology: str | None, type_glob: str | None) -> tuple[str, list[Any]]:
    sql, params = "", []
    if topology is not None:
        sql += " AND topology = ?"
        params.append(topology)
    if type_glob is not None:
        sql += " AND type GLOB ?"  # SQLite's GLOB: `*`, `?`, `[...]`, case-sensitive
        params.append(type_glob)
    return sql, params


class EventsMixin(StoreBase):
    """Filtered reads of the bus, its high-water mark and its retention."""

    def query_events(
        self,
        after_id: int = 0,
        *,
        topology: str | None = None,
        type_glob: str | None = None,
        limit: int = 1000,
    ) -> list[EventRow]:
        """Events with id > after_id (and the filters), oldest first."""
        where, params = _where(topology, type_glob)
        sql = f"{_COLUMNS} WHERE id > ?{where} ORDER BY id LIMIT ?"
        return _rows(self.conn, sql, [after_id, *params, limit])

    def last_events(
        self, count: int, *, topology: str | None = None, type_glob: str | None = None
    ) -> list[EventRow]:
        """The newest `count` events (and the filters), oldest first."""
        where, params = _where(topology, type_glob)
        sql = f"{_COLUMNS} WHERE 1{where} ORDER BY id DESC LIMIT ?"
        return list(reversed(_rows(self.conn, sql, [*params, count])))

    def latest_event_id(self) -> int:
        """The newest id ever given to an event, even once retention has deleted it
        (AUTOINCREMENT keeps it in sqlite_sequence): ids never go back."""
        row = self.conn.execute(
            "SELECT max(coalesce((SELECT max(id) FROM event), 0), "
            "coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'event'), 0))"
        ).fetchone()
        return int(row[0])

    def events_pruned_through(self) -> int:
        row = self.conn.execute("SELECT value FROM setting WHERE key = ?", (PRUNED_KEY,)).fetchone()
        return int(row[0]) if row else 0

    def prune_events(self, older_than: timedelta) -> tuple[int, int]:
        """Delete every event up to the newest one older than `older_than`; returns (deleted,
        pruned-through id). A prefix of ids goes, so resuming streams can tell they lost some."""
        cutoff = dbmod.iso(self.clock() - older_than)
        row = self.conn.execute("SELECT max(id) FROM event WHERE at < ?", (cutoff,)).fetchone()
        through = int(row[0] or 0)
        deleted = 0
        start = self.events_pruned_through()
        while start < through:
            upto = min(start + _PRUNE_CHUNK, through)
            with self.transaction() as conn:
                deleted += conn.execute("DELETE FROM event WHERE id <= ?", (upto,)).rowcount
                conn.execute(
                    "INSERT INTO setting (key, value) VALUES (?, ?) ON CONFLICT (key) "
                    "DO UPDATE SET value = max(CAST(value AS INTEGER), excluded.value)",
                    (PRUNED_KEY, upto),
                )
            start = upto
        return deleted, max(through, start)

    def last_findings(self) -> list[EventRow]:
        """The newest `drift.finding` event of every topology, by topology name."""
        sql = (
            f"{_COLUMNS} WHERE id IN (SELECT max(id) FROM event WHERE type = 'drift.finding' "
            "GROUP BY topology) ORDER BY topology"
        )
        return _rows(self.conn, sql, [])
