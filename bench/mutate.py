"""Mutation benchmark: live change latency against raw compose, and coalescing.

Measured in one run on the local Docker engine, with a temporary DECNET_HOME and database, a
~20-decky topology `bench-mut-PID` and a raw compose twin `bench-raw-PID` (same decnet
rendering, its own subnets), all removed in `finally`:

1. latency: one `add_decky` from enqueue to `applied` — `submit_ops` (validated, queued), then a
   real `Watcher` round (claim, accept, render, ansible-runner, our module, `compose up`) —
   against `docker compose up -d` of the same change on the twin (the rendered compose file
   before and after the same op). Alternating, median kept. Target: decnet / raw <= 2.
2. coalescing: 20 `add_decky` mutations enqueued at once and drained by one watcher, against
   one. Target: twenty / one <= 1.5.

Run: .venv/bin/python bench/mutate.py [--repeat N]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from decnet.core.edit import edit
from decnet.core.generate import generate
from decnet.core.ops import parse_ops
from decnet.core.render import SENSOR_DIR, render_topology
from decnet.engine.context import Context
from decnet.engine.lifecycle import deploy, teardown
from decnet.engine.mutations import get_mutation, submit_ops
from decnet.engine.topologies import generate_topology
from decnet.engine.watch import Watcher, WatchOptions
from decnet.models import GeneratorParams, Topology
from decnet.settings import PROJECT_ROOT, Settings


def _pool() -> str:
    """A /20 of 10.240.0.0/14: away from the default pool, the tests' 10.224.0.0/12 and the
    other benches' pools on the same engine."""
    return f"10.{random.randint(240, 243)}.{random.randint(0, 15) * 16}.0/20"


def _params(name: str) -> GeneratorParams:
    # depth 2, branching 2: 3 LANs; 5-6 deckies per LAN plus bridges and the gateway: ~20
    return GeneratorParams(
        name=name,
        depth=2,
        branching=2,
        deckies_min=5,
        deckies_max=6,
        services=["ssh"],
        subnet_pool=_pool(),
        seed=11,
    )


def _docker(*args: str) -> None:
    subprocess.run(["docker", *args], check=True, capture_output=True, text=True, timeout=600)


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
    result = edit(
        t,
        parse_ops([{"op": "add_decky", "name": decky, "lan": "dmz", "services": ["ssh"]}]),
        ctx.catalog,
        ctx.store.host_context(t.host, exclude=t.name),
        live=True,
    )
    assert result.topology is not None, result.issues
    return result.topology


class RawTwin:
    """The same decnet-rendered project, driven by plain `docker compose`."""

    def __init__(self, ctx: Context, name: str, work: Path, avoid: str) -> None:
        self.ctx, self.project, self.work = ctx, f"decnet-{name}", work
        params = _params(name)
        while params.subnet_pool == avoid:
            params = _params(name)
        self.topology = generate(params, ctx.catalog)

    def compose(self, t: Topology, label: str) -> Path:
        rendered = render_topology(
            t,
            self.ctx.catalog,
            self.ctx.settings.site_images,
            template=self.ctx.compose_template(),
            secret_key=self.ctx.hash_key,
        )
        path = self.work / f"{label}.yml"
        path.write_text(rendered.compose)
        return path

    def up(self, path: Path) -> float:
        started = time.monotonic()
        _docker("compose", "-p", self.project, "-f", str(path), "up", "-d", "--remove-orphans")
        return time.monotonic() - started

    def down(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            _docker("compose", "-p", self.project, "down", "--remove-orphans", "-t", "2")


@contextlib.contextmanager
def _context() -> Iterator[Context]:
    with tempfile.TemporaryDirectory(prefix="decnet-bench-mut-") as tmp:
        home = Path(tmp) / "home"
        settings = Settings(
            db_path=Path(tmp) / "decnet.db",
            home=home,
            inventory=PROJECT_ROOT / "inventory" / "localhost.yml",
        )
        ctx = Context.open(settings)
        try:
            yield ctx
        finally:
            ctx.store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    name, raw_name = f"bench-mut-{os.getpid()}", f"bench-raw-{os.getpid()}"
    with _context() as ctx, tempfile.TemporaryDirectory() as work:
        params = _params(name)
        twin = RawTwin(ctx, raw_name, Path(work), avoid=params.subnet_pool)
        try:
            generate_topology(ctx.store, params, catalog=ctx.catalog)
            assert deploy(ctx, [name]).ok
            t = ctx.store.get_topology(name)
            print(f"topology {name}: {len(t.lans)} LANs, {len(t.deckies)} deckies")
            twin.up(twin.compose(twin.topology, "base"))
            decnet_times, raw_times = [], []
            state = twin.topology
            for i in range(args.repeat):
                decnet_times.append(_latency(ctx, name, f"one{i}"))
                state = _add_op(state, f"one{i}", ctx)
                raw_times.append(twin.up(twin.compose(state, f"one{i}")))
            one, raw = statistics.median(decnet_times), statistics.median(raw_times)
            print(
                f"add_decky enqueue->applied: decnet {one:.2f} s, raw compose up {raw:.2f} s, "
                f"ratio {one / raw:.2f} (target <= 2)"
            )
            started = time.time()
            ids = []
            for i in range(20):
                result = submit_ops(
                    ctx,
                    name,
                    parse_ops(
                        [{"op": "add_decky", "name": f"many{i}", "lan": "dmz", "services": ["ssh"]}]
                    ),
                )
                assert result.mutation is not None
                ids.append(result.mutation.id)
            _drain(ctx)
            rows = [get_mutation(ctx, i) for i in ids]
            assert all(r.state == "applied" for r in rows), {r.state for r in rows}
            twenty = max(datetime.fromisoformat(str(r.finished_at)).timestamp() for r in rows)
            twenty -= started
            print(
                f"20 add_decky at once: {twenty:.2f} s vs one {one:.2f} s, ratio "
                f"{twenty / one:.2f} (target <= 1.5)"
            )
        finally:
            with contextlib.suppress(Exception):
                teardown(ctx, [name])
            twin.down()
            for left in (name, raw_name):  # the lines their deckies wrote: nobody collects them
                shutil.rmtree(Path(SENSOR_DIR) / left, ignore_errors=True)


if __name__ == "__main__":
    main()
