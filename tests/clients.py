"""One real client per catalogue service beyond tests/intruder.py's six, against one decky that
runs them all, and the action each must become (EXPECTED).

Imported by the end-to-end tests, and run as a script where the decky is only reachable from
inside a testbed host's networks (`Testbed.exec(..., network_only=True)`):

    python tests/clients.py listening IP SECONDS  # until every port of TCP accepts
    python tests/clients.py act IP                # every client once; prints nothing
"""

from __future__ import annotations

import contextlib
import imaplib
import json
import poplib
import smtplib
import socket
import ssl
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dns.message
import dns.query
import dns.rcode
import ldap3
import paho.mqtt.client as paho
import pg8000.native
from impacket.smbconnection import SessionError, SMBConnection
from impacket.tds import MSSQL
from paho.mqtt.enums import CallbackAPIVersion

sys.path.insert(0, str(Path(__file__).resolve().parent / "sensor"))
from intruder import DIRECT, actions, listening
from sensor_support import snmp_get

UA = "e2e-every-service/1.0"
TCP = {
    "https": 443, "smb": 445, "rdp": 3389, "vnc": 5900, "postgres": 5432, "mssql": 1433,
    "mongodb": 27017, "elasticsearch": 9200, "smtp": 25, "imap": 143, "pop3": 110,
    "dns": 53, "mqtt": 1883, "ldap": 389,
}  # fmt: skip
UDP = {"snmp": 161, "sip": 5060}
SERVICES = (*TCP, *UDP)
UDP_TOO = {*UDP, "dns"}
SYS_DESCR = b"\x2b\x06\x01\x02\x01\x01\x01\x00"  # 1.3.6.1.2.1.1.1.0
SIP_OPTIONS = (
    b"OPTIONS sip:100@decky SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.9:5060\r\nFrom: <sip:scan@x>\r\n"
    b"To: <sip:100@decky>\r\nCall-ID: e2e-1@x\r\nCSeq: 1 OPTIONS\r\nUser-Agent: friendly-scanner"
    b"\r\nContent-Length: 0\r\n\r\n"
)


def direct_tls() -> urllib.request.OpenerDirector:
    """urllib without the environment's proxies, trusting the decky's self-signed certificate."""
    insecure = ssl._create_unverified_context()
    return urllib.request.build_opener(
        urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=insecure)
    )


def https(ip: str) -> None:
    opener = direct_tls()
    page = opener.open(f"https://{ip}/", timeout=20)
    assert page.status == 200 and b"<form" in page.read().lower()
    form = urllib.parse.urlencode({"username": "webadmin", "password": "https-guess-1"}).encode()
    post = urllib.request.Request(f"https://{ip}/index.html", form, headers={"User-Agent": UA})
    with contextlib.suppress(urllib.error.HTTPError):  # a refusal is an answer too
        opener.open(post, timeout=20).read()


def smb(ip: str) -> None:
    conn = SMBConnection(ip, ip, sess_port=445, timeout=20)
    try:
        conn.login("smbuser", "smb-guess-1", domain="CORP")
        raise AssertionError("the SMB sensor took a guessed password")
    except SessionError as refused:
        assert "LOGON_FAILURE" in str(refused), refused
    finally:
        conn.close()


def rdp(ip: str) -> None:
    cookie = b"Cookie: mstshash=rdpuser\r\n"
    x224 = (
        bytes([6 + len(cookie) + 8, 0xE0, 0, 0, 0, 0, 0])
        + cookie
        + bytes.fromhex("0100080003000000")
    )
    with socket.create_connection((ip, 3389), timeout=20) as s:
        s.sendall(bytes([3, 0, 0, 4 + len(x224)]) + x224)
        answer = s.recv(1024)
    assert answer[:2] == b"\x03\x00" and answer[5] == 0xD0, answer  # TPKT, X.224 connect confirm


def vnc(ip: str) -> None:
    with socket.create_connection((ip, 5900), timeout=20) as s:
        assert s.recv(12) == b"RFB 003.008\n"
        s.sendall(b"RFB 003.008\n")
        types = s.recv(64)
        assert 2 in types[1:], types  # VNC authentication offered
        s.sendall(b"\x02")
        challenge = s.recv(16)
        assert len(challenge) == 16
        s.sendall(bytes(16))  # any response: the sensor refuses it
        assert s.recv(4) == b"\x00\x00\x00\x01"  # failed


def postgres(ip: str) -> None:
    try:
        pg8000.native.Connection("pgadmin", host=ip, password="pg-guess-1", database="hr")
        raise AssertionError("the PostgreSQL sensor took a guessed password")
    except pg8000.native.DatabaseError as refused:
        assert refused.args[0]["C"] == "28P01", refused


def mssql(ip: str) -> None:
    client = MSSQL(ip, 1433)
    client.connect()
    try:
        assert client.login(None, "sa", "mssql-guess-1") is False
    finally:
        client.disconnect()


