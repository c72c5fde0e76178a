"""dockerd killed on one host during a rollout (SPEC §9), over real SSH on the testbed.

One topology per host (h1..h3), deployed in one run while h2's Docker engine is down: h2's
topology fails with the module's message about the engine, h1's and h3's come up. With dockerd
started again, re-deploying only h2's converges, and h1's and h3's containers are left as they
were. The helpers mirror tests/fleet/test_drift.py (it keeps them local, not in a support module).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fleet_support import fleet_context

from decnet.engine.context import Context
from decnet.engine.lifecycle import deploy
from decnet.models import Status
from decnet.testbed import Testbed

pytestmark = pytest.mark.testbed

FaultFn = Callable[[str, str], None]
NAMES = {"dk1": "h1", "dk2": "h2", "dk3": "h3"}
ENGINE_DOWN = "Docker engine does not answer"
"""What decnet_compose_project says when dockerd is not running."""


def containers(testbed: Testbed, host: str) -> dict[str, str]:
    """name -> container id of every decnet container running on `host`."""
    fmt = "{{.Names}} {{.ID}}"
    proc = testbed.exec(
        host, "docker", "ps", "--no-trunc", "--filter", "label=decnet.topology", "--format", fmt
    )
    assert proc.returncode == 0, proc.stderr
    return dict(line.split() for line in proc.stdout.splitlines() if line.strip())


@pytest.fixture
def ctx(testbed: Testbed, tmp_path: Path) -> Iterator[Context]:
    # dockerd back first (the fault fixture restores only after this teardown)
    with fleet_context(
        testbed, tmp_path, NAMES, before_teardown=lambda: testbed.fault("h2", "dockerd-start")
    ) as context:
        yield context


def test_dockerd_killed_on_one_host(ctx: Context, testbed: Testbed, fault: FaultFn) -> None:
    fault("h2", "dockerd-kill")
    report = deploy(ctx, list(NAMES))
    by_name = {t.name: t for t in report.topologies}
    assert by_name["dk2"].status == Status.FAILED
    assert ENGINE_DOWN in by_name["dk2"].reason, by_name["dk2"].reason
    assert "dockerd" in by_name["dk2"].reason
    assert by_name["dk1"].status == by_name["dk3"].status == Status.ACTIVE
    assert ctx.store.get_topology("dk2").status == Status.FAILED
    before = {h: containers(testbed, h) for h in ("h1", "h3")}
    assert set(before["h1"]) == {"decnet-dk1.gw", "decnet-dk1.gw.ssh"}
    assert set(before["h3"]) == {"decnet-dk3.gw", "decnet-dk3.gw.ssh"}

    fault("h2", "dockerd-start")
    again = deploy(ctx, ["dk2"])
    assert again.ok, [(t.name, t.status, t.reason) for t in again.topologies]
    assert [t.name for t in again.topologies] == ["dk2"]
    assert ctx.store.get_topology("dk2").status == Status.ACTIVE
    assert set(containers(testbed, "h2")) == {"decnet-dk2.gw", "decnet-dk2.gw.ssh"}
    # h1 and h3 were not touched by either run: the very same containers still run
    assert {h: containers(testbed, h) for h in ("h1", "h3")} == before
    assert ctx.store.get_topology("dk1").status == Status.ACTIVE
    assert ctx.store.get_topology("dk3").status == Status.ACTIVE
