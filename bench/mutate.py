"""Mutation benchmark: live change latency against raw compose, and coalescing.

Measured in one run on the local Docker engine, with a temporary DECNET_HOME and database, a
~20-decky topology `bench-mut-PID` and a raw compose twin `bench-raw-PID` (same decnet
rendering, its own subnets), all removed in `finally`:

1. latency: one `add_decky` from enqueue to `applied` — `submit_ops` (validated, queued), then a
   real `Watcher` round (claim, accept, render, ansible-runner, our module, `compose up`) —
   against `docker compose up -d` of the same change on the twin (the rendered compose file
   before and after the same op). Alternating, median kept. Goal: decnet / raw <= 2.
2. coalescing: 20 `add_decky` mutations enqueued at once and drained by one watcher, against
   one. Goal: twenty / one <= 1.5.
3. with --remote (root; holds the testbed lock, boots h1, tears it down in `finally`): the
   latency leg again on testbed host h1 over real SSH, against `docker compose up -d` run on
   h1 itself. Goal: decnet / raw <= 2.5.

The last lines give each goal's verdict, `ok` or `MISSED`.

Run: .venv/bin/python bench/mutate.py [--repeat N] [--remote]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import statistics
import tempfile
import time
from datetime import datetime
from pathlib import Path

from twin import RawTwin, bench_context, edited, host_compose, params

from decnet.core.ops import parse_ops
from decnet.core.render import SENSOR_DIR
from decnet.engine.context import Context
from decnet.engine.lifecycle import deploy, teardown
from decnet.engine.mutations import get_mutation, submit_ops
from decnet.engine.topologies import generate_topology
from decnet.engine.watch import Watcher, WatchOptions
from decnet.models import GeneratorParams, Topology
from decnet.testbed import Testbed

ONE_GOAL, MANY_GOAL, REMOTE_GOAL = 2.0, 1.5, 2.5
LOCK_WAIT = 1800.0


def _drain(ctx: Context) -> None:
    Watcher(ctx, WatchOptions(drift_every=0)).run(lambda: False, once=True)


def _latency(ctx: Context, name: str, decky: str) -> float:
    """Seconds from enqueue to the mutation's finished_at (applied)."""
    started = time.time()
    result = submit_ops(
        ctx,
        name,
        parse_ops([{"op": "add_decky", "name": decky, "lan": "dmz", "services": ["ssh"]}]),
    )
    assert result.mutation is not None
    _drain(ctx)
    row = get_mutation(ctx, result.mutation.id)
    assert row.state == "applied", (row.state, row.reason)
    assert row.finished_at is not None
    return datetime.fromisoformat(row.finished_at).timestamp() - started


def _add_op(t: Topology, decky: str, ctx: Context) -> Topology:
    return edited(t, [{"op": "add_decky", "name": decky, "lan": "dmz", "services": ["ssh"]}], ctx)


def _verdict(ratio: float, goal: float) -> str:
    return "ok" if ratio <= goal else "MISSED"


def latency_leg(
    ctx: Context, chosen: GeneratorParams, twin: RawTwin, repeat: int, host: str = "localhost"
) -> tuple[float, float]:
    """(median decnet, median raw) seconds of one add_decky, alternating."""
    name = chosen.name
    generate_topology(ctx.store, chosen, host=host, catalog=ctx.catalog)
    report = deploy(ctx, [name])
    assert report.ok, [(t.status, t.reason) for t in report.topologies]
    t = ctx.store.get_topology(name)
    print(f"topology {name} on {host}: {len(t.lans)} LANs, {len(t.deckies)} deckies")
    twin.up(twin.compose(twin.topology, "base"))
    decnet_times, raw_times = [], []
    state = twin.topology
    for i in range(repeat):
        decnet_times.append(_latency(ctx, name, f"one{i}"))
        state = _add_op(state, f"one{i}", ctx)
        raw_times.append(twin.up(twin.compose(state, f"one{i}")))
    return statistics.median(decnet_times), statistics.median(raw_times)


