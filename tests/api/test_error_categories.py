"""Failures that used to be HTTP 400 `error` whatever went wrong now carry their category's
status and code (decnet/errors.py), against the real server; nothing is written."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from api_support import ApiEnv, document, dump, start_private

from decnet.engine.tokens import TokenInfo, list_tokens


def _error(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    error: dict[str, Any] = r.json()["error"]
    assert error["code"] == code and error["message"], error
    return error


def test_logging_out_an_api_token_is_forbidden_and_revokes_nothing(api: ApiEnv) -> None:
    with api.client() as c:
        error = _error(c.delete("/sessions/current"), 403, "forbidden")
        assert "is an API token, not a session" in error["message"]
        assert error["hint"] == "revoke it with `decnet token revoke admin`"
        assert c.get("/sessions/current").status_code == 200  # still valid
    with api.store() as store:
        admin: TokenInfo = next(t for t in list_tokens(store) if t.name == "admin")
        assert admin.state == "active"


@pytest.mark.parametrize(
    ("generate", "field", "needle"),
    [
        ({"name": "Bad_Name"}, "body.generate.name", "should match pattern"),
        ({"name": "corp\n"}, "body.generate.name", "should match pattern"),
        ({"name": "x", "host": "_edge"}, "body.generate.host", "ansible_host"),
        ({"name": "x", "host": "edge\n"}, "body.generate.host", "does not match"),
        ({"name": "x", "host": "../etc"}, "body.generate.host", "does not match"),
    ],
)
def test_a_bad_name_or_host_to_generate_is_422_naming_the_field(
    api: ApiEnv, generate: dict[str, Any], field: str, needle: str
) -> None:
    before = dump(api.settings.db_path)
    with api.client() as c:
        error = _error(c.post("/topologies", json={"generate": generate}), 422, "invalid_request")
    assert error["field"] == field and needle in error["message"], error
    assert dump(api.settings.db_path) == before


def test_a_document_with_a_bad_name_is_400_with_the_issue(api: ApiEnv) -> None:
    text = document(f"e-{uuid.uuid4().hex[:6]}").replace("name: e-", "name: Bad_E-", 1)
    with api.client() as c:
        error = _error(c.post("/topologies", json={"document": text}), 400, "invalid_topology")
    assert ("NAME_INVALID", "name") in {(i["code"], i["path"]) for i in error["issues"]}


@pytest.mark.parametrize("host", ["_edge", "edge\\n", "a/b", "fe80::1"])
def test_a_document_with_a_bad_host_is_422_at_the_host_line(api: ApiEnv, host: str) -> None:
    name = f"e-{uuid.uuid4().hex[:6]}"
    text = document(name).replace("host: localhost", f'host: "{host}"')
    with api.client() as c:
        error = _error(c.post("/topologies", json={"document": text}), 422, "invalid_document")
        assert error["line"] == 2 and "ansible_host" in error["message"], error
        checked = c.post("/topologies/validate", json={"document": text})
        assert _error(checked, 422, "invalid_document")["line"] == 2
        assert c.get(f"/topologies/{name}").status_code == 404


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/topologies?host=_edge", "query.host"),
        ("/topologies?host=edge%0A", "query.host"),
        ("/topologies/corp%0A", "path.name"),
        ("/topologies/corp%0A/events/stream", "path.name"),
        ("/events?topology=corp%0A", "query.topology"),
    ],
)
def test_a_trailing_newline_or_bad_host_in_a_url_is_422(api: ApiEnv, path: str, field: str) -> None:
    with api.client("viewer") as c:
        assert _error(c.get(path), 422, "invalid_request")["field"] == field


@pytest.fixture
def no_inventory(tmp_path: Path) -> Iterator[ApiEnv]:
    env = start_private(tmp_path, inventory=tmp_path / "missing.yml", watch=False)
    try:
        yield env
    finally:
        env.server.stop()


def test_a_missing_inventory_is_503_environment(no_inventory: ApiEnv) -> None:
    with no_inventory.client("viewer") as c:
        error = _error(c.get("/hosts"), 503, "environment")
    assert "missing.yml does not exist" in error["message"] and "DECNET_INVENTORY" in error["hint"]


def test_an_inventory_host_decnet_cannot_use_is_503_naming_it(
    tmp_path: Path, no_inventory: ApiEnv
) -> None:
    inventory = no_inventory.settings.inventory
    inventory.write_text("all:\n  hosts:\n    edge-1:\n    _template:\n")
    with no_inventory.client("viewer") as c:
        error = _error(c.get("/hosts"), 503, "environment")
    assert "host '_template' does not match" in error["message"], error
    assert "ansible_host" in error["hint"]
