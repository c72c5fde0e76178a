"""`classify` (pure): hand-made fact documents against a small topology's compose model."""

from __future__ import annotations

import copy
import json
import reprlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lures import LURES

from decnet.core.catalog import load_catalog
from decnet.core.hashing import desired_hash
from decnet.core.render import compose_model
from decnet.engine.drift import STATES, DriftReport, Finding, classify, parse_fact, stored_report
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
HASH = desired_hash(TOPO, CATALOG, dict(LURES), secret_key=b"drift-classify-test-key")
MODEL = compose_model(TOPO, CATALOG, LURES)  # one container per service: the fact below
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


# --- every shape of a fact is classified, never raised (issue 7 item 10) ---------------------

HUGE = "x" * 2_000_000
NASTY_TEXT = "\x1b[31mred\x07\x00\u202e" + "é✓"
LEAVES = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(10**40), max_value=10**40)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=50)
    | st.sampled_from([NASTY_TEXT, "", "running", HASH, NET, "decnet-t1.gw", "10.200.1.2"])
    | st.builds(lambda: HUGE)
)
KEYS = st.text(max_size=8) | st.integers() | st.none() | st.booleans() | st.floats()
"""Any hashable JSON-ish key (Ansible hands over parsed data; not every producer is JSON)."""
ANY = st.recursive(
    LEAVES,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


def either(right: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly the right shape at this key, else anything at all: a wrong type at every key,
    while enough of the rest is right for the classification to get that far."""
    return st.one_of(right, right, ANY)


CONTAINER = st.fixed_dictionaries(
    {},
    optional={
        "name": either(st.sampled_from(["decnet-t1.gw", "decnet-t1.gw.ssh", NASTY_TEXT])),
        "state": either(st.sampled_from(["running", "exited", NASTY_TEXT])),
        "networks": either(st.dictionaries(st.just(NET) | KEYS, ANY, max_size=3)),
    },
)
ENTRY = st.fixed_dictionaries(
    {},
    optional={
        "applied_hash": either(
            st.sampled_from([HASH, "0" * 64, NASTY_TEXT]) | st.builds(lambda: HUGE)
        ),
        "containers": either(st.lists(either(CONTAINER), max_size=4)),
        "applied_at": ANY,
        "networks": either(st.lists(either(st.fixed_dictionaries({"name": ANY})), max_size=3)),
    },
)
FACT_KEYS = {
    "format": either(st.just(1)) | st.sampled_from([1.0, True, "1", 2]),
    "errors": either(
        st.lists(either(st.sampled_from(["docker: x", f"applied: t1: {NASTY_TEXT}"])), max_size=3)
    ),
    "topologies": either(st.dictionaries(st.just("t1") | KEYS, either(ENTRY), max_size=3)),
}
FACT = st.fixed_dictionaries(FACT_KEYS) | st.fixed_dictionaries({}, optional=FACT_KEYS)


def dumped(value: Any) -> st.SearchStrategy[str]:
    """`value` as the JSON text a fact script prints (NaN and Infinity included); values
    json cannot write (non-str keys) stay as they are."""
    try:
        return st.just(json.dumps(value))
    except (TypeError, ValueError):
        return st.just(value)


JSONISH = FACT | ANY | FACT.flatmap(dumped) | ANY.flatmap(dumped) | st.text(max_size=30)


def deep(levels: int) -> Any:
    out: Any = 1
    for _ in range(levels):
        out = [out]
    return out


@settings(max_examples=400, deadline=None)
@given(fact=JSONISH, reachable=st.booleans())
def test_any_fact_is_classified_never_raised(fact: Any, reachable: bool) -> None:
    doc, why = parse_fact(fact)
    assert (doc is None) == bool(why)
    finding = run(fact, reachable)
    assert finding.state in STATES
    assert finding.state != "in_sync" or fact_is_good(fact)
    for detail in finding.details:
        assert isinstance(detail, str) and len(detail) <= 400, detail[:80]
        assert detail.isprintable(), repr(detail[:80])
    assert len(finding.details) <= 51
    stored = stored_report(fact)
    json.dumps(stored, allow_nan=False)  # what the store keeps is always plain JSON


def fact_is_good(fact: Any) -> bool:
    doc, _ = parse_fact(fact)
    return doc is not None and doc["topologies"].get("t1", {}).get("applied_hash") == HASH


@pytest.mark.parametrize(
    "fact",
    [
        {**good_fact(), "errors": 5},
        {**good_fact(), "errors": "docker: a string, not a list"},
        {**good_fact(), "errors": float("nan")},
        {**good_fact(), "format": float("nan")},
        {**good_fact(), "format": True},
        {**good_fact(), "topologies": float("inf")},
        {
            **good_fact(),
            "topologies": {"t1": {**good_fact()["topologies"]["t1"], "applied_hash": float("nan")}},
        },
        '{"format": 1, "topologies": {}, "errors": NaN}',
        "[" * 200_000,
        deep(5_000),
        "1" * 5_000,
        HUGE,
        '"' + HUGE + '"',
    ],
    ids=lambda f: reprlib.repr(f)[:40],
)
def test_bad_fact_shapes_are_unknown_with_a_readable_reason(fact: Any) -> None:
    finding = run(fact)
    assert finding.state == "unknown", finding
    (reason,) = finding.details
    assert reason.isprintable() and len(reason) <= 300


def test_host_strings_are_escaped_and_cut_in_findings() -> None:
    fact = good_fact()
    fact["errors"] = [f"applied: t1: {NASTY_TEXT}{HUGE}"]
    (reason,) = run(fact).details
    assert "\x1b" not in reason and "\x07" not in reason and "\u202e" not in reason
    assert "\\x1b[31mred" in reason and reason.endswith("…") and len(reason) < 400
    fact = good_fact()
    fact["topologies"]["t1"]["containers"] += [
        {"name": f"rogue-{i}", "state": "running", "networks": {}} for i in range(10_000)
    ]
    finding = run(fact)
    assert finding.state == "runtime_drift"
    assert len(finding.details) == 51 and finding.details[-1] == "… and 9950 more"


def test_a_nan_fact_is_stored_as_its_summary() -> None:
    fact = good_fact()
    fact["topologies"]["t1"]["applied_at"] = float("nan")
    stored = stored_report(fact)
    assert set(stored) == {"unreadable", "raw"} and "NaN" in stored["unreadable"]
    json.dumps(stored, allow_nan=False)
    assert stored_report(good_fact()) == good_fact()
