"""`classify` (pure): hand-made fact documents against a small topology's compose model."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from decnet.core.catalog import load_catalog
from decnet.core.hashing import desired_hash
from decnet.core.render import compose_model
from decnet.engine.drift import DriftReport, Finding, classify, parse_fact
from decnet.models import Decky, Lan, Membership, Topology

CATALOG = load_catalog()
TOPO = Topology(
    name="t1",
    host="h1",
    lans=[Lan(name="dmz", subnet="10.200.1.0/24", is_dmz=True)],
    deckies=[
        Decky(
            name="gw",
            home_lan="dmz",
            memberships=[Membership(lan="dmz", ip="10.200.1.2")],
            services=["ssh"],
        )
    ],
)
HASH = desired_hash(TOPO, CATALOG, {}, secret_key=b"drift-classify-test-key")
MODEL = compose_model(TOPO, CATALOG, {})
NET = "decnet-t1.dmz"


def good_fact() -> dict[str, Any]:
    return {
        "format": 1,
        "errors": [],
        "topologies": {
            "t1": {
                "applied_hash": HASH,
                "applied_at": "2026-01-01T00:00:00Z",
                "containers": [
                    {
                        "name": "decnet-t1.gw",
                        "decky": "gw",
                        "role": "base",
                        "service": None,
                        "state": "running",
                        "networks": {NET: "10.200.1.2"},
                    },
                    {
                        "name": "decnet-t1.gw.ssh",
                        "decky": "gw",
                        "role": "service",
                        "service": "ssh",
                        "state": "running",
                        "networks": {},
                    },
                ],
                "networks": [
                    {"name": NET, "lan": "dmz", "subnet": "10.200.1.0/24", "internal": False}
                ],
            }
        },
    }


def run(fact: Any, reachable: bool = True) -> Finding:
    return classify(TOPO, HASH, MODEL, fact, reachable)


def test_in_sync() -> None:
    f = run(good_fact())
    assert (f.name, f.host, f.state, f.details) == ("t1", "h1", "in_sync", [])


def test_in_sync_from_a_json_string() -> None:
    assert run(json.dumps(good_fact())).state == "in_sync"


def test_config_drift() -> None:
    fact = good_fact()
    fact["topologies"]["t1"]["applied_hash"] = "0" * 64
    f = run(fact)
    assert f.state == "config_drift"
    assert "applied 000000000000" in f.details[0]


def test_missing_container_is_runtime_drift_naming_it() -> None:
    fact = good_fact()
    fact["topologies"]["t1"]["containers"].pop(1)
    f = run(fact)
    assert f.state == "runtime_drift"
    assert f.details == ["container decnet-t1.gw.ssh is missing"]


def test_stopped_wrong_ip_unexpected_and_networks() -> None:
    fact = good_fact()
    entry = fact["topologies"]["t1"]
    entry["containers"][0]["state"] = "exited"
    entry["containers"][0]["networks"][NET] = "10.200.1.9"
    entry["containers"].append({"name": "decnet-t1.rogue", "state": "running", "networks": {}})
    entry["networks"] = [{"name": "decnet-t1.other"}]
    f = run(fact)
    assert f.state == "runtime_drift"
    text = "\n".join(f.details)
    assert "decnet-t1.gw is 'exited'" in text
    assert "IP '10.200.1.9' on decnet-t1.dmz, want 10.200.1.2" in text
    assert "unexpected container 'decnet-t1.rogue'" in text
    assert f"network {NET} is missing" in text
    assert "unexpected network 'decnet-t1.other'" in text


def test_container_off_its_network() -> None:
    fact = good_fact()
    fact["topologies"]["t1"]["containers"][0]["networks"] = {}
    f = run(fact)
    assert f.state == "runtime_drift"
    assert f.details == [f"container decnet-t1.gw is not on network {NET}"]


def test_unreachable_wins() -> None:
    assert run(good_fact(), reachable=False).state == "unreachable"


@pytest.mark.parametrize(
    "fact",
    [
        None,
        "",
        "not json",
        "[1, 2]",
        42,
        ["x"],
        {"format": 2, "topologies": {}},
        {"format": 1},
        {"format": 1, "topologies": {}, "errors": []},  # never applied
        {"format": 1, "topologies": {"t1": {"applied_hash": None}}, "errors": []},
        {"format": 1, "topologies": {"t1": "x"}, "errors": []},
    ],
)
def test_unknown_is_never_in_sync(fact: Any) -> None:
    f = run(fact)
    assert f.state == "unknown"
    assert f.details


def test_template_in_the_fact_is_data() -> None:
    payload = "{{ lookup('pipe','id') }}"
    f = run(payload)
    assert f.state == "unknown"
    assert payload in f.details[0]
    assert "uid=" not in f.details[0]
    doc, why = parse_fact(payload)
    assert doc is None and payload in why


def test_template_inside_valid_json_stays_data() -> None:
    fact = good_fact()
    fact["topologies"]["t1"]["applied_hash"] = "{{ lookup('pipe','id') }}"
    f = run(fact)
    assert f.state == "config_drift"
    assert "applied {{ lookup('p " in f.details[0]


def test_docker_error_on_the_host_is_unknown() -> None:
    fact = good_fact()
    fact["errors"] = ["docker: Cannot connect to the Docker daemon"]
    fact["topologies"]["t1"]["containers"] = []
    assert run(fact).state == "unknown"


def test_unreadable_applied_json_is_unknown() -> None:
    fact = copy.deepcopy(good_fact())
    fact["errors"] = ["applied: t1: unreadable applied.json (Expecting value)"]
    assert run(fact).state == "unknown"


def test_exit_codes() -> None:
    def rep(*states: str) -> DriftReport:
        return DriftReport(findings=[Finding("t", "h", s) for s in states])

    assert rep().exit_code == 0
    assert rep("in_sync").exit_code == 0
    assert rep("in_sync", "runtime_drift").exit_code == 2
    assert rep("config_drift").exit_code == 2
    assert rep("config_drift", "unknown").exit_code == 1
    assert rep("unreachable").exit_code == 1
