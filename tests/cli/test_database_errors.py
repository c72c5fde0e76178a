"""The database cannot be used: each case is `error:`/`hint:` and exit 1, never a traceback.
Through the real console script, with a real second process holding the write lock, a file
that is not SQLite, and a read-only mount (a tmpfs remounted read-only in a private mount
namespace, so nothing outlives the test)."""

from __future__ import annotations

import shutil
import stat
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_support import DECNET, clean_env, run_decnet

from decnet.store.db import BUSY_TIMEOUT_MS

pytestmark = pytest.mark.skipif(not DECNET.exists(), reason="console script not installed")


def assert_store_error(proc: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    lines = proc.stderr.splitlines()
    assert len(lines) == 2, proc.stderr
    assert lines[0].startswith("error: ") and lines[1].startswith("hint: "), proc.stderr
    assert "Traceback" not in proc.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


HOLDER = textwrap.dedent(
    """\
    import sqlite3, sys
    conn = sqlite3.connect(sys.argv[1], isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    print("locked", flush=True)
    sys.stdin.read()  # hold the write lock until the test closes our stdin
    """
)


@pytest.fixture
def lock_holder() -> Iterator[object]:
    procs: list[subprocess.Popen[str]] = []

    def hold(db: Path) -> None:
        proc = subprocess.Popen(
            [sys.executable, "-c", HOLDER, str(db)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        procs.append(proc)
        assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"

    yield hold
    for proc in procs:
        proc.communicate(timeout=30)  # EOF on stdin: it exits and the lock goes with it


@pytest.mark.parametrize("stage", ["migration", "write"])
def test_a_locked_database_names_the_lock_and_the_busy_timeout(
    tmp_path: Path, lock_holder: object, stage: str
) -> None:
    db = tmp_path / "decnet.db"
    env = clean_env(DECNET_DB=str(db), XDG_DATA_HOME=str(tmp_path / "xdg"))
    if stage == "write":  # migrated already: the lock stops the write, not the open
        assert (
            run_decnet(
                "token", "create", "ci", "--role", "viewer", cwd=tmp_path, env=env
            ).returncode
            == 0
        )
    lock_holder(db)  # type: ignore[operator]
    proc = run_decnet("topology", "generate", "corp", cwd=tmp_path, env=env)
    seconds = f"busy timeout of {BUSY_TIMEOUT_MS // 1000} s"
    assert_store_error(proc, "is locked", "write lock", seconds, str(db))
    assert "retry" in proc.stderr


def test_a_file_that_is_not_sqlite_is_named_and_left_alone(tmp_path: Path) -> None:
    garbage = tmp_path / "notes.txt"
    garbage.write_text("not a database, but somebody's notes\n" * 50)
    garbage.chmod(0o644)
    before = garbage.read_bytes()
    env = clean_env(XDG_DATA_HOME=str(tmp_path / "xdg"))
    for args in (["topology", "list"], ["topology", "generate", "corp"], ["status"]):
        proc = run_decnet("--db", str(garbage), *args, cwd=tmp_path, env=env)
        assert_store_error(proc, "is not a SQLite database", str(garbage))
    assert garbage.read_bytes() == before and stat.S_IMODE(garbage.stat().st_mode) == 0o644


def _read_only_run(tmp_path: Path, script: str) -> subprocess.CompletedProcess[str]:
    """Run `script` (sh) in a private mount namespace where $RO is a read-only tmpfs."""
    if shutil.which("unshare") is None:
        pytest.skip("needs unshare(1)")
    ro = tmp_path / "ro"
    ro.mkdir()
    seed = tmp_path / "seed.db"
    env = clean_env(XDG_DATA_HOME=str(tmp_path / "xdg"))
    assert run_decnet("--db", str(seed), "topology", "generate", "corp", cwd=tmp_path, env=env)
    wrapper = (
        f"mount -t tmpfs tmpfs {ro} && cp {seed} {ro}/decnet.db && "
        f"mount -o remount,ro {ro} && {script}"
    )
    proc = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", wrapper],
        env={**env, "RO": str(ro), "DECNET": str(DECNET)},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if "Operation not permitted" in proc.stderr and "unshare" in proc.stderr:
        pytest.skip("no permission for a private mount namespace")
    return proc


def test_a_database_on_a_read_only_filesystem(tmp_path: Path) -> None:
    proc = _read_only_run(tmp_path, '"$DECNET" --db "$RO/decnet.db" topology list')
    assert_store_error(proc, "read-only", "decnet.db")
    assert "writable" in proc.stderr


def test_a_new_database_on_a_read_only_filesystem(tmp_path: Path) -> None:
    proc = _read_only_run(tmp_path, '"$DECNET" --db "$RO/sub/new.db" topology generate x')
    assert_store_error(proc, "cannot create database", "read-only")
