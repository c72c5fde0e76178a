"""Helpers shared by the CLI tests (a uniquely named module: `conftest` may exist elsewhere)."""

from __future__ import annotations

import sqlite3
import subprocess
from collections.abc import Callable
from pathlib import Path

from typer.testing import Result

Invoke = Callable[..., Result]


def snapshot(db: Path) -> list[str]:
    """Every row and schema statement of the database, for before/after comparisons."""
    conn = sqlite3.connect(db)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


DECNET = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "decnet"
"""The installed console script of this checkout's venv (the real CLI, in its own process)."""


def clean_env(**extra: str) -> dict[str, str]:
    """The process environment without DECNET_* settings, plus `extra`."""
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("DECNET_")}
    env["COLUMNS"] = "200"
    env.update(extra)
    return env


def run_decnet(
    *args: str, cwd: Path, env: dict[str, str], timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(DECNET), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
