"""Every event type is declared once (decnet/events.py), documented in docs/api.md, written only
as its model, and what real writers put in the table parses as the published union."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from api_support import ApiEnv, document

from decnet import events as ev
from decnet.settings import PROJECT_ROOT

DOC_ROW = re.compile(r"^\| `([a-z]+\.[a-z_]+)` \| `([a-z]+)` \| ([^|]+) \|", re.MULTILINE)
WRITERS = {"append_event": 0, "_event": 1}
"""The store's writers and the position of their payload argument."""


ATTACK_FIELDS = "*attack fields*"
"""A doc row's shorthand for the fields every attack event shares (listed once below it)."""


def fields_of(payload: type[ev.EventPayload]) -> list[str]:
    return [f.alias or key for key, f in payload.model_fields.items()]


def documented() -> dict[str, tuple[str, list[str]]]:
    text = (PROJECT_ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    rows: dict[str, tuple[str, list[str]]] = {}
    for m in DOC_ROW.finditer(text):
        fields: list[str] = []
        for cell in (f.strip() for f in m[3].split(",")):
            fields += fields_of(ev.AttackEvent) if cell == ATTACK_FIELDS else [cell.strip("`")]
        rows[m[1]] = (m[2], [f.rstrip("?") for f in fields])
    return rows


def test_every_declared_type_is_documented_with_its_topic_and_fields() -> None:
    docs = documented()
    assert set(docs) == set(ev.REGISTRY)
    for name, payload in ev.REGISTRY.items():
        assert docs[name] == (payload.topic, fields_of(payload)), name


def test_writers_pass_a_model_never_a_type_name() -> None:
    """Every call of the store's writers gets a payload object (mypy checks the type; this
    keeps a string or dict literal from slipping in through an untyped path)."""
    offenders = []
    for path in sorted((PROJECT_ROOT / "decnet").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
                continue
            at = WRITERS.get(node.func.attr)
            if at is None or len(node.args) <= at:
                continue
            if isinstance(node.args[at], ast.Constant | ast.Dict | ast.JoinedStr):
                offenders.append(f"{path.relative_to(PROJECT_ROOT)}:{node.lineno}")
    assert offenders == []


def test_the_events_of_real_flows_parse_as_the_union(api: ApiEnv) -> None:
    name = api.new_name()
    with api.client() as c:
        assert c.post("/topologies", json={"document": document(name)}).status_code == 201
        layout = {"lans": {"dmz": {"x": 1, "y": 2, "w": 300, "h": 200}}}
        assert c.put(f"/topologies/{name}/layout", json=layout).status_code == 200
        op = {"op": "update_decky", "name": "a", "config": {"http": {"title": "t"}}}
        assert c.post(f"/topologies/{name}/ops", json={"ops": [op]}).status_code == 200
        assert c.post(f"/topologies/{name}/deploy", json={"dry_run": True}).status_code == 202
        assert c.post("/drift").status_code == 202
        page = c.get("/events", params={"since": 0, "limit": 1000}).json()
    types = set()
    for item in page["items"]:
        parsed = ev.parse_event(item)
        assert (
            parsed.model_dump(mode="json", by_alias=True, exclude_none=True)["payload"]
            == (item["payload"])
        )
        types.add(parsed.type)
    assert {"topology.created", "topology.layout", "topology.updated", "job.queued"} <= types


def test_a_payload_refuses_what_its_type_does_not_declare() -> None:
    try:
        ev.TokenCreated.model_validate({"name": "ci", "role": "viewer", "secret": "x"})
    except ValueError as err:
        assert "secret" in str(err)
    else:
        raise AssertionError("an undeclared field was accepted")


def test_the_openapi_document_publishes_the_union() -> None:
    import json

    spec = json.loads(Path(PROJECT_ROOT / "docs" / "openapi.json").read_text(encoding="utf-8"))
    union = spec["components"]["schemas"]["Event"]
    mapping = union["discriminator"]["mapping"]
    assert set(mapping) == set(ev.REGISTRY)
    frames = spec["components"]["schemas"]["TopologyStreamFrames"]["properties"]
    assert set(frames) == {"snapshot", "reset", "closed", "event"}
