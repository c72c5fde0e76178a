"""Migration 3: `lan.allow_public` is stored, loaded, and defaults to 0 on an upgraded file."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from decnet.store import Store
from decnet.store.db import connect, migrate
from decnet.store.migrations import MIGRATIONS

from .conftest import MakeTopology


def test_allow_public_survives_insert_and_load(store: Store, make_topology: MakeTopology) -> None:
    t = make_topology("alpha")
    t.lans[0].allow_public = True
    store.insert_topology(t)
    loaded = store.get_topology("alpha")
    assert [lan.allow_public for lan in loaded.lans] == [True, False]


def test_a_database_at_migration_2_upgrades_with_allow_public_off(
    tmp_path: Path, make_topology: MakeTopology
) -> None:
    path = tmp_path / "old.db"
    conn = connect(path)
    migrate(conn, migrations=MIGRATIONS[:2])
    conn.execute(
        "INSERT INTO topology (id, name, status, target_host, created_at, status_changed_at) "
        "VALUES ('t1', 'old', 'pending', 'localhost', 'x', 'x')"
    )
    conn.execute("INSERT INTO lan (id, topology_id, name, subnet) VALUES ('l1', 't1', 'dmz', "
                 "'10.9.0.0/24')")  # fmt: skip
    conn.commit()
    conn.close()
    with Store(path) as upgraded:
        assert [lan.allow_public for lan in upgraded.get_topology("old").lans] == [False]
    with sqlite3.connect(path) as raw:
        columns = {row[1]: row for row in raw.execute("PRAGMA table_info(lan)")}
    assert columns["allow_public"][3] == 1  # NOT NULL
