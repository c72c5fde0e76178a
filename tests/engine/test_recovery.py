"""Recovery of runs whose controller died, and a rollout's finish step when a transition
fails: a real store, the real engine functions, no Ansible (see test_deploy_e2e.py for the
same through a real deploy)."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import pytest

from decnet.engine.context import Context
from decnet.engine.leases import current_owner, recover_stale
from decnet.engine.rollout import DEPLOY, RolloutOptions, Run, _finish
from decnet.engine.topologies import create_topology
from decnet.models import Decky, Lan, Membership, Status, Topology
from decnet.runner.ansible import HostOutcome, ItemOutcome, RunResult
from decnet.runner.inventory import Inventory
from decnet.settings import PROJECT_ROOT, Settings
from decnet.store import Store

REMOTE_OWNER = "controller-elsewhere.example:4242:987654"


@pytest.fixture
def ctx(tmp_path: Path) -> Context:
    settings = Settings(
        db_path=tmp_path / "decnet.db",
        home=tmp_path / "home",
        inventory=PROJECT_ROOT / "inventory" / "localhost.yml",
    )
    return Context.open(settings)


def in_flight(ctx: Context, *names: str) -> list[Topology]:
    """Stored topologies moved to deploying, as a rollout's begin step leaves them."""
    out = []
    for i, name in enumerate(names):
        t = Topology(
            name=name,
            lans=[Lan(name="dmz", subnet=f"10.232.{i}.0/24", is_dmz=True)],
            deckies=[Decky(name="gw", home_lan="dmz", memberships=[Membership(lan="dmz")])],
        )
        create_topology(ctx.store, t, catalog=ctx.catalog)
        out.append(ctx.store.transition(name, Status.DEPLOYING, reason="test run"))
    return out


def open_run(ctx: Context, names: list[str], owner: str, lease_seconds: float) -> str:
    return ctx.store.start_run("deploy", ["localhost"], names, "/nonexistent", owner, lease_seconds)


def playing(ctx: Context, topologies: list[Topology], run_id: str) -> Run:
    """The run object of a deploy of `topologies` whose playbook has run (run `run_id`)."""
    inventory = Inventory(PROJECT_ROOT / "inventory" / "localhost.yml", ("localhost",), {})
    return Run(
        ctx, DEPLOY, RolloutOptions(), tuple(topologies), inventory, {}, frozenset(),
        on_event=lambda _e: None, should_cancel=lambda: False, id=run_id,
    )  # fmt: skip


def dead_local_owner() -> str:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return f"{socket.gethostname()}:{proc.pid}:1"


# --- recover_stale ------------------------------------------------------------------------


def test_an_expired_lease_of_a_dead_remote_owner_is_abandoned_and_recovered(ctx: Context) -> None:
    in_flight(ctx, "far")
    run_id = open_run(ctx, ["far"], REMOTE_OWNER, lease_seconds=-5)

    assert recover_stale(ctx.store) == ["far"]
    assert ctx.store.get_topology("far").status == Status.FAILED
    run = ctx.store.get_run(run_id)
    assert (run.status, run.error) == ("abandoned", "controller died")
    assert run.finished_at is not None and run.lease_expires_at is None
    assert "recovered" in ctx.store.status_events("far", limit=1)[0].reason


def test_an_unexpired_remote_lease_keeps_its_topology_in_flight_unless_forced(
    ctx: Context,
) -> None:
    in_flight(ctx, "far")
    run_id = open_run(ctx, ["far"], REMOTE_OWNER, lease_seconds=60)
    assert recover_stale(ctx.store) == []
    assert ctx.store.get_topology("far").status == Status.DEPLOYING
    assert ctx.store.get_run(run_id).status == "running"

    assert recover_stale(ctx.store, force=True, names=["far"]) == ["far"]
    assert ctx.store.get_run(run_id).status == "abandoned"


