"""Opening the file: pragmas, migrations, schema refusal, transactions."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from decnet.errors import DecnetError
from decnet.store import Store
from decnet.store.db import connect, migrate
from decnet.store.migrations import LATEST, MIGRATIONS, Migration

from .conftest import FakeClock, MakeTopology

TABLES = {
    "schema_migration", "topology", "lan", "decky", "membership", "status_event", "mutation",
    "event", "run", "host_report", "setting", "api_token",
}  # fmt: skip


def test_open_creates_parent_dirs_and_sets_pragmas(store: Store, db_path: Path) -> None:
    assert db_path.exists()
    pragma = {
        name: store.conn.execute(f"PRAGMA {name}").fetchone()[0]
        for name in ("journal_mode", "foreign_keys", "busy_timeout", "synchronous")
    }
    assert pragma == {"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": 10000,
                      "synchronous": 1}  # fmt: skip
    assert set(store.db.table_names()) >= TABLES


def test_migrations_recorded_once_and_reopen_is_a_noop(
    store: Store, db_path: Path, clock: FakeClock, dump: Callable[[], list[str]]
) -> None:
    rows = store.conn.execute("SELECT number, name, applied_at FROM schema_migration").fetchall()
    assert [(n, name) for n, name, _ in rows] == [(m.number, m.name) for m in MIGRATIONS]
    assert rows[0][2] == "2025-01-01T00:00:00.000000+00:00"
    before = dump()
    clock.advance(60)
    Store(db_path, clock=clock).close()
    assert dump() == before
    assert migrate(store.conn) == []


def test_migrations_apply_in_order_each_in_its_own_transaction(tmp_path: Path) -> None:
    def boom(conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE half_done (x)")
        raise RuntimeError("migration 3 breaks")

    def add_t2(conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE t2 (x)")

    extra = (
        *MIGRATIONS,
        Migration(LATEST + 1, "add t2", add_t2),
        Migration(LATEST + 2, "broken", boom),
    )
    conn = connect(tmp_path / "m.db")
    with pytest.raises(RuntimeError):
        migrate(conn, migrations=extra)
    numbers = [r[0] for r in conn.execute("SELECT number FROM schema_migration ORDER BY number")]
    assert numbers == [*range(1, LATEST + 2)]
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "t2" in tables and "half_done" not in tables


def test_newer_schema_is_refused_clearly(db_path: Path, store: Store) -> None:
    store.conn.execute(
        "INSERT INTO schema_migration VALUES (?, 'from the future', 'x')", (LATEST + 1,)
    )
    store.close()
    with pytest.raises(DecnetError, match=rf"migration {LATEST + 1}, newer") as err:
        Store(db_path)
    assert "upgrade decnet" in err.value.hint


def test_transaction_rolls_back_on_exception_and_nests(
    store: Store, make_topology: MakeTopology
) -> None:
    with pytest.raises(RuntimeError), store.transaction():
        store.insert_topology(make_topology("one"))
        with store.transaction():  # nested: joins the outer transaction
            store.insert_topology(make_topology("two", octet=11))
        assert store.conn.in_transaction
        raise RuntimeError("abort")
    assert not store.conn.in_transaction
    assert store.list_topologies() == []
    with store.transaction():
        store.insert_topology(make_topology("one"))
    assert [s.name for s in store.list_topologies()] == ["one"]


def test_unopenable_path_is_a_decnet_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(DecnetError, match="cannot create database"):
        Store(blocker / "decnet.db")


def test_opening_an_up_to_date_file_does_not_wait_for_a_writer(store: Store, db_path: Path) -> None:
    writer = sqlite3.connect(db_path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # another process in the middle of a long write
    try:
        started = time.perf_counter()
        with Store(db_path) as second:
            assert second.list_topologies() == []
        assert time.perf_counter() - started < 2
    finally:
        writer.execute("ROLLBACK")
        writer.close()


def test_hash_key_is_made_with_the_database_and_differs_per_database(tmp_path: Path) -> None:
    with Store(tmp_path / "a.db") as a, Store(tmp_path / "b.db") as b:
        key = a.hash_key()
        assert len(key) == 32
        assert key != b.hash_key()
    with Store(tmp_path / "a.db") as again:
        assert again.hash_key() == key


def test_migration_5_clears_canvas_values_outside_the_bound(
    tmp_path: Path, make_topology: MakeTopology
) -> None:
    path = tmp_path / "old.db"
    conn = connect(path)
    migrate(conn, migrations=MIGRATIONS[:3])  # a database from before the bound
    conn.close()
    with Store(path) as store:
        store.insert_topology(make_topology())
        # what ops let through then: put back under migration 4
        store.conn.execute("DELETE FROM schema_migration WHERE number = 5")
        store.conn.execute("UPDATE lan SET x = -1e308, w = -5, h = 2e7 WHERE name = 'dmz'")
        store.conn.execute("UPDATE decky SET y = 1e308 WHERE name = 'gw'")
    with Store(path) as store:
        t = store.get_topology("alpha")
    dmz, inner, gw = t.lan("dmz"), t.lan("inner"), t.decky("gw")
    assert dmz is not None and inner is not None and gw is not None
    assert (dmz.x, dmz.y, dmz.w, dmz.h) == (None, 0.0, None, None)
    assert (inner.x, inner.y) == (500.0, 10.25)  # values inside the bound stay
    assert (gw.x, gw.y) == (12.5, None)
