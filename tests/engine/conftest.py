"""Fixtures for end-to-end engine tests (see e2e_support): each test gets its own DECNET_HOME,
database and topology names, and every container and network with their labels is removed
afterwards, pass or fail."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_support import E2E
from local_engine import remove_labelled
from lures import LURES

from decnet.engine.context import Context
from decnet.settings import PROJECT_ROOT, Settings


@pytest.fixture
def e2e(tmp_path: Path) -> Iterator[E2E]:
    home = tmp_path / "home"
    home.mkdir()
    settings = Settings(
        db_path=tmp_path / "decnet.db",
        home=home,
        inventory=PROJECT_ROOT / "inventory" / "localhost.yml",
        site_images=dict(LURES),
    )
    env = E2E(Context.open(settings), settings, home, settings.db_path)
    try:
        yield env
    finally:
        for name in env.names:
            remove_labelled(name)
            shutil.rmtree(f"/var/lib/decnet/topologies/{name}", ignore_errors=True)
