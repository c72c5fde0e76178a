"""The PostgreSQL emulator against pg8000 (a real client) and raw protocol messages."""

from __future__ import annotations

import hashlib
import socket
import struct
from collections.abc import Callable
from typing import Any

import pg8000.native
import pytest
from decnet_sensor.emulators import postgres
from emu_support import fuzz_tcp

pytestmark = pytest.mark.timeout(120)


def startup(**params: str) -> bytes:
    body = struct.pack("!I", postgres.PROTOCOL_3)
    body += b"".join(k.encode() + b"\0" + v.encode() + b"\0" for k, v in params.items()) + b"\0"
    return struct.pack("!I", len(body) + 4) + body


def read_message(f: Any) -> tuple[bytes, bytes]:
    head = f.read(5)
    (length,) = struct.unpack("!I", head[1:])
    return head[:1], f.read(length - 4)


def test_parsers() -> None:
    code, params = postgres.parse_startup(startup(user="bob", database="hr")[4:])
    assert code == postgres.PROTOCOL_3 and params == {"user": "bob", "database": "hr"}
    assert postgres.split_message(b"p\x00\x00\x00\x08ab", False) is None  # wait for more
    assert postgres.split_message(b"p\x00\x00\x00\x06abX", False) == (b"p", b"ab", b"X")
    for bad in (b"p\x00\x00\x00\x02", b"p\xff\xff\xff\xff"):
        with pytest.raises(postgres.Malformed):
            postgres.split_message(bad, False)
    with pytest.raises(postgres.Malformed):
        postgres.parse_startup(b"\x00")
    assert postgres.parse_startup(b"\x00\x03\x00\x00user")[1] == {}  # key without value
    salt = b"\x01\x02\x03\x04"
    answer = postgres.md5_response("bob", "pw", salt)
    assert postgres.md5_hash("bob", salt, answer) == f"$postgres$bob*01020304*{answer[3:]}"
    assert postgres.sql_kind("  select 1") == "SELECT" and postgres.sql_kind(";") == "EMPTY"


def test_wrong_password_refused_and_recorded(serve: Callable[..., Any]) -> None:
    emu = serve("postgres", ["5432/tcp"], {"password": "Winter2024!"})
    with pytest.raises(pg8000.native.DatabaseError) as err:
        pg8000.native.Connection(
            "admin", host="127.0.0.1", port=emu.port(5432), password="guess", database="hr"
        )
    assert err.value.args[0]["C"] == "28P01"
    assert 'password authentication failed for user "admin"' in err.value.args[0]["M"]
    login = emu.events(kind="login", username="admin")[0]
    assert login["password"] == "guess" and login["outcome"] == "failure"
    assert login["domain"] == "hr" and login["mechanism"] == "cleartext"
    assert emu.events(kind="request", method="STARTUP", path="hr")[0]["detail"]["user"] == "admin"


def test_right_password_then_queries(serve: Callable[..., Any]) -> None:
    emu = serve("postgres", ["5432/tcp"], {"password": "Winter2024!", "version": "14.11"})
    conn = pg8000.native.Connection(
        "postgres", host="127.0.0.1", port=emu.port(5432), password="Winter2024!"
    )
    assert conn.parameter_statuses["server_version"] == "14.11"
    assert conn.run("SELECT version()")[0][0].startswith("PostgreSQL 14.11 (Debian")
    assert conn.run("select current_user") == [["postgres"]]
    with pytest.raises(pg8000.native.DatabaseError) as err:
        conn.run("SELECT * FROM pg_shadow")
    assert err.value.args[0]["C"] == "42501"
    assert conn.run("select 1") == [["1"]]  # the connection is still usable after the error
    conn.close()
    assert emu.events(kind="login", username="postgres", outcome="success")
    shadow = emu.events(kind="request", method="SELECT", query="SELECT * FROM pg_shadow")[0]
    assert shadow["path"] == "postgres"
    assert "password" not in shadow


def test_raw_simple_query_ssl_request_and_md5(serve: Callable[..., Any]) -> None:
    emu = serve("postgres", ["5432/tcp"], {"password": "pw", "auth": "md5"})
    with socket.create_connection(("127.0.0.1", emu.port(5432)), timeout=5) as s:
        f = s.makefile("rb")
        s.sendall(struct.pack("!II", 8, postgres.SSL_REQUEST))
        assert f.read(1) == b"N"
        s.sendall(startup(user="bob"))
        kind, body = read_message(f)
        assert kind == b"R" and body[:4] == struct.pack("!I", 5)
        salt = body[4:8]
        answer = postgres.md5_response("bob", "pw", salt)
        s.sendall(b"p" + struct.pack("!I", len(answer) + 5) + answer.encode() + b"\0")
        kinds = []
        while not kinds or kinds[-1] != b"Z":
            kinds.append(read_message(f)[0])
        assert kinds[0] == b"R" and b"S" in kinds and b"K" in kinds
        q = b"DROP TABLE users;\0"
        s.sendall(b"Q" + struct.pack("!I", len(q) + 4) + q)
        kind, body = read_message(f)
        assert kind == b"E" and b"C42501" in body
        assert read_message(f) == (b"Z", b"I")
    login = emu.events(kind="login", username="bob")[0]
    assert login["outcome"] == "success" and login["mechanism"] == "md5"
    expected = hashlib.md5(hashlib.md5(b"pwbob").hexdigest().encode() + salt).hexdigest()
    assert login["hash"] == f"$postgres$bob*{salt.hex()}*{expected}"
    assert "password" not in login
    assert emu.events(kind="request", method="DROP", query="DROP TABLE users;")


def test_fuzz_then_still_answers(serve: Callable[..., Any]) -> None:
    emu = serve("postgres", ["5432/tcp"], {"password": "ab"})  # the fuzz also gets past login
    pw = b"p\x00\x00\x00\x07ab\x00"
    fuzz_tcp(
        emu.port(5432),
        [startup(user="x"), startup(user="x") + pw, struct.pack("!II", 8, postgres.SSL_REQUEST)],
    )
    fuzz_tcp(
        emu.port(5432),
        [pw, b"Q\xff\xff\xff\xff", b"Q\x00\x00\x00\x05\x00"],
        prefix=startup(user="x"),
    )
    with socket.create_connection(("127.0.0.1", emu.port(5432)), timeout=5) as s:
        s.sendall(startup(user="x"))
        assert s.recv(100)[:1] == b"R"
    assert emu.alive()
