"""Topologies: round trip, replace, delete, versions, lifecycle, host context, constraints."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from decnet.errors import (
    DecnetError,
    IllegalTransition,
    InternalError,
    InvalidTopology,
    NotEditable,
    NotFound,
    VersionConflict,
)
from decnet.models import Decky, GeneratorParams, Lan, Membership, Status, Topology
from decnet.store import Store

from .conftest import FakeClock, MakeTopology

Dump = Callable[[], list[str]]
Query = Callable[..., list[tuple[Any, ...]]]
T0 = "2025-01-01T00:00:00.000000+00:00"
CHILD_TABLES = ("lan", "decky", "status_event", "mutation")


def stored(t: Topology, **update: object) -> Topology:
    """`t` as the store returns it after insert at the fake clock's start."""
    fields = {"version": 1, "created_at": T0, "status_changed_at": T0, **update}
    return t.model_copy(update=fields)


def test_round_trip_equals_the_model(store: Store, make_topology: MakeTopology) -> None:
    t = make_topology()
    inserted = store.insert_topology(t)
    loaded = store.get_topology("alpha")
    assert inserted == loaded == stored(t)
    gw = loaded.decky("gw")
    assert gw is not None
    assert gw.services == ["ssh", "http"]
    assert gw.service_config == {"ssh": {"banner": "$HOME", "port": 22, "weak": True}}
    assert gw.publish == ["2222:22", "5353:53/udp"]
    assert loaded.deckies[1].memberships == [
        Membership(lan="inner", ip="10.10.1.2"), Membership(lan="dmz", ip="10.10.0.77")
    ]  # fmt: skip
    assert loaded.lans[0].w == 400.5 and loaded.lans[1].w is None
    assert Topology.model_validate(loaded.model_dump()) == loaded  # constructed models are valid


def test_round_trip_of_a_generated_topology(store: Store) -> None:
    generate = pytest.importorskip("decnet.core.generate").generate
    load_catalog = pytest.importorskip("decnet.core.catalog").load_catalog
    params = GeneratorParams(name="gen", depth=3, branching=3, cross_p=0.3, seed=42)
    t = generate(params, load_catalog())
    assert store.insert_topology(t) == store.get_topology("gen") == stored(t)


def test_insert_refuses_a_taken_name_and_writes_nothing(
    store: Store, make_topology: MakeTopology, dump: Dump
) -> None:
    store.insert_topology(make_topology())
    before = dump()
    with pytest.raises(DecnetError, match="topology 'alpha' already exists") as err:
        store.insert_topology(make_topology(octet=20))
    assert "choose another name" in err.value.hint
    assert dump() == before


@pytest.mark.parametrize(
    ("edit", "code", "path"),
    [
        (lambda t: setattr(t.lans[1], "subnet", None), "SUBNET_INVALID", "lans[inner].subnet"),
        (
            lambda t: setattr(t.deckies[2].memberships[0], "ip", None),
            "IP_MISSING",
            "deckies[db].memberships[0].ip",
        ),
        (
            lambda t: setattr(t.deckies[2], "home_lan", "nowhere"),
            "DECKY_NO_LAN",
            "deckies[db].home_lan",
        ),
        (
            lambda t: setattr(t.deckies[2].memberships[0], "lan", "nowhere"),
            "MEMBERSHIP_UNKNOWN_LAN",
            "deckies[db].memberships[0].lan",
        ),
    ],
)
def test_insert_requires_a_fully_allocated_consistent_topology(
    store: Store,
    make_topology: MakeTopology,
    edit: Callable[[Topology], None],
    code: str,
    path: str,
) -> None:
    t = make_topology()
    edit(t)
    with pytest.raises(InvalidTopology) as err:
        store.insert_topology(t)
    assert [(i.code, i.path) for i in err.value.issues] == [(code, path)]
    assert "allocate the topology first" in err.value.hint
    assert store.list_topologies() == []


def test_insert_refuses_an_invalid_name(store: Store, make_topology: MakeTopology) -> None:
    for name in ("Bad Name", "alpha\n"):  # `re.match` with `$` would let the newline in
        with pytest.raises(InvalidTopology, match=re.escape(f"topology name {name!r} is invalid")):
            store.insert_topology(make_topology(name))
    assert store.list_topologies() == []


def test_duplicate_ip_on_a_lan_is_refused_by_the_schema(
    store: Store, make_topology: MakeTopology, dump: Dump, db_path: Path
) -> None:
    store.insert_topology(make_topology("other", octet=30))
    before = dump()
    t = make_topology()
    t.deckies[2].memberships[0].ip = t.deckies[1].memberships[0].ip  # both 10.10.1.2 on inner
    with pytest.raises(
        InternalError, match=r"UNIQUE constraint failed: membership\.lan_id, membership\.ip"
    ):
        store.insert_topology(t)
    assert dump() == before
    # And at the SQL level, for any writer that bypasses the Store:
    store.insert_topology(make_topology())
    conn = sqlite3.connect(db_path)
    with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
        conn.execute(
            "UPDATE membership SET ip = '10.10.1.3' WHERE ip = '10.10.1.2' AND decky_id IN "
            "(SELECT d.id FROM decky d JOIN topology t ON t.id = d.topology_id "
            "WHERE t.name = 'alpha')"
        )
    conn.close()


