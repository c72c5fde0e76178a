"""The receivers' side for the outputs tests: a real rsyslog (Debian's), a real HTTP(S) server
that verifies signatures with the snippet docs/observe.md gives SOCs, a PKI made on the spot,
an RFC 5424 parser written from the RFC (not from decnet's formatter), and a corpus of
hostile attack events built with the real models."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import http.server
import ipaddress
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from serve_support import wait_for as serve_wait_for

from decnet import events as ev
from decnet.settings import PROJECT_ROOT

if TYPE_CHECKING:
    from serve_support import Server

RSYSLOGD = shutil.which("rsyslogd") or "/usr/sbin/rsyslogd"
OBSERVE_MD = PROJECT_ROOT / "docs" / "observe.md"

DECNET = Path(sys.executable).with_name("decnet")
"""The real `decnet` console script."""
Cli = Callable[..., subprocess.CompletedProcess[str]]


# --- the SOC's snippets, taken from the docs ----------------------------------------------


def doc_snippet(name: str) -> Callable[..., Any]:
    """The function `name` defined by a ```python block of docs/observe.md: the tests run the
    very code the documentation hands to SOCs."""
    text = OBSERVE_MD.read_text(encoding="utf-8")
    for block in re.findall(r"```python\n(.*?)```", text, re.DOTALL):
        if f"def {name}(" in block:
            scope: dict[str, Any] = {}
            exec(compile(block, f"docs/observe.md:{name}", "exec"), scope)
            function: Callable[..., Any] = scope[name]
            return function
    raise AssertionError(f"docs/observe.md has no python block defining {name}")


# --- RFC 5424, parsed from the grammar -------------------------------------------------------


@dataclass
class Syslog:
    pri: int
    version: int
    timestamp: str
    hostname: str
    app_name: str
    procid: str
    msgid: str
    sd: dict[str, dict[str, str]]
    """SD-ID -> PARAM-NAME -> value with RFC 5424's escapes undone (and nothing else)."""
    msg: bytes


_HEADER = re.compile(rb"^<(\d{1,3})>(\d{1,2}) (\S+) (\S+) (\S+) (\S+) (\S+) ")
_NAME = re.compile(rb'[^ =\]"]{1,32}')


def parse_rfc5424(line: bytes) -> Syslog:
    head = _HEADER.match(line)
    assert head, line[:200]
    rest = line[head.end() :]
    sd: dict[str, dict[str, str]] = {}
    if rest.startswith(b"-"):
        rest = rest[1:]
    else:
        while rest.startswith(b"["):
            sd_id, rest = _name(rest[1:])
            params: dict[str, str] = {}
            while rest.startswith(b" "):
                name, rest = _name(rest[1:])
                assert rest.startswith(b'="'), rest[:50]
                value, rest = _value(rest[2:])
                params[name] = value
            assert rest.startswith(b"]"), rest[:50]
            sd[sd_id] = params
            rest = rest[1:]
    assert rest == b"" or rest.startswith(b" "), rest[:50]
    fields = [g.decode("ascii") for g in head.groups()]
    return Syslog(int(fields[0]), int(fields[1]), *fields[2:], sd=sd, msg=rest[1:])  # type: ignore[arg-type]


def _name(data: bytes) -> tuple[str, bytes]:
    match = _NAME.match(data)
    assert match, data[:50]
    return match[0].decode("ascii"), data[match.end() :]


def _value(data: bytes) -> tuple[str, bytes]:
    """PARAM-VALUE up to its closing quote; `\\"`, `\\\\`, `\\]` are the only escapes, and
    a backslash before anything else stays (RFC 5424 §6.3.3)."""
    out = bytearray()
    index = 0
    while True:
        byte = data[index : index + 1]
        assert byte, "unterminated PARAM-VALUE"
        if byte == b"\\" and data[index + 1 : index + 2] in (b'"', b"\\", b"]"):
            out += data[index + 1 : index + 2]
            index += 2
        elif byte == b'"':
            return out.decode("utf-8"), data[index + 1 :]
        elif byte == b"]":
            raise AssertionError("an unescaped ] inside a PARAM-VALUE")
        else:
            out += byte
            index += 1


# --- a PKI for TLS receivers ----------------------------------------------------------------


@dataclass(frozen=True)
class Pki:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    other_ca: Path
    """A CA that signed none of these (a receiver decnet must not trust)."""


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _cert(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: tuple[x509.Name, ec.EllipticCurvePrivateKey] | None,
    *,
    ca: bool = False,
    usage: Any = None,
) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    issuer_name, issuer_key = issuer or (name, key)
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(True, False, False, False, False, True, True, False, False), True
        )
    else:
        san = x509.SubjectAlternativeName(
            [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
        )
        builder = builder.add_extension(san, critical=False)
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    path.chmod(0o600)
    return path


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )


def make_pki(directory: Path) -> Pki:
    directory.mkdir(parents=True, exist_ok=True)
    ca_key, other_key = _key(), _key()
    ca = _cert("decnet test CA", ca_key, None, ca=True)
    other = _cert("someone else's CA", other_key, None, ca=True)
    issuer = (ca.subject, ca_key)
    server_key, client_key = _key(), _key()
    server = _cert("localhost", server_key, issuer, usage=ExtendedKeyUsageOID.SERVER_AUTH)
    client = _cert("decnet sender", client_key, issuer, usage=ExtendedKeyUsageOID.CLIENT_AUTH)
    return Pki(
        ca=_write(directory / "ca.pem", _pem(ca)),
        server_cert=_write(directory / "server.pem", _pem(server)),
        server_key=_write(directory / "server.key", _key_pem(server_key)),
        client_cert=_write(directory / "client.pem", _pem(client)),
        client_key=_write(directory / "client.key", _key_pem(client_key)),
        other_ca=_write(directory / "other-ca.pem", _pem(other)),
    )


# --- a real rsyslog ---------------------------------------------------------------------------


@dataclass
class Rsyslog:
    """rsyslogd -n with a config of its own: imtcp on a loopback port (optionally TLS through
    a netstream driver), every message written as `%rawmsg%` on a line. Started and stopped by
    its PID; the system's rsyslog service is never touched."""

    workdir: Path
    tls: str | None = None
    """None (plain TCP), or the netstream driver: gtls or ossl."""
    pki: Pki | None = None
    auth: str = "anon"
    """Client authentication of the TLS input: anon, or x509/certvalid (a client certificate
    signed by the CA)."""
    max_message: str = "1m"
    port: int = 0
    process: subprocess.Popen[bytes] | None = None

    @property
    def out(self) -> Path:
        return self.workdir / "messages.log"

    def config(self) -> str:
        spool = self.workdir / "spool"
        spool.mkdir(parents=True, exist_ok=True)
        lines = [f'global(workDirectory="{spool}" maxMessageSize="{self.max_message}"']
        module = 'module(load="imtcp"'
        if self.tls:
            assert self.pki is not None
            lines += [
                f'  defaultNetstreamDriver="{self.tls}"',
                f'  defaultNetstreamDriverCAFile="{self.pki.ca}"',
                f'  defaultNetstreamDriverCertFile="{self.pki.server_cert}"',
                f'  defaultNetstreamDriverKeyFile="{self.pki.server_key}"',
            ]
            module += f' streamDriver.name="{self.tls}" streamDriver.mode="1"'
            module += f' streamDriver.authMode="{self.auth}"'
        lines[-1] += ")"
        portfile = self.workdir / "port"
        return "\n".join(
            [
                *lines,
                module + ")",
                f'input(type="imtcp" port="{self.port}" address="127.0.0.1" '
                f'listenPortFileName="{portfile}")',
                'template(name="raw" type="string" string="%rawmsg%\\n")',
                f'action(type="omfile" file="{self.out}" template="raw")',
            ]
        )

    def start(self) -> Rsyslog:
        if not Path(RSYSLOGD).exists():
            raise AssertionError(
                "rsyslogd is missing: run scripts/setup-host.sh "
                "(apt-get install rsyslog rsyslog-gnutls rsyslog-openssl)"
            )
        self.workdir.mkdir(parents=True, exist_ok=True)
        portfile = self.workdir / "port"
        portfile.unlink(missing_ok=True)
        conf = self.workdir / "rsyslog.conf"
        conf.write_text(self.config() + "\n")
        log = (self.workdir / "rsyslogd.log").open("ab")
        self.process = subprocess.Popen(
            [RSYSLOGD, "-n", "-f", str(conf), "-i", str(self.workdir / "rsyslogd.pid")],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 20
        # rsyslog writes the port file for port 0 only; a restart keeps its port
        while not self.port and not (portfile.exists() and portfile.read_text().strip()):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise AssertionError(f"rsyslogd did not start: {self.log()}")
            time.sleep(0.05)
        self.port = self.port or int(portfile.read_text().strip())
        _wait_listening(self.port, timeout=20)
        return self

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.process = None

    def restart(self) -> None:
        """Stop, then start again on the same port (a receiver that went away and came back)."""
        self.stop()
        self.start()

    def log(self) -> str:
        path = self.workdir / "rsyslogd.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""

    def lines(self) -> list[bytes]:
        if not self.out.exists():
            return []
        data = self.out.read_bytes()
        return data.split(b"\n")[:-1] if data.endswith(b"\n") else data.split(b"\n")

    def wait_lines(self, count: int, timeout: float = 30) -> list[bytes]:
        deadline = time.monotonic() + timeout
        while True:
            lines = self.lines()
            if len(lines) >= count or time.monotonic() > deadline:
                return lines
            time.sleep(0.05)

    @property
    def url(self) -> str:
        return f"{'tls' if self.tls else 'tcp'}://127.0.0.1:{self.port}"


def _wait_listening(port: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"nothing listens on 127.0.0.1:{port}")
        time.sleep(0.05)


@contextlib.contextmanager
def rsyslog(workdir: Path, **kwargs: Any) -> Iterator[Rsyslog]:
    receiver = Rsyslog(workdir, **kwargs).start()
    try:
        yield receiver
    finally:
        receiver.stop()


# --- a real webhook receiver ----------------------------------------------------------------


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    verified: bool
    status: int
    at: float = field(default_factory=time.monotonic)
    wall: float = field(default_factory=time.time)


@dataclass
class WebhookReceiver:
    """A ThreadingHTTPServer on 127.0.0.1 that verifies every POST with the documented
    snippet and answers with the next status of `script` (then 200)."""

    key: bytes
    pki: Pki | None = None
    script: list[int] = field(default_factory=list)
    retry_after: str | None = None
    received: list[Received] = field(default_factory=list)
    port: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: http.server.ThreadingHTTPServer | None = None
    thread: threading.Thread | None = None

    def start(self) -> WebhookReceiver:
        verify = doc_snippet("verify_decnet_signature")
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                signature = self.headers.get("X-Decnet-Signature", "")
                with receiver.lock:
                    status = receiver.script.pop(0) if receiver.script else 200
                    receiver.received.append(
                        Received(self.path, dict(self.headers.items()), body,
                                 bool(verify(receiver.key, signature, body)), status)
                    )  # fmt: skip
                self.send_response(status)
                if receiver.retry_after and status in (429, 503):
                    self.send_header("Retry-After", receiver.retry_after)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        if self.pki is not None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(self.pki.server_cert, self.pki.server_key)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def url(self, path: str = "/hooks/decnet?token=s3cr3t-in-query") -> str:
        scheme = "https" if self.pki else "http"
        host = "localhost" if self.pki else "127.0.0.1"
        return f"{scheme}://{host}:{self.port}{path}"

    def bodies(self) -> list[dict[str, Any]]:
        with self.lock:
            return [json.loads(r.body) for r in self.received if 200 <= r.status < 300]


@contextlib.contextmanager
def webhook(key: bytes, **kwargs: Any) -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver(key, **kwargs).start()
    try:
        yield receiver
    finally:
        receiver.stop()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- one topology's attack events in every view and output of a `decnet serve` ------------


def add_outputs(
    server: Server, syslog: Rsyslog, hook: WebhookReceiver, name: str, key: str
) -> None:
    """A syslog output to `syslog` over TCP, a JSONL file `attacks.jsonl` and a webhook to
    `hook` signed with `key`, each for topology `name` from the first event on."""
    bodies = [
        {"name": "siem", "kind": "syslog", "url": f"tcp://127.0.0.1:{syslog.port}"},
        {"name": "archive", "kind": "jsonl", "path": "attacks.jsonl"},
        {"name": "hook", "kind": "webhook", "url": hook.url(), "secret": key},
    ]
    with server.api() as c:
        for body in bodies:
            created = c.post("/outputs", json={**body, "topologies": [name], "since": 0})
            assert created.status_code == 201, created.text


def api_events(server: Server, name: str) -> list[dict[str, Any]]:
    """Every attack event of topology `name` the API serves, page by page."""
    items: list[dict[str, Any]] = []
    since = 0
    with server.api() as c:
        while True:
            query = {"topology": name, "type": "attack.*", "limit": 1000, "since": since}
            page = c.get("/events", params=query).json()
            items += page["items"]
            if len(page["items"]) < 1000:
                return items
            since = page["next_since"]


def sse_events(server: Server, name: str, last: int) -> list[dict[str, Any]]:
    """The topology's attack events on its stream from the start, read until event `last`."""
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


def delivered(jsonl: Path, syslog: Rsyslog, hook: WebhookReceiver) -> dict[str, list[int]]:
    """The event ids each output of `add_outputs` delivered so far, copies included."""
    lines = jsonl.read_bytes().splitlines() if jsonl.exists() else []
    return {
        "jsonl": [json.loads(line)["id"] for line in lines],
        "syslog": [int(parse_rfc5424(m).sd["decnet@32473"]["id"]) for m in syslog.lines()],
        "webhook": [b["id"] for b in hook.bodies()],
    }


def delivered_all(
    jsonl: Path, syslog: Rsyslog, hook: WebhookReceiver, ids: list[int]
) -> dict[str, list[int]] | None:
    """What was delivered, once every output holds every one of `ids`; else None."""
    got = delivered(jsonl, syslog, hook)
    return got if all(set(ids) <= set(v) for v in got.values()) else None


# --- hostile input ------------------------------------------------------------------------

HOSTILE: dict[str, str] = {
    "controls": "root\x00\x01\x07\x08\t\n\r\x0b\x0c\x1b\x7f\x85\x9b end",
    "ansi": "\x1b[31mred\x1b[0m\x1b]0;pwned\x07\x1b[2J\x1b[1;1H",
    "script": "<script>alert(1)</script><img src=x onerror=alert(1)>",
    "rfc5424": 'a]b"c\\d\\\\e\\"f\\]g]]"""\\',
    "sd_injection": '"] [evil@1 x="y"] <13>1 - - - - - forged',
    "crlf": "user\r\n<14>1 2026-01-01T00:00:00Z forged app - - - injected\n",
    "octet_frame": "10 <13>1 - -\n99999 ",
    "unicode": "é漢字🙂\u202eevil\u200b\u2028\u2029\ufeff\ufffd\uffff\U0010ffff\u0301\u00a0",
    "lookalike_escapes": "\\u0041\\U0001f600\\x41\\n\\\\u0000",
    "backslashes": "C:\\Windows\\System32\\",
    "json": '{"id": 1, "type": "attack.login"}\n{"x":',
    "format": "%00%0a%s%n%x%%{user}",
    "empty": "",
}
"""Strings an intruder may send, each in a field it controls. (Lone surrogates cannot reach
the event table — SQLite's driver refuses them — so they are covered by the formatter's unit
tests.)"""


def _filled(cap: int) -> str:
    """A value at its cap (what is left of a megabyte line), full of hostile characters."""
    pattern = "".join(HOSTILE.values())
    return (pattern * (cap // len(pattern) + 1))[:cap]


def _common(index: int, raw: str, session: str) -> dict[str, Any]:
    return {
        "topology": "hostile",
        "host": "localhost",
        "decky": f"web{index % 3}",
        "lan": "dmz",
        "service": "ssh",
        "src_ip": f"203.0.113.{index % 250 + 1}",
        "src_port": 40000 + index,
        "dst_ip": "10.9.0.2",
        "dst_port": 22,
        "session": session[:128],
        "sensor": "cowrie",
        "observed_at": "2026-12-07T01:02:03.000000+00:00",
        "line": f"localhost:hostile/web{index % 3}/ssh#1:{index}",
        "raw": raw[: ev.RAW],
    }


def hostile_events() -> list[ev.AttackEvent]:
    """Every hostile string in every field an intruder writes, and every capped field at its
    cap: what a collector would store from a megabyte line."""
    out: list[ev.AttackEvent] = []
    for index, (kind, text) in enumerate(HOSTILE.items()):
        common = _common(index, f"raw {kind}: {text}", text)
        out += [
            ev.AttackLogin(**common, username=text, password=text, outcome="failure",
                           mechanism=text[:64], domain=text),
            ev.AttackCommand(**common, command=text),
            ev.AttackRequest(**common, method=text[:64], path=text, user_agent=text, query=text),
            ev.AttackDownload(**common, url=text, size=len(text)),
        ]  # fmt: skip
    common = _common(99, _filled(ev.RAW), _filled(128))
    out += [
        ev.AttackLogin(**common, username=_filled(ev.SHORT), password=_filled(ev.SHORT),
                       outcome="success", hash=_filled(ev.LONG), domain=_filled(ev.SHORT)),
        ev.AttackCommand(**common, command=_filled(ev.LONG)),
        ev.AttackRequest(**common, method=_filled(64), path=_filled(ev.LONG),
                         user_agent=_filled(ev.SHORT), query=_filled(ev.LONG)),
        ev.AttackDownload(**common, url=_filled(ev.LONG), sha256="ab" * 32, size=2**40),
        ev.AttackScan(**common, connects=1_000_000, ports=list(range(1, 1025)),
                      first_at="2026-12-07T01:00:00Z", last_at="2026-12-07T01:02:03Z"),
        ev.AttackConnect(**common, transport="udp"),
    ]  # fmt: skip
    return out


def write_events(db: Path, payloads: list[Any], topology: str | None = None) -> list[int]:
    from decnet.store import Store

    with Store(db) as store:
        return [store.append_event(p, topology=getattr(p, "topology", topology)) for p in payloads]


def rendered(value: Any) -> str:
    """What a value of an event becomes as an SD-PARAM (strings as they are, the rest JSON)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


wait_for = functools.partial(serve_wait_for, every=0.05)
"""tests/serve_support.py's, polling every 50 ms: an in-process server answers at once."""


def env_without_decnet(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DECNET_")}
    env.update(COLUMNS="200", **extra)
    return env
