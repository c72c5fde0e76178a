"""Fixtures for CLI tests: an isolated environment, a database path, and a DB snapshot."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_support import Invoke
from typer.testing import CliRunner, Result

from decnet.cli.app import app


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "decnet.db"


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Nothing from the developer's environment leaks into settings."""
    for var in ("DECNET_DB", "DECNET_HOME", "DECNET_IMAGES", "DECNET_INVENTORY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    return {"XDG_DATA_HOME": str(tmp_path / "xdg"), "COLUMNS": "200"}


@pytest.fixture
def invoke(db: Path, env: dict[str, str]) -> Invoke:
    """`invoke("topology", "list")` runs `decnet --db DB topology list` in-process."""
    runner = CliRunner()

    def run(*args: str, input: str | None = None) -> Result:
        return runner.invoke(app, ["--db", str(db), *args], input=input, env=env)

    return run
