"""The LDAP emulator against ldap3 (a real client) and raw BER messages."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Callable
from typing import Any

import ldap3
import pytest
from decnet_sensor.emulators import ber, ldap
from emu_support import fuzz_tcp

pytestmark = pytest.mark.timeout(120)


def simple_bind(msg_id: int, dn: bytes, password: bytes) -> bytes:
    op = ber.tlv(0x60, ber.integer(3) + ber.octets(dn) + ber.octets(password, 0x80))
    return ber.seq(ber.integer(msg_id), op)


def test_ber_round_trip_and_bounds() -> None:
    long = ber.octets(b"x" * 300)
    tag, content, rest = ber.decode(long + b"tail")
    assert (tag, content, rest) == (0x04, b"x" * 300, b"tail")
    assert ber.split(long[:10]) is None
    assert ber.to_int(ber.integer(-129)[2:]) == -129
    for bad in (b"\x30\x80", b"\x30\x85\x01\x01\x01\x01\x01", b"\x1f\x01\x00"):
        with pytest.raises(ber.Malformed):
            ber.split(bad)
    with pytest.raises(ber.Malformed):
        ber.children(b"\x04\x05ab")


def test_filters_as_rfc4515() -> None:
    eq = ber.seq(ber.octets("uid"), ber.octets("a*b"), tag=0xA3)
    present = ber.tlv(0x87, b"objectClass")
    subs = ber.seq(
        ber.octets("cn"),
        ber.seq(ber.octets("ad", 0x80), ber.octets("mi", 0x81), ber.octets("n", 0x82)),
        tag=0xA4,
    )
    both = ber.seq(eq, ber.seq(present, tag=0xA2), subs, tag=0xA0)
    tag, content, _ = ber.decode(both)
    assert ldap.filter_text(tag, content) == "(&(uid=a\\2ab)(!(objectClass=*))(cn=ad*mi*n))"
    deep = present
    for _ in range(40):
        deep = ber.seq(deep, tag=0xA2)
    tag, content, _ = ber.decode(deep)
    with pytest.raises(ber.Malformed):
        ldap.filter_text(tag, content)


def test_ldap3_binds_and_searches(serve: Callable[..., Any]) -> None:
    emu = serve(
        "ldap",
        ["389/tcp", "636/tcp"],
        {"base_dn": "dc=acme,dc=test", "admin_password": "Adm1n!"},
        tls=(636,),
    )
    server = ldap3.Server("127.0.0.1", port=emu.port(389), get_info=ldap3.ALL)
    bad = ldap3.Connection(server, "cn=admin,dc=acme,dc=test", "guess")
    assert not bad.bind()
    assert bad.result["result"] == 49
    conn = ldap3.Connection(server, "cn=admin,dc=acme,dc=test", "Adm1n!")
    assert conn.bind()
    assert server.info is not None and "dc=acme,dc=test" in server.info.naming_contexts
    conn.search(
        "dc=acme,dc=test", "(&(objectClass=person)(sAMAccountName=adm*))", attributes=["cn", "mail"]
    )
    assert conn.result["result"] == 0
    conn.search("ou=x,dc=other", "(cn=*)")
    assert conn.result["result"] == 32
    conn.add("cn=evil,dc=acme,dc=test", "person", {"sn": "x"})
    assert conn.result["result"] == 50
    conn.unbind()
    anon = ldap3.Connection(server)
    assert anon.bind()
    assert anon.start_tls()  # StartTLS on 389 (the emulator's certificate is self-signed)
    anon.unbind()
    tls = ldap3.Server(
        "127.0.0.1", port=emu.port(636), use_ssl=True, tls=ldap3.Tls(validate=ssl.CERT_NONE)
    )
    c636 = ldap3.Connection(tls, "uid=bob,dc=acme,dc=test", "pw636")
    assert not c636.bind()

    failed = emu.events(kind="login", username="cn=admin,dc=acme,dc=test", outcome="failure")
    assert failed[0]["password"] == "guess" and failed[0]["mechanism"] == "simple"
    assert emu.events(kind="login", username="cn=admin,dc=acme,dc=test", outcome="success")
    assert emu.events(kind="login", username="uid=bob,dc=acme,dc=test", password="pw636")
    search = emu.events(kind="request", method="SEARCH", path="dc=acme,dc=test")[0]
    assert search["query"] == "(&(objectClass=person)(sAMAccountName=adm*))"
    assert search["detail"]["scope"] == "sub" and search["detail"]["attributes"] == ["cn", "mail"]
    assert emu.events(kind="request", method="ADD", path="cn=evil,dc=acme,dc=test")
    assert emu.events(kind="request", method="EXTENDED", path=ldap.STARTTLS_OID)


def test_raw_bind_and_fuzz(serve: Callable[..., Any]) -> None:
    emu = serve("ldap", ["389/tcp"])
    with socket.create_connection(("127.0.0.1", emu.port(389)), timeout=5) as s:
        s.sendall(simple_bind(7, b"cn=root", b"toor"))
        _, content, _ = ber.decode(s.recv(100))
        msg_id, (op, body) = ber.children(content)
        assert ber.to_int(msg_id[1]) == 7 and op == 0x61
        assert ber.children(body)[0] == (0x0A, b"\x31")  # invalidCredentials
    fuzz_tcp(
        emu.port(389),
        [
            simple_bind(1, b"cn=a", b"b"),
            ber.seq(ber.integer(2), ber.tlv(0x63, ber.octets("") + ber.integer(0, 0x0A))),
        ],
    )
    with socket.create_connection(("127.0.0.1", emu.port(389)), timeout=5) as s:
        s.sendall(simple_bind(8, b"", b""))
        assert s.recv(100)[:2] == b"\x30\x0c"
    assert emu.events(kind="login", username="cn=root", password="toor")
    assert emu.alive()
