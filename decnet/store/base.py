"""The connection, transactions and event appends that every part of `Store` shares."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Self

from sqlite_utils import Database

from decnet.events import EventPayload
from decnet.store import db as dbmod
from decnet.store import events


class StoreBase:
    def __init__(
        self, path: Path | str, *, clock: dbmod.Clock = dbmod.utc_now, create: bool = True
    ) -> None:
        """`create=False`: a missing database is a StoreError, never made (read-only commands:
        a typo in the path must not look like an empty database)."""
        self.path = Path(path)
        self.clock = clock
        self.conn = dbmod.connect(self.path, create=create)
        self.db = Database(self.conn, execute_plugins=False)
        self._depth = 0
        try:
            dbmod.migrate(self.conn, clock)
        except BaseException:
            self.conn.close()
            raise

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _now(self) -> str:
        return dbmod.iso(self.clock())

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """`BEGIN IMMEDIATE` … `COMMIT`; rollback on any exception. Nested blocks are no-ops:
        they join the outer transaction, which alone commits or rolls back."""
        if self._depth:
            self._depth += 1
            try:
                yield self.conn
            finally:
                self._depth -= 1
            return
        self.conn.execute("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            with dbmod.store_errors(self.path):  # also what fails while rows are iterated
                yield self.conn
            self.conn.execute("COMMIT")
        except BaseException:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise
        finally:
            self._depth = 0

    @contextmanager
    def _snapshot(self) -> Iterator[sqlite3.Connection]:
        """A deferred read transaction, so several queries see one consistent snapshot (WAL
        readers never block the writer)."""
        if self._depth:
            yield self.conn
            return
        self.conn.execute("BEGIN")
        try:
            with dbmod.store_errors(self.path):
                yield self.conn
        finally:
            if self.conn.in_transaction:
                self.conn.execute("COMMIT")

    def _event(
        self,
        conn: sqlite3.Connection,
        payload: EventPayload,
        topology: str | None,
        topology_id: str | None,
        at: str | None = None,
    ) -> int:
        return events.append(
            conn, at=at or self._now(), payload=payload, topology=topology,
            topology_id=topology_id,
        )  # fmt: skip
