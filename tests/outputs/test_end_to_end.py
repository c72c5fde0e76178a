"""Observation end to end (docs/observe.md), as an operator runs it: `decnet serve` deploys a
decky with the real sensors on the local engine, collects in-process and delivers to three
outputs added through the API — a real rsyslog over TCP, a JSONL file and a webhook whose
receiver checks every signature. Real protocol clients act on the decky (an SSH and a Telnet
login with a command each, an FTP, a MySQL and a Redis login, an HTTP request), and each action
is one typed event with the maze's attribution, the same in `decnet events`, `decnet attackers`,
the API, the SSE stream and every output — where the decky's own passwords appear nowhere."""

from __future__ import annotations

import ipaddress
import json
import time
from collections.abc import Iterator

import clients
import pytest
from intruder import EXPECTED, PORTS, SERVICES, act, actions
from local_engine import listening
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
from sensor_support import docker_ok
from serve_support import Server, serving, wait_for
from subnet_pools import fresh_lans

pytestmark = [pytest.mark.docker, pytest.mark.timeout(1800)]

SSH_PASSWORD = "e2e-ssh-Decky-pw"
TELNET_PASSWORD = "e2e-telnet-Decky-pw"
KEY = "e2e-webhook-key-0123456789abcdef"
DEPLOY_TIMEOUT = 900
"""The sensor image starts slowly beside three test workers on two cores."""


@pytest.fixture(scope="module")
def soc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Rsyslog, WebhookReceiver]]:
    with rsyslog(tmp_path_factory.mktemp("rsyslog")) as syslog, webhook(KEY.encode()) as hook:
        yield syslog, hook


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    if not docker_ok():
        pytest.skip("needs the Docker engine")
    with serving(tmp_path_factory.mktemp("e2e-observe") / "home", DECNET_IMAGES="") as srv:
        yield srv


def deploy(server: Server) -> tuple[str, str]:
    """One decky with every service the clients speak, deployed through the API; (name, IP)."""
    name = server.new_name()
    (dmz,) = fresh_lans(1)
    config = {"ssh": {"password": SSH_PASSWORD}, "telnet": {"password": TELNET_PASSWORD}}
    server.create_document(
        f"name: {name}\nhost: localhost\nlans:\n  - {{name: dmz, dmz: true, subnet: {dmz}}}\n"
        f"deckies:\n  - name: web\n    home: dmz\n    services: [{', '.join(SERVICES)}]\n"
        f"    config: {json.dumps(config)}\n"
    )
    view = server.deploy(name, DEPLOY_TIMEOUT)
    assert view["state"] == "succeeded", view
    ip = str(server.topology(name)["deckies"][0]["memberships"][0]["ip"])
    for service in SERVICES:
        listening(ip, PORTS[service], timeout=300)
    return name, ip


def test_real_clients_reach_every_view_and_every_output_once(
    server: Server, soc: tuple[Rsyslog, WebhookReceiver]
) -> None:
    syslog, hook = soc
    name, ip = deploy(server)
    add_outputs(server, syslog, hook, name, KEY)
    act(ip, SSH_PASSWORD, TELNET_PASSWORD)
    wait_for(
        lambda: actions(api_events(server, name)) == EXPECTED, 180, what="every action's event"
    )
    time.sleep(3)  # anything doubled would be here by now
    events = api_events(server, name)
    assert actions(events) == EXPECTED
    ids = sorted(e["id"] for e in events)
    assert len(set(ids)) == len(ids)
    subnet = ipaddress.ip_network(server.topology(name)["lans"][0]["subnet"])
    for e in events:
        p = e["payload"]
        assert (e["topology"], p["topology"], p["decky"], p["lan"], p["host"]) == (
            name, name, "web", "dmz", "localhost",
        )  # fmt: skip
        assert p["dst_ip"] == ip and ipaddress.ip_address(p["src_ip"]) in subnet
        assert p["dst_port"] == PORTS[p["service"]]
    assert {e["payload"]["service"] for e in events if e["type"] == "attack.connect"} == set(
        SERVICES
    )
    (src,) = {e["payload"]["src_ip"] for e in events}

    # the CLI, on the server's database
    out = server.cli("events", "--topology", name, "--type", "attack.*", "--since", "0", "--json")
    assert sorted(json.loads(line)["id"] for line in out.splitlines()) == ids
    (row,) = json.loads(server.cli("attackers", "list", "--topology", name, "--json"))
    assert row["src_ip"] == src and row["events"] == len(ids)
    assert (row["logins"], row["logins_succeeded"], row["commands"]) == (5, 2, 2)
    assert [(s["decky"], s["lan"]) for s in row["path"]] == [("web", "dmz")]
    with server.api() as c:
        (api_row,) = c.get("/attackers", params={"topology": name}).json()
    assert api_row == row

    # the SSE stream
    streamed = sse_events(server, name, ids[-1])
    assert sorted(e["id"] for e in streamed) == ids

    # the outputs: every event once
    jsonl = server.home / "outputs" / "attacks.jsonl"
    got = wait_for(lambda: delivered_all(jsonl, syslog, hook, ids), 120, what="delivery")
    time.sleep(2)
    for output, ids_got in delivered(jsonl, syslog, hook).items():
        assert sorted(ids_got) == ids, (output, got)
    assert hook.received and all(r.verified for r in hook.received)

    # the decky's own passwords: never shown, wherever an event goes
    shown = [json.dumps(events), out, json.dumps(streamed), jsonl.read_text(), syslog.log()]
    shown += [b"\n".join(syslog.lines()).decode("utf-8", "replace")]
    shown += [r.body.decode("utf-8", "replace") for r in hook.received]
    for text in shown:
        assert SSH_PASSWORD not in text and TELNET_PASSWORD not in text


def test_one_client_per_other_service_is_answered_and_recorded(server: Server) -> None:
    """The catalogue's sixteen other services on one deployed decky: a real client of each
    (tests/clients.py) gets a protocol-correct answer, and what it did is an attack event
    carrying what it sent — one event per action, attributed to the decky."""
    name = server.new_name()
    (dmz,) = fresh_lans(1)
    server.create_document(clients.document(name, "localhost", subnet=dmz))
    view = server.deploy(name, DEPLOY_TIMEOUT)
    assert view["state"] == "succeeded", view
    ip = str(server.topology(name)["deckies"][0]["memberships"][0]["ip"])
    clients.listening(ip, 300, clients.TCP)
    clients.act(ip)
    clients.wait_for_actions(lambda: api_events(server, name))
    clients.check(api_events(server, name), ip, "localhost")