def test_a_dead_local_owner_is_recovered_before_its_lease_runs_out(ctx: Context) -> None:
    in_flight(ctx, "here")
    run_id = open_run(ctx, ["here"], dead_local_owner(), lease_seconds=60)
    assert recover_stale(ctx.store) == ["here"]
    assert ctx.store.get_run(run_id).status == "abandoned"


def test_a_live_local_owner_whose_heartbeat_stopped_is_recovered(ctx: Context) -> None:
    in_flight(ctx, "stuck", "fine")
    stuck = open_run(ctx, ["stuck"], current_owner(), lease_seconds=-5)
    fine = open_run(ctx, ["fine"], current_owner(), lease_seconds=60)
    assert recover_stale(ctx.store) == ["stuck"]
    assert ctx.store.get_run(stuck).status == "abandoned"
    assert ctx.store.get_run(fine).status == "running"
    assert ctx.store.get_topology("fine").status == Status.DEPLOYING


def test_a_dead_run_whose_topologies_moved_on_is_abandoned_too(ctx: Context) -> None:
    in_flight(ctx, "moved")
    run_id = open_run(ctx, ["moved"], REMOTE_OWNER, lease_seconds=-5)
    ctx.store.transition("moved", Status.ACTIVE, reason="its controller got this far")
    assert recover_stale(ctx.store) == []
    assert ctx.store.get_run(run_id).status == "abandoned"
    assert ctx.store.get_topology("moved").status == Status.ACTIVE


# --- the finish step ------------------------------------------------------------------------


def succeeded(*names: str) -> RunResult:
    items = {n: ItemOutcome(status="changed", result={"applied_hash": "a" * 64}) for n in names}
    host = HostOutcome(ok=len(names), changed=len(names), items=items)
    return RunResult(
        status="successful", rc=0, hosts={"localhost": host}, artifact_dir=Path("/x"), duration=1
    )


def test_a_transition_that_raises_in_finish_leaves_nothing_in_flight(ctx: Context) -> None:
    topologies = in_flight(ctx, "one", "two", "three")
    run_id = open_run(ctx, ["one", "two", "three"], current_owner(), lease_seconds=60)
    # Another command moves `two` on while the playbook runs: its transition will raise.
    Store(ctx.settings.db_path).transition(
        "two", Status.FAILED, reason="operator", expected_from="deploying"
    )

    report = _finish(playing(ctx, topologies, run_id), succeeded("one", "two", "three"))

    by_name = {o.name: o for o in report.topologies}
    assert list(by_name) == ["one", "two", "three"]
    assert by_name["one"].status == by_name["three"].status == Status.ACTIVE
    assert by_name["two"].status == "failed"
    assert (
        "could not be recorded" in by_name["two"].reason
        and "expected deploying" in by_name["two"].reason
    )
    assert not report.ok
    statuses = {t.name: t.status for t in ctx.store.list_topologies()}
    assert statuses == {"one": "active", "two": "failed", "three": "active"}
    run = ctx.store.get_run(run_id)
    assert run.status == "successful" and run.finished_at is not None
    assert run.stats["topologies"]["two"]["status"] == "failed"


def test_finish_after_a_forced_recovery_keeps_the_run_abandoned(ctx: Context) -> None:
    topologies = in_flight(ctx, "one", "two")
    run_id = open_run(ctx, ["one", "two"], current_owner(), lease_seconds=60)
    assert recover_stale(Store(ctx.settings.db_path), force=True, names=["one"]) == ["one"]

    report = _finish(playing(ctx, topologies, run_id), succeeded("one", "two"))

    assert [(o.name, o.status) for o in report.topologies] == [("one", "failed"), ("two", "active")]
    assert ctx.store.get_run(run_id).status == "abandoned"
    finished = [e for e in ctx.store.events_since(0) if e.type == "run.finished"]
    assert finished and "already abandoned" in finished[-1].payload["note"]
    assert all(s.status not in ("deploying", "tearing_down") for s in ctx.store.list_topologies())
