"""decnet's emulators inside the real sensor image, started by its launcher the way the render
starts a decky's sensor container (non-root, read-only, no capabilities): real clients on
published loopback ports, and the lines in events.jsonl carrying what they sent, each in the
session of the launcher's own connect line. The emulators' source is mounted over the image's
copy, so this checks the code in this tree against the image's Python, Twisted and launcher."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import smtplib
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pg8000.native
import pytest
from emu_support import SENSOR_SRC
from impacket.smbconnection import SessionError, SMBConnection

pytestmark = [pytest.mark.docker, pytest.mark.timeout(300)]

IMAGE = os.environ.get("DECNET_SENSOR_IMAGE", "decnet-sensor:0.1")
SITE = "/opt/decnet-sensor/lib/python3.11/site-packages/decnet_sensor/emulators"


def _image_present() -> bool:
    if shutil.which("docker") is None:
        return False
    probe = subprocess.run(["docker", "image", "inspect", IMAGE], capture_output=True)
    return probe.returncode == 0


@pytest.fixture
def sensor(tmp_path: Path) -> Iterator[dict[str, Any]]:
    if not _image_present():
        pytest.skip(f"no sensor image {IMAGE} (decnet image build sensor)")
    data = tmp_path / "sensor"
    data.mkdir()
    os.chown(data, 999, 999)
    name = f"decnet-emu-test-{secrets.token_hex(4)}"
    env = {
        "DECNET_SERVICES": "smtp=25/tcp postgres=5432/tcp smb=445/tcp,139/tcp",
        "DECNET_HOSTNAME": "mx01",
        "DECNET_HEARTBEAT": "0",
        "DECNET_SMTP_BANNER": "220 mx01.acme.test ESMTP Postfix (Debian/GNU)",
        "DECNET_SMTP_DOMAIN": "acme.test",
        "DECNET_POSTGRES_PASSWORD": "Pg-Secret-1",
        "DECNET_POSTGRES_VERSION": "16.2",
        "DECNET_SMB_WORKGROUP": "ACME",
        "DECNET_SMB_SHARE": "Finance",
    }
    args = [
        "docker",
        "run",
        "-d",
        "--name",
        name,
        "--hostname",
        "mx01",
        "--read-only",
        "--cap-drop",
        "ALL",
        "--security-opt",
        "no-new-privileges:true",
        "--tmpfs",
        "/tmp",
        "-v",
        f"{data}:/var/lib/decnet-sensor",
        "-v",
        f"{SENSOR_SRC / 'decnet_sensor' / 'emulators'}:{SITE}:ro",
        "-p",
        "127.0.0.1::25",
        "-p",
        "127.0.0.1::5432",
        "-p",
        "127.0.0.1::445",
    ]
    for k, v in env.items():
        args += ["-e", f"{k}={v}"]
    subprocess.run([*args, IMAGE], check=True, capture_output=True)
    try:
        ports = {}
        for port in (25, 5432, 445):
            out = subprocess.run(
                ["docker", "port", name, f"{port}/tcp"], check=True, capture_output=True, text=True
            ).stdout
            ports[port] = int(out.split()[0].rsplit(":", 1)[1])
        events = data / "events.jsonl"
        deadline = time.monotonic() + 60
        while not (events.exists() and "sensor.start" in events.read_text()):
            assert time.monotonic() < deadline, _logs(name)
            time.sleep(0.3)
        yield {"name": name, "ports": ports, "events": events}
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True)


def _logs(name: str) -> str:
    return subprocess.run(["docker", "logs", name], capture_output=True, text=True).stderr


def lines(path: Path, want: int = 0, timeout: float = 15, **match: Any) -> list[dict[str, Any]]:
    """The sensor's lines whose envelope or event has every `match` field."""
    deadline = time.monotonic() + timeout
    while True:
        found = []
        for raw in path.read_text().splitlines():
            line = json.loads(raw)
            merged = {**line, **line.get("event", {})}
            if all(merged.get(k) == v for k, v in match.items()):
                found.append(line)
        if len(found) > want or time.monotonic() > deadline:
            return found
        time.sleep(0.3)


def test_smtp_postgres_smb_in_the_image(sensor: dict[str, Any]) -> None:
    ports, events = sensor["ports"], sensor["events"]
    start = lines(events, sensor="decnet", kind="sensor.start")[0]["event"]
    assert start["uid"] == 999 and not start["failed"]
    assert start["implementations"] == {"smtp": "decnet", "postgres": "decnet", "smb": "decnet"}

    s = smtplib.SMTP("127.0.0.1", ports[25], timeout=10)
    code, msg = s.ehlo("scanner.example")
    assert code == 250 and msg.startswith(b"mx01.acme.test")
    with pytest.raises(smtplib.SMTPAuthenticationError):
        s.login("postmaster", "letmein")
    s.quit()

    with pytest.raises(pg8000.native.DatabaseError):
        pg8000.native.Connection("postgres", host="127.0.0.1", port=ports[5432], password="x")
    db = pg8000.native.Connection(
        "postgres", host="127.0.0.1", port=ports[5432], password="Pg-Secret-1"
    )
    assert db.parameter_statuses["server_version"] == "16.2"
    assert db.run("select version()")[0][0].startswith("PostgreSQL 16.2")
    db.close()

    conn = SMBConnection("MX01", "127.0.0.1", sess_port=ports[445], timeout=10)
    with pytest.raises(SessionError):
        conn.login("administrator", "Winter2026", domain="ACME")
    assert conn.getServerDomain() == "ACME" and conn.getServerName() == "MX01"

    smtp_login = lines(events, service="smtp", kind="login")[0]
    assert smtp_login["sensor"] == "decnet" and smtp_login["v"] == 1
    assert smtp_login["event"]["username"] == "postmaster"
    assert smtp_login["event"]["password"] == "letmein"
    assert "session" not in smtp_login["event"]  # moved to the envelope by the launcher
    connect = lines(events, service="smtp", kind="connect", session=smtp_login["session"])
    assert connect, "the login is in the session of the launcher's connect line"

    pg = lines(events, service="postgres", kind="login")
    assert (pg[0]["event"]["outcome"], pg[0]["event"]["password"]) == ("failure", "x")
    assert pg[1]["event"]["outcome"] == "success"
    assert "Pg-Secret-1" not in events.read_text()  # a configured secret never reaches a line
    assert lines(events, service="postgres", kind="request", method="SELECT")

    smb_login = lines(events, service="smb", kind="login")[0]["event"]
    assert smb_login["username"] == "administrator" and smb_login["domain"] == "ACME"
    assert smb_login["hash"].startswith("administrator::ACME:")
    assert (
        subprocess.run(
            ["docker", "exec", sensor["name"], "id", "-u"], capture_output=True, text=True
        ).stdout.strip()
        == "999"
    )
