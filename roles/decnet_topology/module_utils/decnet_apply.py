# Copyright: decnet contributors
# Apache-2.0 (see the repository's license)
"""The apply steps of decnet_compose_project: create (compose up --no-start), start level by
level, restart services left in a dead namespace, verify.

Standard library only: this runs on the managed host."""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING

from ansible.module_utils.decnet_engine import TRANSIENT, essential
from ansible.module_utils.decnet_failure import SHOWN, Failure
from ansible.module_utils.decnet_model import (
    name_of,
    runtime_problems,
    service_of,
    settle_left,
    stale_services,
    start_levels,
    undeclared_networks,
)
from ansible.module_utils.decnet_removal import remove_network

if TYPE_CHECKING:
    from ansible.module_utils.decnet_engine import Docker
    from ansible.module_utils.decnet_host import Doc
    from ansible.module_utils.decnet_model import Topology

LOG_LINES = 2
"""What a failure quotes of a crashed container's output: its last lines..."""
LOG_WIDTH = 160
"""... each cut to this many characters."""
CREATED_LINE = re.compile(r"^\s*Container\s+(\S+)\s+(Created|Recreated|Running|Started)\s*$")


def prune_networks(topo: Topology, config: Doc) -> None:
    """Remove what `undeclared_networks` finds, once compose moved the containers off them."""
    left = [
        problem
        for net in undeclared_networks(config, topo.project, topo.project_state()[1])
        if (problem := remove_network(topo.docker, net)) is not None
    ]
    if left:
        raise Failure("a network the topology no longer declares is left: " + "; ".join(left))


def apply(topo: Topology, config: Doc) -> None:
    """Create (compose up --no-start), start level by level, restart services left in a dead
    namespace, verify."""
    before = {c["Id"]: c["State"].get("StartedAt") for c in topo.project_state()[0]}
    create(topo, config)
    prune_networks(topo, config)
    containers = topo.project_state()[0]
    start(topo, config, containers)
    containers = topo.project_state()[0]
    stale = set(stale_services(config, containers))
    if stale:
        targets = [c for c in containers if service_of(c) in stale]
        restart_timeout = str(max(0, topo.options.stop_timeout))
        errors = topo.pool.map(
            "restart", targets, lambda c: _op(topo.docker, ["restart", "-t", restart_timeout], c)
        )
        if errors:
            raise Failure("could not restart " + _failures(errors))
        containers = topo.project_state()[0]
    started = {c["Id"] for c in containers if before.get(c["Id"]) != c["State"].get("StartedAt")}
    topo.progress.update("verify")
    if started and topo.options.settle > 0:
        time.sleep(settle_left(containers, started, topo.options.settle, time.time()))
        containers = topo.project_state()[0]
    problems = runtime_problems(config, containers, started, lambda c: last_output(topo.docker, c))
    if problems:
        more = f"; and {len(problems) - 3} more" if len(problems) > 3 else ""
        raise Failure("verification after compose up failed: " + "; ".join(problems[:3]) + more)


def images_ready(docker: Docker, config: Doc, services: set[str], wanted: dict[str, str]) -> bool:
    """Every image `services` use is on the host, in the build `wanted` names (`name:tag` ->
    the controller's image id) when it names one: else the role ships it first."""
    specs = config.get("services") or {}
    refs = {str(specs[s]["image"]) for s in services if specs.get(s, {}).get("image")}
    for ref in refs:
        found = docker.image_id(ref)
        want = wanted.get(ref if ":" in ref.split("/")[-1] or "@" in ref else f"{ref}:latest")
        if found is None or (want and found != want):
            return False
    return True


def last_output(docker: Docker, container: Doc) -> str:
    """`: last output: ...` of a failed container (its last lines, each masked, then cut): a
    crashing service often says why, and may say it with its configuration."""
    rc, out, err = docker.run(["logs", "--tail", str(LOG_LINES), container["Id"]])
    lines: list[str] = []
    for line in (out + err).splitlines():  # a restarting container repeats itself
        shown = docker.scrub.clip(line.strip(), LOG_WIDTH)
        if shown and shown not in lines:
            lines.append(shown)
    if rc != 0 or not lines:
        return ""
    return f": last output: {' | '.join(lines[-LOG_LINES:])}"


def create(topo: Topology, config: Doc) -> None:
    """`docker compose up --no-start`: creates and recreates (compose's --parallel caps it),
    starts nothing. Retried on transient daemon errors; killed after `timeout` s without a line."""
    total = len(config.get("services") or {})
    args = [
        *topo.compose_args(),
        "--parallel",
        str(topo.pool.size),
        "--progress",
        "plain",
        "up",
        "--no-start",
        "--remove-orphans",
        "--pull",
        topo.options.pull,
        "--quiet-pull",
    ]
    done: set[str] = set()

    def on_line(line: str) -> None:
        match = CREATED_LINE.match(line)
        if match and match.group(1) not in done:
            done.add(match.group(1))
            topo.progress.update(done=len(done))

    for tries in range(topo.docker.retries + 1):
        done.clear()
        topo.progress.update("create", 0, total)
        rc, out = topo.docker.stream(args, topo.dir, on_line)
        if rc == 0:
            return
        if not TRANSIENT.search(out) or tries == topo.docker.retries:
            raise Failure(f"docker compose up failed: {topo.docker.scrub(essential(out))}")
        time.sleep(min(8, 2**tries))


def start(topo: Topology, config: Doc, containers: list[Doc]) -> None:
    """Start what is not running, dependencies first, `concurrency` at a time."""
    by_service = {service_of(c): c for c in containers}
    total = len(config.get("services") or {})
    running = sum(1 for c in containers if c["State"].get("Running"))
    topo.progress.update("start", running, total)
    for group in start_levels(config):
        present_ = [by_service[s] for s in group if s in by_service]
        todo = [c for c in present_ if not c["State"].get("Running")]
        errors = topo.pool.map(
            "start", todo, lambda c: _op(topo.docker, ["start"], c), lambda ok: topo.progress.bump()
        )
        if errors:
            raise Failure("could not start " + _failures(errors))


def _op(docker: Docker, args: list[str], container: Doc) -> str | None:
    rc, err = docker.attempt([*args, container["Id"]])
    if rc == 0:
        return None
    return f"{name_of(container)}: {docker.scrub(essential(err))}"


def _failures(errors: dict[int, str]) -> str:
    texts = [errors[i] for i in sorted(errors)]
    shown = "; ".join(texts[:SHOWN])
    more = f"; and {len(texts) - SHOWN} more" if len(texts) > SHOWN else ""
    return f"{len(texts)} container{'s' if len(texts) != 1 else ''}: {shown}{more}"
