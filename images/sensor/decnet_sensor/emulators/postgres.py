"""PostgreSQL wire protocol v3: the startup (user, database), a cleartext password request (or
MD5 with `auth=md5`) whose answer is recorded, success only for the configured password, and
queries after that recorded as requests (answered: version(), else permission denied)."""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import struct

from twisted.application.service import Service

from ._common import QUERY_CAP, BinaryProtocol, factory_for, tcp_services, text
from .base import EmulatorContext

SERVICE = "postgres"

PROTOCOL_3 = 196608
SSL_REQUEST, GSS_REQUEST, CANCEL_REQUEST = 80877103, 80877104, 80877102
MAX_STARTUP = 10000  # what PostgreSQL itself accepts
MAX_MESSAGE = 1 << 16


class Malformed(Exception):
    """The client sent something no PostgreSQL client sends."""


def parse_startup(payload: bytes) -> tuple[int, dict[str, str]]:
    """(code, parameters) of a startup packet without its length word."""
    if len(payload) < 4:
        raise Malformed("short startup")
    (code,) = struct.unpack("!I", payload[:4])
    if code != PROTOCOL_3:
        return code, {}
    fields = payload[4:].split(b"\0")
    params: dict[str, str] = {}
    for key, value in zip(fields[0::2], fields[1::2], strict=False):
        if key:
            params[text(key, 64)] = text(value)
    return code, params


def split_message(buf: bytes, startup: bool) -> tuple[bytes, bytes, bytes] | None:
    """(type, payload, rest) of the first complete message in `buf`, or None to wait for more.
    The startup message has no type byte (type b"")."""
    head = 4 if startup else 5
    if len(buf) < head:
        return None
    (length,) = struct.unpack("!I", buf[head - 4 : head])
    limit = MAX_STARTUP if startup else MAX_MESSAGE
    if length < 4 or length > limit:
        raise Malformed("bad length")
    end = head - 4 + length
    if len(buf) < end:
        return None
    return (b"" if startup else buf[:1]), buf[head:end], buf[end:]


def message(kind: bytes, payload: bytes = b"") -> bytes:
    return kind + struct.pack("!I", len(payload) + 4) + payload


def error(severity: str, code: str, msg: str) -> bytes:
    fields = [("S", severity), ("V", severity), ("C", code), ("M", msg)]
    body = b"".join(k.encode() + v.encode("utf-8", "replace") + b"\0" for k, v in fields)
    return message(b"E", body + b"\0")


def md5_hash(user: str, salt: bytes, response: str) -> str:
    """An MD5 password answer in John the Ripper's `$postgres$` form (crackable offline)."""
    return f"$postgres${user}*{salt.hex()}*{response.removeprefix('md5')}"


def md5_response(user: str, password: str, salt: bytes) -> str:
    inner = hashlib.md5((password + user).encode()).hexdigest()
    return "md5" + hashlib.md5(inner.encode() + salt).hexdigest()


def sql_kind(query: str) -> str:
    m = re.match(r"\s*([A-Za-z]+)", query)
    return m.group(1).upper()[:16] if m else "EMPTY"


def version_string(version: str) -> str:
    major = version.split(".")[0]
    return (
        (
            f"PostgreSQL {version} (Debian {version}-1.pgdg120+2) on x86_64-pc-linux-gnu, "
            f"compiled by gcc (Debian 12.2.0-14) 12.2.0, 64-bit"
        )
        if major
        else version
    )


def row_description(column: str) -> bytes:
    """One text column (type oid 25)."""
    field = column.encode() + b"\0" + struct.pack("!IhIhih", 0, 0, 25, -1, -1, 0)
    return message(b"T", struct.pack("!H", 1) + field)


def data_row(value: str) -> bytes:
    data = value.encode("utf-8", "replace")
    return message(b"D", struct.pack("!HI", 1, len(data)) + data)


DENIED = error("ERROR", "42501", "permission denied for schema public")
_CANNED = re.compile(
    r"(?is)\s*select\s+(version\s*\(\s*\)|current_user|current_database\s*\(\s*\)|1)\s*;?\s*"
)


