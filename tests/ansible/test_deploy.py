"""deploy.yml / teardown.yml on the real engine: apply, idempotence, change, check, failures."""

from __future__ import annotations

import json
import socket
import stat
import subprocess

import pytest
from ansible_support import Decky, labelled

pytestmark = pytest.mark.docker


def test_deploy_is_idempotent_and_changes_only_what_changed(make_topo) -> None:
    topo = make_topo()
    topo.desired_hash = "a" * 64
    topo.write_bundle()

    first = topo.deploy()
    assert first.rc == 0, first.out
    # the quick look installed the host files, the job applied the topology
    assert first.recap["changed"] == 2 and first.recap["failed"] == 0
    running = topo.containers()
    assert sorted(running) == sorted(
        f"decnet-{topo.name}-{k}" for k in ("gw", "gw-ssh", "ws", "ws-http")
    )
    assert all(c["State"]["Running"] for c in running.values())
    compose = topo.topo_dir / "compose.yml"
    assert stat.S_IMODE(compose.stat().st_mode) == 0o600
    assert stat.S_IMODE(topo.topo_dir.stat().st_mode) == 0o700
    assert compose.read_text() == topo.compose()
    applied = topo.applied()
    assert applied["topology"] == topo.name and applied["applied_hash"] == "a" * 64
    assert set(applied) == {"topology", "applied_hash", "applied_at", "services"}
    before = topo.container_ids()

    again = topo.deploy()
    assert again.rc == 0, again.out
    assert again.recap["changed"] == 0, again.out
    assert topo.container_ids() == before
    assert topo.applied() == applied

    # check mode with a changed decky: reported as a change, nothing touched
    topo.deckies[1].env = {"DECNET_HTTP_TITLE": "Intranet"}
    topo.desired_hash = "b" * 64
    topo.write_bundle()
    checked = topo.deploy(check=True)
    assert checked.rc == 0, checked.out
    assert checked.recap["changed"] == 1
    assert topo.container_ids() == before
    assert topo.applied()["applied_hash"] == "a" * 64
    assert "Intranet" not in compose.read_text()

    # the real change recreates only the changed decky's service container
    changed = topo.deploy()
    assert changed.rc == 0, changed.out
    assert changed.recap["changed"] == 1
    after = topo.container_ids()
    recreated = {name for name in after if after[name] != before.get(name)}
    assert recreated == {f"decnet-{topo.name}-ws-http"}
    assert topo.applied()["applied_hash"] == "b" * 64

    # a base restarted outside compose leaves its services in a dead namespace: re-deploy fixes it
    subprocess.run(["docker", "restart", "-t", "1", f"decnet-{topo.name}-gw"], check=True)
    fixed = topo.deploy()
    assert fixed.rc == 0 and fixed.recap["changed"] == 1, fixed.out
    state = {n: c["State"]["StartedAt"] for n, c in topo.containers().items()}
    assert state[f"decnet-{topo.name}-gw-ssh"] > state[f"decnet-{topo.name}-gw"]
    assert topo.deploy().recap["changed"] == 0

    down = topo.teardown()
    assert down.rc == 0 and down.recap["changed"] == 1, down.out
    assert labelled(topo.name) == ([], [])
    assert not topo.topo_dir.exists()
    assert topo.teardown().recap["changed"] == 0


def test_bad_image_fails_with_docker_error_and_rolls_back(make_topo) -> None:
    topo = make_topo([Decky("gw", 2, ["ssh"], image="decnet-no-such-image:0")])
    topo.write_bundle()
    run = topo.deploy()
    assert run.rc != 0
    assert run.recap["failed"] == 1
    assert "decnet-no-such-image" in run.out and "No such image" in run.out, run.out
    assert "rolled back" in run.out
    assert labelled(topo.name) == ([], [])
    assert not topo.topo_dir.exists()


def test_crashing_container_fails_verification_and_rolls_back(make_topo) -> None:
    topo = make_topo([Decky("gw", 2), Decky("ws", 3, command=("false",))])
    topo.write_bundle()
    run = topo.deploy()
    assert run.rc != 0
    assert f"container decnet-{topo.name}-ws" in run.out and "rolled back" in run.out, run.out
    assert labelled(topo.name) == ([], [])
    assert not topo.topo_dir.exists()


