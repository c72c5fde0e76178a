"""Helpers shared by the CLI tests (a uniquely named module: `conftest` may exist elsewhere)."""

from __future__ import annotations

import sqlite3
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
