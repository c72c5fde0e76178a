"""End to end: the real engine, the real playbooks, the local Docker engine.

Each test deploys into its own DECNET_HOME/database with a unique topology name and a random
subnet pool; the `e2e` fixture removes whatever carries the topology's label afterwards.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import signal
import sqlite3
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from e2e_support import (
    DOCKER_SKIP,
    E2E,
    descendants,
    docker,
    inspect,
    labelled_containers,
    labelled_networks,
    running_containers,
)
from subnet_pools import fresh_pool

from decnet.engine.context import Context
from decnet.engine.drift import drift
from decnet.engine.leases import recover_stale
from decnet.engine.lifecycle import deploy, status, teardown
from decnet.engine.rollout import RolloutOptions
from decnet.engine.topologies import create_topology, delete_topology, generate_topology
from decnet.errors import InvalidTopology
from decnet.models import Decky, GeneratorParams, Lan, Membership, Topology
from decnet.store import Store

pytestmark = [pytest.mark.docker, DOCKER_SKIP]

HOST_BASE = Path("/var/lib/decnet/topologies")


# --- helpers -------------------------------------------------------------------------------


def expected_containers(t: Topology) -> set[str]:
    names = set()
    for d in t.deckies:
        names.add(f"decnet-{t.name}.{d.name}")
        names.update(f"decnet-{t.name}.{d.name}.{s}" for s in d.services)
    return names


def small_topology(
    name: str,
    *,
    images: dict[str, str] | None = None,
    ssh_config: dict[str, str] | None = None,
) -> Topology:
    """dmz: gw (http); lan-1: a (ssh), b (http); gw bridges nothing, `br` bridges dmz/lan-1."""
    return Topology(
        name=name,
        host="localhost",
        images=images or {},
        lans=[Lan(name="dmz", is_dmz=True), Lan(name="lan-1")],
        deckies=[
            Decky(
                name="gw", home_lan="dmz", memberships=[Membership(lan="dmz")], services=["http"]
            ),
            Decky(
                name="br",
                home_lan="lan-1",
                memberships=[Membership(lan="lan-1"), Membership(lan="dmz")],
                services=["http"],
                forwards_l3=True,
            ),
            Decky(
                name="a",
                home_lan="lan-1",
                memberships=[Membership(lan="lan-1")],
                services=["ssh"],
                service_config={"ssh": ssh_config} if ssh_config else {},
            ),
            Decky(
                name="b", home_lan="lan-1", memberships=[Membership(lan="lan-1")], services=["http"]
            ),
        ],
    )


def create_small(e2e: E2E, name: str, **kw: object) -> Topology:
    return create_topology(
        e2e.ctx.store, small_topology(name, **kw), catalog=e2e.ctx.catalog, pool=fresh_pool()
    )


def current_status(e2e: E2E, name: str) -> str:
    return status(e2e.ctx, name)[0].status


def tcp_ok(from_container: str, ip: str, port: int, attempts: int = 10) -> bool:
    """A TCP connect from inside `from_container`; retried while the lure starts listening.

    The lure image's BusyBox nc has no `-z`: connect with empty stdin and check the exit code.
    """
    script = f"nc -w 2 {ip} {port} </dev/null >/dev/null"
    for _ in range(attempts):
        probe = docker("exec", from_container, "sh", "-c", script, check=False)
        if probe.returncode == 0:
            return True
        time.sleep(0.5)
    return False


def container_env(container: str) -> list[str]:
    return inspect(container)[0]["Config"]["Env"]


# --- 1. a generated maze -------------------------------------------------------------------


def test_generated_topology_deploys_with_networks_ips_and_reachability(e2e: E2E) -> None:
    name = e2e.new_name()
    params = GeneratorParams(
        name=name,
        depth=2,
        branching=2,
        deckies_min=2,
        deckies_max=3,
        forward_p=0.5,
        services=["ssh", "http"],
        subnet_pool=fresh_pool(),
        seed=1,
    )
    t = generate_topology(e2e.ctx.store, params, host="localhost", catalog=e2e.ctx.catalog)
    assert len(t.deckies) >= 10

    report = deploy(e2e.ctx, [name])
    assert report.ok, report
    assert current_status(e2e, name) == "active"

    # every container runs, with its labels
    assert set(running_containers(name)) == expected_containers(t)
    for d in t.deckies:
        base = inspect(f"decnet-{name}.{d.name}")[0]
        labels = base["Config"]["Labels"]
        assert labels["decnet.topology"] == name
        assert labels["decnet.decky"] == d.name
        assert labels["decnet.role"] == "base"
        for s in d.services:
            svc = inspect(f"decnet-{name}.{d.name}.{s}")[0]["Config"]["Labels"]
            assert (svc["decnet.role"], svc["decnet.service"], svc["decnet.decky"]) == (
                "service",
                s,
                d.name,
            )
        # each base holds its IPs
        nets = base["NetworkSettings"]["Networks"]
        for m in d.memberships:
            assert nets[f"decnet-{name}.{m.lan}"]["IPAddress"] == m.ip
        forward = docker("exec", base["Name"].lstrip("/"), "cat", "/proc/sys/net/ipv4/ip_forward")
        assert forward.stdout.strip() == ("1" if d.forwards_l3 else "0"), d.name

    assert any(d.forwards_l3 for d in t.deckies), "seed 1 should give a forwarding bridge"
    assert sorted(labelled_networks(name)) == sorted(f"decnet-{name}.{lan.name}" for lan in t.lans)
    for lan in t.lans:
        net = inspect(f"decnet-{name}.{lan.name}", network=True)[0]
        assert net["IPAM"]["Config"][0]["Subnet"] == lan.subnet
        assert net["Internal"] is (not lan.is_dmz), lan.name
        assert net["Labels"]["decnet.topology"] == name
        assert net["Labels"]["decnet.lan"] == lan.name

    # reachability: same LAN yes, foreign LAN no, a bridge reaches both of its LANs
    def plain_on(lan: str) -> list[Decky]:
        return [d for d in t.deckies if d.home_lan == lan and len(d.memberships) == 1]

    inner = [lan.name for lan in t.lans if not lan.is_dmz]
    src, dst = plain_on(inner[0])[:2]
    foreign = plain_on(inner[1])[0]
    assert tcp_ok(f"decnet-{name}.{src.name}", dst.ip_on(inner[0]) or "", 22)
    assert tcp_ok(f"decnet-{name}.{src.name}", dst.ip_on(inner[0]) or "", 80)
    assert not tcp_ok(f"decnet-{name}.{src.name}", foreign.ip_on(inner[1]) or "", 22, attempts=1)
    bridge = next(d for d in t.deckies if len(d.memberships) > 1)
    for m in bridge.memberships:
        peer = next(
            d
            for d in t.deckies
            if d.name != bridge.name and any(x.lan == m.lan for x in d.memberships)
        )
        assert tcp_ok(f"decnet-{name}.{bridge.name}", peer.ip_on(m.lan) or "", 22), m.lan


# --- 2. idempotence and a one-decky change ---------------------------------------------------


def test_redeploy_is_a_noop_and_a_one_decky_change_recreates_only_it(e2e: E2E) -> None:
    name = e2e.new_name()
    create_small(e2e, name)
    assert deploy(e2e.ctx, [name]).ok
    before = labelled_containers(name)

    again = deploy(e2e.ctx, [name])
    assert again.ok
    assert [o.changed for o in again.topologies] == [False]
    assert again.hosts["localhost"]["changed"] == 0
    assert labelled_containers(name) == before

    # A live topology cannot be edited in the store (replace_topology is pending-only, delete
    # needs failed/torn down), so the change goes through the one supported knob that reaches
    # a live topology: the site image override (DECNET_IMAGES). Only decky `a` runs ssh, so
    # pointing ssh at another tag of the same image changes that one decky only.
    alt = f"decnet-e2e-{uuid.uuid4().hex[:6]}:0.1"
    docker("tag", "decnet-lure:0.1", alt)
    try:
        settings = dataclasses.replace(
            e2e.settings, site_images={**e2e.settings.site_images, "ssh": alt}
        )
        changed = deploy(Context.open(settings), [name])
        assert changed.ok
        assert [o.changed for o in changed.topologies] == [True]
        after = labelled_containers(name)
        assert after.keys() == before.keys()
        recreated = {n for n in before if before[n] != after[n]}
        assert recreated, "the ssh container of decky a should be recreated"
        assert recreated <= {f"decnet-{name}.a", f"decnet-{name}.a.ssh"}
        assert inspect(f"decnet-{name}.a.ssh")[0]["Config"]["Image"] == alt
    finally:
        docker("rmi", alt, check=False)  # untag only (the image stays in use under its name)


# --- 3. teardown -----------------------------------------------------------------------------


def test_teardown_removes_everything_labelled(e2e: E2E) -> None:
    name = e2e.new_name()
    create_small(e2e, name)
    assert deploy(e2e.ctx, [name]).ok
    assert labelled_containers(name) and labelled_networks(name)

    report = teardown(e2e.ctx, [name])
    assert report.ok, report
    assert labelled_containers(name) == {}
    assert labelled_networks(name) == []
    assert current_status(e2e, name) == "torn_down"


# --- 4. a missing image ----------------------------------------------------------------------


def test_missing_image_fails_cleanly_then_fixed_topology_deploys(e2e: E2E) -> None:
    name = e2e.new_name()
    create_small(e2e, name, images={"ssh": "decnet-no-such-image:0"})
    report = deploy(e2e.ctx, [name])
    assert not report.ok
    (out,) = report.topologies
    assert out.status == "failed"
    assert "decnet-no-such-image" in out.reason
    view = status(e2e.ctx, name)[0]
    assert view.status == "failed"
    assert "decnet-no-such-image" in (view.recent[0].get("reason") or "")
    assert labelled_containers(name) == {}
    assert labelled_networks(name) == []

    # images are not editable after create: a failed topology is deletable, so re-create it
    delete_topology(e2e.ctx.store, name)
    create_small(e2e, name)
    assert deploy(e2e.ctx, [name]).ok
    assert current_status(e2e, name) == "active"


# --- 5. the controller killed mid-deploy -----------------------------------------------------


def test_sigkill_mid_deploy_recovers_to_failed_then_redeploys(e2e: E2E) -> None:
    name = e2e.new_name()
    t = create_small(e2e, name)
    proc = subprocess.Popen(
        [str(Path(".venv/bin/decnet").resolve()), "--db", str(e2e.db), "deploy", name],
        env=e2e.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        watcher = Store(e2e.db)
        deadline = time.monotonic() + 60
        while watcher.get_topology(name).status != "deploying":
            assert proc.poll() is None, "deploy ended before it was seen deploying"
            assert time.monotonic() < deadline, "never reached deploying"
            time.sleep(0.02)
        # stopped first: a fork after the listing (ansible-runner's) would outlive the kill
        # and write the deploy's own abort
        os.kill(proc.pid, signal.SIGSTOP)
        tree = descendants(proc.pid)
        os.kill(proc.pid, signal.SIGKILL)
        for pid in tree:  # the whole controller dies, ansible-playbook included
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)
    assert Store(e2e.db).get_topology(name).status == "deploying"

    shown = e2e.cli("status", name, "--json")
    assert shown.returncode == 0, shown.stderr
    (view,) = json.loads(shown.stdout)
    assert view["status"] == "failed"
    assert "recovered" in (view["recent"][0]["reason"] or "")

    assert deploy(e2e.ctx, [name]).ok
    assert current_status(e2e, name) == "active"
    containers = docker(
        "ps", "-a", "--filter", f"label=decnet.topology={name}", "--format", "{{.Names}}"
    ).stdout.split()
    assert sorted(containers) == sorted(expected_containers(t))  # one of each, no duplicates


# --- 6. a canary secret ----------------------------------------------------------------------


def test_canary_secret_stays_out_of_artifacts_events_and_output(e2e: E2E) -> None:
    name = e2e.new_name()
    canary = f"CANARY-{uuid.uuid4().hex}"
    create_small(e2e, name, ssh_config={"password": canary})

    deployed = e2e.cli("deploy", name, "--json")
    assert deployed.returncode == 0, deployed.stderr
    assert json.loads(deployed.stdout)["topologies"][0]["status"] == "active"
    outputs = [deployed]
    outputs.append(e2e.cli("status", name))
    outputs.append(e2e.cli("status", name, "--json"))
    outputs.append(e2e.cli("topology", "show", name))
    outputs.append(e2e.cli("topology", "show", name, "--json"))
    for res in outputs:
        assert res.returncode == 0, (res.args, res.stderr)
        assert canary not in res.stdout + res.stderr, res.args

    leaked = subprocess.run(
        ["grep", "-rl", canary, str(e2e.home)], capture_output=True, text=True, check=False
    )
    assert leaked.stdout == "", f"canary found in {leaked.stdout}"
    assert (e2e.home / "runs").is_dir()

    with sqlite3.connect(e2e.db) as conn:
        rows = conn.execute("SELECT * FROM event").fetchall()
        runs = conn.execute("SELECT * FROM run").fetchall()
    assert rows
    assert canary not in repr(rows)
    assert canary not in repr(runs)

    compose = HOST_BASE / name / "compose.yml"
    assert compose.stat().st_mode & 0o777 == 0o600
    assert canary in compose.read_text()
    assert f"DECNET_SSH_PASSWORD={canary}" in container_env(f"decnet-{name}.a.ssh")


# --- 7. awkward config values ----------------------------------------------------------------


def test_awkward_banner_reaches_the_container_env_literally(e2e: E2E) -> None:
    name = e2e.new_name()
    banner = "SSH-2.0-x\nline two: a # not a comment $HOME ${HOME} {{ not_jinja }} {% raw %}'\""
    create_small(e2e, name, ssh_config={"banner": banner})
    assert deploy(e2e.ctx, [name]).ok
    assert f"DECNET_SSH_BANNER={banner}" in container_env(f"decnet-{name}.a.ssh")


# --- 8. dry run ------------------------------------------------------------------------------


def test_dry_run_changes_no_status_and_creates_nothing(e2e: E2E) -> None:
    name = e2e.new_name()
    create_small(e2e, name)
    events_before = len(e2e.ctx.store.events_since(0))
    res = e2e.cli("deploy", "--dry-run", name, "--json")
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["topologies"][0]["status"] == "would-apply"
    assert current_status(e2e, name) == "pending"
    assert labelled_containers(name) == {}
    assert labelled_networks(name) == []
    assert len(e2e.ctx.store.events_since(0)) == events_before
    assert RolloutOptions().dry_run is False  # the engine default stays a real run


# --- 9. Docker names that once collided across topologies ------------------------------------


def one_decky(name: str, decky: str) -> Topology:
    return Topology(
        name=name,
        lans=[Lan(name="dmz", is_dmz=True)],
        deckies=[
            Decky(name=decky, home_lan="dmz", memberships=[Membership(lan="dmz")], services=["ssh"])
        ],
    )


def test_topologies_whose_dash_joined_names_collide_deploy_side_by_side(e2e: E2E) -> None:
    """Topology A with decky `b-gw` and topology A-b with decky `gw` were both
    `decnet-A-b-gw`; with `.` joining the parts they run next to each other on one engine."""
    first = e2e.new_name()
    second = f"{first}-b"
    e2e.names.append(second)
    pool = fresh_pool()
    for name, decky in ((first, "b-gw"), (second, "gw")):
        create_topology(e2e.ctx.store, one_decky(name, decky), catalog=e2e.ctx.catalog, pool=pool)

    report = deploy(e2e.ctx, [first, second])
    assert report.ok, report
    assert set(running_containers(first)) == {f"decnet-{first}.b-gw", f"decnet-{first}.b-gw.ssh"}
    assert set(running_containers(second)) == {f"decnet-{second}.gw", f"decnet-{second}.gw.ssh"}
    assert labelled_networks(first) == [f"decnet-{first}.dmz"]
    assert labelled_networks(second) == [f"decnet-{second}.dmz"]

    assert teardown(e2e.ctx, [first]).ok
    assert labelled_containers(first) == {} and labelled_networks(first) == []
    assert set(running_containers(second)) == {f"decnet-{second}.gw", f"decnet-{second}.gw.ssh"}
    assert teardown(e2e.ctx, [second]).ok
    assert labelled_containers(second) == {} and labelled_networks(second) == []


# --- 10. a service removed from the catalogue after deploy -----------------------------------


def test_a_service_gone_from_the_catalogue_is_reported_refused_and_torn_down(e2e: E2E) -> None:
    name = e2e.new_name()
    create_small(e2e, name)
    assert deploy(e2e.ctx, [name]).ok
    services = {k: v for k, v in e2e.ctx.catalog.services.items() if k != "http"}
    catalog = e2e.ctx.catalog.model_copy(update={"services": services})
    ctx = dataclasses.replace(e2e.ctx, catalog=catalog)

    (view,) = status(ctx, name)
    assert view.status == "active" and view.desired_hash is None
    assert {p.code for p in view.problems} == {"SERVICE_UNKNOWN"}
    assert all("'http'" in p.message for p in view.problems)

    report = drift(ctx)
    (finding,) = [f for f in report.findings if f.name == name]
    assert finding.state == "unknown"
    assert any("'http'" in d and "not in the catalogue" in d for d in finding.details)
    assert report.exit_code == 1

    with pytest.raises(InvalidTopology, match="SERVICE_UNKNOWN"):
        deploy(ctx, [name])
    assert current_status(e2e, name) == "active"

    # Teardown removes by label, so it still removes everything, the http containers too.
    assert teardown(ctx, [name]).ok
    assert labelled_containers(name) == {} and labelled_networks(name) == []


# --- 11. a topology moved on by another command while its run is in flight -------------------


def test_a_forced_recovery_mid_run_still_lets_the_run_finish_every_topology(e2e: E2E) -> None:
    """An operator's `--force` recovery of one topology while a real deploy of two runs: the
    finish step cannot move it (IllegalTransition), yet the other ends active, the run is
    closed, and nothing stays in flight."""
    first, second = e2e.new_name(), e2e.new_name()
    create_small(e2e, first)
    create_small(e2e, second)
    forced: list[list[str]] = []

    def on_event(_event: object) -> None:
        if not forced:
            forced.append(recover_stale(Store(e2e.db), force=True, names=[first]))

    report = deploy(e2e.ctx, [first, second], on_event=on_event)
    assert forced == [[first]]
    outcomes = {o.name: o for o in report.topologies}
    assert outcomes[second].status == "active"
    assert outcomes[first].status == "failed"
    assert "could not be recorded" in outcomes[first].reason
    assert current_status(e2e, first) == "failed" and current_status(e2e, second) == "active"
    run = e2e.ctx.store.get_run(report.run_id)
    assert run.status == "abandoned" and run.finished_at is not None
    assert deploy(e2e.ctx, [first]).ok  # failed -> deploying: the usual retry
