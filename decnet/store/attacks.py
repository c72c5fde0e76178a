"""Reads of the attack index (`attack` rows, one per attack event): who attacked, where, when.

The rows carry the columns the views group on (source address, topology, decky, LAN, type,
outcome, sensor time), so a view never parses payloads; the events themselves are joined only
for one source's timeline.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from decnet.store import topologies
from decnet.store.base import StoreBase
from decnet.store.rows import EventRow

_COUNTS = (
    "SELECT src_ip, min(observed_at), max(observed_at), count(*), "
    "sum(type = 'attack.login'), sum(type = 'attack.login' AND outcome = 'success'), "
    "sum(type = 'attack.command'), sum(type = 'attack.download') FROM attack"
)

# As BusMixin.latest_event_id (ids never go back, even once retention deleted the newest).
_LATEST = (
    "SELECT max(coalesce((SELECT max(id) FROM event), 0), "
    "coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'event'), 0))"
)


def _where(
    topology: str | None, since: str | None, ips: Sequence[str] | None = None
) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if ips is not None:
        clauses.append(f"src_ip IN ({', '.join('?' for _ in ips)})")
        params += list(ips)
    if topology is not None:
        clauses.append("topology = ?")
        params.append(topology)
    if since is not None:
        clauses.append("observed_at >= ?")
        params.append(since)
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), params


class AttacksMixin(StoreBase):
    def attacker_counts(
        self, *, topology: str | None = None, since: str | None = None, limit: int = 1000
    ) -> list[tuple[Any, ...]]:
        """(src_ip, first, last, events, logins, logins ok, commands, downloads) per source,
        the most recently active first."""
        where, params = _where(topology, since)
        sql = f"{_COUNTS}{where} GROUP BY src_ip ORDER BY max(observed_at) DESC, src_ip LIMIT ?"
        return [tuple(r) for r in self.conn.execute(sql, [*params, limit])]

    def attacker_counts_of(self, ip: str) -> tuple[Any, ...] | None:
        """The counts of one source (as `attacker_counts`), None when it has no event."""
        row = self.conn.execute(f"{_COUNTS} WHERE src_ip = ? GROUP BY src_ip", (ip,)).fetchone()
        return tuple(row) if row else None

    def attacker_stops(
        self, ips: Sequence[str], *, topology: str | None = None, since: str | None = None
    ) -> list[tuple[Any, ...]]:
        """(src_ip, topology, decky, lan, first touch) for each source in `ips`."""
        if not ips:
            return []
        where, params = _where(topology, since, ips)
        sql = (
            "SELECT src_ip, topology, decky, lan, min(observed_at) FROM attack"
            f"{where} GROUP BY src_ip, topology, decky, lan"
        )
        return [tuple(r) for r in self.conn.execute(sql, params)]

    def attacker_events(self, ip: str, *, limit: int) -> list[EventRow]:
        """The newest `limit` events of source `ip`, oldest first."""
        rows = self.conn.execute(
            "SELECT e.id, e.at, e.topic, e.topology, e.type, e.payload FROM attack a "
            "JOIN event e ON e.id = a.event_id WHERE a.src_ip = ? "
            "ORDER BY a.event_id DESC LIMIT ?",
            (ip, limit),
        )
        return [
            EventRow(id=i, at=at, topic=topic, topology=t, type=ty, payload=json.loads(p))
            for i, at, topic, t, ty, p in reversed(list(rows))
        ]

    def topology_activity(
        self, topology: str, *, since: str | None, limit: int
    ) -> tuple[list[tuple[Any, ...]], list[EventRow], int]:
        """In one read snapshot: (decky, events, newest sensor time) of each decky of
        `topology` attacked since `since` (sensor time), its newest `limit` attack events
        (newest first), and the newest event id then (so a stream's later events are news, and
        none is counted twice). NotFound for an unknown topology."""
        where, params = _where(topology, since)
        with self._snapshot() as conn:
            topologies.find(conn, topology)
            latest = conn.execute(_LATEST).fetchone()[0]
            counts = conn.execute(
                f"SELECT decky, count(*), max(observed_at) FROM attack{where} "
                "GROUP BY decky ORDER BY decky",
                params,
            ).fetchall()
            rows = conn.execute(
                "SELECT e.id, e.at, e.topic, e.topology, e.type, e.payload FROM event e "
                f"WHERE e.id IN (SELECT event_id FROM attack{where} "
                "ORDER BY event_id DESC LIMIT ?) ORDER BY e.id DESC",
                [*params, limit],
            ).fetchall()
        events = [
            EventRow(id=i, at=at, topic=topic, topology=t, type=ty, payload=json.loads(p))
            for i, at, topic, t, ty, p in rows
        ]
        return [tuple(r) for r in counts], events, latest
