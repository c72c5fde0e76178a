"""Live mutations on a remote testbed host over real SSH, and a host that fails mid-apply.

The watcher applies batches to h1 through the same rollout as `decnet deploy`. With dockerd
killed on h1 while a round applies, the batch fails, the topology goes `degraded` and its desired
state is as before; with dockerd back, the next round converges h1 to that state.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fleet_support import fleet_context

from decnet.core.ops import parse_ops
from decnet.engine.context import Context
from decnet.engine.drift import drift
from decnet.engine.lifecycle import deploy
from decnet.engine.mutations import list_mutations, submit_ops
from decnet.engine.watch import TopologyRound, Watcher, WatchOptions
from decnet.models import Status
from decnet.store import Store
from decnet.store.rows import MutationState
from decnet.testbed import Testbed

pytestmark = pytest.mark.testbed

FaultFn = Callable[[str, str], None]
NAME, HOST = "mr1", "h1"


def deckies_on_host(testbed: Testbed) -> set[tuple[str, str]]:
    """(decky, role) of every running container of the topology on the host."""
    fmt = '{{.Label "decnet.decky"}} {{.Label "decnet.role"}}'
    proc = testbed.exec(
        HOST, "docker", "ps", "--filter", f"label=decnet.topology={NAME}", "--format", fmt
    )
    assert proc.returncode == 0, proc.stderr
    return {tuple(line.split()) for line in proc.stdout.splitlines() if line.strip()}  # type: ignore[misc]


@pytest.fixture
def ctx(testbed: Testbed, tmp_path: Path) -> Iterator[Context]:
    with fleet_context(
        testbed,
        tmp_path,
        {NAME: HOST},
        before_teardown=lambda: testbed.fault(HOST, "dockerd-start"),
    ) as context:
        report = deploy(context, [NAME])
        assert report.ok, report.topologies
        yield context


def drain(ctx: Context) -> list[TopologyRound]:
    rounds: list[TopologyRound] = []
    opts = WatchOptions(inventory=ctx.settings.inventory, drift_every=0)
    Watcher(ctx, opts).run(lambda: False, once=True, on_round=rounds.extend)
    return rounds


def submit(ctx: Context, *ops: dict[str, object]) -> str:
    result = submit_ops(ctx, NAME, parse_ops(list(ops)))
    assert result.mutation is not None
    return result.mutation.id


def test_add_and_remove_a_decky_live_on_a_remote_host(ctx: Context, testbed: Testbed) -> None:
    assert deckies_on_host(testbed) == {("gw", "base"), ("gw", "service")}
    submit(ctx, {"op": "add_decky", "name": "web", "lan": "dmz", "services": ["http"]})
    (added,) = drain(ctx)
    assert (len(added.applied), added.status) == (1, "active"), added
    assert ("web", "base") in deckies_on_host(testbed)
    submit(ctx, {"op": "remove_decky", "name": "web"})
    (removed,) = drain(ctx)
    assert (len(removed.applied), removed.status) == (1, "active"), removed
    assert deckies_on_host(testbed) == {("gw", "base"), ("gw", "service")}
    assert [f.state for f in drift(ctx).findings] == ["in_sync"]


def test_dockerd_killed_during_an_apply_fails_the_batch_then_converges(
    ctx: Context, testbed: Testbed, fault: FaultFn
) -> None:
    desired_before = ctx.store.get_topology(NAME).model_dump(
        include={"host", "images", "lans", "deckies"}
    )
    mutation = submit(ctx, {"op": "add_decky", "name": "web", "lan": "dmz", "services": ["ssh"]})
    rounds: list[TopologyRound] = []

    def apply_in_thread() -> None:  # sqlite connections belong to the thread that made them
        own = Context.open(ctx.settings)
        try:
            rounds.extend(drain(own))
        finally:
            own.store.close()

    worker = threading.Thread(target=apply_in_thread)
    worker.start()
    probe, deadline = Store(ctx.settings.db_path), time.monotonic() + 120
    while probe.get_topology(NAME).status != Status.DEPLOYING:
        assert worker.is_alive() and time.monotonic() < deadline, "the apply never started"
        time.sleep(0.05)
    fault(HOST, "dockerd-kill")
    worker.join(timeout=600)
    assert not worker.is_alive()

    (row,) = [m for m in list_mutations(ctx, NAME) if m.id == mutation]
    assert row.state == MutationState.FAILED and row.reason, row
    t = ctx.store.get_topology(NAME)
    assert (t.status, t.needs_resync) == (Status.DEGRADED, True)
    assert t.model_dump(include={"host", "images", "lans", "deckies"}) == desired_before

    fault(HOST, "dockerd-start")
    (converged,) = drain(ctx)
    assert converged.converged and converged.status == "active", converged
    t = ctx.store.get_topology(NAME)
    assert (t.status, t.needs_resync) == (Status.ACTIVE, False)
    assert deckies_on_host(testbed) == {("gw", "base"), ("gw", "service")}
    assert [f.state for f in drift(ctx).findings] == ["in_sync"]