def test_failure_after_an_apply_keeps_the_previous_record(make_topo) -> None:
    topo = make_topo()
    topo.desired_hash = "c" * 64
    topo.write_bundle()
    assert topo.deploy().rc == 0
    good = topo.compose()
    topo.deckies[1].image = "decnet-no-such-image:0"
    topo.desired_hash = "d" * 64
    topo.write_bundle()
    run = topo.deploy()
    assert run.rc != 0 and "No such image" in run.out, run.out
    assert topo.applied()["applied_hash"] == "c" * 64
    assert (topo.topo_dir / "compose.yml").read_text() == good
    running = topo.containers()
    assert running[f"decnet-{topo.name}-gw"]["State"]["Running"]


def test_port_in_use_fails_before_any_change(make_topo) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        topo = make_topo([Decky("gw", 2, ["ssh"], ports=[f"{port}:22"])])
        topo.write_bundle()
        run = topo.deploy()
    assert run.rc != 0
    assert f"host port {port}/tcp" in run.out and "pre-flight failed" in run.out, run.out
    assert labelled(topo.name) == ([], [])
    assert not topo.topo_dir.exists()


def test_port_published_by_another_container_fails_before_any_change(make_topo) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    owner = make_topo([Decky("gw", 2, ports=[f"{port}:22"])])
    owner.write_bundle()
    assert owner.deploy().rc == 0
    topo = make_topo([Decky("gw", 2, ports=[f"{port}:80"])])
    topo.write_bundle()
    run = topo.deploy()
    assert run.rc != 0
    assert f"already published by container decnet-{owner.name}-gw" in run.out, run.out
    assert labelled(topo.name) == ([], [])
    # re-applying the owner is fine: its own port does not count against it
    assert owner.deploy().recap["changed"] == 0


def test_one_failing_topology_does_not_stop_the_others(make_topo) -> None:
    good = make_topo([Decky("gw", 2)])
    bad = make_topo([Decky("gw", 2, image="decnet-no-such-image:0")])
    bad.shared_bundle = good.bundle
    good.write_bundle(hosts={"localhost": [bad.name, good.name]})
    bad.write_bundle(hosts={"localhost": [bad.name, good.name]})
    run = good.deploy()
    assert run.rc != 0
    assert run.recap["failed"] == 1
    assert f"topology {bad.name}: docker compose up failed" in run.out, run.out
    assert (
        f"(item={bad.name})" in run.out and f"failed: [localhost] (item={good.name})" not in run.out
    )
    assert len(good.containers()) == 1 and good.applied()["topology"] == good.name
    assert labelled(bad.name) == ([], [])


def test_subnet_taken_by_another_network_fails_before_any_change(make_topo) -> None:
    topo = make_topo()
    other = f"decnet-test-{topo.name}-other"
    subprocess.run(
        ["docker", "network", "create", "--subnet", f"{topo.prefix}.0/25", other],
        check=True,
        capture_output=True,
    )
    try:
        topo.write_bundle()
        run = topo.deploy()
    finally:
        subprocess.run(["docker", "network", "rm", other], check=False, capture_output=True)
    assert run.rc != 0
    assert "overlaps" in run.out and other in run.out, run.out
    assert labelled(topo.name) == ([], [])


def test_teardown_removes_exactly_the_topology(make_topo) -> None:
    topo = make_topo([Decky("gw", 2)])
    bystander = make_topo([Decky("gw", 2)])
    for t in (topo, bystander):
        t.write_bundle()
        assert t.deploy().rc == 0
    # a stray container labelled with the topology (not from compose) goes too
    subprocess.run(
        ["docker", "create", "--label", f"decnet.topology={topo.name}", "--name",
         f"decnet-{topo.name}-stray", topo.deckies[0].image, "sleep", "1"],
        check=True, capture_output=True,
    )  # fmt: skip
    assert topo.teardown().rc == 0
    assert labelled(topo.name) == ([], [])
    containers, networks = labelled(bystander.name)
    assert len(containers) == 1 and len(networks) == 1


def test_host_without_topology_does_nothing(make_topo) -> None:
    topo = make_topo()
    topo.write_bundle(hosts={"elsewhere": [topo.name]})
    run = topo.deploy()
    assert run.rc == 0, run.out
    assert run.recap["changed"] == 0
    assert labelled(topo.name) == ([], [])


@pytest.mark.parametrize("bundle", ["", "/nonexistent/bundle"])
def test_missing_bundle_fails_early(make_topo, bundle: str) -> None:
    topo = make_topo()
    run = topo.playbook("deploy", "-e", json.dumps({"decnet_bundle_dir": bundle}))
    assert run.rc != 0
    assert "decnet_bundle_dir" in run.out and "bundle.json" in run.out, run.out