def test_get_unknown_topology_is_not_found(store: Store) -> None:
    with pytest.raises(NotFound, match="topology 'nope' not found") as err:
        store.get_topology("nope")
    assert "decnet topology list" in err.value.hint


def test_list_topologies_summarises(
    store: Store, make_topology: MakeTopology, clock: FakeClock
) -> None:
    store.insert_topology(make_topology("beta", host="h2", octet=11))
    store.insert_topology(make_topology("alpha"))
    clock.advance(5)
    store.set_needs_resync("beta", True)
    summaries = store.list_topologies()
    assert [(s.name, s.host, s.lans, s.deckies, s.needs_resync) for s in summaries] == [
        ("alpha", "localhost", 2, 3, False), ("beta", "h2", 2, 3, True)
    ]  # fmt: skip
    assert summaries[0].status is Status.PENDING and summaries[0].version == 1
    assert store.get_topology("beta").version == 1  # needs_resync is not a design change


def test_replace_bumps_version_and_keeps_ids_by_name(
    store: Store, make_topology: MakeTopology, query: Query
) -> None:
    store.insert_topology(make_topology())
    ids: dict[str, str] = dict(query("SELECT name, id FROM decky"))
    t = make_topology()
    t.host = "h9"
    t.deckies = [d for d in t.deckies if d.name != "db"]
    t.deckies.append(
        Decky(name="new", home_lan="dmz", memberships=[Membership(lan="dmz", ip="10.10.0.9")])
    )
    t.lans.append(Lan(name="spare", subnet="10.10.9.0/24"))
    got = store.replace_topology(t, expected_version=1)
    assert got == store.get_topology("alpha") == stored(t, version=2)
    after: dict[str, str] = dict(query("SELECT name, id FROM decky"))
    assert after["gw"] == ids["gw"] and after["bridge"] == ids["bridge"]
    assert "db" not in after and query("SELECT count(*) FROM membership") == [(4,)]
    assert store.replace_topology(t).version == 3  # no expected_version: unconditional


def test_stale_expected_version_conflicts_and_writes_nothing(
    store: Store, make_topology: MakeTopology, dump: Dump
) -> None:
    store.insert_topology(make_topology())
    store.replace_topology(make_topology(), expected_version=1)
    before = dump()
    changed = make_topology()
    changed.deckies.pop()
    with pytest.raises(VersionConflict) as err:
        store.replace_topology(changed, expected_version=1)
    assert (err.value.current, err.value.expected) == (2, 1)
    assert "version 2, not the expected 1" in str(err.value)
    with pytest.raises(VersionConflict):
        store.delete_topology("alpha", expected_version=1)
    assert dump() == before


def test_replace_is_refused_outside_pending(
    store: Store, make_topology: MakeTopology, dump: Dump
) -> None:
    store.insert_topology(make_topology())
    store.transition("alpha", Status.DEPLOYING, reason="deploy")
    before = dump()
    with pytest.raises(
        NotEditable, match=r"'alpha' \(deploying\) cannot be edited now: a deploy is running"
    ):
        store.replace_topology(make_topology())
    assert dump() == before


def count_rows(query: Query, topology_id: object) -> dict[str, int]:
    counts = {t: query(f"SELECT count(*) FROM {t} WHERE topology_id = ?", topology_id)[0][0]
              for t in CHILD_TABLES}  # fmt: skip
    counts["topology"] = query("SELECT count(*) FROM topology WHERE id = ?", topology_id)[0][0]
    counts["membership"] = query(
        "SELECT count(*) FROM membership WHERE decky_id NOT IN (SELECT id FROM decky) "
        "OR lan_id IN (SELECT id FROM lan WHERE topology_id = ?)",
        topology_id,
    )[0][0]
    return counts


