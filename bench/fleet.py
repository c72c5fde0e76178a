"""Fleet benchmark on the testbed (decnet.testbed; docs/testbed.md): rollout, drift and
reconcile over real SSH against 8 network-namespace hosts.

Needs root (the testbed does). Holds the machine-wide testbed lock (waits for a test session
that has it), boots h1..h8 once, loads decnet-lure:0.1, runs playbooks/prepare.yml once, and
ALWAYS tears the testbed down in `finally`, then prints `check_clean()`. Temporary DECNET_HOME
and database. Every topology is small: one LAN, one decky, services ["ssh"] (2 containers).

1. rollout: wall time of ONE `deploy` call for 1, 2, 4 and 8 hosts, one fresh topology per
   host; everything torn down between sizes. Target: t(8) / t(1) <= 2.5.
2. drift: one scan over all 8 hosts (and that / 8 per host) against a scan of one host.
3. reconcile: with k of N=8 topologies drifted (k = 1, 2, 4, 8: `docker rm -f` of one container
   of each through `Testbed.exec`, then `drift` to mark them), the wall time of `reconcile`;
   reported with t(k) / t(1) to show whether it grows with k (ideal for parallel hosts: ~1).

Run: sudo .venv/bin/python bench/fleet.py
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import ParamSpec, TypeVar, cast

from decnet.engine.context import Context
from decnet.engine.drift import drift, reconcile
from decnet.engine.lifecycle import deploy, teardown
from decnet.engine.rollout import RolloutOptions, RolloutReport
from decnet.engine.topologies import create_topology
from decnet.models import Decky, Lan, Membership, Status, Topology
from decnet.runner.ansible import PlaybookJob, run_playbook
from decnet.settings import Settings
from decnet.testbed import Testbed, image_exists

N = 8
SIZES = (1, 2, 4, 8)
KS = (1, 2, 4, 8)
LURE_IMAGE = "decnet-lure:0.1"
RATIO_TARGET = 2.5
LOCK_WAIT = 1800.0
P = ParamSpec("P")
T = TypeVar("T")


def topology(name: str, host: str) -> Topology:
    return Topology(
        name=name,
        host=host,
        lans=[Lan(name="dmz", is_dmz=True)],
        deckies=[
            Decky(name="gw", home_lan="dmz", memberships=[Membership(lan="dmz")], services=["ssh"])
        ],
    )


def timed(fn: Callable[P, T], *args: P.args, **kw: P.kwargs) -> tuple[float, T]:
    start = time.perf_counter()
    result = fn(*args, **kw)
    return time.perf_counter() - start, result


def create(ctx: Context, prefix: str, n: int) -> list[str]:
    names = []
    for i in range(1, n + 1):
        name = f"{prefix}{i}"
        create_topology(ctx.store, topology(name, f"h{i}"), catalog=ctx.catalog)
        names.append(name)
    return names


def must(report: RolloutReport, what: str) -> None:
    if not report.ok:
        bad = [(t.name, t.status, t.reason) for t in report.topologies if t.status != "active"]
        raise SystemExit(f"{what} failed: {bad}")


def down_all(ctx: Context) -> None:
    live = [s.name for s in ctx.store.list_topologies() if s.status != Status.TORN_DOWN]
    if live:
        teardown(ctx, live, opts=RolloutOptions(force=True))


def bench(tb: Testbed, tmp: Path) -> dict[str, object]:
    home = tmp / "home"
    home.mkdir()
    os.environ["DECNET_HOME"] = str(home)
    settings = Settings(db_path=tmp / "decnet.db", home=home, inventory=tb.inventory_path)
    prep = run_playbook(PlaybookJob("prepare.yml", tb.inventory_path, tmp / "prepare"))
    if prep.status != "successful":
        raise SystemExit(f"prepare.yml failed: { {h: o.messages for h, o in prep.hosts.items()} }")
    ctx = Context.open(settings)
    out: dict[str, object] = {}
    try:
        rollout_s = {}
        for size in SIZES:
            names = create(ctx, f"ro{size}n", size)
            rollout_s[size], report = timed(deploy, ctx, names)
            must(report, f"deploy of {size} hosts")
            down_all(ctx)
        out["rollout"] = rollout_s

        names = create(ctx, "dr", N)
        must(deploy(ctx, names), "deploy for drift")
        drift_all, scan = timed(drift, ctx)
        assert {f.state for f in scan.findings} == {"in_sync"}, scan.findings
        drift_one, scan = timed(drift, ctx, host="h1")
        assert [f.state for f in scan.findings] == ["in_sync"], scan.findings
        out["drift"] = (drift_all, drift_one)

        recon = {}
        for k in KS:
            for name in names[:k]:
                tb.exec(f"h{names.index(name) + 1}", "docker", "rm", "-f", f"decnet-{name}.gw.ssh")
            scan_s, scan = timed(drift, ctx)
            drifted = sorted(f.name for f in scan.findings if f.state == "runtime_drift")
            assert drifted == sorted(names[:k]), scan.findings
            rec_s, fixed = timed(reconcile, ctx)
            must(fixed, f"reconcile of {k}")
            assert sorted(t.name for t in fixed.topologies) == drifted
            recon[k] = (scan_s, rec_s)
        out["reconcile"] = recon
    finally:
        down_all(ctx)
    return out


def report(r: dict[str, object]) -> None:
    rollout_s: dict[int, float] = r["rollout"]  # type: ignore[assignment]
    print("rollout: one deploy call, one small topology per host (1 decky, ssh, 2 containers)")
    print(f"{'hosts':>5} {'wall s':>8} {'vs 1 host':>9}")
    for size, s in rollout_s.items():
        print(f"{size:>5} {s:8.2f} {s / rollout_s[1]:8.2f}x")
    ratio = rollout_s[N] / rollout_s[1]
    verdict = "ok" if ratio <= RATIO_TARGET else "MISSED"
    print(f"8-host / 1-host = {ratio:.2f} (target <= {RATIO_TARGET}): {verdict}")
    print()
    drift_all, drift_one = cast(tuple[float, float], r["drift"])
    print("drift scan (facts.yml over SSH)")
    print(f"  all {N} hosts: {drift_all:.2f} s  -> per host {drift_all / N:.2f} s")
    print(f"  1 host (h1): {drift_one:.2f} s")
    print()
    recon: dict[int, tuple[float, float]] = r["reconcile"]  # type: ignore[assignment]
    print(f"reconcile with k of N={N} topologies drifted (one container removed in each)")
    print(f"{'k':>3} {'drift s':>8} {'reconcile s':>11} {'t(k)/t(1)':>9} {'k':>3}")
    base = recon[1][1]
    for k, (scan_s, rec_s) in recon.items():
        print(f"{k:>3} {scan_s:8.2f} {rec_s:11.2f} {rec_s / base:9.2f} {k:>3}")
    grow = recon[KS[-1]][1] / base
    shape = "~proportional to k" if grow >= KS[-1] * 0.6 else "sub-linear in k (hosts in parallel)"
    print(f"t({KS[-1]})/t(1) = {grow:.2f} for k x{KS[-1]}: {shape}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args()
    if os.geteuid() != 0:
        print("bench/fleet.py needs root (the testbed does)", file=sys.stderr)
        return 2
    tb = Testbed()
    leftovers: list[str] = []
    with tb.lock(wait=LOCK_WAIT), tempfile.TemporaryDirectory(prefix="decnet-fleet-") as tmp:
        try:
            if tb.check_clean():  # we hold the lock: a crashed run of ours left it
                tb.down()
            up_s, _ = timed(tb.up, N)
            if image_exists(LURE_IMAGE):
                tb.load_image(LURE_IMAGE)
            print(f"testbed: {N} hosts up in {up_s:.1f} s")
            results = bench(tb, Path(tmp))
        finally:
            tb.down()
            leftovers = tb.check_clean()
            print(f"check_clean after down: {leftovers or 'clean'}")
    report(results)
    return 0 if not leftovers else 1


if __name__ == "__main__":
    raise SystemExit(main())
