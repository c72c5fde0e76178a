"""Observation end to end on a testbed host over real SSH (docs/observe.md), as
tests/outputs/test_end_to_end.py runs it on the local engine: `decnet serve` on the testbed's
inventory deploys one decky with the real sensors on h2 (the sensor image shipped from the
controller), collects over SSH in-process and delivers to a real rsyslog, a JSONL file and a
webhook that verifies every signature. The intruder's real clients act from inside h2's networks
(the only place a decky answers). Then a flood of HTTP requests runs while the server — its
collector with it — is SIGKILLed and started again, h2's cable is pulled and plugged back, and a
live edit recreates the decky's sensor: every request the decky answered is one event, none is
doubled, and every view and output holds every event."""

from __future__ import annotations

import ipaddress
import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import clients
import pytest
from intruder import EXPECTED, PORTS, actions, flooded
from serve_support import Server, wait_for

from decnet.testbed import Testbed

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "outputs"))
from outputs_support import (
    Rsyslog,
    WebhookReceiver,
    add_outputs,
    api_events,
    delivered,
    delivered_all,
    rsyslog,
    sse_events,
    webhook,
)

pytestmark = [pytest.mark.testbed, pytest.mark.timeout(1800)]

FaultFn = Callable[[str, str], None]
HOST = "h2"
INTRUDER = Path(__file__).resolve().parents[1] / "intruder.py"
CLIENTS = Path(__file__).resolve().parents[1] / "clients.py"
SSH_PASSWORD = "remote-ssh-Decky-pw"
TELNET_PASSWORD = "remote-telnet-Decky-pw"
KEY = "remote-webhook-key-0123456789abcd"
FLOOD, RATE = 600, 8.0
"""HTTP requests of the flood and their rate: 75 s, long enough for the three faults."""
TIMEOUT = 900
"""A deploy or an edit with sensor containers on a testbed host, on two shared cores."""


@pytest.fixture
def soc(tmp_path: Path) -> Iterator[tuple[Rsyslog, WebhookReceiver]]:
    with rsyslog(tmp_path / "rsyslog") as syslog, webhook(KEY.encode()) as hook:
        yield syslog, hook


@pytest.fixture
def server(testbed: Testbed, tmp_path: Path) -> Iterator[Server]:
    srv = Server.start(
        tmp_path / "home", DECNET_INVENTORY=str(testbed.inventory_path), DECNET_IMAGES=""
    )
    try:
        yield srv
    finally:
        try:
            for name in srv.names:  # the host must be left as found: later tests start fresh
                assert srv.teardown(name, TIMEOUT)["state"] == "succeeded"
        finally:
            srv.stop()


def intruder(testbed: Testbed, *args: str, timeout: float, script: Path = INTRUDER) -> str:
    """tests/intruder.py (or `script`) ARGS in h2's network namespace; its output."""
    run = testbed.exec(HOST, sys.executable, str(script), *args, timeout=timeout, network_only=True)
    assert run.returncode == 0, run.stderr
    return run.stdout


def deploy(server: Server) -> tuple[str, str]:
    name = server.new_name()
    config = {"ssh": {"password": SSH_PASSWORD}, "telnet": {"password": TELNET_PASSWORD}}
    server.create_document(
        f"name: {name}\nhost: {HOST}\nlans:\n  - {{name: dmz, dmz: true}}\n"
        "deckies:\n  - name: web\n    home: dmz\n"
        "    services: [ssh, telnet, ftp, http, mysql, redis]\n"
        f"    config: {json.dumps(config)}\n"
    )
    view = server.deploy(name, TIMEOUT)
    assert view["state"] == "succeeded", view
    return name, str(server.topology(name)["deckies"][0]["memberships"][0]["ip"])


def sensors(testbed: Testbed, name: str) -> set[str]:
    ps = ["docker", "ps", "-q", "--no-trunc", "--filter", f"label=decnet.topology={name}"]
    return set(testbed.exec(HOST, *ps, check=True).stdout.split())


def recreate(server: Server, name: str) -> None:
    """A live edit of the web sensor's header: its container is recreated."""
    op = {"op": "update_decky", "name": "web", "config": {"http": {"server_header": "nginx"}}}
    row = server.apply_ops(name, [op], TIMEOUT)
    assert row["state"] == "applied", json.dumps(row)


