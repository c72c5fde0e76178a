"""Bad request bodies: wrong types, unknown keys, oversized, non-JSON — 422 or 413 naming the
field, and nothing written (the whole database dump is compared)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from api_support import ApiEnv, document, dump

BAD_BODIES: list[tuple[str, str, Any, str]] = [
    # (method, path, JSON body, the field the error names)
    ("POST", "/topologies", {"generate": {"name": "x", "depth": "3"}}, "body.generate.depth"),
    ("POST", "/topologies", {"generate": {"name": "x", "depth": 99}}, "body.generate.depth"),
    ("POST", "/topologies", {"generate": {"name": "x", "colour": "red"}}, "body.generate.colour"),
    ("POST", "/topologies", {"generate": {"name": 7}}, "body.generate.name"),
    ("POST", "/topologies", {"generate": {"name": "x"}, "document": "name: y"}, "body"),
    ("POST", "/topologies", {}, "body"),
    ("POST", "/topologies", [1, 2], "body"),
    ("POST", "/topologies", {"document": 12}, "body.document"),
    ("POST", "/topologies", {"document": {"name": "x", "lans": "dmz"}}, "lans"),
    ("POST", "/topologies", {"document": "name: [unclosed"}, None),
    ("POST", "/topologies/validate", {"document": {"name": "x", "hosts": 1}}, "hosts"),
    ("PUT", "/topologies/{name}/layout", {"lans": {"dmz": {"x": "left"}}}, "body.lans.dmz.x"),
    ("PUT", "/topologies/{name}/layout", {"lans": {"dmz": {"z": 1}}}, "body.lans.dmz.z"),
    ("PUT", "/topologies/{name}/layout", {"lans": {"dmz": {"w": -5}}}, "body.lans.dmz.w"),
    ("PUT", "/topologies/{name}/layout", {"decky": {}}, "body.decky"),
    ("POST", "/topologies/{name}/deploy", {"dry_run": "yes"}, "body.dry_run"),
    ("POST", "/topologies/{name}/deploy", {"force": True, "extra": 1}, "body.extra"),
    ("POST", "/topologies/{name}/teardown", {"force": 1}, "body.force"),
]


@pytest.fixture
def name(api: ApiEnv) -> str:
    topology = f"bad-{uuid.uuid4().hex[:6]}"
    with api.client() as c:
        assert c.post("/topologies", json={"document": document(topology)}).status_code == 201
        c.get("/topologies")  # the token's last_used_at is written now, not during the test
    return topology


def test_bad_bodies_are_422_with_the_field_and_write_nothing(api: ApiEnv, name: str) -> None:
    before = dump(api.settings.db_path)
    with api.client() as c:
        for method, path, body, field in BAD_BODIES:
            r = c.request(method, path.replace("{name}", name), json=body)
            assert r.status_code == 422, (path, body, r.text)
            error = r.json()["error"]
            assert error["code"] in ("invalid_request", "invalid_document"), error
            assert error["message"]
            if field is not None:
                assert field in error["field"], (body, error)
    assert dump(api.settings.db_path) == before


def test_non_json_bodies_are_422(api: ApiEnv, name: str) -> None:
    before = dump(api.settings.db_path)
    with api.client() as c:
        for content, ctype in ((b"{not json", "application/json"),
                               (b"name=x", "application/x-www-form-urlencoded"),
                               (b"\xff\xfe\x00", "application/json"),
                               (b'{"generate": {"name": "x"}}', "text/plain")):  # fmt: skip
            r = c.post("/topologies", content=content, headers={"Content-Type": ctype})
            assert r.status_code == 422, (content, r.text)
            assert r.json()["error"]["field"].startswith("body")
    assert dump(api.settings.db_path) == before


def test_an_oversized_body_is_413_before_it_is_read(api: ApiEnv, name: str) -> None:
    before = dump(api.settings.db_path)
    cap = api.settings.api_max_body
    big = {"document": "#" * (cap + 10)}
    with api.client() as c:
        r = c.post("/topologies", json=big)
        assert r.status_code == 413, r.text
        assert r.json()["error"] == {
            "code": "payload_too_large",
            "message": f"the request body is over the {cap}-byte cap",
            "field": "body",
            "hint": "send less, or raise DECNET_API_MAX_BODY on the server",
        }

    def chunks() -> Any:  # no Content-Length: counted while read
        for _ in range(cap // 65536 + 2):
            yield b"x" * 65536

    with httpx.Client(base_url=api.url, timeout=30) as raw:
        r = raw.post(
            "/api/v1/topologies",
            content=chunks(),
            headers={"Authorization": f"Bearer {api.admin}", "Content-Type": "application/json"},
        )
        assert r.status_code == 413
        # the cap sits behind authentication: an anonymous caller learns nothing
        anon = raw.post("/api/v1/topologies", json=big)
        assert anon.status_code == 401
    assert dump(api.settings.db_path) == before


def test_bad_query_and_path_parameters_are_422(api: ApiEnv) -> None:
    with api.client() as c:
        cases = [
            ("/topologies/Bad_Name", "path.name"),
            ("/topologies?limit=0", "query.limit"),
            ("/events?since=-1", "query.since"),
            ("/events?type=a%20b", "type"),
            ("/runs/xyz", "path.run_id"),
        ]
        for path, field in cases:
            r = c.get(path)
            assert r.status_code == 422, (path, r.text)
            assert r.json()["error"]["field"] == field
        r = c.get("/events/stream", headers={"Last-Event-ID": "abc"})
        assert r.status_code == 422 and r.json()["error"]["field"] == "header.last-event-id"