def many_leg(ctx: Context, name: str) -> float:
    """Seconds from enqueueing 20 add_decky to the last one applied."""
    started = time.time()
    ids = []
    for i in range(20):
        op = {"op": "add_decky", "name": f"many{i}", "lan": "dmz", "services": ["ssh"]}
        result = submit_ops(ctx, name, parse_ops([op]))
        assert result.mutation is not None
        ids.append(result.mutation.id)
    _drain(ctx)
    rows = [get_mutation(ctx, i) for i in ids]
    assert all(r.state == "applied" for r in rows), {r.state for r in rows}
    return max(datetime.fromisoformat(str(r.finished_at)).timestamp() for r in rows) - started


def local(repeat: int) -> list[tuple[str, float, float]]:
    name, raw_name = f"bench-mut-{os.getpid()}", f"bench-raw-{os.getpid()}"
    with bench_context() as ctx, tempfile.TemporaryDirectory() as work:
        chosen = params(name)
        twin = RawTwin(ctx, raw_name, Path(work), avoid=chosen.subnet_pool)
        try:
            one, raw = latency_leg(ctx, chosen, twin, repeat)
            ratio = one / raw
            print(
                f"add_decky enqueue->applied: decnet {one:.2f} s, raw compose up {raw:.2f} s, "
                f"ratio {ratio:.2f} (target <= {ONE_GOAL:g}) {_verdict(ratio, ONE_GOAL)}"
            )
            twenty = many_leg(ctx, name)
            many = twenty / one
            print(
                f"20 add_decky at once: {twenty:.2f} s vs one {one:.2f} s, ratio "
                f"{many:.2f} (target <= {MANY_GOAL:g}) {_verdict(many, MANY_GOAL)}"
            )
        finally:
            with contextlib.suppress(Exception):
                teardown(ctx, [name])
            twin.down()
            for left in (name, raw_name):  # the lines their deckies wrote: nobody collects them
                shutil.rmtree(Path(SENSOR_DIR) / left, ignore_errors=True)
    return [
        ("one add_decky <= 2x raw compose, local engine", ratio, ONE_GOAL),
        ("20 coalesced <= 1.5x one", many, MANY_GOAL),
    ]


def remote(repeat: int) -> list[tuple[str, float, float]]:
    """The latency leg on testbed host h1 over SSH (decnet ships the images itself)."""
    name, raw_name, host = f"bench-mutr-{os.getpid()}", f"bench-rawr-{os.getpid()}", "h1"
    tb = Testbed()
    with tb.lock(wait=LOCK_WAIT):
        try:
            if tb.check_clean():  # we hold the lock: a crashed run of ours left it
                tb.down()
            tb.up(1)
            with bench_context(tb.inventory_path) as ctx, tempfile.TemporaryDirectory() as work:
                chosen = params(name)
                on_host = host_compose(tb, host)
                twin = RawTwin(ctx, raw_name, Path(work), chosen.subnet_pool, on_host)
                one, raw = latency_leg(ctx, chosen, twin, repeat, host=host)
        finally:
            tb.down()
            print(f"testbed after down: {tb.check_clean() or 'clean'}")
    ratio = one / raw
    print(
        f"add_decky enqueue->applied on {host} over SSH: decnet {one:.2f} s, raw compose up "
        f"{raw:.2f} s, ratio {ratio:.2f} (target <= {REMOTE_GOAL:g}) "
        f"{_verdict(ratio, REMOTE_GOAL)}"
    )
    return [("one add_decky <= 2.5x raw compose, testbed host over SSH", ratio, REMOTE_GOAL)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--remote", action="store_true", help="also the leg on testbed host h1")
    args = parser.parse_args()
    goals = local(args.repeat)
    if args.remote:
        goals += remote(args.repeat)
    for what, ratio, goal in goals:
        print(f"goal {what}: ratio {ratio:.2f} {_verdict(ratio, goal)}")


if __name__ == "__main__":
    main()
