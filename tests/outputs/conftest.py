"""Fixtures of the outputs tests: a database of their own, a PKI made once per session, and
the real `decnet` console script."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from outputs_support import DECNET, Cli, Pki, env_without_decnet, make_pki


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "decnet.db"


@pytest.fixture
def cli(db: Path, tmp_path: Path) -> Cli:
    """`cli("outputs", "list")` runs the installed `decnet` in a process of its own."""

    def run(
        *args: str, env: dict[str, str] | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        environment = env_without_decnet(
            DECNET_DB=str(db), DECNET_HOME=str(tmp_path / "home"), **(env or {})
        )
        return subprocess.run(
            [str(DECNET), *args], capture_output=True, text=True, env=environment,
            timeout=timeout, check=False, cwd=tmp_path,
        )  # fmt: skip

    return run