def test_delete_removes_every_row_and_leaves_others_intact(
    store: Store, make_topology: MakeTopology, query: Query, db_path: Path
) -> None:
    store.insert_topology(make_topology())
    store.insert_topology(make_topology("keep", octet=11))
    for name in ("alpha", "keep"):
        store.transition(name, "torn_down", reason="never deployed")
    ((alpha_id,),) = query("SELECT id FROM topology WHERE name = 'alpha'")
    ((keep_id,),) = query("SELECT id FROM topology WHERE name = 'keep'")
    conn = sqlite3.connect(db_path)  # a queued mutation must go with its topology as well
    conn.execute(
        "INSERT INTO mutation (id, topology_id, op, requested_at) VALUES ('m1', ?, 'add_lan', 'x')",
        (alpha_id,),
    )
    conn.commit()
    conn.close()
    keep_before = count_rows(query, keep_id)
    assert count_rows(query, alpha_id)["mutation"] == 1

    store.delete_topology("alpha", expected_version=1)

    assert set(count_rows(query, alpha_id).values()) == {0}
    assert count_rows(query, keep_id) == keep_before
    assert store.get_topology("keep") == stored(
        make_topology("keep", octet=11), status=Status.TORN_DOWN
    )
    assert store.events_since(0, topology="alpha")[-1].type == "topology.deleted"
    with pytest.raises(NotFound):
        store.get_topology("alpha")


@pytest.mark.parametrize("status", ["deploying", "active"])
def test_delete_refused_when_live(
    store: Store, make_topology: MakeTopology, dump: Dump, status: str
) -> None:
    store.insert_topology(make_topology())
    store.transition("alpha", "deploying", reason="deploy")
    if status == "active":
        store.transition("alpha", "active", reason="ok")
    before = dump()
    with pytest.raises(NotEditable, match=rf"'alpha' \({status}\) cannot be deleted now") as e:
        store.delete_topology("alpha")
    assert "tear it down first" in e.value.hint
    assert dump() == before


def test_transition_writes_status_event_and_event_without_bumping_version(
    store: Store, make_topology: MakeTopology, clock: FakeClock
) -> None:
    store.insert_topology(make_topology())
    clock.advance(3)
    t = store.transition("alpha", Status.DEPLOYING, reason="deploy requested")
    assert (t.status, t.version) == (Status.DEPLOYING, 1)
    assert t.status_changed_at == "2025-01-01T00:00:03.000000+00:00" and t.created_at == T0
    store.transition("alpha", "active", reason="all up", expected_from="deploying")
    history = store.status_events("alpha")
    assert [(h.from_status, h.to_status, h.reason) for h in history] == [
        ("deploying", "active", "all up"), ("pending", "deploying", "deploy requested")
    ]  # fmt: skip
    assert len(store.status_events("alpha", limit=1)) == 1
    status_events = [e for e in store.events_since(0) if e.type == "topology.status"]
    assert [(e.payload["from"], e.payload["to"], e.payload["reason"]) for e in status_events] == [
        ("pending", "deploying", "deploy requested"),
        ("deploying", "active", "all up"),
    ]
    # each status event tells clients what the topology allows from then on
    assert status_events[1].payload["actions"]["deploy"] == {"allowed": True}
    assert {(e.topic, e.topology) for e in status_events} == {("topology", "alpha")}


@pytest.mark.parametrize(
    ("to", "expected_from", "message"),
    [
        ("active", None, "from pending to active"),
        ("deploying", "active", r"from pending to deploying \(expected active\)"),
        ("pending", None, "from pending to pending"),
    ],
)
def test_illegal_transition_writes_nothing(
    store: Store, make_topology: MakeTopology, dump: Dump,
    to: str, expected_from: str | None, message: str,
) -> None:  # fmt: skip
    store.insert_topology(make_topology())
    before = dump()
    with pytest.raises(IllegalTransition, match=message):
        store.transition("alpha", to, reason="r", expected_from=expected_from)
    assert dump() == before


def test_torn_down_is_terminal(store: Store, make_topology: MakeTopology) -> None:
    store.insert_topology(make_topology())
    store.transition("alpha", "torn_down", reason="unused")
    for to in Status:
        with pytest.raises(IllegalTransition):
            store.transition("alpha", to, reason="r")


def test_host_context_counts_other_live_topologies_on_the_same_host(
    store: Store, make_topology: MakeTopology
) -> None:
    store.insert_topology(make_topology("live", octet=11, publish=["8080:80"]))
    store.insert_topology(make_topology("gone", octet=12))
    store.transition("gone", "torn_down", reason="x")
    store.insert_topology(make_topology("elsewhere", host="h2", octet=13))
    store.insert_topology(make_topology("me", octet=14))
    ctx = store.host_context("localhost", exclude="me", inventory_hosts=["localhost", "h2"])
    assert ctx.claimed_subnets == {"10.11.0.0/24": "live", "10.11.1.0/24": "live"}
    assert ctx.claimed_ports == {"8080/tcp": "live"}
    assert ctx.inventory_hosts == frozenset({"localhost", "h2"})
    everyone = store.host_context("localhost")
    assert set(everyone.claimed_subnets.values()) == {"live", "me"}
    assert everyone.claimed_ports == {"8080/tcp": "live", "2222/tcp": "me", "5353/udp": "me"}
    assert everyone.inventory_hosts is None
    assert store.host_context("h2", exclude="elsewhere").claimed_subnets == {}
    assert store.host_context("nowhere").claimed_subnets == {}
