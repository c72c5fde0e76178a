"""`/api/v1/outputs` on a real uvicorn, and `decnet serve` delivering in-process (or not, with
`--no-outputs`)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from event_support import tick
from outputs_support import wait_for, webhook, write_events

from decnet.api.config import API_PREFIX, ApiConfig
from decnet.api.server import ThreadedServer
from decnet.engine.tokens import Role, create_token
from decnet.settings import PROJECT_ROOT, Settings
from decnet.store import Store

KEY = "api-webhook-key-0123456789abcdef"


@dataclass
class Server:
    server: ThreadedServer
    settings: Settings
    admin: str
    viewer: str

    def client(self, role: str = "admin") -> httpx.Client:
        token = self.admin if role == "admin" else self.viewer
        return httpx.Client(base_url=self.server.url + API_PREFIX, timeout=30,
                            headers={"Authorization": f"Bearer {token}"})  # fmt: skip


def serve(tmp: Path, *, outputs: bool) -> Server:
    home = tmp / "home"
    home.mkdir(parents=True, exist_ok=True)
    settings = Settings(db_path=tmp / "decnet.db", home=home,
                        inventory=PROJECT_ROOT / "inventory" / "localhost.yml")  # fmt: skip
    with Store(settings.db_path) as store:
        _, admin = create_token(store, "admin", Role.ADMIN)
        _, viewer = create_token(store, "viewer", Role.VIEWER)
    config = ApiConfig(settings=settings, web_dir=str(tmp / "no-web"), watch=False,
                       outputs=outputs)  # fmt: skip
    return Server(ThreadedServer(config).start(), settings, admin, viewer)


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Server]:
    server = serve(tmp_path, outputs=True)
    try:
        yield server
    finally:
        server.server.stop()


def jsonl_body(name: str, path: str = "events.jsonl", **extra: Any) -> dict[str, Any]:
    return {"name": name, "kind": "jsonl", "path": path, "types": ["watch.*"], **extra}


def test_the_server_delivers_what_an_admin_adds(api: Server) -> None:
    with api.client() as admin, api.client("viewer") as viewer:
        created = admin.post("/outputs", json=jsonl_body("archive"))
        assert created.status_code == 201, created.text
        assert created.json()["target"] == str(api.settings.home / "outputs" / "events.jsonl")
        ids = write_events(api.settings.db_path, [tick(n) for n in range(5)])
        path = api.settings.home / "outputs" / "events.jsonl"
        lines = wait_for(lambda: path.exists() and len(path.read_bytes().splitlines()) >= 5)
        assert lines
        assert [json.loads(line)["id"] for line in path.read_bytes().splitlines()] == ids
        listed = wait_for(lambda: (r := viewer.get("/outputs").json()) and r[0]["delivered"] and r)
        assert (listed[0]["state"], listed[0]["lag_events"]) == ("running", 0)
        assert viewer.get("/outputs/archive").json()["delivered"] == 5
        tested = admin.post("/outputs/archive/test")
        assert tested.status_code == 200 and tested.json()["arrived"] is True
        assert admin.delete("/outputs/archive").status_code == 204
        assert viewer.get("/outputs").json() == []


def test_viewers_read_admins_write(api: Server) -> None:
    with api.client("viewer") as viewer:
        assert viewer.post("/outputs", json=jsonl_body("x")).status_code == 403
        assert viewer.delete("/outputs/x").status_code == 403
        assert viewer.post("/outputs/x/test").status_code == 403
    with httpx.Client(base_url=api.server.url + API_PREFIX) as anonymous:
        assert anonymous.get("/outputs").status_code == 401


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        (jsonl_body("Bad"), 422, "name"),
        (jsonl_body("x", path="../../etc/cron.d/x"), 422, "path"),
        (jsonl_body("x", path="/tmp/x.jsonl"), 422, "path"),
        (jsonl_body("x", keep="3"), 422, "body.keep"),
        (jsonl_body("x", url="tcp://h:1"), 422, "url"),
        ({"name": "x", "kind": "webhook", "url": "https://h/x"}, 422, "secret"),
        ({"name": "x", "kind": "syslog", "url": "tcp://h:1", "extra": 1}, 422, "body.extra"),
    ],
)
def test_bad_bodies_name_their_field(
    api: Server, body: dict[str, Any], status: int, field: str
) -> None:
    with api.client() as admin:
        response = admin.post("/outputs", json=body)
        assert response.status_code == status, response.text
        assert response.json()["error"]["field"] == field
        assert admin.get("/outputs").json() == []


def test_no_response_carries_a_secret(api: Server) -> None:
    with webhook(KEY.encode()) as receiver, api.client() as admin:
        body = {"name": "hook", "kind": "webhook", "url": receiver.url("/h/tok3n-in-path"),
                "secret": KEY, "headers": ["X-Api-Key: header-s3cret"]}  # fmt: skip
        responses = [admin.post("/outputs", json=body)]
        responses += [admin.post("/outputs", json=body)]  # 409: the name is taken
        responses += [admin.get("/outputs"), admin.get("/outputs/hook"),
                      admin.post("/outputs/hook/test"), admin.get("/events")]  # fmt: skip
        assert [r.status_code for r in responses] == [201, 409, 200, 200, 200, 200]
        assert responses[4].json()["arrived"] is True and receiver.received[0].verified
    for response in responses:
        for secret in (KEY, "tok3n-in-path", "header-s3cret"):
            assert secret not in response.text


def test_no_outputs_leaves_delivery_to_another_process(tmp_path: Path) -> None:
    server = serve(tmp_path, outputs=False)
    try:
        with server.client() as admin:
            assert admin.post("/outputs", json=jsonl_body("archive")).status_code == 201
            write_events(server.settings.db_path, [tick(1)])
            wait_for(lambda: admin.get("/outputs").json()[0]["lag_events"] == 1)
            [view] = admin.get("/outputs").json()
            assert view["state"] == "stopped" and view["delivered"] == 0
            assert not (server.settings.home / "outputs" / "events.jsonl").exists()
    finally:
        server.server.stop()
