"""Rows of the `output` table: outputs for the SOC, their cursors, counters and leases.

Each output has a cursor (the last event id it handled) that moves only in a compare-and-set
UPDATE by the worker holding its lease, after the receiver acknowledged what it was sent: at
least once, never skipped. A worker claims an output with a lease it renews; a claim whose
owner died or whose lease ran out is taken over, so two processes never deliver one output.
Events up to the cursor that retention deleted before delivery are a gap: counted, recorded,
and announced as an `output.gap` event — never skipped silently.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from json import loads
from typing import Any

from pydantic import BaseModel, ConfigDict

from decnet import events as ev
from decnet.core.outputs import OutputSecret, OutputSpec
from decnet.errors import AlreadyExists, NotFound
from decnet.store import db as dbmod
from decnet.store.bus import PRUNED_KEY, EventsMixin

_COLUMNS = (
    "id, spec, cursor, created_at, delivered, failed, dropped, lost, failures, "
    "last_error, last_error_at, last_delivered_at, lease_owner, lease_expires_at"
)
LAG_COUNT_CAP = 1_000_000
"""`outputs list` counts undelivered events up to this many (then says `1000000+`)."""
OwnerDead = Callable[[str, str | None], bool]
"""(lease owner, lease expiry) -> True when that claim may be taken over."""


class OutputRow(BaseModel):
    """One output: its spec (no secret), cursor, counters and lease."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    spec: OutputSpec
    cursor: int
    created_at: str
    delivered: int
    """Events (or aggregates) the receiver acknowledged."""
    failed: int
    """Delivery attempts that failed (each is retried, with backoff)."""
    dropped: int
    """Events the receiver refused for good (an HTTP 4xx): not retried."""
    lost: int
    """Event ids retention deleted before this output delivered them (an upper bound)."""
    failures: int
    """Failed attempts in a row (0: the last attempt went through)."""
    last_error: str | None
    last_error_at: str | None
    last_delivered_at: str | None
    lease_owner: str | None
    lease_expires_at: str | None

    @property
    def name(self) -> str:
        return self.spec.name


@dataclass(frozen=True)
class Batch:
    """What an output has to do, read in one snapshot of the table."""

    rows: list[dict[str, Any]]
    """Matching events after the cursor, oldest first, as `GET /events` serves them."""
    mark: int
    """The newest event id when read: with a short page, everything up to it was seen."""
    pruned_through: int


def _row(values: Sequence[Any]) -> OutputRow:
    keys = _COLUMNS.split(", ")
    data = dict(zip(keys, values, strict=True))
    data["spec"] = OutputSpec.model_validate_json(data["spec"])
    return OutputRow(**data)


def _lease(now: datetime, seconds: float) -> str:
    return dbmod.iso(now + timedelta(seconds=seconds))


def event_filter(spec: OutputSpec) -> tuple[str, list[Any]]:
    """The SQL condition (and its parameters) of an output's filter."""
    sql = "(" + " OR ".join("type GLOB ?" for _ in spec.types) + ")"
    params: list[Any] = list(spec.types)
    if spec.topologies:
        sql += f" AND topology IN ({', '.join('?' for _ in spec.topologies)})"
        params += spec.topologies
    return sql, params