def mongodb(ip: str) -> None:
    """OP_QUERY isMaster on admin.$cmd, as drivers and scanners open with."""
    bson = b"\x10isMaster\x00\x01\x00\x00\x00\x00"
    doc = (len(bson) + 4).to_bytes(4, "little") + bson
    body = b"\x00\x00\x00\x00admin.$cmd\x00" + b"\x00\x00\x00\x00\xff\xff\xff\xff" + doc
    header = (16 + len(body)).to_bytes(4, "little") + (7).to_bytes(4, "little") + bytes(4)
    with socket.create_connection((ip, 27017), timeout=20) as s:
        s.sendall(header + (2004).to_bytes(4, "little") + body)
        reply = s.recv(4096)
    opcode = int.from_bytes(reply[12:16], "little")
    assert opcode in (1, 2013) and b"ismaster" in reply, reply  # OP_REPLY or OP_MSG


def elasticsearch(ip: str) -> None:
    request = urllib.request.Request(f"http://{ip}:9200/", headers={"User-Agent": UA})
    info = json.loads(DIRECT.open(request, timeout=20).read())
    assert info["version"]["number"] and info["tagline"], info


def smtp(ip: str) -> None:
    with smtplib.SMTP(ip, 25, timeout=20) as s:
        s.ehlo("e2e.example")
        try:
            s.login("mailuser", "smtp-guess-1")
            raise AssertionError("the SMTP sensor took a guessed password")
        except smtplib.SMTPAuthenticationError as refused:
            assert refused.smtp_code == 535, refused


def imap(ip: str) -> None:
    m = imaplib.IMAP4(ip, 143, timeout=20)
    try:
        m.login("imapuser", "imap-guess-1")
        raise AssertionError("the IMAP sensor took a guessed password")
    except imaplib.IMAP4.error as refused:
        assert "AUTHENTICATIONFAILED" in str(refused), refused
    finally:
        with contextlib.suppress(Exception):
            m.logout()


def pop3(ip: str) -> None:
    p = poplib.POP3(ip, 110, timeout=20)
    p.user("popuser")
    try:
        p.pass_("pop-guess-1")
        raise AssertionError("the POP3 sensor took a guessed password")
    except poplib.error_proto as refused:
        assert str(refused).startswith("b'-ERR"), refused
    finally:
        with contextlib.suppress(Exception):
            p.quit()


def dns_query(ip: str) -> None:
    answer = dns.query.udp(dns.message.make_query("fileserver.corp.local", "A"), ip, timeout=20)
    assert answer.rcode() == dns.rcode.NXDOMAIN, answer


def snmp(ip: str) -> None:
    answer = snmp_get(ip, b"public", SYS_DESCR)
    assert answer is not None and SYS_DESCR in answer, answer  # sysDescr varies per decky


def sip(ip: str) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
        u.sendto(SIP_OPTIONS, (ip, 5060))  # a SIP sensor records and answers nothing


