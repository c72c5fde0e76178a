"""Scale benchmark: decnet deploy/teardown of big topologies on one host against raw compose.

For each size (about N containers: N/2 deckies with one service each, on N/25 LANs, every LAN
bridged to the DMZ by its first decky), in one run on the local Docker engine:

1. decnet: `decnet.engine.lifecycle.deploy` (what `decnet deploy --concurrency C` runs: render,
   the playbook, the module's bounded create/start, verification), then `teardown`; then what
   is left carrying the topology's label (target: nothing);
2. raw: the same rendered compose file with `docker compose --parallel C up -d`, then
   `docker compose --parallel C down`, and what that left (compose caps only creation with
   --parallel; start and stop stay unbounded).

A warm-up of both legs on 8 containers, unmeasured, comes first. Printed per size: both times,
the ratios decnet/raw (target <= 1.1), containers per second, what was left. Everything the
bench creates (its DECNET_HOME, topologies, compose projects, leftovers) is removed at the end,
on Ctrl-C and SIGTERM too. It loads the machine: run it alone, e.g.
`flock /tmp/decnet-suite.lock .venv/bin/python bench/scale.py`.

Each container costs a containerd shim (~5 MiB); a size is skipped when the machine has less
than 8 MiB per container (+1 GiB) available.

Run: .venv/bin/python bench/scale.py [--sizes 100,300,1000] [--concurrency C]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import TypeVar

from decnet.core.render import SENSOR_DIR, render_bundle
from decnet.engine.context import Context
from decnet.engine.images import LURE_IMAGE, ensure_lure_image
from decnet.engine.lifecycle import deploy, teardown
from decnet.engine.rollout import RolloutOptions
from decnet.engine.topologies import create_topology
from decnet.models import Decky, Lan, Membership, Status, Topology
from decnet.settings import PROJECT_ROOT, Settings

T = TypeVar("T")

INVENTORY = PROJECT_ROOT / "inventory" / "localhost.yml"
HOST_BASE_DIR = Path("/var/lib/decnet/topologies")
SUBNET_POOL = "10.248.0.0/16"
"""Away from the default pool and the pools the tests use on the same engine."""
WARMUP_SIZE = 8
"""Containers of the unmeasured warm-up run of both legs before the sizes."""
RATIO_TARGET = 1.1
PER_LAN = 25
MIB_PER_CONTAINER = 8


def default_concurrency() -> int:
    return min(32, max(2, 4 * (os.cpu_count() or 1)))  # the module's default


def timed(fn: Callable[[], T]) -> tuple[float, T]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def docker(*args: str, timeout: float = 1800) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["docker", *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def big_topology(name: str, containers: int) -> Topology:
    deckies = max(2, containers // 2)
    lans = max(2, round(containers / PER_LAN))
    nets = [Lan(name="dmz", is_dmz=True)] + [Lan(name=f"lan-{i}") for i in range(1, lans)]
    ds = []
    for i in range(deckies):
        lan = nets[i % lans].name
        members = [Membership(lan=lan)]
        if i < lans and lan != "dmz":  # each LAN's first decky bridges it to the DMZ
            members.append(Membership(lan="dmz"))
        ds.append(Decky(name=f"d{i}", home_lan=lan, memberships=members, services=["ssh"]))
    return Topology(name=name, host="localhost", lans=nets, deckies=ds)


def left_over(name: str) -> tuple[list[str], list[str]]:
    label = f"label=decnet.topology={name}"
    containers = docker("ps", "-aq", "--filter", label).stdout.split()
    networks = docker("network", "ls", "-q", "--filter", label).stdout.split()
    return containers, networks


def force_clean(name: str) -> str | None:
    """Remove what carries the topology's label; say what even that could not remove."""
    containers, networks = left_over(name)
    if containers:
        docker("rm", "-f", "-v", *containers)
    for net in networks:
        if docker("network", "rm", net).returncode != 0:
            for ep in _endpoints(net):  # stale endpoints: force them out
                docker("network", "disconnect", "-f", net, ep)
            docker("network", "rm", net)
    shutil.rmtree(HOST_BASE_DIR / name, ignore_errors=True)
    shutil.rmtree(Path(SENSOR_DIR) / name, ignore_errors=True)  # nobody collects a bench's lines
    c, n = left_over(name)
    if not (c or n):
        return None
    # seen after raw compose at 1,000: an endpoint dockerd counts but does not list
    return f"{name}: {len(c)}c {len(n)}n resisted cleanup (a dockerd restart frees them)"


