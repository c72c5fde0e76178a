"""The generator: shape invariants over random parameters, bounds, determinism across processes."""

from __future__ import annotations

import ipaddress
import os
import subprocess
import sys
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from decnet.core.catalog import load_catalog
from decnet.core.generate import MAX_DECKIES, generate
from decnet.core.hashing import canonical_json, desired_hash
from decnet.core.validate import validate
from decnet.errors import UsageError
from decnet.models import NAME_RE, GeneratorParams, Severity, Topology

CATALOG = load_catalog()


@st.composite
def generator_params(draw: st.DrawFn) -> GeneratorParams:
    low = draw(st.integers(0, 3))
    return GeneratorParams(
        name=draw(st.from_regex(r"[a-z][a-z0-9-]{0,20}", fullmatch=True)),
        depth=draw(st.integers(1, 4)),
        branching=draw(st.integers(1, 3)),
        deckies_min=low,
        deckies_max=draw(st.integers(low, 4)),
        forward_p=draw(st.floats(0, 1)),
        cross_p=draw(st.floats(0, 1)),
        services=draw(
            st.none() | st.lists(st.sampled_from(sorted(CATALOG.services)), unique=True, max_size=3)
        ),
        seed=draw(st.integers(0, 2**63 - 1)),
    )


def _reached_from_dmz(t: Topology) -> set[str]:
    dmz = t.dmz()
    assert dmz is not None
    reached, frontier = {dmz.name}, [dmz.name]
    while frontier:
        lan = frontier.pop()
        for d in t.deckies:
            lans = [m.lan for m in d.memberships]
            if len(lans) >= 2 and lan in lans:
                fresh = [x for x in lans if x not in reached]
                reached.update(fresh)
                frontier += fresh
    return reached


@settings(deadline=None, max_examples=50)
@given(generator_params())
def test_generated_topologies_hold_every_invariant(params: GeneratorParams) -> None:
    t = generate(params, CATALOG)
    assert [lan.name for lan in t.lans if lan.is_dmz] == ["dmz"]
    assert _reached_from_dmz(t) == {lan.name for lan in t.lans}
    assert len(t.lans) == sum(params.branching**k for k in range(params.depth))
    names = [lan.name for lan in t.lans] + [d.name for d in t.deckies] + [t.name]
    assert all(NAME_RE.fullmatch(n) for n in names)
    for d in t.deckies:
        assert d.memberships[0].lan == d.home_lan
        assert len({m.lan for m in d.memberships}) == len(d.memberships)
    _assert_addresses(t)
    assert [i for i in validate(t, CATALOG) if i.severity is Severity.ERROR] == []


def _assert_addresses(t: Topology) -> None:
    subnets = {lan.name: ipaddress.ip_network(lan.subnet or "") for lan in t.lans}
    per_lan = Counter((m.lan, m.ip) for d in t.deckies for m in d.memberships)
    assert max(per_lan.values(), default=1) == 1
    for (lan, ip), _ in per_lan.items():
        net, addr = subnets[lan], ipaddress.ip_address(ip or "")
        assert addr in net
        assert addr not in (net.network_address, net.network_address + 1, net.broadcast_address)


@settings(deadline=None, max_examples=30)
@given(generator_params())
def test_every_lan_gets_its_deckies_and_bridge(params: GeneratorParams) -> None:
    t = generate(params, CATALOG)
    for lan in t.lans:
        homed = [d for d in t.deckies if d.home_lan == lan.name]
        plain = [d for d in homed if d.name.startswith(f"{lan.name}-d")]
        assert params.deckies_min <= len(plain) <= params.deckies_max
        special = "gw" if lan.is_dmz else f"{lan.name}-br"
        assert [d.name for d in homed if d.name == special] == [special]
    for d in t.deckies:
        if params.services is not None:
            assert d.services == params.services and d.archetype is None
        else:
            assert d.archetype is not None
            assert d.services == CATALOG.archetypes[d.archetype].services


def test_bridges_join_their_parent_and_cross_edges_go_one_level_up() -> None:
    params = GeneratorParams(name="x", depth=3, branching=2, cross_p=1.0, forward_p=1.0, seed=3)
    t = generate(params, CATALOG)
    bridge = t.decky("lan-1-2-br")
    assert bridge is not None and bridge.forwards_l3
    assert [m.lan for m in bridge.memberships] == ["lan-1-2", "lan-1", "lan-2"]
    assert [m.lan for m in (t.decky("lan-1-br") or bridge).memberships] == ["lan-1", "dmz"]


