"""Topology routes over real HTTP: create (parameters, documents), get (= `show --json`),
list with filters and pages, validate, export, graph, layout, delete, and the error codes."""

from __future__ import annotations

import json
import uuid

from api_support import ApiEnv, document

from decnet.api.config import API_PREFIX
from decnet.models import Status


def fresh(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def test_create_from_parameters_and_get_is_show_json(api: ApiEnv) -> None:
    name = fresh()
    with api.client() as c:
        r = c.post("/topologies", json={"generate": {"name": name, "depth": 2, "seed": 5}})
        assert r.status_code == 201, r.text
        assert r.headers["location"] == f"{API_PREFIX}/topologies/{name}"
        got = c.get(f"/topologies/{name}").json()
    assert got == r.json()
    shown = api.cli("topology", "show", name, "--json")
    assert shown.returncode == 0 and json.loads(shown.stdout) == got
    assert got["status"] == "pending" and got["version"] == 1 and got["config"]["seed"] == 5


def test_create_from_a_document_text_or_structure(api: ApiEnv) -> None:
    text_name, struct_name = fresh(), fresh()
    structured = {
        "name": struct_name,
        "lans": [{"name": "dmz", "dmz": True}],
        "deckies": [{"name": "a", "home": "dmz", "services": ["ssh"]}],
    }
    with api.client() as c:
        r = c.post("/topologies", json={"document": document(text_name)})
        assert r.status_code == 201, r.text
        r2 = c.post("/topologies", json={"document": structured})
        assert r2.status_code == 201, r2.text
        assert [lan["subnet"] is not None for lan in r2.json()["lans"]] == [True]
        dup = c.post("/topologies", json={"document": structured})
        assert dup.status_code == 409 and dup.json()["error"]["code"] == "already_exists"


def test_a_topology_that_fails_validation_is_400_with_the_issues(api: ApiEnv) -> None:
    name = fresh()
    doc = {
        "name": name,
        "lans": [{"name": "dmz", "dmz": True}, {"name": "island"}],
        "deckies": [{"name": "a", "home": "dmz", "services": ["nope"]},
                    {"name": "b", "home": "island", "services": ["ssh"]}],
    }  # fmt: skip
    with api.client() as c:
        r = c.post("/topologies", json={"document": doc})
        assert r.status_code == 400, r.text
        error = r.json()["error"]
        assert error["code"] == "invalid_topology"
        assert {"SERVICE_UNKNOWN", "LAN_UNREACHABLE"} <= {i["code"] for i in error["issues"]}
        assert c.get(f"/topologies/{name}").status_code == 404
        checked = c.post("/topologies/validate", json={"document": doc}).json()
        assert checked["valid"] is False
        assert {i["code"] for i in checked["issues"]} == {i["code"] for i in error["issues"]}


def test_validate_a_stored_topology_and_a_good_document(api: ApiEnv) -> None:
    name = fresh()
    with api.client("viewer") as viewer, api.client() as admin:
        assert viewer.post("/topologies/validate", json={"document": document(name)}).json() == {
            "valid": True,
            "issues": [],
        }
        assert admin.post("/topologies", json={"document": document(name)}).status_code == 201
        assert viewer.get(f"/topologies/{name}/validate").json()["valid"] is True
        assert viewer.get("/topologies/nope-nope/validate").status_code == 404


def test_list_filters_and_pages(api: ApiEnv) -> None:
    prefix = f"p{uuid.uuid4().hex[:4]}"
    names = sorted(f"{prefix}-{i}" for i in range(5))
    with api.client() as c:
        for n in names:
            assert c.post("/topologies", json={"generate": {"name": n}}).status_code == 201
        page1 = c.get("/topologies", params={"prefix": prefix, "limit": 2}).json()
        assert [t["name"] for t in page1["items"]] == names[:2] and page1["next"] == names[1]
        page2 = c.get("/topologies", params={"prefix": prefix, "limit": 2, "after": names[1]})
        assert [t["name"] for t in page2.json()["items"]] == names[2:4]
        last = c.get("/topologies", params={"prefix": prefix, "after": names[3]}).json()
        assert [t["name"] for t in last["items"]] == names[4:] and last["next"] is None
        pending = c.get("/topologies", params={"prefix": prefix, "status": "pending"}).json()
        assert len(pending["items"]) == 5
        none = c.get("/topologies", params={"prefix": prefix, "status": "active"}).json()
        assert none["items"] == []
        bad = c.get("/topologies", params={"status": "sleeping"})
        assert bad.status_code == 422 and bad.json()["error"]["field"].startswith("query.status")


def test_export_masks_secrets_and_graph_formats(api: ApiEnv) -> None:
    name, password = fresh(), "hunter2-" + uuid.uuid4().hex[:8]
    with api.client() as c:
        created = c.post("/topologies", json={"document": document(name, password=password)})
        assert created.status_code == 201, created.text
        exported = c.get(f"/topologies/{name}/export")
        assert exported.headers["content-type"].startswith("application/yaml")
        assert f"name: {name}" in exported.text and "********" in exported.text
        mermaid = c.get(f"/topologies/{name}/graph").text
        dot = c.get(f"/topologies/{name}/graph", params={"format": "dot"}).text
        assert mermaid.startswith(("graph", "flowchart")) and dot.lstrip().startswith("graph")
        assert c.get(f"/topologies/{name}/graph", params={"format": "png"}).status_code == 422
        for path in (f"/topologies/{name}", f"/topologies/{name}/export", "/events?since=0"):
            assert password not in c.get(path).text, path
    with api.store() as store:
        assert all(
            password not in json.dumps(e.payload) for e in store.query_events(0, limit=10**6)
        )


def test_layout_moves_boxes_without_a_version_or_hash_change(api: ApiEnv) -> None:
    name = fresh()
    with api.client() as c:
        before = c.post("/topologies", json={"document": document(name)}).json()
        body = {"lans": {"dmz": {"x": 10, "y": 20.5, "w": 300, "h": 200}},
                "deckies": {"gw": {"x": -4.25, "y": 8}}}  # fmt: skip
        r = c.put(f"/topologies/{name}/layout", json=body)
        assert r.status_code == 200 and r.json() == {"name": name, "version": 1}
        after = c.get(f"/topologies/{name}").json()
    assert after["version"] == before["version"]
    assert after["desired_hash"] == before["desired_hash"]
    dmz = next(lan for lan in after["lans"] if lan["name"] == "dmz")
    assert (dmz["x"], dmz["y"], dmz["w"], dmz["h"]) == (10.0, 20.5, 300.0, 200.0)
    gw = next(d for d in after["deckies"] if d["name"] == "gw")
    assert (gw["x"], gw["y"]) == (-4.25, 8.0)
    untouched = next(lan for lan in after["lans"] if lan["name"] == "lan-1")
    assert untouched["x"] is None


def test_layout_of_an_unknown_lan_writes_nothing(api: ApiEnv) -> None:
    name = fresh()
    with api.client() as c:
        c.post("/topologies", json={"document": document(name)})
        with api.store() as store:
            mark = store.latest_event_id()
        r = c.put(
            f"/topologies/{name}/layout",
            json={"lans": {"dmz": {"x": 1}, "ghost": {"x": 2}}},
        )
        assert r.status_code == 422 and r.json()["error"]["field"] == "lans.ghost"
        assert c.get(f"/topologies/{name}").json()["lans"][0]["x"] is None
        assert c.put("/topologies/nope-nope/layout", json={}).status_code == 404
    with api.store() as store:
        assert store.query_events(mark) == []


def test_delete_with_version_conflict_then_for_real(api: ApiEnv) -> None:
    name = fresh()
    with api.client() as c:
        c.post("/topologies", json={"generate": {"name": name}})
        stale = c.delete(f"/topologies/{name}", params={"expected_version": 7})
        assert stale.status_code == 409
        expected = {"code": "version_conflict", "current": 1, "expected": 7}
        assert expected.items() <= stale.json()["error"].items()
        assert c.delete(f"/topologies/{name}", params={"expected_version": 1}).status_code == 204
        gone = c.get(f"/topologies/{name}")
        assert gone.status_code == 404 and gone.json()["error"]["code"] == "not_found"
        assert c.delete(f"/topologies/{name}").status_code == 404


def test_status_that_forbids_the_action_is_409(api: ApiEnv) -> None:
    name = fresh()
    with api.client() as c:
        c.post("/topologies", json={"generate": {"name": name}})
        with api.store() as store:
            store.transition(name, "deploying", reason="test")
            store.transition(name, "active", reason="test")
        r = c.delete(f"/topologies/{name}")
        assert r.status_code == 409 and r.json()["error"]["code"] == "not_editable"
        with api.store() as store:
            store.transition(name, "tearing_down", reason="test")
            store.transition(name, "torn_down", reason="test")
        r = c.post(f"/topologies/{name}/deploy")
        assert r.status_code == 409 and r.json()["error"]["code"] == "illegal_transition"
        assert r.json()["error"]["status"] == "torn_down"
        assert c.post("/topologies/nope-nope/deploy").status_code == 404


def test_catalogue_routes(api: ApiEnv) -> None:
    with api.client("viewer") as c:
        services = {s["name"]: s for s in c.get("/catalog/services").json()}
        archetypes = {a["name"] for a in c.get("/catalog/archetypes").json()}
    assert {"ssh", "http"} <= set(services) and "linux-server" in archetypes
    password = next(p for p in services["ssh"]["params"] if p["key"] == "password")
    assert password["secret"] is True and password["type"] == "str"


def _walk(api: ApiEnv, name: str, *path: Status) -> None:
    with api.store() as store:
        for status in path:
            store.transition(name, status, reason="test")


def test_a_copy_is_a_pending_twin_with_the_secrets_kept_inside(api: ApiEnv) -> None:
    name, twin = fresh(), fresh()
    with api.client() as c:
        assert (
            c.post(
                "/topologies", json={"document": document(name, password="s3cret-pw")}
            ).status_code
            == 201
        )
        _walk(api, name, Status.DEPLOYING, Status.ACTIVE, Status.TEARING_DOWN, Status.TORN_DOWN)
        r = c.post(f"/topologies/{name}/copy", json={"name": twin})
        assert r.status_code == 201, r.text
        assert r.headers["location"] == f"{API_PREFIX}/topologies/{twin}"
        copy, original = r.json(), c.get(f"/topologies/{name}").json()
    assert copy["status"] == "pending" and copy["version"] == 1
    assert copy["actions"]["deploy"]["allowed"] is True
    assert copy["lans"] == original["lans"] and copy["deckies"] == original["deckies"]
    assert copy["deckies"][0]["service_config"]["ssh"]["password"] == "********"  # masked out
    with api.store() as store:  # … and the real value copied inside the database
        assert store.get_topology(twin).deckies[0].service_config["ssh"]["password"] == "s3cret-pw"
        assert store.get_topology(name).status is Status.TORN_DOWN  # the original is untouched


def test_a_copy_is_checked_against_its_host_and_its_name(api: ApiEnv) -> None:
    name = fresh()
    with api.client() as c:
        assert c.post("/topologies", json={"document": document(name)}).status_code == 201
        # its pinned subnets are claimed until it is torn down (a pending one's too)
        clash = c.post(f"/topologies/{name}/copy", json={"name": fresh()})
        assert clash.status_code == 400, clash.text
        assert clash.json()["error"]["code"] == "invalid_topology"
        taken = c.post(f"/topologies/{name}/copy", json={"name": name})
        assert taken.status_code == 409 and taken.json()["error"]["code"] == "already_exists"
        bad = c.post(f"/topologies/{name}/copy", json={"name": "Not A Name"})
        assert bad.status_code == 422, bad.text  # the body's name does not match its pattern
        assert bad.json()["error"]["code"] == "invalid_request"
        gone = c.post("/topologies/no-such-thing/copy", json={"name": fresh()})
        assert gone.status_code == 404
    with api.client("viewer") as v:
        assert v.post(f"/topologies/{name}/copy", json={"name": fresh()}).status_code == 403


def test_the_cli_copies_too(api: ApiEnv) -> None:
    name, twin = fresh(), fresh()
    with api.client() as c:
        assert c.post("/topologies", json={"document": document(name)}).status_code == 201
    _walk(api, name, Status.DEPLOYING, Status.ACTIVE, Status.TEARING_DOWN, Status.TORN_DOWN)
    out = api.cli("topology", "copy", name, twin, "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == {
        "name": twin, "version": 1, "status": "pending", "host": "localhost",
        "lans": 2, "deckies": 3,
    }  # fmt: skip
    again = api.cli("topology", "copy", name, twin)
    assert again.returncode != 0 and again.stderr.startswith("error:") and "hint:" in again.stderr
