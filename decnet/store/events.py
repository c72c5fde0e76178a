"""The event table is the bus (SPEC §11): writers append inside their own transaction.

Every writer takes the write lock (`BEGIN IMMEDIATE`) before appending, so ids become visible
in id order and a reader tailing `id > last_seen` never skips an event.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from decnet.events import EventPayload
from decnet.store.rows import EventRow
from decnet.store.topologies import dumps


def append(
    conn: sqlite3.Connection,
    *,
    at: str,
    payload: EventPayload,
    topology: str | None,
    topology_id: str | None,
) -> int:
    cursor = conn.execute(
        "INSERT INTO event (at, topic, topology_id, topology, type, payload) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (at, payload.topic, topology_id, topology, payload.type, dumps(payload.wire())),
    )
    assert cursor.lastrowid is not None  # an INSERT into a rowid table always sets it
    return cursor.lastrowid


def since(
    conn: sqlite3.Connection, after_id: int, topology: str | None, limit: int
) -> list[EventRow]:
    # Filtering on the stored name (not the id) keeps a deleted topology's history reachable.
    sql = "SELECT id, at, topic, topology, type, payload FROM event WHERE id > ?"
    params: list[Any] = [after_id]
    if topology is not None:
        sql += " AND topology = ?"
        params.append(topology)
    sql += " ORDER BY id LIMIT ?"
    params.append(limit)
    return [
        EventRow(id=i, at=at, topic=topic, topology=t, type=ty, payload=json.loads(p))
        for i, at, topic, t, ty, p in conn.execute(sql, params)
    ]