def _endpoints(net: str) -> list[str]:
    out = docker("network", "inspect", net).stdout or "[]"
    attached = (json.loads(out) or [{}])[0].get("Containers") or {}
    return [ep.get("Name") or cid for cid, ep in attached.items()]


def available_mib() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) // 1024
    return 0


@dataclass
class Result:
    size: int
    containers: int = 0
    lans: int = 0
    decnet_up: float = 0.0
    decnet_down: float = 0.0
    raw_up: float = 0.0
    raw_down: float = 0.0
    decnet_left: tuple[int, int] = (0, 0)
    raw_left: tuple[int, int] = (0, 0)
    notes: list[str] = field(default_factory=list)


class Bench:
    def __init__(self, tmp: Path, concurrency: int) -> None:
        self.tmp = tmp
        self.concurrency = concurrency
        env = {
            **os.environ,
            "DECNET_HOME": str(tmp / "home"),
            "DECNET_DB": str(tmp / "decnet.db"),
            "DECNET_INVENTORY": str(INVENTORY),
        }
        env.pop("DECNET_IMAGES", None)
        self.ctx = Context.open(Settings.from_env(env))
        self.names: list[str] = []

    def run(self, size: int) -> Result:
        name = f"bench-scale-{os.getpid()}-{size}"
        self.names.append(name)
        t = create_topology(
            self.ctx.store, big_topology(name, size), catalog=self.ctx.catalog, pool=SUBNET_POOL
        )
        res = Result(size, len(t.deckies) + sum(len(d.services) for d in t.deckies), len(t.lans))
        opts = RolloutOptions(concurrency=self.concurrency, timeout=600)
        res.decnet_up, report = timed(lambda: deploy(self.ctx, [name], opts=opts))
        if not report.ok:
            res.notes.append(f"decnet deploy failed: {report.topologies[0].reason}")
        res.decnet_down, down = timed(lambda: teardown(self.ctx, [name], opts=opts))
        if not down.ok:
            res.notes.append(f"decnet teardown failed: {down.topologies[0].reason}")
        c, n = left_over(name)
        res.decnet_left = (len(c), len(n))
        res.notes += filter(None, [force_clean(name)])
        self.raw(t, res)
        return res

    def raw(self, t: Topology, res: Result) -> None:
        files = render_bundle(
            [t], self.ctx.catalog, {}, self.ctx.compose_template(), secret_key=self.ctx.hash_key
        )
        project = self.tmp / f"raw-{t.name}"
        project.mkdir()
        compose = project / "compose.yml"
        compose.write_text(files[f"hosts/{t.host}/{t.name}/compose.yml"])
        base = ["compose", "-f", str(compose), "--parallel", str(self.concurrency)]
        res.raw_up, up = timed(lambda: docker(*base, "up", "-d", "--pull", "never"))
        if up.returncode != 0:
            res.notes.append(f"raw up failed: {up.stderr.strip().splitlines()[-1:]}")
        res.raw_down, down = timed(lambda: docker(*base, "down", "--remove-orphans"))
        if down.returncode != 0:
            res.notes.append(f"raw down failed: {down.stderr.strip().splitlines()[-1:]}")
        c, n = left_over(t.name)
        res.raw_left = (len(c), len(n))
        res.notes += filter(None, [force_clean(t.name)])

    def cleanup(self) -> None:
        clean_up(self.ctx, self.names)


