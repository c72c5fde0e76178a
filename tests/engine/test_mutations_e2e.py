"""Live mutations on the local Docker engine, through the real watcher, rollout and playbooks.

Each test deploys a small maze, changes it with ops through `decnet.engine.mutations`, lets a
real `Watcher` apply the queue (ansible-runner, our module, `docker compose`), and checks the
containers on the engine by their labels — so every container not named by the change keeps
its id.
"""

from __future__ import annotations

import ipaddress
import json
import sqlite3
from typing import Any

import pytest
from e2e_support import DOCKER_SKIP, E2E, docker, labelled_networks
from subnet_pools import fresh_pool

from decnet.core.ops import parse_ops
from decnet.engine.lifecycle import deploy
from decnet.engine.mutations import list_mutations, submit_ops
from decnet.engine.topologies import create_topology
from decnet.engine.watch import TopologyRound, Watcher, WatchOptions
from decnet.errors import InvalidBatch, VersionConflict
from decnet.models import Decky, Lan, Membership, Status, Topology
from decnet.store.rows import MutationState

pytestmark = [pytest.mark.docker, DOCKER_SKIP]

Key = tuple[str, str | None]
"""(decky, service) of a container; service None for the base."""


def containers(name: str) -> dict[Key, dict[str, Any]]:
    """Every container of topology `name`, keyed by its decky/service labels."""
    ids = docker("ps", "-aq", "--no-trunc", "--filter", f"label=decnet.topology={name}").stdout
    found = json.loads(docker("inspect", *ids.split()).stdout) if ids.split() else []
    out = {}
    for c in found:
        labels = c["Config"]["Labels"]
        out[(labels["decnet.decky"], labels.get("decnet.service"))] = c
    return out


def ids(name: str) -> dict[Key, str]:
    return {k: c["Id"] for k, c in containers(name).items()}


def maze(name: str, pool: str) -> Topology:
    """dmz: gw [http]; inner: a [ssh], br (home inner, also on dmz). Subnets from `pool`."""
    net = ipaddress.ip_network(pool)
    dmz, inner, spare = (str(s) for s in list(net.subnets(new_prefix=24))[:3])
    return Topology(
        name=name,
        config={"spare_subnet": spare},
        lans=[Lan(name="dmz", subnet=dmz, is_dmz=True), Lan(name="inner", subnet=inner)],
        deckies=[
            Decky(
                name="gw", home_lan="dmz", memberships=[Membership(lan="dmz")], services=["http"]
            ),
            Decky(
                name="a", home_lan="inner", memberships=[Membership(lan="inner")], services=["ssh"]
            ),
            Decky(
                name="br",
                home_lan="inner",
                memberships=[Membership(lan="inner"), Membership(lan="dmz")],
                services=[],
            ),
        ],
    )


@pytest.fixture
def live(e2e: E2E) -> str:
    name = e2e.new_name()
    create_topology(e2e.ctx.store, maze(name, fresh_pool()), catalog=e2e.ctx.catalog)
    report = deploy(e2e.ctx, [name])
    assert report.ok, report.topologies
    return name


def change(e2e: E2E, name: str, *ops: dict[str, Any]) -> list[TopologyRound]:
    """Enqueue one batch and drain the queue with a real watcher."""
    submit_ops(e2e.ctx, name, parse_ops(list(ops)))
    rounds: list[TopologyRound] = []
    Watcher(e2e.ctx, WatchOptions(drift_every=0)).run(
        lambda: False, once=True, on_round=rounds.extend
    )
    return rounds


def running(c: dict[str, Any]) -> bool:
    return bool(c["State"]["Running"])


def reaches(container: str, ip: str) -> bool:
    return docker("exec", container, "ping", "-c", "1", "-W", "1", ip, check=False).returncode == 0


