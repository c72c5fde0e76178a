"""Sensor fleet benchmark: issue 14's scale goals on the local engine (goals, never asserted).

Topologies come from the generator with the default archetypes (seed 7): ~100 deckies on 4 LANs
and ~300 on 13 (2-4 services each; one sensor container per decky serves all of them).

1. deploy ratio: `decnet.engine.lifecycle.deploy` of the ~100-decky topology with its sensors
   against the same topology on the lure (`images: {"*": decnet-lure:0.1}`: one lure container
   per service), each torn down after, in one run, --runs times in alternating order after an
   unmeasured warm-up of both on 8 deckies. Goal: sensors <= 1.5x the lure (median).
2. 300 on one host: deploy of the ~300-decky topology with sensors; then, once every sensor
   wrote `sensor.start` and idled --idle seconds, the PSS of every decky (its base and sensor
   containers' processes, /proc/PID/smaps_rollup) and the drop of MemAvailable; then teardown
   and what is left: containers and networks labelled with the topology, its directory on the
   host (goal: nothing). The sensor lines' directory stays after a teardown by design until the
   collector has read it (docs/observe.md); nobody collects here, so the bench removes it.

Everything it creates is removed at the end, on Ctrl-C and SIGTERM too. It loads the machine
(300 sensors need ~20 GiB): run it alone, as root:
`flock /tmp/decnet-suite.lock .venv/bin/python bench/sensor_fleet.py [--runs 3] [--only ratio|300]`
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from scale import (
    HOST_BASE_DIR,
    available_mib,
    clean_up,
    docker,
    interruptible,
    left_over,
    timed,
)
from sensors import container_pss

from decnet.core.generate import generate
from decnet.core.render import SENSOR_DIR
from decnet.engine.context import Context
from decnet.engine.images import LURE_IMAGE, build_images, ensure_lure_image
from decnet.engine.lifecycle import deploy, teardown
from decnet.engine.rollout import RolloutOptions
from decnet.engine.topologies import create_topology
from decnet.models import GeneratorParams, Topology
from decnet.settings import PROJECT_ROOT, Settings

POOL = "10.245.0.0/16"
"""Away from the default pool, the tests' pools and the other benches'."""
SHAPES = {8: (1, 1, 8), 100: (2, 3, 24), 300: (3, 3, 22)}
"""Approximate deckies -> generator (depth, branching, deckies per LAN)."""
RATIO_GOAL = 1.5
PSS_GOAL_MIB = 70
START_TIMEOUT = 1200.0


class Fleet:
    def __init__(self, tmp: Path) -> None:
        env = {**os.environ, "DECNET_HOME": str(tmp / "home"), "DECNET_DB": str(tmp / "db")}
        env["DECNET_INVENTORY"] = str(PROJECT_ROOT / "inventory" / "localhost.yml")
        env.pop("DECNET_IMAGES", None)
        self.ctx = Context.open(Settings.from_env(env))
        self.names: list[str] = []
        self.opts = RolloutOptions(timeout=1800)

    def create(self, size: int, lure: bool) -> Topology:
        name = f"bench-sf-{os.getpid()}-{size}-{'lure' if lure else 'sensor'}-{len(self.names)}"
        depth, branching, per = SHAPES[size]
        params = GeneratorParams(
            name=name, depth=depth, branching=branching, deckies_min=per, deckies_max=per,
            subnet_pool=POOL, seed=7,
        )  # fmt: skip
        reserved = self.ctx.store.host_context("localhost").claimed_subnets
        t = generate(params, self.ctx.catalog, reserved_subnets=reserved)
        t = t.model_copy(update={"images": {"*": LURE_IMAGE} if lure else {}})
        self.names.append(name)
        return create_topology(self.ctx.store, t, catalog=self.ctx.catalog, pool=POOL)

    def up(self, t: Topology) -> float:
        took, report = timed(lambda: deploy(self.ctx, [t.name], opts=self.opts))
        if not report.ok:
            raise RuntimeError(f"deploy of {t.name} failed: {report.topologies[0].reason}")
        return took

    def down(self, t: Topology) -> tuple[float, dict[str, int]]:
        took, report = timed(lambda: teardown(self.ctx, [t.name], opts=self.opts))
        if not report.ok:
            raise RuntimeError(f"teardown of {t.name} failed: {report.topologies[0].reason}")
        containers, networks = left_over(t.name)
        left = {"containers": len(containers), "networks": len(networks)}
        left["host_dir"] = int((HOST_BASE_DIR / t.name).exists())
        shutil.rmtree(Path(SENSOR_DIR) / t.name, ignore_errors=True)
        return took, left

    def cleanup(self) -> None:
        clean_up(self.ctx, self.names)


def ratio_leg(fleet: Fleet, runs: int) -> dict[str, Any]:
    for lure in (True, False):  # warm-up: images on the host, a warm engine, both paths once
        t = fleet.create(8, lure)
        fleet.up(t)
        fleet.down(t)
    times: dict[str, list[float]] = {"lure": [], "sensor": []}
    containers: dict[str, int] = {}
    for run in range(runs):
        for lure in (run % 2 == 0, run % 2 != 0):
            key = "lure" if lure else "sensor"
            t = fleet.create(100, lure)
            times[key].append(fleet.up(t))
            containers[key] = len(labelled(t))
            fleet.down(t)
            print(f"  run {run + 1} {key}: {times[key][-1]:.1f} s", file=sys.stderr, flush=True)
    median = {k: statistics.median(v) for k, v in times.items()}
    return {"deckies": len(t.deckies), "times": times, "median": median, "containers": containers}


def started(t: Topology) -> int:
    """How many of the topology's sensor containers wrote `sensor.start`."""
    count = 0
    for events in (Path(SENSOR_DIR) / t.name).glob("*/*/events.jsonl"):
        with events.open() as f:  # a line being written is not `sensor.start` yet
            count += any('"kind":"sensor.start"' in line for line in f)
    return count


