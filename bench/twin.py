"""What the live-change benches share: a ~20-decky topology's parameters on a pool of its own,
a context on a temporary home and database, and a raw compose twin of a decnet-rendered project
(the baseline a change is measured against)."""

from __future__ import annotations

import contextlib
import random
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from decnet.core.edit import edit
from decnet.core.generate import generate
from decnet.core.ops import parse_ops
from decnet.core.render import render_topology
from decnet.engine.context import Context
from decnet.models import GeneratorParams, Topology
from decnet.settings import PROJECT_ROOT, Settings
from decnet.testbed import Testbed

LOCALHOST = PROJECT_ROOT / "inventory" / "localhost.yml"


def pool() -> str:
    """A /20 of 10.240.0.0/14: away from the default pool, the tests' 10.224.0.0/12 and the
    other benches' pools on the same engine."""
    return f"10.{random.randint(240, 243)}.{random.randint(0, 15) * 16}.0/20"


def params(name: str) -> GeneratorParams:
    # depth 2, branching 2: 3 LANs; 5-6 deckies per LAN plus bridges and the gateway: ~20
    return GeneratorParams(
        name=name,
        depth=2,
        branching=2,
        deckies_min=5,
        deckies_max=6,
        services=["ssh"],
        subnet_pool=pool(),
        seed=11,
    )


def edited(t: Topology, ops: list[dict[str, Any]], ctx: Context) -> Topology:
    """`t` after the live edit `ops` (the twin follows the changes decnet applies)."""
    result = edit(
        t, parse_ops(ops), ctx.catalog, ctx.store.host_context(t.host, exclude=t.name), live=True
    )
    assert result.topology is not None, result.issues
    return result.topology


Compose = Callable[[list[str], str | None], None]
"""Runs `docker compose ARGS` (with stdin) on the twin's engine."""


def local_compose(args: list[str], stdin: str | None) -> None:
    subprocess.run(
        ["docker", "compose", *args], input=stdin, check=True, capture_output=True, text=True
    )


def host_compose(tb: Testbed, host: str) -> Compose:
    def run(args: list[str], stdin: str | None) -> None:
        tb.exec(host, "docker", "compose", *args, input=stdin, timeout=600, check=True)

    return run


class RawTwin:
    """The same decnet-rendered project, driven by plain `docker compose`."""

    def __init__(
        self, ctx: Context, name: str, work: Path, avoid: str, compose: Compose = local_compose
    ) -> None:
        self.ctx, self.project, self.work, self.run = ctx, f"decnet-{name}", work, compose
        chosen = params(name)
        while chosen.subnet_pool == avoid:
            chosen = params(name)
        self.topology = generate(chosen, ctx.catalog)

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
        text = path.read_text()
        started = time.monotonic()
        self.run(["-p", self.project, "-f", "-", "up", "-d", "--remove-orphans"], text)
        return time.monotonic() - started

    def down(self) -> None:
        with contextlib.suppress(Exception):
            self.run(["-p", self.project, "down", "--remove-orphans", "-t", "2"], None)


def settle(projects: list[str], busy: float = 10.0, wait: float = 240.0) -> float:
    """Wait until the containers of these topologies use less than `busy` % CPU together (a
    fresh deploy's sensors spend their first seconds starting up: a change measured then
    measures them); the seconds it took."""
    started = time.monotonic()
    while time.monotonic() - started < wait:
        ids: list[str] = []
        for name in projects:
            ps = ["docker", "ps", "-q", "--filter", f"label=com.docker.compose.project={name}"]
            ids += subprocess.run(ps, capture_output=True, text=True, check=True).stdout.split()
        stats = ["docker", "stats", "--no-stream", "--format", "{{.CPUPerc}}", *ids]
        out = subprocess.run(stats, capture_output=True, text=True, check=True).stdout
        if sum(float(x.rstrip("%")) for x in out.split()) < busy:
            break
    return time.monotonic() - started


@contextlib.contextmanager
def bench_context(inventory: Path = LOCALHOST) -> Iterator[Context]:
    with tempfile.TemporaryDirectory(prefix="decnet-bench-mut-") as tmp:
        home = Path(tmp) / "home"
        settings = Settings(db_path=Path(tmp) / "decnet.db", home=home, inventory=inventory)
        ctx = Context.open(settings)
        try:
            yield ctx
        finally:
            ctx.store.close()