def test_add_decky_runs_it_and_keeps_every_other_container(e2e: E2E, live: str) -> None:
    before = ids(live)
    (result,) = change(
        e2e, live, {"op": "add_decky", "name": "web", "lan": "dmz", "services": ["ssh", "http"]}
    )
    assert (result.applied, result.failed, result.status) == ([result.applied[0]], [], "active")
    after = containers(live)
    assert {k for k in after if k[0] == "web"} == {("web", None), ("web", "ssh"), ("web", "http")}
    assert all(running(after[k]) for k in after if k[0] == "web")
    assert {k: c["Id"] for k, c in after.items() if k[0] != "web"} == before
    t = e2e.ctx.store.get_topology(live)
    assert (t.status, t.version, t.needs_resync) == (Status.ACTIVE, 2, False)


def test_update_services_adds_and_removes_exactly_one_container(e2e: E2E, live: str) -> None:
    before = ids(live)
    change(e2e, live, {"op": "update_decky", "name": "a", "services": ["ssh", "http"]})
    added = ids(live)
    assert set(added) - set(before) == {("a", "http")}
    assert {k: v for k, v in added.items() if k != ("a", "http")} == before
    change(e2e, live, {"op": "update_decky", "name": "a", "services": ["http"]})
    removed = ids(live)
    assert set(added) - set(removed) == {("a", "ssh")}
    assert {k: v for k, v in removed.items()} == {
        k: v for k, v in added.items() if k != ("a", "ssh")
    }


def test_update_config_recreates_only_that_service_with_the_new_value(e2e: E2E, live: str) -> None:
    before = ids(live)
    change(
        e2e, live, {"op": "update_decky", "name": "a", "config": {"ssh": {"banner": "SSH-2.0-x"}}}
    )
    after = containers(live)
    changed = {k for k, c in after.items() if c["Id"] != before.get(k)}
    assert changed == {("a", "ssh")}
    assert "DECNET_SSH_BANNER=SSH-2.0-x" in after[("a", "ssh")]["Config"]["Env"]


def test_attach_reaches_the_new_lan_and_detach_no_longer_does(e2e: E2E, live: str) -> None:
    t = e2e.ctx.store.get_topology(live)
    gw_ip = t.decky("gw").ip_on("dmz")  # type: ignore[union-attr]
    assert gw_ip is not None
    base_of_a = lambda: containers(live)[("a", None)]["Name"].lstrip("/")  # noqa: E731
    assert not reaches(base_of_a(), gw_ip)  # inner is internal and `a` is not on the DMZ
    change(e2e, live, {"op": "attach_decky", "decky": "a", "lan": "dmz"})
    assert reaches(base_of_a(), gw_ip)
    change(e2e, live, {"op": "detach_decky", "decky": "a", "lan": "dmz"})
    assert not reaches(base_of_a(), gw_ip)


def test_remove_lan_with_a_visiting_bridge_detaches_it_and_removes_the_network(
    e2e: E2E, live: str
) -> None:
    t = e2e.ctx.store.get_topology(live)
    spare = str(t.config["spare_subnet"])
    change(
        e2e,
        live,
        {"op": "add_lan", "name": "lab", "subnet": spare},
        {"op": "attach_decky", "decky": "br", "lan": "lab"},
    )
    assert len(labelled_networks(live)) == 3
    before = ids(live)
    change(e2e, live, {"op": "remove_lan", "name": "lab"})
    nets = labelled_networks(live)
    assert len(nets) == 2 and not any(n.endswith("lab") for n in nets)
    after = containers(live)
    assert set(after[("br", None)]["NetworkSettings"]["Networks"]) == set(nets)
    assert {k: c["Id"] for k, c in after.items() if k[0] != "br"} == {
        k: v for k, v in before.items() if k[0] != "br"
    }


def _dump(e2e: E2E) -> list[str]:
    conn = sqlite3.connect(e2e.db)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


