"""Drift and reconcile against the testbed hosts over real SSH (SPEC §9).

One topology per host (h1..h3), deployed in one run; then runtime drift (a container removed),
config drift (applied.json's hash changed), a missing fact and a fact that prints a Jinja
expression (data, never evaluated), each detected by `drift` and, where it is drift, repaired
by `reconcile`. Last, sshd down on one host during a rollout.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fleet_support import fleet_context

from decnet.engine.context import Context
from decnet.engine.drift import drift, hosts, reconcile
from decnet.engine.lifecycle import deploy
from decnet.models import Status
from decnet.testbed import Testbed

pytestmark = pytest.mark.testbed

FaultFn = Callable[[str, str], None]
HOSTS = ("h1", "h2", "h3")
FACT = "/etc/ansible/facts.d/decnet.fact"
APPLIED = "/var/lib/decnet/topologies/{}/applied.json"


def sh(testbed: Testbed, host: str, script: str) -> str:
    proc = testbed.exec(host, "sh", "-c", script, check=True)
    return proc.stdout


def running(testbed: Testbed, host: str) -> set[str]:
    out = sh(testbed, host, "docker ps --filter label=decnet.topology --format '{{.Names}}'")
    return {line for line in out.splitlines() if line.strip()}


def states(ctx: Context, **kw: object) -> dict[str, tuple[str, list[str]]]:
    report = drift(ctx, **kw)  # type: ignore[arg-type]
    return {f.name: (f.state, f.details) for f in report.findings}


@pytest.fixture
def ctx(testbed: Testbed, tmp_path: Path) -> Iterator[Context]:
    names = {f"dr{i}": h for i, h in enumerate(HOSTS, 1)}
    with fleet_context(testbed, tmp_path, names) as context:
        yield context


def test_drift_detects_and_reconcile_repairs(ctx: Context, testbed: Testbed) -> None:
    rollout = deploy(ctx, ["dr1", "dr2", "dr3"])
    assert rollout.ok, [(t.name, t.status, t.reason) for t in rollout.topologies]
    for i, host in enumerate(HOSTS, 1):
        assert running(testbed, host) == {f"decnet-dr{i}.gw", f"decnet-dr{i}.gw.ssh"}

    full = drift(ctx)
    assert {f.name: f.state for f in full.findings} == dict.fromkeys(
        ["dr1", "dr2", "dr3"], "in_sync"
    )
    assert full.exit_code == 0
    views = {v.host: v for v in hosts(ctx)}
    assert views["h2"].topologies == ["dr2"] and views["h2"].reachable is True

    # runtime drift: a decky's container removed on h2
    sh(testbed, "h2", "docker rm -f decnet-dr2.gw.ssh")
    found = states(ctx)
    assert found["dr2"][0] == "runtime_drift"
    assert "container decnet-dr2.gw.ssh is missing" in found["dr2"][1]
    assert found["dr1"][0] == found["dr3"][0] == "in_sync"
    assert ctx.store.get_topology("dr2").needs_resync
    fixed = reconcile(ctx)
    assert [t.name for t in fixed.topologies] == ["dr2"] and fixed.ok
    assert "decnet-dr2.gw.ssh" in running(testbed, "h2")
    assert not ctx.store.get_topology("dr2").needs_resync
    assert states(ctx, host="h2") == {"dr2": ("in_sync", [])}

    # config drift: the applied hash on h3 no longer matches
    path = shlex.quote(APPLIED.format("dr3"))
    sh(testbed, "h3", f"sed -i -E 's/[0-9a-f]{{64}}/{'0' * 64}/' {path}")
    found = states(ctx)
    assert found["dr3"][0] == "config_drift", found["dr3"]
    assert [t.name for t in reconcile(ctx).topologies] == ["dr3"]
    assert states(ctx, host="h3")["dr3"][0] == "in_sync"
    assert reconcile(ctx).topologies == []  # nothing left to do

    # the fact removed on h1: unknown, never in sync nor drift
    sh(testbed, "h1", f"mv {FACT} /root/decnet.fact.saved")
    try:
        report = drift(ctx, host="h1")
        assert [(f.name, f.state) for f in report.findings] == [("dr1", "unknown")]
        assert report.exit_code == 1
        # a fact printing a Jinja expression: reported as data, never evaluated
        jinja = "#!/bin/sh\necho \"{{ lookup('pipe','id') }}\"\n"
        testbed.exec("h1", "sh", "-c", f"cat > {FACT} && chmod 755 {FACT}", input=jinja, check=True)
        assert "lookup('pipe','id')" in sh(testbed, "h1", FACT)
        report = drift(ctx, host="h1")
        (finding,) = report.findings
        assert finding.state == "unknown"
        assert not any("uid=" in d for d in finding.details)
        stored = ctx.store.host_reports()["h1"].report
        assert "uid=" not in repr(stored) and "unreadable" in stored
    finally:
        sh(testbed, "h1", f"mv /root/decnet.fact.saved {FACT}")
    assert states(ctx, host="h1")["dr1"][0] == "in_sync"


def test_unreachable_host_during_rollout(ctx: Context, testbed: Testbed, fault: FaultFn) -> None:
    fault("h2", "sshd-stop")
    report = deploy(ctx, ["dr1", "dr2", "dr3"])
    by_name = {t.name: t for t in report.topologies}
    assert by_name["dr2"].status == Status.FAILED
    assert "unreachable" in by_name["dr2"].reason
    assert by_name["dr1"].status == by_name["dr3"].status == Status.ACTIVE
    assert states(ctx, host="h2")["dr2"][0] == "unreachable"
    fault("h2", "sshd-start")
    again = deploy(ctx, ["dr2"])
    assert again.ok and ctx.store.get_topology("dr2").status == Status.ACTIVE
    assert running(testbed, "h2") == {"decnet-dr2.gw", "decnet-dr2.gw.ssh"}
