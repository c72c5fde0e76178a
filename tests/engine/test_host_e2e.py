"""The host side through the engine, on the local Docker engine: exact secret masking, failure
causes, leftovers, a non-default base dir, and (marked slow) bounded concurrency and progress.

Every test runs with its own inventory (localhost, short progress polls) and DECNET_HOME; the
`e2e` fixture removes whatever carries the topology's label afterwards.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import stat
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e_support import (
    DOCKER_SKIP,
    E2E,
    docker,
    labelled_containers,
    labelled_networks,
)
from subnet_pools import fresh_pool

from decnet.core.render import compose_model
from decnet.engine.context import Context
from decnet.engine.drift import IN_SYNC, drift
from decnet.engine.lifecycle import deploy, teardown
from decnet.engine.rollout import RolloutOptions
from decnet.engine.topologies import create_topology
from decnet.models import Decky, Lan, Membership, Status, Topology
from decnet.runner.ansible import PlaybookJob, RunnerEvent, run_playbook
from decnet.settings import PROJECT_ROOT

pytestmark = [pytest.mark.docker, DOCKER_SKIP]

SECRET = "zq"
"""Two characters, none of them hex (names here are hex): it shows up nowhere by chance."""
CRASH_SCRIPT = (
    'echo "banner $DECNET_SSH_BANNER, login failed for root/$DECNET_SSH_PASSWORD" >&2; exit 3'
)


@dataclasses.dataclass
class Host:
    """An e2e environment whose context uses a private inventory (and maybe base dir)."""

    e2e: E2E
    ctx: Context
    inventory: Path

    def create(self, t: Topology) -> Topology:
        self.e2e.names.append(t.name)
        return create_topology(self.ctx.store, t, catalog=self.ctx.catalog, pool=fresh_pool())

    def names(self, t: Topology) -> dict[str, str]:
        """compose service key -> container name, from the renderer (not spelled out here)."""
        model = compose_model(t, self.ctx.catalog, self.ctx.settings.site_images)
        return {k: s["container_name"] for k, s in model["services"].items()}

    def network_names(self, t: Topology) -> list[str]:
        model = compose_model(t, self.ctx.catalog, self.ctx.settings.site_images)
        return sorted(n["name"] for n in model["networks"].values())


def write_inventory(path: Path, **hostvars: object) -> Path:
    host = {
        "ansible_connection": "local",
        "ansible_python_interpreter": "{{ ansible_playbook_python }}",
        "decnet_topology_poll_interval": 0.5,
        "decnet_topology_settle": 0.5,
        **hostvars,
    }
    path.write_text(json.dumps({"all": {"hosts": {"localhost": host}}}))
    return path


def host_env(e2e: E2E, tmp_path: Path, **hostvars: object) -> Host:
    inventory = write_inventory(tmp_path / "inventory.json", **hostvars)
    settings = dataclasses.replace(e2e.settings, inventory=inventory)
    return Host(e2e, Context.open(settings), inventory)


@pytest.fixture
def host(e2e: E2E, tmp_path: Path) -> Host:
    return host_env(e2e, tmp_path)


@pytest.fixture
def crash_image() -> Iterator[str]:
    """The lure image with an entrypoint that prints its configuration and exits 3."""
    tag = f"decnet-e2e-crash-{uuid.uuid4().hex[:6]}:0.1"
    cid = docker("create", "decnet-lure:0.1").stdout.strip()
    try:
        entrypoint = json.dumps(["/bin/sh", "-c", CRASH_SCRIPT])
        docker("commit", "--change", f"ENTRYPOINT {entrypoint}", "--change", "CMD []", cid, tag)
    finally:
        docker("rm", "-f", cid, check=False)
    yield tag
    docker("rmi", "-f", tag, check=False)


def topology(
    name: str, deckies: int = 1, ssh_config: dict[str, Any] | None = None, **kw: Any
) -> Topology:
    """dmz: gw; lan-1: d1..d(N-1), every decky running ssh (gw's configured with `ssh_config`)."""
    ds = [
        Decky(
            name="gw",
            home_lan="dmz",
            memberships=[Membership(lan="dmz")],
            services=["ssh"],
            service_config={"ssh": ssh_config} if ssh_config else {},
        )
    ]
    for i in range(1, deckies):  # d1 bridges lan-1 to the DMZ
        lans = [Membership(lan="lan-1")] + ([Membership(lan="dmz")] if i == 1 else [])
        ds.append(Decky(name=f"d{i}", home_lan="lan-1", memberships=lans, services=["ssh"]))
    nets = [Lan(name="dmz", is_dmz=True)] + ([Lan(name="lan-1")] if deckies > 1 else [])
    return Topology(name=name, host="localhost", lans=nets, deckies=ds, **kw)


def flat(text: str) -> str:
    return " ".join(text.split())


# --- item 5: exactly the secret values are masked ------------------------------------------


def test_secret_is_masked_exactly_in_reason_events_and_artifacts(
    host: Host, crash_image: str
) -> None:
    t = host.create(
        topology(host.e2e.new_name(), ssh_config={"password": SECRET}, images={"ssh": crash_image})
    )
    banner = t.deckies[0].service_config["ssh"]["banner"]  # the decky's persona (create gave it)
    report = deploy(host.ctx, [t.name])
    (out,) = report.topologies
    assert out.status == Status.FAILED
    ssh = next(name for key, name in host.names(t).items() if key.endswith(".ssh"))
    reason = flat(out.reason)
    # the names and the non-secret banner read as they are; only the password is masked
    crashed = (f"container {ssh} is restarting (exit code 3)", f"container {ssh} keeps restarting")
    assert any(c in reason for c in crashed), reason
    assert f"banner {banner}, login failed for root/********" in reason, reason
    assert SECRET not in reason
    rows = host.ctx.store.events_since(0, limit=10000)
    assert any(r.type == "task.failed" and "root/********" in json.dumps(r.payload) for r in rows)
    assert SECRET not in json.dumps([r.payload for r in rows])
    leaked = subprocess.run(
        ["grep", "-rl", SECRET, str(host.e2e.home / "runs")], capture_output=True, text=True
    )
    assert leaked.stdout == "", f"the secret is in {leaked.stdout}"
    assert labelled_containers(t.name) == {} and labelled_networks(t.name) == []


# --- item 13: the cause, not `exit status 1`; teardown says exactly what is left -----------


def test_teardown_names_the_cause_and_exactly_what_is_left(host: Host) -> None:
    t = host.create(topology(host.e2e.new_name()))
    assert deploy(host.ctx, [t.name]).ok
    net = host.network_names(t)[0]
    foreign = f"e2e-foreign-{uuid.uuid4().hex[:6]}"
    docker("run", "-d", "--name", foreign, "--network", net, "decnet-lure:0.1", "sleep", "600")
    try:
        report = teardown(host.ctx, [t.name])
        (out,) = report.topologies
        assert out.status == Status.FAILED
        reason = flat(out.reason)
        assert f"teardown left 1 network ({net})" in reason, reason
        assert f"network {net}: has active endpoints ({foreign})" in reason, reason
        assert "exit status" not in reason
        assert labelled_containers(t.name) == {}
        assert labelled_networks(t.name) == [net]
    finally:
        docker("rm", "-f", foreign, check=False)
    again = teardown(host.ctx, [t.name])
    assert again.ok, again.topologies
    assert labelled_networks(t.name) == []


# --- item 19: a non-default base dir, from prepare to drift -----------------------------------


def stamps(directory: Path) -> dict[str, tuple[int, int, int]]:
    """name -> (inode, mtime, mode) of each file: a rewrite changes the inode (atomic rename)."""
    return {
        p.name: (p.stat().st_ino, p.stat().st_mtime_ns, stat.S_IMODE(p.stat().st_mode))
        for p in directory.iterdir()
    }


def test_non_default_base_dir_deploys_and_drifts_in_sync(e2e: E2E, tmp_path: Path) -> None:
    base, facts = tmp_path / "srv" / "topologies", tmp_path / "facts.d"
    host = host_env(e2e, tmp_path, decnet_base_dir=str(base), decnet_facts_dir=str(facts))
    prep = run_playbook(PlaybookJob("prepare.yml", host.inventory, tmp_path / "prepare"))
    assert prep.status == "successful", {h: o.messages for h, o in prep.hosts.items()}
    prepared = stamps(facts)
    t = host.create(topology(e2e.new_name()))
    assert deploy(host.ctx, [t.name]).ok
    assert stamps(facts) == prepared  # the deploy found prepare's host files current
    assert (base / t.name / "applied.json").is_file()
    assert not Path(f"/var/lib/decnet/topologies/{t.name}").exists()
    report = drift(host.ctx)
    assert [(f.name, f.state, f.details) for f in report.findings] == [(t.name, IN_SYNC, [])]
    assert teardown(host.ctx, [t.name]).ok
    assert not (base / t.name).exists()


# --- first deploy -> drift, without a preparation step ----------------------------------------


def test_first_deploy_prepares_the_host_for_drift(e2e: E2E, tmp_path: Path) -> None:
    """A host decnet never touched (no fact, no base dir): deploy installs the host files, drift
    says in sync; a re-deploy of the unchanged topology writes nothing; a tampered fact is put
    back by the next deploy, the topology itself unchanged."""
    base, facts = tmp_path / "srv" / "topologies", tmp_path / "etc" / "facts.d"
    host = host_env(e2e, tmp_path, decnet_base_dir=str(base), decnet_facts_dir=str(facts))
    t = host.create(topology(e2e.new_name()))

    first = deploy(host.ctx, [t.name])
    assert first.ok and [o.changed for o in first.topologies] == [True], first.topologies
    fact = PROJECT_ROOT / "roles" / "decnet_host" / "files" / "decnet.fact"
    assert (facts / "decnet.fact").read_bytes() == fact.read_bytes()
    assert json.loads((facts / "decnet.json").read_text()) == {"format": 1, "base_dir": str(base)}
    installed = stamps(facts)
    assert {name: mode for name, (_, _, mode) in installed.items()} == {
        "decnet.fact": 0o755,
        "decnet.json": 0o644,
    }
    assert stat.S_IMODE(base.stat().st_mode) == 0o700
    report = drift(host.ctx)
    assert [(f.name, f.state, f.details) for f in report.findings] == [(t.name, IN_SYNC, [])]
    assert report.exit_code == 0

    again = deploy(host.ctx, [t.name])
    assert again.ok and [o.changed for o in again.topologies] == [False]
    assert stamps(facts) == installed

    (facts / "decnet.fact").write_text("#!/bin/sh\necho '{}'\n")
    fixed = deploy(host.ctx, [t.name])
    assert fixed.ok and [o.changed for o in fixed.topologies] == [False]
    assert (facts / "decnet.fact").read_bytes() == fact.read_bytes()
    assert stamps(facts)["decnet.json"] == installed["decnet.json"]
    assert [f.state for f in drift(host.ctx).findings] == [IN_SYNC]
    assert teardown(host.ctx, [t.name]).ok


# --- scale: bounded concurrency, progress, exact leftovers of a rollback ----------------------


def docker_events(since: float, until: float) -> list[dict[str, Any]]:
    out = docker(
        "events", "--since", f"{since:.3f}", "--until", f"{until:.3f}", "--format", "{{json .}}"
    ).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def peak_overlap(intervals: list[tuple[int, int]]) -> int:
    edges = sorted([(a, 1) for a, _ in intervals] + [(b, -1) for _, b in intervals])
    now = peak = 0
    for _, step in edges:
        now += step
        peak = max(peak, now)
    return peak


def spans(
    events: list[dict[str, Any]], ids: set[str], begin: str, end: str
) -> list[tuple[int, int]]:
    """[begin, end] per container id, from docker events (`begin` on the container or, for
    `connect`, on a network with the container as attribute)."""
    starts: dict[str, int] = {}
    found = []
    for ev in events:
        action, attrs = ev.get("Action"), (ev.get("Actor") or {}).get("Attributes") or {}
        cid = attrs.get("container") if ev.get("Type") == "network" else ev.get("id")
        if cid not in ids:
            continue
        if action == begin and cid not in starts:
            starts[cid] = ev["timeNano"]
        elif action == end and cid in starts:
            found.append((starts.pop(cid), ev["timeNano"]))
    return found


@pytest.mark.slow
def test_concurrency_is_bounded_and_progress_is_reported(host: Host) -> None:
    t = host.create(topology(host.e2e.new_name(), deckies=14))
    containers = len(host.names(t))
    seen: list[RunnerEvent] = []
    t0 = time.time()
    report = deploy(host.ctx, [t.name], opts=RolloutOptions(concurrency=3), on_event=seen.append)
    t1 = time.time() + 1
    assert report.ok, report.topologies
    ids = set(labelled_containers(t.name).values())
    assert len(ids) == containers == 28
    events = docker_events(t0, t1)
    # a base's start: its network connect .. its start event (inside the `docker start` call)
    starts = spans(events, ids, "connect", "start")
    assert len(starts) == 14
    assert 2 <= peak_overlap(starts) <= 3, starts

    progress = [
        r.payload for r in host.ctx.store.events_since(0, limit=10000) if r.type == "task.progress"
    ]
    assert progress and all(p["topology"] == t.name and p["host"] == "localhost" for p in progress)
    assert {p["total"] for p in progress if p["phase"] in ("create", "start")} == {containers}
    started = [p["done"] for p in progress if p["phase"] == "start"]
    assert started == sorted(started) and started[-1] <= containers
    assert progress[-1]["phase"] == "done"
    assert any(e.kind == "progress" for e in seen)

    t0 = time.time()
    down = teardown(host.ctx, [t.name], opts=RolloutOptions(concurrency=3))
    t1 = time.time() + 1
    assert down.ok, down.topologies
    removals = spans(docker_events(t0, t1), ids, "kill", "destroy")
    assert len(removals) == containers
    assert peak_overlap(removals) <= 3, removals
    assert labelled_containers(t.name) == {} and labelled_networks(t.name) == []


@pytest.mark.slow
def test_a_failed_rollback_reports_exactly_what_is_left(host: Host, crash_image: str) -> None:
    """A service crashes (the deploy rolls back) while a foreign container holds one of the
    topology's networks: the reason lists that network, the containers are all gone."""
    t = host.create(topology(host.e2e.new_name(), deckies=6, images={"ssh": crash_image}))
    net = host.network_names(t)[0]
    dmz = next(lan for lan in t.lans if lan.is_dmz)
    spare = str(ipaddress.ip_network(dmz.subnet or "").broadcast_address - 1)  # no decky's
    foreign = f"e2e-foreign-{uuid.uuid4().hex[:6]}"
    docker("run", "-d", "--name", foreign, "decnet-lure:0.1", "sleep", "600")
    stop = threading.Event()

    def attach() -> None:  # as soon as compose has created the network
        while not stop.is_set():
            joined = docker("network", "connect", "--ip", spare, net, foreign, check=False)
            if joined.returncode == 0:
                return
            time.sleep(0.05)

    holder = threading.Thread(target=attach, daemon=True)
    holder.start()
    try:
        report = deploy(host.ctx, [t.name], opts=RolloutOptions(concurrency=2))
        stop.set()
        holder.join(timeout=10)
        (out,) = report.topologies
        reason = flat(out.reason)
        assert out.status == Status.FAILED
        assert "verification after compose up failed" in reason, reason
        assert f"rollback incomplete: 1 network ({net})" in reason, reason
        assert f"network {net}: has active endpoints ({foreign})" in reason, reason
        assert "rolled back: removed" not in reason
        assert labelled_containers(t.name) == {}
        assert labelled_networks(t.name) == [net]
    finally:
        stop.set()
        docker("rm", "-f", foreign, check=False)