@pytest.mark.parametrize(
    "ops",
    [
        # a batch of three whose third op is invalid: a reference, then a validation finding
        [
            {"op": "add_decky", "name": "n1", "lan": "dmz"},
            {"op": "add_decky", "name": "n2", "lan": "inner"},
            {"op": "attach_decky", "decky": "n1", "lan": "nowhere"},
        ],
        [
            {"op": "add_decky", "name": "n1", "lan": "dmz"},
            {"op": "add_decky", "name": "n2", "lan": "inner"},
            {"op": "add_lan", "name": "dmz2", "dmz": True},
        ],
    ],
)
def test_an_invalid_batch_changes_neither_the_database_nor_the_host(
    e2e: E2E, live: str, ops: list[dict[str, Any]]
) -> None:
    before_db, before_host = _dump(e2e), ids(live)
    with pytest.raises(InvalidBatch):
        submit_ops(e2e.ctx, live, parse_ops(ops))
    assert _dump(e2e) == before_db
    Watcher(e2e.ctx, WatchOptions(drift_every=0)).run(lambda: False, once=True)
    assert _dump(e2e) == before_db and ids(live) == before_host


def test_a_batch_that_turns_invalid_before_it_is_applied_fails_and_changes_nothing(
    e2e: E2E, live: str
) -> None:
    """Valid when enqueued; another topology claims its subnet on the host before the round."""
    t = e2e.ctx.store.get_topology(live)
    spare = str(t.config["spare_subnet"])
    submit_ops(
        e2e.ctx,
        live,
        parse_ops(
            [
                {"op": "add_lan", "name": "lab", "subnet": spare},
                {"op": "attach_decky", "decky": "br", "lan": "lab"},
            ]
        ),
    )
    other = e2e.new_name()
    squatter = Topology(
        name=other,
        status=Status.ACTIVE,
        lans=[Lan(name="dmz", subnet=spare, is_dmz=True)],
        deckies=[
            Decky(
                name="x", home_lan="dmz", memberships=[Membership(lan="dmz", ip=spare[:-4] + "2")]
            )
        ],
    )
    e2e.ctx.store.insert_topology(squatter)
    before_host = ids(live)
    desired_before = e2e.ctx.store.get_topology(live).model_dump(exclude={"version"})
    Watcher(e2e.ctx, WatchOptions(drift_every=0)).run(lambda: False, once=True)
    (row,) = list_mutations(e2e.ctx, live)
    assert row.state == MutationState.FAILED
    assert [i.code for i in row.issues] == ["SUBNET_OVERLAP"]
    assert e2e.ctx.store.get_topology(live).model_dump(exclude={"version"}) == desired_before
    assert ids(live) == before_host


def test_stale_expected_version_is_a_conflict_and_writes_nothing(e2e: E2E, live: str) -> None:
    submit_ops(
        e2e.ctx,
        live,
        parse_ops([{"op": "add_decky", "name": "n1", "lan": "dmz"}]),
        expected_version=1,
    )
    before = _dump(e2e)
    with pytest.raises(VersionConflict) as err:
        submit_ops(
            e2e.ctx,
            live,
            parse_ops([{"op": "add_decky", "name": "n2", "lan": "dmz"}]),
            expected_version=1,
        )
    assert (err.value.current, err.value.expected) == (2, 1)
    assert _dump(e2e) == before


def test_twenty_batches_are_applied_in_one_round(e2e: E2E, live: str) -> None:
    for i in range(20):
        submit_ops(e2e.ctx, live, parse_ops([{"op": "add_decky", "name": f"n{i}", "lan": "dmz"}]))
    rounds: list[TopologyRound] = []
    Watcher(e2e.ctx, WatchOptions(drift_every=0)).run(
        lambda: False, once=True, on_round=rounds.extend
    )
    assert [len(r.applied) for r in rounds] == [20]
    started = [e for e in e2e.ctx.store.events_since(0, limit=100000) if e.type == "run.started"]
    assert len(started) == 2  # the deploy, then one run for all twenty
    assert {k[0] for k in ids(live)} == {"gw", "a", "br", *(f"n{i}" for i in range(20))}
