"""`decnet watch` as real processes: two racing on one queue, and one killed mid-apply."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections import Counter
from collections.abc import Iterator

import pytest
from e2e_support import DOCKER_SKIP, E2E, descendants, docker
from subnet_pools import fresh_pool

from decnet.core.ops import parse_ops
from decnet.engine.lifecycle import deploy
from decnet.engine.mutations import list_mutations, submit_ops
from decnet.engine.topologies import create_topology
from decnet.models import Decky, Lan, Membership, Status, Topology
from decnet.settings import PROJECT_ROOT
from decnet.store import Store
from decnet.store.rows import MutationState

pytestmark = [pytest.mark.docker, DOCKER_SKIP]

DECNET = str(PROJECT_ROOT / ".venv" / "bin" / "decnet")


def one_lan(name: str) -> Topology:
    return Topology(
        name=name,
        lans=[Lan(name="dmz", is_dmz=True)],
        deckies=[
            Decky(name="gw", home_lan="dmz", memberships=[Membership(lan="dmz")], services=["ssh"])
        ],
    )


@pytest.fixture
def live(e2e: E2E) -> str:
    name = e2e.new_name()
    create_topology(e2e.ctx.store, one_lan(name), catalog=e2e.ctx.catalog, pool=fresh_pool())
    assert deploy(e2e.ctx, [name]).ok
    return name


@contextlib.contextmanager
def watcher(e2e: E2E, *extra: str) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen(
        [DECNET, "--db", str(e2e.db), "watch", "--interval", "0.2", "--drift-every", "0", *extra],
        env=e2e.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=120)
            except subprocess.TimeoutExpired:
                kill_tree(proc)


def kill_tree(proc: subprocess.Popen[str]) -> None:
    """SIGKILL the watcher and everything under it, as a crashed controller machine would."""
    tree = descendants(proc.pid)
    os.kill(proc.pid, signal.SIGKILL)
    for pid in tree:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    proc.wait(timeout=30)


def wait_until(check: object, timeout: float = 300.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def containers_by_decky(name: str) -> Counter[tuple[str, str]]:
    out = docker(
        "ps",
        "-a",
        "--filter",
        f"label=decnet.topology={name}",
        "--format",
        '{{.Label "decnet.decky"}} {{.Label "decnet.role"}}',
    ).stdout
    return Counter(tuple(line.split()) for line in out.splitlines() if line.strip())  # type: ignore[misc]


def test_two_watchers_racing_apply_every_mutation_exactly_once(e2e: E2E, live: str) -> None:
    names = [f"n{i}" for i in range(6)]
    with watcher(e2e) as one, watcher(e2e) as two:
        for decky in names:
            submit_ops(e2e.ctx, live, parse_ops([{"op": "add_decky", "name": decky, "lan": "dmz"}]))
            time.sleep(0.7)
        wait_until(
            lambda: all(m.state == MutationState.APPLIED for m in list_mutations(e2e.ctx, live)),
            what="every mutation applied",
        )
        for proc in (one, two):
            proc.send_signal(signal.SIGTERM)
        assert one.wait(timeout=120) == 0 and two.wait(timeout=120) == 0
    applied = Counter(
        e.payload["mutation"]
        for e in e2e.ctx.store.events_since(0, topology=live, limit=100_000)
        if e.type == "mutation.applied"
    )
    rows = list_mutations(e2e.ctx, live)
    assert sorted(applied.values()) == [1] * len(names)
    assert set(applied) == {m.id for m in rows}
    counts = containers_by_decky(live)
    assert counts == Counter({("gw", "service"): 1} | {(d, "base"): 1 for d in ["gw", *names]})
    t = e2e.ctx.store.get_topology(live)
    assert (t.status, [d.name for d in t.deckies]) == (Status.ACTIVE, ["gw", *names])


def test_a_watcher_killed_mid_apply_is_taken_over_without_duplicates(e2e: E2E, live: str) -> None:
    result = submit_ops(
        e2e.ctx,
        live,
        parse_ops([{"op": "add_decky", "name": "web", "lan": "dmz", "services": ["ssh", "http"]}]),
    )
    assert result.mutation is not None
    probe = Store(e2e.db)
    with watcher(e2e) as first:
        wait_until(
            lambda: probe.get_topology(live).status == Status.DEPLOYING,
            what="the first watcher's apply to start",
        )
        kill_tree(first)
    row = probe.get_mutation(result.mutation.id)
    assert (row.state, row.accepted) == (MutationState.APPLYING, True)
    done = subprocess.run(
        [DECNET, "--db", str(e2e.db), "watch", "--once", "--drift-every", "0"],
        env=e2e.env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    rows = list_mutations(e2e.ctx, live)
    assert [(m.id, m.state) for m in rows] == [(row.id, MutationState.APPLIED)]
    t = probe.get_topology(live)
    assert (t.status, sorted(d.name for d in t.deckies)) == (Status.ACTIVE, ["gw", "web"])
    counts = containers_by_decky(live)
    assert counts == Counter(
        {("gw", "base"): 1, ("gw", "service"): 1, ("web", "base"): 1, ("web", "service"): 2}
    )
    running = docker("ps", "-q", "--filter", f"label=decnet.topology={live}").stdout.split()
    assert len(running) == 5


def mutate_wait(e2e: E2E, name: str, *pairs: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [DECNET, "--db", str(e2e.db), "mutate", name, *pairs, "--wait"],
        env=e2e.env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_mutate_wait_exits_by_outcome_and_a_host_failure_rolls_back(e2e: E2E, live: str) -> None:
    with watcher(e2e):
        ok = mutate_wait(e2e, live, "add_decky", "name=web", "lan=dmz", "services=http")
        assert ok.returncode == 0 and "applied" in ok.stdout, ok.stdout + ok.stderr
        desired = e2e.ctx.store.get_topology(live).model_dump(include={"lans", "deckies"})
        with socket.socket() as taken:  # the host port the batch wants is in use on the host
            taken.bind(("0.0.0.0", 0))
            taken.listen()
            port = taken.getsockname()[1]
            bad = mutate_wait(e2e, live, "update_decky", "name=gw", f"publish={port}:22")
        assert bad.returncode == 1, bad.stdout + bad.stderr
        assert "failed" in bad.stdout and f"{port}" in bad.stdout
        assert e2e.ctx.store.get_topology(live).model_dump(include={"lans", "deckies"}) == desired
        wait_until(  # the watcher converges the degraded topology back by itself
            lambda: (
                e2e.ctx.store.get_topology(live).status == Status.ACTIVE
                and not e2e.ctx.store.get_topology(live).needs_resync
            ),
            what="the degraded topology to converge",
        )
    assert containers_by_decky(live)[("web", "base")] == 1


def test_the_watcher_converges_runtime_drift_by_itself(e2e: E2E, live: str) -> None:
    before = containers_by_decky(live)
    docker("rm", "-f", f"decnet-{live}.gw.ssh")
    with watcher(e2e, "--drift-every", "1"):
        wait_until(lambda: containers_by_decky(live) == before, what="the container to be back")
    assert any(
        e.type == "drift.finding" and e.payload["state"] == "runtime_drift"
        for e in e2e.ctx.store.events_since(0, topology=live, limit=100_000)
    )
    assert e2e.ctx.store.get_topology(live).status == Status.ACTIVE
