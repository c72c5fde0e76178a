"""What every emulator shares: listening, the event dict, caps on hostile input, TLS.

Everything a client sends is hostile: strings reaching an event are cut to a cap and bytes are
decoded with backslash escapes (the launcher escapes the rest), buffers are bounded, and an
idle connection is closed.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import os
import secrets
from collections.abc import Callable
from typing import Any

from twisted.application import internet
from twisted.application.service import Service
from twisted.internet import protocol
from twisted.protocols.basic import LineReceiver
from twisted.protocols.policies import TimeoutMixin

from .base import EmulatorContext

# Test hooks (testserve): where to listen, and which ports speak TLS from the first byte.
LISTEN_INTERFACE = ""
IMPLICIT_TLS_PORTS: set[int] = {465, 636, 993, 995}

IDLE_TIMEOUT = 120.0  # seconds without a byte before a connection is closed
FIELD_CAP = 512  # characters of one string field (user, password, path, …)
QUERY_CAP = 4096  # characters of a query / command text / body excerpt
MAX_COMMANDS = 500  # commands one connection may send before it is cut off

_TRUE = {"1", "true", "yes", "on"}


def text(value: str | bytes | None, limit: int = FIELD_CAP) -> str:
    """`value` as a str of at most `limit` characters; undecodable bytes kept as escapes."""
    if value is None:
        return ""
    if isinstance(value, bytes):
        value = value[: limit * 4].decode("utf-8", "backslashreplace")
    return value[:limit]


def flag(config: dict[str, str], key: str, default: bool) -> bool:
    value = config.get(key)
    return default if value is None or value == "" else value.strip().lower() in _TRUE


def session_of(transport: Any) -> str:
    """The connection's id: the launcher's, when it tagged the transport, else one of ours."""
    sid = getattr(transport, "decnet_session", None)
    if not isinstance(sid, str):
        sid = secrets.token_hex(4)
        # a transport with __slots__ cannot keep it: the id then lives on our side only
        with contextlib.suppress(AttributeError):
            transport.decnet_session = sid
    return sid


WILDCARDS = ("0.0.0.0", "::", "")
"""A listening socket's own address when it is bound to every address."""


class Events:
    """Builds and emits one connection's (or one datagram's) `decnet` event dicts."""

    def __init__(
        self,
        ctx: EmulatorContext,
        src: tuple[str, int],
        dst: tuple[str, int],
        session: str | None,
    ) -> None:
        self.emit_line = ctx.emit
        self.base: dict[str, object] = {
            "src_ip": src[0],
            "src_port": src[1],
            # a socket bound to every address (UDP) knows no destination: null, not 0.0.0.0
            "dst_ip": None if dst[0] in WILDCARDS else dst[0],
            "dst_port": dst[1],
        }
        if session is not None:
            self.base["session"] = session

    @classmethod
    def for_connection(cls, ctx: EmulatorContext, transport: Any) -> Events:
        peer, host = transport.getPeer(), transport.getHost()
        return cls(
            ctx,
            (getattr(peer, "host", ""), getattr(peer, "port", 0)),
            (getattr(host, "host", ""), getattr(host, "port", 0)),
            session_of(transport),
        )

    def emit(self, kind: str, **fields: object) -> None:
        self.emit_line({"kind": kind, **self.base, **fields})

    def login(
        self, username: str | bytes, password: str | bytes | None, outcome: str, **extra: object
    ) -> None:
        fields: dict[str, object] = {"username": text(username), "outcome": outcome, **extra}
        if password is not None:
            fields["password"] = text(password)
        self.emit("login", **fields)

    def request(self, method: str, path: str | bytes = "", **extra: object) -> None:
        self.emit("request", method=text(method, 64), path=text(path), **extra)


def tcp_services(
    ctx: EmulatorContext, factory: Callable[[int, bool], protocol.Factory]
) -> list[Service]:
    """A listener per TCP port of `ctx`; `factory(port, tls)` makes each port's factory."""
    services: list[Service] = []
    for port, proto in ctx.ports:
        if proto != "tcp":
            continue
        tls = port in IMPLICIT_TLS_PORTS
        f = factory(port, tls)
        if tls:
            services.append(
                internet.SSLServer(port, f, tls_options(ctx), interface=LISTEN_INTERFACE)
            )
        else:
            services.append(internet.TCPServer(port, f, interface=LISTEN_INTERFACE))
    return services


class TLSMixin:
    ctx: EmulatorContext
    transport: Any

    def secure(self) -> bool:
        """Whether this connection is TLS (an implicit-TLS port, or after STARTTLS)."""
        return bool(getattr(self, "tls", False) or getattr(self.transport, "TLS", False))

    def start_tls(self) -> None:
        self.transport.startTLS(tls_options(self.ctx))


