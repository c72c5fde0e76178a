"""Secrets on disk are private: DECNET_HOME, the database and its -wal/-shm, exports. Through
the real CLI with its default locations (XDG_DATA_HOME) and a permissive umask."""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_support import Invoke
from typer.testing import CliRunner

from decnet.cli.app import app


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def permissive_umask() -> Iterator[None]:
    previous = os.umask(0o022)  # what a login shell usually has: files 0644, dirs 0755
    yield
    os.umask(previous)


def test_home_and_database_are_created_private(tmp_path: Path, env: dict[str, str]) -> None:
    result = CliRunner().invoke(app, ["topology", "generate", "corp"], env=env)
    assert result.exit_code == 0, result.stderr
    home = tmp_path / "xdg" / "decnet"
    db = home / "decnet.db"
    assert mode(home) == 0o700 and mode(db) == 0o600
    reader = sqlite3.connect(db)  # a second connection: SQLite makes -wal/-shm now
    try:
        reader.execute("SELECT count(*) FROM topology").fetchone()
        for suffix in ("-wal", "-shm"):
            assert mode(db.with_name(db.name + suffix)) == 0o600, suffix
    finally:
        reader.close()
    assert mode(tmp_path / "xdg") == 0o700  # made by decnet: private too


def test_an_existing_wide_database_is_tightened_on_open(invoke: Invoke, db: Path) -> None:
    assert invoke("topology", "generate", "corp").exit_code == 0
    holder = sqlite3.connect(db)  # keeps -wal/-shm in place
    try:
        holder.execute("SELECT 1 FROM topology").fetchone()
        for path in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
            os.chmod(path, 0o644)
        assert invoke("topology", "list").exit_code == 0
        for path in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
            assert mode(path) == 0o600, path
    finally:
        holder.close()


def test_a_directory_that_exists_is_left_as_it_is(invoke: Invoke, db: Path) -> None:
    shared = db.parent
    os.chmod(shared, 0o755)
    assert invoke("topology", "generate", "corp").exit_code == 0
    assert mode(shared) == 0o755 and mode(db) == 0o600


def test_export_with_secrets_over_an_existing_file_leaves_it_private(
    invoke: Invoke, tmp_path: Path
) -> None:
    assert invoke("topology", "generate", "corp", "--services", "ssh").exit_code == 0
    out = tmp_path / "existing.yml"
    out.write_text("old content that is longer than nothing at all\n" * 100)
    os.chmod(out, 0o644)
    result = invoke("topology", "export", "corp", "-o", str(out), "--include-secrets")
    assert result.exit_code == 0, result.stderr
    assert mode(out) == 0o600
    assert out.read_text().startswith("# decnet topology file") and "old content" not in (
        out.read_text()
    )