def faults_during_flood(
    testbed: Testbed, server: Server, fault: FaultFn, name: str, ip: str
) -> set[int]:
    """The flood, with the three faults in it; the numbers of the requests answered."""
    flood = testbed.spawn(
        HOST, sys.executable, str(INTRUDER), "flood", ip, str(FLOOD), str(RATE),
        network_only=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        time.sleep(6)
        server.kill_and_restart()
        time.sleep(6)
        fault(HOST, "link-down")
        time.sleep(10)
        fault(HOST, "link-up")
        before = sensors(testbed, name)
        recreate(server, name)
        assert before - sensors(testbed, name), "the edit recreated no container"
        out, err = flood.communicate(timeout=FLOOD / RATE + 300)
    finally:
        if flood.poll() is None:
            flood.kill()
            flood.wait()
    assert flood.returncode == 0, err
    return {int(n) for n in out.split()}


def test_real_clients_on_a_remote_decky_through_faults_reach_every_view(
    testbed: Testbed, server: Server, fault: FaultFn, soc: tuple[Rsyslog, WebhookReceiver]
) -> None:
    syslog, hook = soc
    name, ip = deploy(server)
    intruder(testbed, "listening", ip, "300", timeout=330)
    add_outputs(server, syslog, hook, name, KEY)
    intruder(testbed, "act", ip, SSH_PASSWORD, TELNET_PASSWORD, timeout=300)
    wait_for(
        lambda: actions(api_events(server, name)) == EXPECTED, 180, what="every action's event"
    )

    answered = faults_during_flood(testbed, server, fault, name, ip)
    assert len(answered) > FLOOD / 2, len(answered)  # most of it reached the decky

    def numbers() -> list[int]:
        return [n for e in api_events(server, name) if (n := flooded(e)) is not None]

    wait_for(lambda: answered <= set(numbers()), 300, what="every answered request's event")
    time.sleep(3)  # anything doubled would be here by now
    events = api_events(server, name)
    got = [n for e in events if (n := flooded(e)) is not None]
    assert len(got) == len(set(got)), "a flood request became two events"
    assert answered <= set(got) <= set(range(FLOOD))
    assert actions(events) == EXPECTED
    ids = sorted(e["id"] for e in events)
    assert len(set(ids)) == len(ids)
    subnet = ipaddress.ip_network(server.topology(name)["lans"][0]["subnet"])
    for e in events:
        p = e["payload"]
        assert (e["topology"], p["decky"], p["lan"], p["host"]) == (name, "web", "dmz", HOST)
        assert p["dst_ip"] == ip and ipaddress.ip_address(p["src_ip"]) in subnet
        if e["type"] != "attack.scan":
            assert p["dst_port"] == PORTS[p["service"]]
    scans = [e["payload"] for e in events if e["type"] == "attack.scan"]
    assert scans and all(80 in s["ports"] for s in scans)  # the flood is a scan, not 600 alerts

    # the CLI, the attackers' view, the SSE stream: every event once
    out = server.cli("events", "--topology", name, "--type", "attack.*", "--since", "0", "--json")
    assert sorted(json.loads(line)["id"] for line in out.splitlines()) == ids
    (row,) = json.loads(server.cli("attackers", "list", "--topology", name, "--json"))
    assert row["events"] == len(ids) and row["logins_succeeded"] == 2
    assert sorted(e["id"] for e in sse_events(server, name, ids[-1])) == ids

    # the outputs: every event, none lost across the kill (delivery is at least once: a batch
    # in flight when the server died may come twice, with the same event id)
    jsonl = server.home / "outputs" / "attacks.jsonl"
    wait_for(lambda: delivered_all(jsonl, syslog, hook, ids), 300, what="delivery")
    for output, sent in delivered(jsonl, syslog, hook).items():
        assert set(sent) == set(ids), output
    assert hook.received and all(r.verified for r in hook.received)


def test_one_client_per_other_service_on_a_remote_decky(testbed: Testbed, server: Server) -> None:
    """The catalogue's sixteen other services on one decky on h2: tests/clients.py's real
    clients, from inside h2's networks, each get a protocol-correct answer, and each action is
    one attack event carrying what the client sent, collected over SSH."""
    name = server.new_name()
    server.create_document(clients.document(name, HOST))
    view = server.deploy(name, TIMEOUT)
    assert view["state"] == "succeeded", view
    ip = str(server.topology(name)["deckies"][0]["memberships"][0]["ip"])
    intruder(testbed, "listening", ip, "300", timeout=330, script=CLIENTS)
    intruder(testbed, "act", ip, timeout=300, script=CLIENTS)
    clients.wait_for_actions(lambda: api_events(server, name))
    clients.check(api_events(server, name), ip, HOST)
