"""`decnet demo`: a small topology named `demo`, deployed to the local Docker engine.

Without a Docker engine it renders a dry-run bundle instead, so a newcomer still sees what
decnet would apply.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from decnet import policy
from decnet.core.render import render_bundle
from decnet.engine.bundle import write_bundle
from decnet.engine.context import Context
from decnet.engine.images import ensure_lure_image
from decnet.engine.lifecycle import deploy, teardown
from decnet.engine.rollout import EventSink, RolloutOptions, RolloutReport
from decnet.engine.topologies import delete_topology, generate_topology
from decnet.errors import NotFound
from decnet.models import GeneratorParams, Status, Topology
from decnet.policy import Action

DEMO = "demo"
DEMO_PARAMS = GeneratorParams(
    name=DEMO, depth=2, branching=2, deckies_min=1, deckies_max=2, forward_p=1.0, seed=1
)


@dataclass
class DemoResult:
    topology: Topology
    report: RolloutReport | None
    bundle_dir: Path | None
    built_image: bool = False


def docker_available() -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        probe = subprocess.run(["docker", "info"], capture_output=True, timeout=15, check=False)
    except subprocess.TimeoutExpired:
        return False
    return probe.returncode == 0


def _fresh_demo(ctx: Context) -> Topology:
    try:
        current = ctx.store.get_topology(DEMO)
    except NotFound:
        return generate_topology(ctx.store, DEMO_PARAMS, host="localhost", catalog=ctx.catalog)
    if current.status != Status.TORN_DOWN:
        return current
    delete_topology(ctx.store, DEMO)
    return generate_topology(ctx.store, DEMO_PARAMS, host="localhost", catalog=ctx.catalog)


def demo_up(
    ctx: Context,
    on_event: EventSink,
    should_cancel: Callable[[], bool],
    inventory: Path | None = None,
) -> DemoResult:
    topology = _fresh_demo(ctx)
    if not docker_available():
        files = render_bundle(
            [topology],
            ctx.catalog,
            ctx.settings.site_images,
            ctx.compose_template(),
            secret_key=ctx.hash_key,
        )
        out = write_bundle(files, ctx.settings.home / "demo-bundle")
        return DemoResult(topology, None, out)
    built = ensure_lure_image()
    report = deploy(
        ctx,
        [DEMO],
        opts=RolloutOptions(inventory=inventory),
        on_event=on_event,
        should_cancel=should_cancel,
    )
    return DemoResult(ctx.store.get_topology(DEMO), report, None, built)


def demo_down(
    ctx: Context, on_event: EventSink, inventory: Path | None = None
) -> RolloutReport | None:
    report = None
    if policy.allowed(Action.TEARDOWN, ctx.store.get_topology(DEMO).status):
        report = teardown(ctx, [DEMO], opts=RolloutOptions(inventory=inventory), on_event=on_event)
    if policy.allowed(Action.DELETE, ctx.store.get_topology(DEMO).status):
        delete_topology(ctx.store, DEMO)
    return report
