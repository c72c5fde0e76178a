"""The event bus, Ansible runs (with leases) and host reports."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from decnet import events as ev
from decnet.errors import DecnetError, NotFound
from decnet.store import Store

from .conftest import FakeClock, MakeTopology


def test_events_are_monotonic_and_tail_by_id(store: Store, make_topology: MakeTopology) -> None:
    store.insert_topology(make_topology())
    config = ev.DriftFinding(topology="alpha", host="h", state="config_drift", details=["x"])
    runtime = ev.DriftFinding(topology="alpha", host="h", state="runtime_drift", details=[])
    first = store.append_event(config, topology="alpha")
    second = store.append_event(ev.TokenCreated(name="ci", role="viewer"))
    third = store.append_event(runtime, topology="alpha")
    assert first < second < third
    everything = store.events_since(0)
    assert [e.id for e in everything] == sorted(e.id for e in everything)
    assert [e.type for e in everything] == [
        "topology.created", "drift.finding", "token.created", "drift.finding"
    ]  # fmt: skip
    tail = store.events_since(first)
    assert [(e.id, e.topic, e.topology) for e in tail] == [
        (second, "auth", None), (third, "drift", "alpha")
    ]  # fmt: skip
    assert [e.payload for e in store.events_since(0, topology="alpha")][1:] == [
        config.wire(), runtime.wire()
    ]  # fmt: skip
    assert len(store.events_since(0, limit=2)) == 2
    assert store.events_since(third) == []
    assert everything[1].at == "2025-01-01T00:00:00.000000+00:00"


def test_events_of_a_deleted_topology_outlive_it(store: Store, make_topology: MakeTopology) -> None:
    store.insert_topology(make_topology())
    store.append_event(ev.TopologyLayout(version=1, lans=0, deckies=0), topology="alpha")
    store.delete_topology("alpha")
    kinds = [e.type for e in store.events_since(0, topology="alpha")]
    assert kinds == ["topology.created", "topology.layout", "topology.deleted"]
    # Recreated under the same name: its new events join the same name's history.
    store.insert_topology(make_topology())
    assert store.events_since(0, topology="alpha")[-1].type == "topology.created"


def test_event_for_an_unknown_topology_keeps_the_name(store: Store) -> None:
    event_id = store.append_event(ev.WatchError(chore="x", error=""), topology="ghost")
    assert store.events_since(event_id - 1)[0].topology == "ghost"


def test_run_round_trip_lease_and_finish(
    store: Store, make_topology: MakeTopology, clock: FakeClock
) -> None:
    store.insert_topology(make_topology())
    run_id = store.start_run(
        "deploy", ["localhost"], ["alpha"], "/tmp/art", owner="pid-1", lease_seconds=30
    )
    run = store.get_run(run_id)
    assert (run.kind, run.hosts, run.topologies, run.status, run.owner) == (
        "deploy", ["localhost"], ["alpha"], "running", "pid-1"
    )  # fmt: skip
    assert run.lease_expires_at == "2025-01-01T00:00:30.000000+00:00"
    assert run.artifact_dir == "/tmp/art" and run.finished_at is None and run.stats == {}
    assert [r.id for r in store.active_runs_for("alpha")] == [run_id]
    assert store.active_runs_for("other") == []

    clock.advance(20)
    store.renew_run_lease(run_id, 30)
    clock.advance(20)
    assert [r.id for r in store.active_runs_for("alpha")] == [run_id]  # renewed: still alive
    clock.advance(20)
    assert store.active_runs_for("alpha") == []  # lease expired: a dead controller

    stats = {"localhost": {"ok": 3, "changed": 1, "failures": 0}}
    store.finish_run(run_id, "successful", stats)
    done = store.get_run(run_id)
    assert (done.status, done.stats, done.error, done.lease_expires_at) == (
        "successful", stats, None, None
    )  # fmt: skip
    assert done.finished_at == "2025-01-01T00:01:00.000000+00:00"
    assert [e.topic for e in store.events_since(0)] == ["topology"]  # run events: the engine's

    with pytest.raises(DecnetError, match="is already successful"):
        store.finish_run(run_id, "failed", {})
    with pytest.raises(DecnetError, match="is already successful"):
        store.renew_run_lease(run_id, 30)


def test_last_run_is_the_newest_for_the_topology(store: Store, clock: FakeClock) -> None:
    assert store.last_run("alpha") is None
    first = store.start_run("deploy", ["h1"], ["alpha", "beta"], "/a", owner="o")
    clock.advance(1)
    second = store.start_run("facts", ["h1"], [], "/b", owner="o")
    clock.advance(1)
    third = store.start_run("teardown", ["h1"], ["beta"], "/c", owner="o")
    store.finish_run(third, "failed", {}, error="host unreachable")
    last_alpha, last_beta = store.last_run("alpha"), store.last_run("beta")
    assert last_alpha is not None and last_alpha.id == first
    assert last_beta is not None and (last_beta.id, last_beta.error) == (third, "host unreachable")
    assert store.get_run(second).topologies == []


def test_unknown_run_and_bad_final_status(store: Store) -> None:
    with pytest.raises(NotFound, match="run 'nope' not found"):
        store.get_run("nope")
    with pytest.raises(NotFound):
        store.finish_run("nope", "failed", {})
    run_id = store.start_run("deploy", [], [], "/a", owner="o")
    with pytest.raises(DecnetError, match="not a final status"):
        store.finish_run(run_id, "running", {})


def test_host_reports_round_trip_and_upsert(store: Store, clock: FakeClock) -> None:
    report = {"topologies": {"alpha": {"applied_hash": "ab" * 32, "containers": []}}}
    store.save_host_report("h1", report, reachable=True, error=None)
    store.save_host_report("h2", {}, reachable=False, error="ssh: timeout")
    when = datetime(2025, 2, 3, 4, 5, 6, 7, tzinfo=UTC)
    store.save_host_report("h1", {"topologies": {}}, reachable=True, error=None, gathered_at=when)
    reports = store.host_reports()
    assert list(reports) == ["h1", "h2"]
    assert reports["h1"].report == {"topologies": {}}
    assert reports["h1"].gathered_at == "2025-02-03T04:05:06.000007+00:00"
    assert (reports["h2"].reachable, reports["h2"].error) == (False, "ssh: timeout")
    assert reports["h2"].gathered_at == "2025-01-01T00:00:00.000000+00:00"


def test_caller_may_name_the_run_once(store: Store) -> None:
    assert store.start_run("facts", ["h1"], [], "/a", "o", 60, run_id="20250101-x") == "20250101-x"
    with pytest.raises(DecnetError, match="run '20250101-x' already exists"):
        store.start_run("facts", ["h1"], [], "/a", "o", 60, run_id="20250101-x")
