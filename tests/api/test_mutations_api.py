"""Ops over HTTP (issue 8/9): pending edits with fresh and stale versions, plans, refused
batches as data, and live ops applied by the server's own reconciler on the local engine.

A server of its own (the session server runs without a reconciler), on an ephemeral 127.0.0.1
port, always stopped.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from api_support import (
    ApiEnv,
    accepted,
    docker,
    document,
    dump,
    finished,
    make_settings,
    wait_for,
)
from local_engine import remove_labelled

from decnet.api.config import ApiConfig
from decnet.api.server import ThreadedServer
from decnet.engine.demo import docker_available
from decnet.engine.tokens import Role, create_token
from decnet.engine.watch import WatchOptions
from decnet.store import Store


@pytest.fixture(scope="module")
def live_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiEnv]:
    tmp = tmp_path_factory.mktemp("ops-api")
    settings = make_settings(tmp)
    with Store(settings.db_path) as store:
        _, admin = create_token(store, "admin", Role.ADMIN)
        _, viewer = create_token(store, "viewer", Role.VIEWER)
    config = ApiConfig(
        settings=settings,
        web_dir=str(tmp / "no-web"),
        watch_options=WatchOptions(interval=0.5, drift_every=0),
    )
    server = ThreadedServer(config).start()
    env = ApiEnv(server, settings, admin, viewer)
    try:
        yield env
    finally:
        server.stop()
        for name in env.names:
            remove_labelled(name)
            shutil.rmtree(Path("/var/lib/decnet/topologies") / name, ignore_errors=True)


def _dump(api: ApiEnv) -> list[str]:
    """The database, without the tokens' last-used stamps (every request moves them)."""
    return [line for line in dump(api.settings.db_path) if '"api_token"' not in line]


def _create(api: ApiEnv) -> str:
    name = api.new_name()
    with api.client() as c:
        assert c.post("/topologies", json={"document": document(name)}).status_code == 201
    return name


def _ops(*ops: dict[str, Any], version: int | None = None) -> dict[str, Any]:
    return {"ops": list(ops), **({"expected_version": version} if version else {})}


def test_pending_ops_apply_at_once_and_a_stale_version_is_409(live_api: ApiEnv) -> None:
    name = _create(live_api)
    with live_api.client() as c:
        r = c.post(
            f"/topologies/{name}/ops",
            json=_ops(
                {"op": "add_decky", "name": "web", "lan": "dmz", "services": ["ssh"]}, version=1
            ),
        )
        assert r.status_code == 200, r.text
        assert (r.json()["mode"], r.json()["version"]) == ("applied", 2)
        shown = c.get(f"/topologies/{name}").json()
        assert "web" in [d["name"] for d in shown["deckies"]] and shown["version"] == 2
        before = _dump(live_api)
        stale = c.post(
            f"/topologies/{name}/ops", json=_ops({"op": "remove_decky", "name": "web"}, version=1)
        )
        assert stale.status_code == 409
        want = {"code": "version_conflict", "current": 2, "expected": 1}
        assert stale.json()["error"].items() >= want.items()
        assert _dump(live_api) == before


