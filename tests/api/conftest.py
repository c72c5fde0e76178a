"""Fixtures of the API tests: one real uvicorn on an ephemeral 127.0.0.1 port for the session
(in a thread, always stopped), its own database with an admin and a viewer token; whatever a
test deploys carries a unique `e2e-<hex6>` name and is removed afterwards, pass or fail."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from api_support import ApiEnv, make_settings
from local_engine import remove_labelled

from decnet.api.config import ApiConfig
from decnet.api.server import ThreadedServer
from decnet.engine.tokens import Role, create_token
from decnet.store import Store


@pytest.fixture(scope="session")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiEnv]:
    tmp = tmp_path_factory.mktemp("api")
    settings = make_settings(tmp)
    with Store(settings.db_path) as store:
        _, admin = create_token(store, "admin", Role.ADMIN)
        _, viewer = create_token(store, "viewer", Role.VIEWER)
    # No in-process reconciler here: it would converge what these tests mark on purpose;
    # tests/api/test_mutations_api.py runs a server with one.
    config = ApiConfig(settings=settings, web_dir=str(tmp / "no-web"), watch=False)
    server = ThreadedServer(config).start()
    env = ApiEnv(server, settings, admin, viewer)
    try:
        yield env
    finally:
        server.stop()
        for name in env.names:
            remove_labelled(name)
            shutil.rmtree(Path("/var/lib/decnet/topologies") / name, ignore_errors=True)


@pytest.fixture
def names(api: ApiEnv) -> Iterator[list[str]]:
    """Topology names for one test; their containers and networks go when it ends."""
    mine: list[str] = []
    yield mine
    for name in mine:
        remove_labelled(name)
        shutil.rmtree(Path("/var/lib/decnet/topologies") / name, ignore_errors=True)
