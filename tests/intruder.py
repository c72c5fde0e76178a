"""An intruder's real clients against one decky, and what each of their actions must become.

Imported by the observation end-to-end tests, and run as a script where the decky is only
reachable from inside a testbed host's networks (`Testbed.spawn(..., network_only=True)`):

    python tests/intruder.py listening IP SECONDS  # until every service's port accepts
    python tests/intruder.py act IP SSH_PASSWORD TELNET_PASSWORD
    python tests/intruder.py flood IP COUNT RATE   # prints each answered request's number
"""

from __future__ import annotations

import contextlib
import ftplib
import socket
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

import pymysql

sys.path.insert(0, str(Path(__file__).resolve().parent / "sensor"))
from sensor_support import redis_commands, ssh_shell, telnet_session

UA = "e2e-scanner/1.0"
SERVICES = ("ssh", "telnet", "ftp", "http", "mysql", "redis")
PORTS = {"ssh": 22, "telnet": 23, "ftp": 21, "http": 80, "mysql": 3306, "redis": 6379}
FLOOD_PATH = "/flood/"
DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))
"""urllib without the environment's proxies: requests go to the decky and nowhere else."""


def listening(ip: str, seconds: float, ports: dict[str, int] = PORTS) -> None:
    """Return once every port of `ports` accepts a connection on `ip`; exit after `seconds`."""
    deadline = time.monotonic() + seconds
    for service, port in ports.items():
        while True:
            try:
                socket.create_connection((ip, port), timeout=2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    sys.exit(f"{service} on {ip}:{port} does not answer")
                time.sleep(1)


def act(ip: str, ssh_password: str, telnet_password: str) -> None:
    """What an intruder's real clients do, one action each (EXPECTED)."""
    output, _ = ssh_shell(ip, "root", ssh_password, "uname -a")
    assert "Linux" in output, output
    answer = telnet_session(ip, b"root", telnet_password.encode(), b"id")
    assert b"uid=0(root)" in answer, answer
    ftp = ftplib.FTP()
    ftp.connect(ip, 21, timeout=20)
    try:
        ftp.login("backup", "ftp-guess-1")
        raise AssertionError("the FTP sensor took a guessed password")
    except ftplib.error_perm as refused:
        assert str(refused).startswith("530"), refused
    ftp.close()
    request = urllib.request.Request(f"http://{ip}/admin.php", headers={"User-Agent": UA})
    with contextlib.suppress(urllib.error.HTTPError):  # a refusal is an answer too
        DIRECT.open(request, timeout=20).read()
    try:
        pymysql.connect(host=ip, user="dba", password="mysql-guess-1", connect_timeout=20)
        raise AssertionError("the MySQL sensor took a guessed password")
    except pymysql.err.OperationalError as refused:
        assert refused.args[0] == 1045, refused
    (reply,) = redis_commands(ip, [b"AUTH", b"redis-guess-1"])
    assert reply.startswith(b"-"), reply


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
"""Each action of `act` once (a Redis AUTH has a password and no user name)."""


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


AGGREGATES = ("attack.connect", "attack.scan")
"""Not actions of `act`: each client's connect, and what the collector made of many."""


def actions(events: list[dict[str, Any]]) -> Counter[tuple[str, ...]]:
    """The actions among `events`, flood requests left out."""
    return Counter(key(e) for e in events if e["type"] not in AGGREGATES and flooded(e) is None)


def flooded(event: dict[str, Any]) -> int | None:
    """The number of a flood request (`GET /flood/N`), or None for any other event."""
    path = str(event["payload"].get("path") or "")
    if event["type"] != "attack.request" or not path.startswith(FLOOD_PATH):
        return None
    return int(path[len(FLOOD_PATH) :])


def flood(ip: str, count: int, rate: float) -> None:
    """`count` HTTP requests at `rate` a second, `GET /flood/N`, one connection each; prints N
    of each that got an answer (a decky being recreated answers some with a refused connect)."""
    start = time.monotonic()
    for n in range(count):
        request = urllib.request.Request(f"http://{ip}{FLOOD_PATH}{n}", headers={"User-Agent": UA})
        try:
            DIRECT.open(request, timeout=5).read()
            print(n, flush=True)
        except urllib.error.HTTPError:
            print(n, flush=True)  # an answer: the request reached the sensor
        except OSError:
            pass
        delay = start + (n + 1) / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)


if __name__ == "__main__":
    if sys.argv[1] == "listening":
        listening(sys.argv[2], float(sys.argv[3]))
    elif sys.argv[1] == "act":
        act(*sys.argv[2:5])
    elif sys.argv[1] == "flood":
        flood(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
    else:
        sys.exit(f"usage: {__doc__}")
