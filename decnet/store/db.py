"""Opening the SQLite file: pragmas and migrations.

The connection runs with `isolation_level=None` so the Python driver never opens or commits a
transaction behind our back; the Store issues `BEGIN IMMEDIATE` itself.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from decnet.errors import DecnetError
from decnet.store.migrations import MIGRATIONS, Migration

Clock = Callable[[], datetime]

BUSY_TIMEOUT_MS = 10_000


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """Fixed-width ISO-8601 UTC with microseconds, so timestamps also sort as text."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def connect(path: Path) -> sqlite3.Connection:
    """Open (creating parent directories) and set the pragmas of SPEC §2."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
    except (OSError, sqlite3.Error) as err:
        raise DecnetError(
            f"cannot open database {str(path)!r}: {err}",
            hint="check DECNET_DB points to a writable location",
        ) from err
    # busy_timeout first: switching to WAL itself needs the lock another process may hold.
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA synchronous = NORMAL")
    return conn


_MIGRATION_TABLE = (
    "CREATE TABLE IF NOT EXISTS schema_migration ("
    "number INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
)


def applied_numbers(conn: sqlite3.Connection) -> set[int]:
    exists = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migration'"
    ).fetchone()
    if not exists:
        return set()
    return {row[0] for row in conn.execute("SELECT number FROM schema_migration")}


def migrate(
    conn: sqlite3.Connection,
    clock: Clock = utc_now,
    migrations: Sequence[Migration] = MIGRATIONS,
) -> list[int]:
    """Apply the missing migrations in order, one transaction each; return those applied."""
    _refuse_newer(conn, migrations)
    applied = applied_numbers(conn)
    # Only a missing migration takes the write lock: opening an up-to-date file never waits
    # for another process's long write.
    return [m.number for m in migrations if m.number not in applied and _apply_one(conn, m, clock)]


def _refuse_newer(conn: sqlite3.Connection, migrations: Sequence[Migration]) -> None:
    known = {m.number for m in migrations}
    unknown = sorted(applied_numbers(conn) - known)
    if unknown:
        raise DecnetError(
            f"database schema is at migration {unknown[-1]}, newer than this decnet knows "
            f"({max(known, default=0)})",
            hint="upgrade decnet, or point DECNET_DB at another database",
        )


def _apply_one(conn: sqlite3.Connection, migration: Migration, clock: Clock) -> bool:
    conn.execute("BEGIN IMMEDIATE")
    try:
        # Re-checked under the write lock: another process may have migrated meanwhile.
        if migration.number in applied_numbers(conn):
            conn.execute("ROLLBACK")
            return False
        conn.execute(_MIGRATION_TABLE)
        migration.apply(conn)
        conn.execute(
            "INSERT INTO schema_migration (number, name, applied_at) VALUES (?, ?, ?)",
            (migration.number, migration.name, iso(clock())),
        )
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return True