class LineProtocol(TLSMixin, LineReceiver, TimeoutMixin):
    """A text protocol (SMTP, POP3, IMAP): bounded lines, bare LF accepted, idle timeout."""

    delimiter = b"\n"
    MAX_LENGTH = 8192
    ctx: EmulatorContext

    def connectionMade(self) -> None:
        self.events = Events.for_connection(self.ctx, self.transport)
        self.commands = 0
        self.setTimeout(IDLE_TIMEOUT)
        self.greet()

    def greet(self) -> None:
        raise NotImplementedError

    def lineReceived(self, line: bytes) -> None:
        self.resetTimeout()
        self.commands += 1
        if self.commands > MAX_COMMANDS:
            self.transport.loseConnection()
            return
        self.handle(line.rstrip(b"\r"))

    def handle(self, line: bytes) -> None:
        raise NotImplementedError

    def send(self, *lines: str) -> None:
        self.transport.write("".join(f"{line}\r\n" for line in lines).encode("utf-8", "replace"))

    def lineLengthExceeded(self, line: bytes) -> None:
        self.transport.loseConnection()

    def timeoutConnection(self) -> None:
        self.transport.loseConnection()

    def connectionLost(self, reason: object = None) -> None:
        self.setTimeout(None)


class BinaryProtocol(TLSMixin, protocol.Protocol, TimeoutMixin):
    """A framed binary protocol: a bounded buffer, an idle timeout, `frames()` to parse it."""

    MAX_BUFFER = 1 << 16
    ctx: EmulatorContext

    def connectionMade(self) -> None:
        self.events = Events.for_connection(self.ctx, self.transport)
        self.buffer = b""
        self.commands = 0
        self.setTimeout(IDLE_TIMEOUT)

    def dataReceived(self, data: bytes) -> None:
        self.resetTimeout()
        self.buffer += data
        if len(self.buffer) > self.MAX_BUFFER:
            self.transport.loseConnection()
            return
        self.consume()

    def consume(self) -> None:
        raise NotImplementedError

    def closing(self) -> bool:
        return bool(getattr(self.transport, "disconnecting", False))

    def count_command(self) -> bool:
        """False (and the connection closing) once a client sent too many messages."""
        self.commands += 1
        if self.commands > MAX_COMMANDS:
            self.transport.loseConnection()
            return False
        return True

    def timeoutConnection(self) -> None:
        self.transport.loseConnection()

    def connectionLost(self, reason: object = None) -> None:
        self.setTimeout(None)


def factory_for(
    ctx: EmulatorContext, cls: type[protocol.Protocol], **attrs: object
) -> Callable[[int, bool], protocol.Factory]:
    """A `tcp_services` factory maker: `cls` with `ctx`, the port's `tls` and `attrs` set."""

    def make(port: int, tls: bool) -> protocol.Factory:
        sub = type(cls.__name__, (cls,), {"ctx": ctx, "tls": tls, "port": port, **attrs})
        return protocol.Factory.forProtocol(sub)

    return make


_TLS_CACHE: dict[str, Any] = {}


def tls_options(ctx: EmulatorContext) -> Any:
    """Twisted TLS options with this decky's self-signed certificate (made once, kept in
    state_dir so a recreated container shows the same certificate)."""
    path = ctx.state_dir / "tls.pem"
    key = str(path)
    if key not in _TLS_CACHE:
        from twisted.internet import ssl

        if not path.exists():
            _write_private(path, _self_signed_pem(ctx.hostname))
        _TLS_CACHE[key] = ssl.PrivateCertificate.loadPEM(path.read_bytes()).options()
    return _TLS_CACHE[key]


def _write_private(path: os.PathLike[str], data: bytes) -> None:
    tmp = f"{os.fspath(path)}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def _self_signed_pem(hostname: str) -> bytes:
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname or "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=secrets.randbelow(300) + 30))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(hostname or "localhost")]), False)
        .sign(key, hashes.SHA256())
    )
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ) + cert.public_bytes(serialization.Encoding.PEM)


def decode_b64(data: bytes) -> bytes | None:
    try:
        return base64.b64decode(data.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None


class Sasl:
    """One SASL PLAIN or LOGIN exchange (SMTP, POP3, IMAP, LDAP): `feed` each client response
    and get the next challenge (str, base64), the credentials (tuple) or "abort"/"bad"."""

    MECHANISMS = ("PLAIN", "LOGIN")

    def __init__(self, mechanism: str) -> None:
        self.mechanism = mechanism
        self.user: bytes | None = None

    def first_challenge(self) -> str:
        return "" if self.mechanism == "PLAIN" else "VXNlcm5hbWU6"  # "Username:"

    def feed(self, line: bytes) -> str | tuple[bytes, bytes]:
        if line.strip() == b"*":
            return "abort"
        raw = decode_b64(line)
        if raw is None:
            return "bad"
        if self.mechanism == "PLAIN":
            if raw.count(b"\0") != 2:
                return "bad"
            _, user, password = raw.split(b"\0")
            return user, password
        if self.user is None:
            self.user = raw
            return "UGFzc3dvcmQ6"  # "Password:"
        return self.user, raw
