"""Opening the SQLite file: file modes, pragmas, migrations, and SQLite's errors as ours.

The connection runs with `isolation_level=None` so the Python driver never opens or commits a
transaction behind our back; the Store issues `BEGIN IMMEDIATE` itself.

Every statement runs through `DecnetConnection.execute`, so `store_errors` is the one place
where SQLite's operational failures (the file locked by another writer, not a database,
read-only, full, damaged) become a `StoreError` with a hint: at open, during migrations and on
any later read or write. Constraint violations (`IntegrityError`) are left to the Store, which
names the topology; programming errors stay bugs with their traceback.

Modes: the database and its -wal/-shm files are 0600, the directories decnet creates for it
0700. An existing database with a wider mode is tightened when it is opened (it holds service
passwords); a file owned by someone else is left as its owner set it.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from decnet.errors import StoreError
from decnet.files import private_dir, private_file, tighten
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


# --- SQLite's errors -> StoreError ------------------------------------------------------------


def _read_only(path: Path) -> bool:
    """Whether the database (or the directory it needs for -wal/-shm, or the nearest existing
    ancestor it would be created in) cannot be written."""
    directory = next((p for p in path.parents if p.is_dir()), Path("/"))
    try:
        if os.statvfs(directory).f_flag & os.ST_RDONLY:
            return True
    except OSError:
        return False
    if path.exists() and not os.access(path, os.W_OK):
        return True
    return not os.access(directory, os.W_OK)


def store_error(err: sqlite3.Error, path: Path) -> StoreError:
    """The StoreError for an operational SQLite error on the database at `path`."""
    name = getattr(err, "sqlite_errorname", "") or ""
    where = repr(str(path))
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        return StoreError(
            f"database {where} is locked: another process holds its write lock and kept it "
            f"past the busy timeout of {BUSY_TIMEOUT_MS // 1000} s ({err})",
            hint="wait for the other decnet command to finish and retry; "
            f"`fuser {path}` lists the processes that have it open",
        )
    if name == "SQLITE_NOTADB":
        return StoreError(
            f"{where} is not a SQLite database ({err})",
            hint="point --db or DECNET_DB at a decnet database, or move the file away to "
            "start a new one there",
        )
    if name.startswith("SQLITE_CORRUPT"):
        return StoreError(
            f"database {where} is damaged ({err})",
            hint="restore it from a backup; `sqlite3 FILE .recover` may save its rows",
        )
    if name.startswith("SQLITE_READONLY") or (
        name.startswith(("SQLITE_CANTOPEN", "SQLITE_IOERR")) and _read_only(path)
    ):
        return StoreError(
            f"database {where} is read-only: decnet needs to write it and the -wal/-shm files "
            f"beside it ({err})",
            hint="make the file and its directory writable (a read-only mount or an immutable "
            "file cannot be used), or point --db at a writable location",
        )
    if name == "SQLITE_FULL":
        return StoreError(
            f"database {where}: the disk is full ({err})", hint="free space on that filesystem"
        )
    if name.startswith("SQLITE_CANTOPEN"):
        return StoreError(
            f"cannot open database {where} ({err})",
            hint="check DECNET_DB/--db points to a writable location",
        )
    return StoreError(f"database {where}: {err}", hint="check the file, its directory and the disk")


def _operational(err: BaseException) -> bool:
    # IntegrityError is the Store's (it names the topology); ProgrammingError & co. are bugs.
    return isinstance(err, sqlite3.OperationalError) or type(err) is sqlite3.DatabaseError


@contextmanager
def store_errors(path: Path) -> Iterator[None]:
    """Turn SQLite's operational errors raised inside the block into a StoreError."""
    try:
        yield
    except sqlite3.Error as err:
        if not _operational(err):
            raise
        raise store_error(err, path) from err


class DecnetConnection(sqlite3.Connection):
    """A connection whose statements raise StoreError for operational failures."""

    path: Path

    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
        with store_errors(self.path):
            return super().execute(sql, parameters)

    def executemany(self, sql: str, parameters: Iterable[Any], /) -> sqlite3.Cursor:
        with store_errors(self.path):
            return super().executemany(sql, parameters)

    def executescript(self, script: str, /) -> sqlite3.Cursor:
        with store_errors(self.path):
            return super().executescript(script)


# --- opening ----------------------------------------------------------------------------------


def _create_private(path: Path) -> None:
    if path.exists():
        return
    try:
        private_dir(path.parent)
        private_file(path)  # SQLite opens an empty file as an empty database
    except OSError as err:
        what = "read-only" if _read_only(path) else (err.strerror or str(err))
        raise StoreError(
            f"cannot create database {str(path)!r}: {what}",
            hint="check DECNET_DB/--db points to a writable location",
        ) from err


def _tighten(path: Path) -> None:
    # Only once the file proved to be SQLite: a wrong --db must not have its mode changed.
    # SQLite gives -wal/-shm the database's mode when it creates them.
    for suffix in ("", "-wal", "-shm"):
        tighten(path.with_name(path.name + suffix))


def _check_file(path: Path, create: bool) -> None:
    """StoreError unless `path` is a regular file, or missing and `create` allows making it.

    SQLite opens a device (`/dev/null`) or a FIFO and then fails in ways that name a lock
    or nothing; a missing file it would create, so a typo looked like an empty database."""
    where = repr(str(path))
    if path.is_dir():
        raise StoreError(f"database {where} is a directory", hint="point --db at a file inside it")
    if path.exists() and not path.is_file():
        raise StoreError(
            f"database {where} is not a regular file (a device, FIFO or socket)",
            hint="point --db or DECNET_DB at a decnet database file",
        )
    if not path.exists() and not create:
        raise StoreError(
            f"database {where} does not exist",
            hint="check --db or DECNET_DB (a typo?); commands that write, such as `decnet "
            "topology create` or `generate`, create it",
        )


def connect(path: Path, *, create: bool = True) -> sqlite3.Connection:
    """Open (creating it and its parent directories privately, if `create`) and set the
    pragmas of SPEC §2."""
    _check_file(path, create)
    _create_private(path)
    with store_errors(path):
        conn = sqlite3.connect(
            path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000, factory=DecnetConnection
        )
    assert isinstance(conn, DecnetConnection)
    conn.path = path
    try:
        # busy_timeout first: switching to WAL itself needs the lock another process may hold.
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        _use_wal(conn)
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA synchronous = NORMAL")
    except BaseException:
        conn.close()
        raise
    _tighten(path)
    return conn


def _use_wal(conn: DecnetConnection) -> None:
    """Switch a new database to WAL. SQLite answers a switch that races another connection's
    with SQLITE_BUSY at once, without its busy handler, so retry within the busy timeout."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
        try:
            conn.execute("PRAGMA journal_mode = WAL")
        except StoreError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


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
        raise StoreError(
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