class OutputsMixin(EventsMixin):
    # --- definitions ----------------------------------------------------------------------

    def insert_output(
        self, spec: OutputSpec, secret: OutputSecret, cursor: int | None = None
    ) -> OutputRow:
        """Store a new output; it starts after `cursor` (None: after the newest event)."""
        now = self._now()
        with self.transaction() as conn:
            if conn.execute("SELECT 1 FROM output WHERE name = ?", (spec.name,)).fetchone():
                raise AlreadyExists(
                    f"output {spec.name!r} already exists",
                    hint=f"choose another name, or `decnet outputs remove {spec.name}` first",
                )
            start = self.latest_event_id() if cursor is None else cursor
            conn.execute(
                "INSERT INTO output (id, name, kind, spec, secret, cursor, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (uuid.uuid4().hex, spec.name, spec.kind, spec.model_dump_json(),
                 secret.model_dump_json(), start, now),
            )  # fmt: skip
            return self._output(conn, spec.name)

    def list_outputs(self) -> list[OutputRow]:
        rows = self.conn.execute(f"SELECT {_COLUMNS} FROM output ORDER BY name")
        return [_row(r) for r in rows]

    def get_output(self, name: str) -> OutputRow:
        return self._output(self.conn, name)

    def output_by_id(self, output_id: str) -> OutputRow | None:
        found = self.conn.execute(
            f"SELECT {_COLUMNS} FROM output WHERE id = ?", (output_id,)
        ).fetchone()
        return None if found is None else _row(found)

    def output_secret(self, output_id: str) -> OutputSecret:
        """What the worker needs to deliver: never returned by any other call."""
        found = self.conn.execute("SELECT secret FROM output WHERE id = ?", (output_id,)).fetchone()
        return OutputSecret.model_validate_json(found[0] if found else "{}")

    def delete_output(self, name: str) -> OutputRow:
        with self.transaction() as conn:
            row = self._output(conn, name)
            conn.execute("DELETE FROM output WHERE id = ?", (row.id,))
            return row

    def _output(self, conn: sqlite3.Connection, name: str) -> OutputRow:
        found = conn.execute(f"SELECT {_COLUMNS} FROM output WHERE name = ?", (name,)).fetchone()
        if found is None:
            raise NotFound(f"no output named {name!r}", hint="see `decnet outputs list`")
        return _row(found)

    # --- reading what to deliver ------------------------------------------------------------

    def output_batch(self, spec: OutputSpec, after: int, limit: int) -> Batch:
        """The events matching `spec` after `after` (at most `limit`), the newest id and the
        retention mark, in one snapshot: a prune between the reads cannot hide a gap."""
        where, params = event_filter(spec)
        with self._snapshot() as conn:
            mark = self.latest_event_id()
            rows = conn.execute(
                "SELECT id, at, topic, topology, type, payload FROM event "
                f"WHERE id > ? AND id <= ? AND {where} ORDER BY id LIMIT ?",
                [after, mark, *params, limit],
            ).fetchall()
            pruned = conn.execute(
                "SELECT value FROM setting WHERE key = ?", (PRUNED_KEY,)
            ).fetchone()
        # Plain dicts in the wire form of `GET /events` (what EventRow.model_dump gives),
        # without a model per row: delivery reads every event once, at ingest's pace.
        events = [
            {"id": i, "at": at, "topic": topic, "topology": t, "type": ty, "payload": loads(p)}
            for i, at, topic, t, ty, p in rows
        ]
        return Batch(rows=events, mark=mark, pruned_through=int(pruned[0]) if pruned else 0)

    def output_lag(self, spec: OutputSpec, cursor: int) -> tuple[int, str | None]:
        """(matching events after `cursor`, capped at LAG_COUNT_CAP + 1; `at` of the oldest)."""
        where, params = event_filter(spec)
        with self._snapshot() as conn:
            count = conn.execute(
                f"SELECT count(*) FROM (SELECT 1 FROM event WHERE id > ? AND {where} LIMIT ?)",
                [cursor, *params, LAG_COUNT_CAP + 1],
            ).fetchone()[0]
            oldest = conn.execute(
                f"SELECT at FROM event WHERE id > ? AND {where} ORDER BY id LIMIT 1",
                [cursor, *params],
            ).fetchone()
        return int(count), oldest[0] if oldest else None

    # --- the worker's lease and its progress ------------------------------------------------

    def claim_output(
        self, output_id: str, owner: str, seconds: float, owner_dead: OwnerDead
    ) -> OutputRow | None:
        """Claim (or renew) the output for `owner`; None when another live worker holds it
        or it was removed."""
        with self.transaction() as conn:
            found = conn.execute(
                "SELECT lease_owner, lease_expires_at FROM output WHERE id = ?", (output_id,)
            ).fetchone()
            if found is None:
                return None
            holder, expires = found
            if holder not in (None, owner) and not owner_dead(holder, expires):
                return None
            conn.execute(
                "UPDATE output SET lease_owner = ?, lease_expires_at = ? WHERE id = ?",
                (owner, _lease(self.clock(), seconds), output_id),
            )
            found = conn.execute(
                f"SELECT {_COLUMNS} FROM output WHERE id = ?", (output_id,)
            ).fetchone()
            return _row(found)

    def release_output(self, output_id: str, owner: str) -> None:
        with self.transaction() as conn:
            conn.execute(
                "UPDATE output SET lease_owner = NULL, lease_expires_at = NULL "
                "WHERE id = ? AND lease_owner = ?",
                (output_id, owner),
            )

    def advance_output(
        self,
        output_id: str,
        owner: str,
        *,
        from_cursor: int,
        to_cursor: int,
        delivered: int = 0,
        dropped: int = 0,
        error: str | None = None,
        lease_seconds: float,
    ) -> bool:
        """Move the cursor after an acknowledged delivery (or refused events: `dropped`, with
        the receiver's `error`); False when the lease or the output is gone."""
        now = self.clock()
        with self.transaction() as conn:
            row = self._held(conn, output_id, owner, from_cursor)
            if row is None:
                return False
            conn.execute(
                "UPDATE output SET cursor = ?, delivered = delivered + ?, dropped = dropped + ?, "
                "failures = 0, last_delivered_at = CASE WHEN ? > 0 THEN ? "
                "ELSE last_delivered_at END, last_error = coalesce(?, last_error), "
                "last_error_at = CASE WHEN ? IS NULL THEN last_error_at ELSE ? END, "
                "lease_expires_at = ? WHERE id = ?",
                (to_cursor, delivered, dropped, delivered, dbmod.iso(now), error, error,
                 dbmod.iso(now), _lease(now, lease_seconds), output_id),
            )  # fmt: skip
            if row.failures and (delivered or dropped):
                payload = ev.OutputRecovered(output=row.name, attempts=row.failures)
                self._event(conn, payload, None, None)
            return True

    def fail_output(self, output_id: str, owner: str, error: str, lease_seconds: float) -> int:
        """Count a failed attempt; returns the failures in a row (0: lease or output gone).
        The first failure of a streak is announced as an `output.failing` event."""
        now = self.clock()
        with self.transaction() as conn:
            row = self._held(conn, output_id, owner, None)
            if row is None:
                return 0
            conn.execute(
                "UPDATE output SET failed = failed + 1, failures = failures + 1, last_error = ?, "
                "last_error_at = ?, lease_expires_at = ? WHERE id = ?",
                (error, dbmod.iso(now), _lease(now, lease_seconds), output_id),
            )
            if not row.failures:
                self._event(conn, ev.OutputFailing(output=row.name, error=error), None, None)
            return row.failures + 1

    def skip_gap(
        self, output_id: str, owner: str, *, from_cursor: int, through: int, lease_seconds: float
    ) -> bool:
        """Retention deleted ids from_cursor+1 … through before delivery: move past them,
        count them, say so (`output.gap`)."""
        missing = through - from_cursor
        now = self.clock()
        with self.transaction() as conn:
            row = self._held(conn, output_id, owner, from_cursor)
            if row is None:
                return False
            error = (
                f"events {from_cursor + 1}-{through} were deleted by retention before they "
                f"were delivered (up to {missing} events lost)"
            )
            conn.execute(
                "UPDATE output SET cursor = ?, lost = lost + ?, last_error = ?, "
                "last_error_at = ?, lease_expires_at = ? WHERE id = ?",
                (through, missing, error, dbmod.iso(now), _lease(now, lease_seconds), output_id),
            )
            payload = ev.OutputGap(
                output=row.name, after=from_cursor, through=through, missing=missing
            )
            self._event(conn, payload, None, None)
            return True

    def _held(
        self, conn: sqlite3.Connection, output_id: str, owner: str, cursor: int | None
    ) -> OutputRow | None:
        """The row, if `owner` holds it (and its cursor is `cursor`, when given)."""
        found = conn.execute(
            f"SELECT {_COLUMNS} FROM output WHERE id = ? AND lease_owner = ?", (output_id, owner)
        ).fetchone()
        row = None if found is None else _row(found)
        if row is None or (cursor is not None and row.cursor != cursor):
            return None
        return row