def test_the_gateway_publishes_only_when_asked() -> None:
    quiet = generate(GeneratorParams(name="x"), CATALOG)
    assert all(d.publish == [] for d in quiet.deckies)
    loud = generate(GeneratorParams(name="x", services=["ssh"], publish=["2222:22"]), CATALOG)
    assert [(d.name, d.publish) for d in loud.deckies if d.publish] == [("gw", ["2222:22"])]
    assert validate(loud, CATALOG) == []


def test_forward_probability_extremes() -> None:
    for p, expected in ((0.0, False), (1.0, True)):
        t = generate(GeneratorParams(name="x", depth=3, forward_p=p), CATALOG)
        assert {d.forwards_l3 for d in t.deckies if d.name.endswith("-br")} == {expected}


def test_reserved_subnets_and_custom_pools_are_honoured() -> None:
    params = GeneratorParams(name="x", depth=1, subnet_pool="10.50.0.0/16")
    t = generate(params, CATALOG, reserved_subnets=["10.50.0.0/24"])
    assert t.lans[0].subnet == "10.50.1.0/24"


def test_config_records_the_parameters() -> None:
    params = GeneratorParams(name="x", seed=99)
    assert generate(params, CATALOG).config == params.model_dump(mode="json")


def test_same_seed_same_topology_other_seed_other_topology() -> None:
    params = GeneratorParams(name="x", depth=3, deckies_max=5, cross_p=0.5, seed=7)
    a, b = generate(params, CATALOG), generate(params, CATALOG)
    assert a.model_dump() == b.model_dump()
    other = generate(params.model_copy(update={"seed": 8}), CATALOG)
    assert other.model_dump() != a.model_dump()


_CHILD = """
import sys
from decnet.core.catalog import load_catalog
from decnet.core.generate import generate
from decnet.core.hashing import canonical_json
from decnet.models import GeneratorParams
params = GeneratorParams(name="det", depth=4, branching=3, deckies_max=4, cross_p=0.4, seed=12345)
sys.stdout.buffer.write(canonical_json(generate(params, load_catalog()).model_dump(mode="json")))
"""


def test_generation_is_byte_identical_across_processes_and_hash_seeds() -> None:
    outputs = set()
    for hash_seed in ("0", "1", "4242", "random"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        run = subprocess.run(
            [sys.executable, "-c", _CHILD], env=env, capture_output=True, check=True, timeout=60
        )
        outputs.add(run.stdout)
    assert len(outputs) == 1
    params = GeneratorParams(
        name="det", depth=4, branching=3, deckies_max=4, cross_p=0.4, seed=12345
    )
    assert outputs == {canonical_json(generate(params, CATALOG).model_dump(mode="json"))}


@pytest.mark.parametrize(
    ("updates", "field"),
    [
        ({"deckies_min": 5, "deckies_max": 4}, "deckies_min=5"),
        ({"depth": 16, "branching": 8}, "depth=16"),
        ({"depth": 13, "branching": 2, "deckies_min": 0, "deckies_max": 0}, "depth=13"),
        ({"depth": 5, "branching": 5, "deckies_max": 64}, "deckies_max=64"),
        ({"services": ["ssh", "gopher"]}, "services='gopher'"),
    ],
)
def test_unbounded_or_inconsistent_parameters_are_usage_errors(
    updates: dict[str, object], field: str
) -> None:
    params = GeneratorParams.model_validate({"name": "x", **updates})
    with pytest.raises(UsageError, match=field) as err:
        generate(params, CATALOG)
    assert err.value.hint
    assert err.value.field == field.split("=")[0]  # the API's error body names the parameter


def test_the_largest_allowed_lan_count_allocates() -> None:
    params = GeneratorParams(name="wide", depth=12, branching=2, deckies_min=0, deckies_max=0)
    t = generate(params, CATALOG)
    assert len(t.lans) == 4095
    assert t.lans[-1].subnet == "10.207.254.0/24"


def test_ten_thousand_deckies_generate_validate_and_hash() -> None:
    # Behaviour only; how long it takes is bench/core.py's business (measured against a
    # baseline in the same run), never a wall-clock assertion that fails on a loaded machine.
    params = GeneratorParams(
        name="big", depth=4, branching=8, deckies_min=16, deckies_max=16, cross_p=0.3, seed=1
    )
    t = generate(params, CATALOG)
    assert validate(t, CATALOG) == []
    assert len(desired_hash(t, CATALOG, secret_key=b"k" * 32)) == 64
    assert 9_000 < len(t.deckies) <= MAX_DECKIES