def test_a_refused_batch_is_400_with_issues_and_a_bad_shape_422_with_the_field(
    live_api: ApiEnv,
) -> None:
    name = _create(live_api)
    before = _dump(live_api)
    with live_api.client() as c:
        bad = c.post(
            f"/topologies/{name}/ops",
            json=_ops(
                {"op": "add_decky", "name": "n1", "lan": "dmz"},
                {"op": "add_lan", "name": "dmz2", "dmz": True},
                {"op": "attach_decky", "decky": "n1", "lan": "nowhere"},
            ),
        )
        assert bad.status_code == 400, bad.text
        error = bad.json()["error"]
        assert error["code"] == "invalid_batch"
        assert [(i["code"], i["path"]) for i in error["issues"]] == [
            ("OP_LAN_UNKNOWN", "ops[2].lan")
        ]
        shape = c.post(
            f"/topologies/{name}/ops", json=_ops({"op": "add_decky", "name": "n1", "lan": 7})
        )
        assert shape.status_code == 422
        assert shape.json()["error"]["field"] == "body.ops[0].lan"
        unknown = c.post(f"/topologies/{name}/ops", json=_ops({"op": "grow", "name": "x"}))
        assert unknown.status_code == 422 and unknown.json()["error"]["field"] == "body.ops[0]"
        extra = c.post(
            f"/topologies/{name}/ops",
            json=_ops({"op": "remove_lan", "name": "dmz", "colour": "red"}),
        )
        assert extra.status_code == 422
        assert extra.json()["error"]["field"] == "body.ops[0].colour"
        empty = c.post(f"/topologies/{name}/ops", json={"ops": []})
        assert empty.status_code == 422
        viewer = live_api.client("viewer").post(
            f"/topologies/{name}/ops", json=_ops({"op": "remove_lan", "name": "x"})
        )
        assert viewer.status_code == 403
    assert _dump(live_api) == before


def test_plan_changes_nothing(live_api: ApiEnv) -> None:
    name = _create(live_api)
    before = _dump(live_api)
    with live_api.client() as c:
        r = c.post(
            f"/topologies/{name}/ops",
            params={"plan": "true"},
            json=_ops(
                {"op": "update_decky", "name": "a", "config": {"http": {"title": "Payroll"}}}
            ),
        )
        assert r.status_code == 200, r.text
        view = r.json()
        assert (view["valid"], view["live"], view["plan"]["version"]) == (True, False, 1)
        assert [
            (ch["decky"], ch["service"], ch["action"], ch["reasons"])
            for ch in view["plan"]["containers"]
        ] == [("a", "http", "recreate", ["service config change"])]
    assert _dump(live_api) == before


@pytest.mark.docker
@pytest.mark.skipif(not docker_available(), reason="`docker info` fails: no Docker engine")
def test_live_ops_are_enqueued_and_applied_by_the_servers_reconciler(live_api: ApiEnv) -> None:
    name = _create(live_api)
    with live_api.client() as c:
        run = finished(c, accepted(c.post(f"/topologies/{name}/deploy")))
        assert run["state"] == "succeeded", run
        before = set(
            docker(
                "ps", "-q", "--no-trunc", "--filter", f"label=decnet.topology={name}"
            ).stdout.split()
        )
        secret = "pw-" + uuid.uuid4().hex[:8]
        r = c.post(
            f"/topologies/{name}/ops",
            json=_ops(
                {
                    "op": "add_decky",
                    "name": "web",
                    "lan": "dmz",
                    "services": ["ssh"],
                    "config": {"ssh": {"password": secret}},
                }
            ),
        )
        assert r.status_code == 202, r.text
        mutation = r.json()["mutation"]
        assert r.json()["mode"] == "enqueued" and mutation["state"] == "pending"
        assert secret not in r.text

        def applied() -> dict[str, Any] | None:
            row: dict[str, Any] = c.get(f"/mutations/{mutation['id']}").json()
            return row if row["state"] in ("applied", "failed") else None

        row = wait_for(applied, timeout=300, every=0.5)
        assert row["state"] == "applied", row
        assert c.get(f"/topologies/{name}").json()["status"] == "active"
        after = set(
            docker(
                "ps", "-q", "--no-trunc", "--filter", f"label=decnet.topology={name}"
            ).stdout.split()
        )
        assert before < after and len(after - before) == 2
        listed = c.get(f"/topologies/{name}/mutations").json()
        assert [m["id"] for m in listed] == [mutation["id"]] and secret not in str(listed)
        snapshot_in_flight = c.get(f"/topologies/{name}/mutations", params={"state": "pending"})
        assert snapshot_in_flight.json() == []
        gone = c.post(f"/mutations/{mutation['id']}/cancel")
        assert gone.status_code == 409 and gone.json()["error"]["code"] == "not_editable"
        down = finished(c, accepted(c.post(f"/topologies/{name}/teardown")))
        assert down["state"] == "succeeded", down
