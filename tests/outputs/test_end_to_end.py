"""Observation end to end (docs/observe.md), as an operator runs it: `decnet serve` deploys a
decky with the real sensors on the local engine, collects in-process and delivers to three
outputs added through the API — a real rsyslog over TCP, a JSONL file and a webhook whose
receiver checks every signature. Real protocol clients act on the decky (an SSH and a Telnet
login with a command each, an FTP, a MySQL and a Redis login, an HTTP request), and each action
is one typed event with the maze's attribution, the same in `decnet events`, `decnet attackers`,
the API, the SSE stream and every output — where the decky's own passwords appear nowhere."""

from __future__ import annotations

import contextlib
import ftplib
import ipaddress
import json
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pymysql
import pytest
from local_engine import listening
from outputs_support import Rsyslog, WebhookReceiver, parse_rfc5424, rsyslog, webhook
from serve_support import Server, serving, wait_for
from subnet_pools import fresh_lans

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "sensor"))
from sensor_support import docker_ok, redis_commands, ssh_shell, telnet_session

pytestmark = [pytest.mark.docker, pytest.mark.timeout(1800)]

SSH_PASSWORD = "e2e-ssh-Decky-pw"
TELNET_PASSWORD = "e2e-telnet-Decky-pw"
KEY = "e2e-webhook-key-0123456789abcdef"
UA = "e2e-scanner/1.0"
SERVICES = ("ssh", "telnet", "ftp", "http", "mysql", "redis")
PORTS = {"ssh": 22, "telnet": 23, "ftp": 21, "http": 80, "mysql": 3306, "redis": 6379}
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


def add_outputs(server: Server, syslog: Rsyslog, hook: WebhookReceiver, name: str) -> None:
    bodies = [
        {"name": "siem", "kind": "syslog", "url": f"tcp://127.0.0.1:{syslog.port}"},
        {"name": "archive", "kind": "jsonl", "path": "attacks.jsonl"},
        {"name": "hook", "kind": "webhook", "url": hook.url(), "secret": KEY},
    ]
    with server.api() as c:
        for body in bodies:
            created = c.post("/outputs", json={**body, "topologies": [name], "since": 0})
            assert created.status_code == 201, created.text


def act(ip: str) -> None:
    """What an intruder's real clients do, one action each."""
    output, _ = ssh_shell(ip, "root", SSH_PASSWORD, "uname -a")
    assert "Linux" in output
    assert b"uid=0(root)" in telnet_session(ip, b"root", TELNET_PASSWORD.encode(), b"id")
    ftp = ftplib.FTP()
    ftp.connect(ip, 21, timeout=20)
    with pytest.raises(ftplib.error_perm, match="530"):
        ftp.login("backup", "ftp-guess-1")
    ftp.close()
    request = urllib.request.Request(f"http://{ip}/admin.php", headers={"User-Agent": UA})
    with contextlib.suppress(urllib.error.HTTPError):  # a refusal is an answer too
        urllib.request.urlopen(request, timeout=20).read()
    with pytest.raises(pymysql.err.OperationalError, match="1045"):
        pymysql.connect(host=ip, user="dba", password="mysql-guess-1", connect_timeout=20)
    (reply,) = redis_commands(ip, [b"AUTH", b"redis-guess-1"])
    assert reply.startswith(b"-")


def key(event: dict[str, Any]) -> tuple[str, ...]:
    """What identifies one action among a topology's attack events."""
    p = event["payload"]
    if event["type"] == "attack.login":
        return ("login", p["service"], p.get("username") or "", p["outcome"])
    if event["type"] == "attack.command":
        return ("command", p["service"], p["command"])
    if event["type"] == "attack.request":
        return ("request", p["service"], p.get("method") or "", p.get("path") or "")
    return (event["type"], p["service"])


EXPECTED = Counter(
    [
        ("login", "ssh", "root", "success"),
        ("command", "ssh", "uname -a"),
        ("login", "telnet", "root", "success"),
        ("command", "telnet", "id"),
        ("login", "ftp", "backup", "failure"),
        ("request", "http", "GET", "/admin.php"),
        ("login", "mysql", "dba", "failure"),
        ("login", "redis", "", "failure"),
    ]
)
"""Each action once (a Redis AUTH has a password and no user name)."""


def actions(events: list[dict[str, Any]]) -> Counter[tuple[str, ...]]:
    return Counter(key(e) for e in events if e["type"] != "attack.connect")


def api_events(server: Server, name: str) -> list[dict[str, Any]]:
    with server.api() as c:
        page = c.get("/events", params={"topology": name, "type": "attack.*", "limit": 1000})
        return list(page.json()["items"])


def sse_events(server: Server, name: str, last: int) -> list[dict[str, Any]]:
    """The topology's stream from the start, read until event `last` came."""
    seen: list[dict[str, Any]] = []
    with server.api() as c:
        ticket = c.post("/stream-tickets").json()["ticket"]
    url = f"{server.url}/api/v1/topologies/{name}/events/stream"
    params: dict[str, str | int] = {"ticket": ticket, "since": 0}
    with httpx.stream("GET", url, params=params, timeout=60) as response:
        assert response.status_code == 200
        for line in response.iter_lines():
            if line.startswith("data:"):
                doc = json.loads(line[5:])
                if isinstance(doc, dict) and str(doc.get("type", "")).startswith("attack."):
                    seen.append(doc)
                if isinstance(doc, dict) and doc.get("id", 0) >= last:
                    break
    return seen


def test_real_clients_reach_every_view_and_every_output_once(
    server: Server, soc: tuple[Rsyslog, WebhookReceiver]
) -> None:
    syslog, hook = soc
    name, ip = deploy(server)
    add_outputs(server, syslog, hook, name)
    act(ip)
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

    def delivered() -> dict[str, list[int]]:
        lines = jsonl.read_bytes().splitlines() if jsonl.exists() else []
        return {
            "jsonl": [json.loads(line)["id"] for line in lines],
            "syslog": [int(parse_rfc5424(m).sd["decnet@32473"]["id"]) for m in syslog.lines()],
            "webhook": [b["id"] for b in hook.bodies()],
        }

    wait_for(lambda: all(len(v) >= len(ids) for v in delivered().values()), 120, what="delivery")
    time.sleep(2)
    for output, got in delivered().items():
        assert sorted(got) == ids, output
    assert hook.received and all(r.verified for r in hook.received)

    # the decky's own passwords: never shown, wherever an event goes
    shown = [json.dumps(events), out, json.dumps(streamed), jsonl.read_text(), syslog.log()]
    shown += [b"\n".join(syslog.lines()).decode("utf-8", "replace")]
    shown += [r.body.decode("utf-8", "replace") for r in hook.received]
    for text in shown:
        assert SSH_PASSWORD not in text and TELNET_PASSWORD not in text