def clean_up(ctx: Context, names: list[str]) -> None:
    """End of a bench, however it ended: every topology of `names` torn down (forced) and
    whatever still carries its label removed; then the store closed."""
    for name in names:
        with contextlib.suppress(Exception):
            if ctx.store.get_topology(name).status not in (Status.TORN_DOWN, Status.PENDING):
                teardown(ctx, [name], opts=RolloutOptions(force=True))
        with contextlib.suppress(Exception):
            if note := force_clean(name):
                print(f"cleanup: {note}", file=sys.stderr)
    with contextlib.suppress(Exception):
        ctx.store.close()


@contextlib.contextmanager
def interruptible() -> Iterator[None]:
    """SIGTERM and SIGHUP end the bench like Ctrl-C: through the cleanup."""

    def stop(signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    previous = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def left(counts: tuple[int, int]) -> str:
    return f"{counts[0]}c {counts[1]}n"


def report(results: list[Result], concurrency: int) -> None:
    print(f"scale: local Docker engine, concurrency {concurrency} (decnet --concurrency and raw")
    print("compose --parallel); decnet = engine deploy / teardown incl. Ansible; raw = compose")
    head = (
        f"{'containers':>10} {'LANs':>5} {'decnet up':>10} {'raw up':>8} {'ratio':>6} "
        f"{'decnet down':>12} {'raw down':>9} {'ratio':>6} {'total':>6} {'c/s':>6} "
        f"{'left decnet':>12} {'left raw':>9}"
    )
    print(head)
    for r in results:
        up = r.decnet_up / r.raw_up if r.raw_up else float("nan")
        down = r.decnet_down / r.raw_down if r.raw_down else float("nan")
        total = (r.decnet_up + r.decnet_down) / max(1e-9, r.raw_up + r.raw_down)
        rate = r.containers / r.decnet_up if r.decnet_up else 0.0
        print(
            f"{r.containers:>10} {r.lans:>5} {r.decnet_up:>9.1f}s {r.raw_up:>7.1f}s {up:>6.2f} "
            f"{r.decnet_down:>11.1f}s {r.raw_down:>8.1f}s {down:>6.2f} {total:>6.2f} "
            f"{rate:>6.1f} {left(r.decnet_left):>12} {left(r.raw_left):>9}"
        )
        verdict = "PASS" if total <= RATIO_TARGET and r.decnet_left == (0, 0) else "MISS"
        print(f"{'':>10} target total ratio <= {RATIO_TARGET} and nothing left: {verdict}")
        for note in r.notes:
            print(f"{'':>10} note: {note}")


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", default="100,300,1000", help="approximate container counts")
    parser.add_argument("--concurrency", type=int, default=default_concurrency())
    args = parser.parse_args()
    try:
        sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        parser.error(f"--sizes takes numbers separated by commas, not {args.sizes!r}")
    if not sizes or min(sizes) < 4 or args.concurrency < 1:
        parser.error("sizes must be >= 4 and --concurrency >= 1")
    ensure_lure_image(LURE_IMAGE, force=False)
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="decnet-bench-scale-") as tmp, interruptible():
        bench = Bench(Path(tmp), args.concurrency)
        try:
            # Both legs once on a tiny topology first, unmeasured: the first size's legs would
            # otherwise pay a cold engine and cold caches, decnet's (which runs first) the most.
            print(f"warm-up ({WARMUP_SIZE} containers) ...", file=sys.stderr, flush=True)
            bench.run(WARMUP_SIZE)
            for size in sizes:
                need = size * MIB_PER_CONTAINER + 1024
                if available_mib() < need:
                    print(f"size {size}: skipped, needs ~{need} MiB free", file=sys.stderr)
                    continue
                print(f"size {size}: running ...", file=sys.stderr, flush=True)
                results.append(bench.run(size))
        except KeyboardInterrupt:
            print("interrupted: cleaning up", file=sys.stderr)
        finally:
            bench.cleanup()
    report(results, args.concurrency)
    return 0


if __name__ == "__main__":
    sys.exit(main())