def mqtt(ip: str) -> None:
    got: dict[str, Any] = {}
    connected = threading.Event()
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id="e2e-plc")
    client.username_pw_set("mqttuser", "mqtt-guess-1")

    def on_connect(c: Any, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        got["reason"] = reason
        connected.set()

    client.on_connect = on_connect
    client.connect(ip, 1883)
    client.loop_start()
    try:
        assert connected.wait(20), "no CONNACK"
        assert not got["reason"].is_failure, got["reason"]  # anonymous: any credentials do
    finally:
        client.disconnect()
        client.loop_stop()


def ldap(ip: str) -> None:
    server = ldap3.Server(ip, port=389, connect_timeout=20)
    conn = ldap3.Connection(server, "cn=admin,dc=corp,dc=local", "ldap-guess-1")
    assert conn.bind() is False and conn.result["description"] == "invalidCredentials"


CLIENTS = {
    "https": https, "smb": smb, "rdp": rdp, "vnc": vnc, "postgres": postgres, "mssql": mssql,
    "mongodb": mongodb, "elasticsearch": elasticsearch, "smtp": smtp, "imap": imap,
    "pop3": pop3, "dns": dns_query, "snmp": snmp, "sip": sip, "mqtt": mqtt, "ldap": ldap,
}  # fmt: skip


def act(ip: str) -> None:
    """Every client once; a client whose answer is wrong fails with the service's name."""
    for service, client in CLIENTS.items():
        try:
            client(ip)
        except Exception as failed:
            raise SystemExit(f"{service}: {type(failed).__name__}: {failed}") from failed


EXPECTED = Counter(
    [
        ("request", "https", "GET", "/"),
        ("request", "https", "GET", "/index.html"),  # the login page's redirect, followed
        ("login", "https", "webadmin", "failure"),
        ("request", "smb", "NEGOTIATE", ""),  # SMB1 multi-protocol, then SMB2
        ("request", "smb", "NEGOTIATE", ""),
        ("login", "smb", "smbuser", "failure"),
        ("login", "rdp", "rdpuser", "failure"),
        ("login", "vnc", "", "failure"),
        ("request", "postgres", "STARTUP", "hr"),
        ("login", "postgres", "pgadmin", "failure"),
        ("login", "mssql", "sa", "failure"),
        ("request", "mongodb", "query:admin.$cmd", ""),
        ("request", "elasticsearch", "GET", "/"),
        ("request", "smtp", "EHLO", "e2e.example"),
        ("login", "smtp", "mailuser", "failure"),  # smtplib tries PLAIN, then LOGIN
        ("login", "smtp", "mailuser", "failure"),
        ("request", "imap", "CAPABILITY", ""),
        ("login", "imap", "imapuser", "failure"),
        ("request", "imap", "LOGOUT", ""),
        ("login", "pop3", "popuser", "failure"),
        ("request", "dns", "A", "fileserver.corp.local"),
        ("login", "snmp", "", "success"),  # the community, once per source
        ("request", "snmp", "get", "1.3.6.1.2.1.1.1.0"),
        ("request", "sip", "sip", ""),
        ("request", "mqtt", "CONNECT", "e2e-plc"),
        ("login", "mqtt", "mqttuser", "success"),  # anonymous brokers take any credentials
        ("login", "ldap", "cn=admin,dc=corp,dc=local", "failure"),
    ]
)
"""Each action of `act` as tests/intruder.py's `key` names it."""
PASSWORDS = {
    "https": "https-guess-1", "postgres": "pg-guess-1", "smtp": "smtp-guess-1",
    "imap": "imap-guess-1", "pop3": "pop-guess-1", "mqtt": "mqtt-guess-1", "ldap": "ldap-guess-1",
}  # fmt: skip
"""The password each sensor that captures one must report as the client sent it."""


def carried(events: list[dict[str, Any]]) -> dict[str, set[str]]:
    """service -> the passwords its login events carry, and what the SIP request's headers
    and the Mongo query say (what the client sent, not just that it came)."""
    out: dict[str, set[str]] = {}
    for e in events:
        p = e["payload"]
        if e["type"] == "attack.login" and p["service"] in PASSWORDS:
            out.setdefault(p["service"], set()).add(str(p.get("password")))
        elif e["type"] == "attack.request" and p["service"] in ("sip", "mongodb"):
            out.setdefault(p["service"], set()).add(str(p.get("query")))
    return out


def document(name: str, host: str, subnet: str | None = None) -> str:
    """A topology file: decky `all` on a DMZ (on `subnet`, or allocated), running SERVICES."""
    dmz = f"{{name: dmz, dmz: true, subnet: {subnet}}}" if subnet else "{name: dmz, dmz: true}"
    return (
        f"name: {name}\nhost: {host}\nlans:\n  - {dmz}\n"
        f"deckies:\n  - name: all\n    home: dmz\n    services: [{', '.join(SERVICES)}]\n"
    )


def wait_for_actions(read: Callable[[], list[dict[str, Any]]], timeout: float = 180) -> None:
    """Until `read()` holds as many actions as EXPECTED (`check` then names any difference)."""
    deadline = time.monotonic() + timeout
    while sum(actions(read()).values()) < EXPECTED.total() and time.monotonic() < deadline:
        time.sleep(0.5)
    time.sleep(3)  # anything doubled would be here by now


def check(events: list[dict[str, Any]], ip: str, host: str) -> None:
    """`events` (a topology's attack events after `act`) are EXPECTED's actions once each,
    carrying what the clients sent, every service's connect, attributed to decky `all`."""
    assert actions(events) == EXPECTED
    got = carried(events)
    for service, password in PASSWORDS.items():
        assert got[service] == {password}, (service, got.get(service))
    assert "friendly-scanner" in got["sip"].pop() and "isMaster" in got["mongodb"].pop()
    connected = {e["payload"]["service"] for e in events if e["type"] == "attack.connect"}
    assert connected == set(SERVICES)
    ports = TCP | UDP
    for e in events:
        p = e["payload"]
        assert (p["decky"], p["lan"], p["host"]) == ("all", "dmz", host), p
        if e["type"] == "attack.scan":  # sixteen ports in seconds: the collector saw a scan
            assert set(p["ports"]) <= set(ports.values()), p
        else:  # a UDP socket listens on every address: which one a datagram hit is unknown
            assert p["dst_port"] == ports[p["service"]], p
            assert p.get("dst_ip") == ip or (p["service"] in UDP_TOO and p.get("dst_ip") is None), p


if __name__ == "__main__":
    if sys.argv[1] == "listening":
        listening(sys.argv[2], float(sys.argv[3]), TCP)
    elif sys.argv[1] == "act":
        act(sys.argv[2])
    else:
        sys.exit(f"usage: {__doc__}")