class Postgres(BinaryProtocol):
    MAX_BUFFER = MAX_MESSAGE + 8

    def connectionMade(self) -> None:
        super().connectionMade()
        self.state = "startup"  # startup -> password -> ready
        self.user = ""
        self.salt = b""
        self.failed = False  # an extended-protocol error: skip to Sync
        self.prepared: tuple[str, str] | None = None

    def consume(self) -> None:
        try:
            while self.state != "closed":
                msg = split_message(self.buffer, self.state == "startup")
                if msg is None:
                    return
                kind, payload, self.buffer = msg
                if not self.count_command():
                    return
                getattr(self, f"on_{self.state}")(kind, payload)
        except Malformed:
            self.close()

    def close(self) -> None:
        self.state = "closed"
        self.transport.loseConnection()

    def on_startup(self, kind: bytes, payload: bytes) -> None:
        code, params = parse_startup(payload)
        if code in (SSL_REQUEST, GSS_REQUEST):
            self.transport.write(b"N")  # no TLS here: the client goes on in clear (or gives up)
            return
        if code != PROTOCOL_3:
            self.close()
            return
        self.user = params.get("user", "")
        self.database = params.get("database", "") or self.user
        self.events.request(
            "STARTUP",
            self.database,
            detail={"user": self.user, "application_name": params.get("application_name", "")},
        )
        if not self.user:
            self.transport.write(
                error("FATAL", "28000", "no PostgreSQL user name specified in startup packet")
            )
            self.close()
            return
        self.state = "password"
        if self.ctx.config.get("auth", "password") == "md5":
            self.salt = secrets.token_bytes(4)
            self.transport.write(message(b"R", struct.pack("!I", 5) + self.salt))
        else:
            self.transport.write(message(b"R", struct.pack("!I", 3)))

    def on_password(self, kind: bytes, payload: bytes) -> None:
        if kind != b"p":
            self.close()
            return
        answer = text(payload.split(b"\0", 1)[0])
        configured = self.ctx.config.get("password", "")
        extra: dict[str, object] = {"mechanism": "cleartext", "domain": self.database}
        if self.salt:
            extra = {
                "mechanism": "md5",
                "hash": md5_hash(self.user, self.salt, answer),
                "domain": self.database,
            }
            ok = bool(configured) and answer == md5_response(self.user, configured, self.salt)
            password = None
        else:
            ok = bool(configured) and answer == configured
            password = answer
        self.events.login(self.user, password, "success" if ok else "failure", **extra)
        if not ok:
            msg = f'password authentication failed for user "{self.user}"'
            self.transport.write(error("FATAL", "28P01", msg))
            self.close()
            return
        self.state = "ready"
        self.transport.write(self.welcome())

    def welcome(self) -> bytes:
        version = self.ctx.config.get("version", "15.6")
        params = {
            "server_version": version,
            "server_encoding": "UTF8",
            "client_encoding": "UTF8",
            "DateStyle": "ISO, MDY",
            "integer_datetimes": "on",
            "TimeZone": "Etc/UTC",
            "standard_conforming_strings": "on",
            "is_superuser": "off",
            "session_authorization": self.user,
        }
        out = message(b"R", struct.pack("!I", 0))
        for k, v in params.items():
            out += message(b"S", k.encode() + b"\0" + v.encode("utf-8", "replace") + b"\0")
        key = struct.pack("!II", os.getpid() & 0x7FFFFFFF, secrets.randbits(31))
        return out + message(b"K", key) + message(b"Z", b"I")

    def on_ready(self, kind: bytes, payload: bytes) -> None:
        if kind == b"X":
            self.close()
        elif kind == b"Q":
            q = text(payload.rstrip(b"\0"), QUERY_CAP)
            self.events.request(sql_kind(q), self.database, query=q)
            self.transport.write(self.simple_query(q) + message(b"Z", b"I"))
        elif kind == b"S":
            self.failed = False
            self.transport.write(message(b"Z", b"I"))
        elif not self.failed:
            self.extended(kind, payload)

    def simple_query(self, q: str) -> bytes:
        if not q.strip(" ;\n\t"):
            return message(b"I")
        answer = self.canned(q)
        if answer is None:
            return DENIED
        return row_description(answer[0]) + data_row(answer[1]) + message(b"C", b"SELECT 1\0")

    def extended(self, kind: bytes, payload: bytes) -> None:
        """The extended query protocol (Parse/Bind/Describe/Execute), answered in order; after
        an error everything up to Sync is skipped, as PostgreSQL does."""
        if kind == b"P":
            _, _, rest = payload.partition(b"\0")
            q = text(rest.split(b"\0", 1)[0], QUERY_CAP)
            self.events.request(sql_kind(q), self.database, query=q)
            self.prepared = self.canned(q)
            if self.prepared is None:
                self.failed = True
                self.transport.write(DENIED)
            else:
                self.transport.write(message(b"1"))
        elif kind == b"B":
            self.transport.write(message(b"2"))
        elif kind == b"D" and self.prepared is not None:
            params = message(b"t", struct.pack("!H", 0)) if payload[:1] == b"S" else b""
            self.transport.write(params + row_description(self.prepared[0]))
        elif kind == b"E" and self.prepared is not None:
            self.transport.write(data_row(self.prepared[1]) + message(b"C", b"SELECT 1\0"))
        elif kind == b"C":
            self.transport.write(message(b"3"))

    def canned(self, q: str) -> tuple[str, str] | None:
        """(column, value) for the few harmless probes a client sends first; None otherwise."""
        m = _CANNED.fullmatch(q)
        if m is None:
            return None
        what = re.sub(r"\s", "", m.group(1).lower())
        if what == "version()":
            return "version", version_string(self.ctx.config.get("version", "15.6"))
        if what == "current_user":
            return "current_user", self.user
        if what == "current_database()":
            return "current_database", self.database
        return "?column?", "1"


def build(ctx: EmulatorContext) -> list[Service]:
    return tcp_services(ctx, factory_for(ctx, Postgres))
