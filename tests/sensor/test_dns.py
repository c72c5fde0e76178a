"""The DNS emulator against dnspython over UDP and TCP."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import pytest
from decnet_sensor.emulators import dns as emu_dns
from decnet_sensor.emulators._common import Events
from emu_support import fuzz_tcp, fuzz_udp

pytestmark = pytest.mark.timeout(120)


def ask(port: int, name: str, rtype: str, tcp: bool = False, rdclass: str = "IN") -> Any:
    q = dns.message.make_query(name, rtype, rdclass=rdclass)
    if tcp:
        return dns.query.tcp(q, "127.0.0.1", port=port, timeout=5)
    return dns.query.udp(q, "127.0.0.1", port=port, timeout=5)


def test_pure_answers(tmp_path: Path) -> None:
    hosts = tmp_path / "hosts"
    hosts.write_text("127.0.0.1 localhost\n10.1.2.3\tdc01 dc01.corp.local # decky\n")
    assert emu_dns.hosts_addresses("DC01", hosts) == ["10.1.2.3"]
    assert emu_dns.hosts_addresses("dc01", tmp_path / "missing") == []
    q = emu_dns.parse_query(ask_bytes("dc01.corp.local", "A"))
    assert q is not None
    r = emu_dns.answer(q, "corp.local", "dc01", ["10.1.2.3"])
    assert r.rCode == 0 and r.auth and r.answers[0].payload.dottedQuad() == "10.1.2.3"
    for junk in (b"", b"\x00" * 3, b"\x00\x01\x80" + b"\x00" * 9):  # short; a response
        assert emu_dns.parse_query(junk) is None
    cut = emu_dns.parse_query(ask_bytes("a.b", "A")[:-3])  # a question cut short: FORMERR
    assert cut is not None and emu_dns.answer(cut, "corp.local", "dc01", []).rCode == 1
    loop = emu_dns.parse_query(
        b"\x00\x01\x00\x00\x00\x01" + b"\x00" * 6 + b"\xc0\x0c\x00\x01\x00\x01"
    )
    assert loop is None or not loop.queries  # a compression pointer to itself


def ask_bytes(name: str, rtype: str) -> bytes:
    return bytes(dns.message.make_query(name, rtype).to_wire())


@pytest.mark.parametrize("bound", ["0.0.0.0", "::", "10.1.2.3"])
def test_a_wildcard_sockets_address_is_no_destination(bound: str) -> None:
    """A UDP socket bound to every address (the deployed sensor's) knows no destination."""
    lines: list[dict[str, object]] = []
    ctx = type("Ctx", (), {"emit": staticmethod(lines.append)})()
    Events(ctx, ("10.9.9.9", 5353), (bound, 53), None).emit("request", method="A")
    assert lines == [{"kind": "request", "src_ip": "10.9.9.9", "src_port": 5353,
                      "dst_ip": None if bound != "10.1.2.3" else bound, "dst_port": 53,
                      "method": "A"}]  # fmt: skip


def test_zone_answers_over_udp_and_tcp(serve: Callable[..., Any]) -> None:
    emu = serve("dns", ["53/udp", "53/tcp"], {"zone": "acme.test"}, hostname="dc01")
    port = emu.port(53, "udp")
    r = ask(port, "dc01.acme.test", "A", tcp=True)  # over TCP the address it was reached on
    assert r.rcode() == dns.rcode.NOERROR and r.flags & dns.flags.AA
    assert [a.address for a in r.answer[0]] == ["127.0.0.1"]
    r = ask(port, "acme.test", "SOA")
    assert r.answer[0][0].mname.to_text() == "dc01.acme.test."
    assert ask(port, "acme.test", "NS").answer[0][0].target.to_text() == "dc01.acme.test."
    r = ask(port, "fileserver.acme.test", "A")
    assert r.rcode() == dns.rcode.NXDOMAIN and r.authority[0].rdtype == dns.rdatatype.SOA
    assert ask(port, "www.google.com", "A").rcode() == dns.rcode.REFUSED  # no open resolver
    assert ask(port, "acme.test", "AXFR", tcp=True).rcode() == dns.rcode.REFUSED
    assert ask(port, "version.bind", "TXT", rdclass="CH").rcode() == dns.rcode.REFUSED

    tcp = emu.events(kind="request", method="A", path="dc01.acme.test")[0]
    assert tcp["detail"] == {"class": "IN", "proto": "tcp"} and "session" in tcp
    udp = emu.events(kind="request", method="A", path="fileserver.acme.test")[0]
    assert udp["detail"]["proto"] == "udp" and udp["src_ip"] == "127.0.0.1"
    assert emu.events(kind="request", method="AXFR", path="acme.test")
    assert (
        emu.events(kind="request", method="TXT", path="version.bind")[0]["detail"]["class"] == "CH"
    )


def test_fuzz_then_still_answers(serve: Callable[..., Any]) -> None:
    emu = serve("dns", ["53/udp", "53/tcp"])
    port = emu.port(53, "udp")
    seed = ask_bytes("x.corp.local", "A")
    fuzz_udp(port, [seed, ask_bytes("corp.local", "SOA")])
    fuzz_tcp(port, [len(seed).to_bytes(2, "big") + seed, b"\xff\xff" + seed])
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.3)
        s.sendto(b"\x12\x34" + b"\x00" * 3, ("127.0.0.1", port))  # truncated: no answer
        with pytest.raises(TimeoutError):
            s.recv(512)
    assert ask(port, "corp.local", "SOA").rcode() == dns.rcode.NOERROR
    assert emu.alive()