def labelled(t: Topology, *labels: str) -> list[tuple[str, str]]:
    """(container, decky) of the topology's running containers carrying every label."""
    filters = [f"--filter=label={x}" for x in (f"decnet.topology={t.name}", *labels)]
    fmt = '{{.Names}} {{.Label "decnet.decky"}}'
    out = docker("ps", *filters, "--format", fmt).stdout
    return [(c, d) for c, d in (line.split() for line in out.splitlines())]


def per_decky_pss(containers: list[tuple[str, str]]) -> list[float]:
    pss: dict[str, int] = {}
    for container, decky in containers:
        pss[decky] = pss.get(decky, 0) + container_pss(container)
    return [kib / 1024 for kib in pss.values()]


def big_leg(fleet: Fleet, idle: float) -> dict[str, Any]:
    free_before = available_mib()
    t = fleet.create(300, lure=False)
    took = fleet.up(t)
    sensors = len(labelled(t, "decnet.family"))
    start = time.monotonic()
    while (n := started(t)) < sensors and time.monotonic() - start < START_TIMEOUT:
        time.sleep(2)
    ready = took + time.monotonic() - start
    time.sleep(idle)
    containers = labelled(t)
    pss, free_during = per_decky_pss(containers), available_mib()
    down, left = fleet.down(t)
    return {
        "deckies": len(t.deckies), "containers": len(containers), "sensors": sensors,
        "started": n, "deploy_s": took, "all_started_s": ready, "teardown_s": down,
        "pss_mib_avg": statistics.mean(pss), "pss_mib_max": max(pss),
        "memavailable_drop_mib": free_before - free_during, "left": left,
    }  # fmt: skip


def report(r: dict[str, Any]) -> None:
    if "ratio" in r:
        a = r["ratio"]
        lure, sensor = a["median"]["lure"], a["median"]["sensor"]
        print(f"deploy of {a['deckies']} deckies (median of {len(a['times']['lure'])}): "
              f"lure {lure:.1f} s ({a['containers']['lure']} containers), "
              f"sensors {sensor:.1f} s ({a['containers']['sensor']} containers)")  # fmt: skip
        ratio = sensor / lure
        verdict = "ok" if ratio <= RATIO_GOAL else "MISSED"
        print(f"sensor deploy / lure deploy: ratio {ratio:.2f} (target <= {RATIO_GOAL}) {verdict}")
    if "big" in r:
        b = r["big"]
        print(f"{b['deckies']} sensor deckies on one host ({b['containers']} containers): deploy "
              f"{b['deploy_s']:.0f} s, all {b['started']}/{b['sensors']} sensors started at "
              f"{b['all_started_s']:.0f} s, teardown {b['teardown_s']:.0f} s")  # fmt: skip
        print(f"  MemAvailable dropped by {b['memavailable_drop_mib'] / 1024:.1f} GiB; PSS per "
              f"decky avg {b['pss_mib_avg']:.1f} MiB, max {b['pss_mib_max']:.1f} MiB")  # fmt: skip
        met = b["started"] == b["sensors"] and b["pss_mib_avg"] <= PSS_GOAL_MIB
        verdict = "ok" if met and not any(b["left"].values()) else "MISSED"
        goal = f"target: every sensor started, PSS avg <= {PSS_GOAL_MIB} MiB, nothing left"
        print(f"  left after teardown: {b['left']} ({goal}) {verdict}")
    load = os.getloadavg()
    print(f"load average at the end: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="deploys of each kind in leg 1")
    parser.add_argument("--idle", type=float, default=30.0, help="idle seconds before the PSS")
    parser.add_argument("--only", choices=["ratio", "300"])
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be >= 1")
    ensure_lure_image(LURE_IMAGE, force=False)
    build_images(["sensor"], home=Settings.from_env().home, if_missing=True)
    result: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="decnet-bench-sf-") as tmp, interruptible():
        fleet = Fleet(Path(tmp))
        try:
            if args.only in (None, "ratio"):
                result["ratio"] = ratio_leg(fleet, args.runs)
            if args.only in (None, "300"):
                result["big"] = big_leg(fleet, args.idle)
        except KeyboardInterrupt:
            print("interrupted: cleaning up", file=sys.stderr)
        finally:
            fleet.cleanup()
    print(json.dumps(result, default=str), file=sys.stderr)
    report(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
