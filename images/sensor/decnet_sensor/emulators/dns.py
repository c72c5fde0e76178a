"""DNS over UDP and TCP (53), authoritative for the configured zone only: the decky's own name
answers with its address, the zone apex with SOA/NS, other names in the zone NXDOMAIN, and
everything else (recursion, zone transfers, CHAOS probes) is REFUSED — so it is no open
resolver nor an amplifier. Every query is a request (type, name). Wire format: twisted.names."""

from __future__ import annotations

import time
from pathlib import Path

from twisted.application import internet
from twisted.application.service import Service
from twisted.internet import protocol
from twisted.names import dns

from . import _common
from ._common import BinaryProtocol, Events, factory_for, text
from .base import EmulatorContext

SERVICE = "dns"

TTL = 3600
EVENTS_PER_SOURCE = 60  # UDP queries recorded per source address per window
WINDOW = 60.0
MAX_SOURCES = 10000


def parse_query(data: bytes) -> dns.Message | None:
    """The query in `data`, or None for anything that is not one well-formed query."""
    m = dns.Message()
    try:
        m.fromStr(data)
    except Exception:  # twisted.names raises many kinds on hostile bytes; all mean malformed
        return None
    return None if m.answer else m


def hosts_addresses(hostname: str, hosts: Path = Path("/etc/hosts")) -> list[str]:
    """The IPv4 addresses /etc/hosts gives `hostname` (Docker writes the container's own
    there); read directly, so no lookup ever leaves the decky."""
    try:
        lines = hosts.read_text(errors="replace").splitlines()
    except OSError:
        return []
    out = []
    for line in lines:
        fields = line.split("#", 1)[0].split()
        names = {f.lower() for f in fields[1:]}
        ipv4 = len(fields) > 1 and fields[0].count(".") == 3
        if ipv4 and hostname.lower() in names and not fields[0].startswith("127."):
            out.append(fields[0])
    return out


def soa(zone: str, hostname: str) -> dns.RRHeader:
    record = dns.Record_SOA(
        mname=f"{hostname}.{zone}",
        rname=f"hostmaster.{zone}",
        serial=int(time.time()) // 86400,
        refresh=3600,
        retry=600,
        expire=604800,
        minimum=300,
        ttl=TTL,
    )
    return dns.RRHeader(zone, dns.SOA, dns.IN, TTL, record, auth=True)


def answer(query: dns.Message, zone: str, hostname: str, addresses: list[str]) -> dns.Message:
    """The response to `query`: pure, from the zone, the decky's name and its addresses."""
    r = dns.Message(id=query.id, answer=1, opCode=query.opCode, recDes=query.recDes, auth=0)
    r.queries = query.queries[:1]
    if query.opCode != dns.OP_QUERY:
        r.rCode = dns.ENOTIMP
        return r
    if len(query.queries) != 1:
        r.rCode = dns.EFORMAT
        return r
    q = query.queries[0]
    name = q.name.name.decode("ascii", "replace").rstrip(".").lower()
    zone = zone.lower().rstrip(".")
    in_zone = name == zone or name.endswith(f".{zone}")
    if q.cls != dns.IN or not in_zone or q.type in (dns.AXFR, dns.IXFR):
        r.rCode = dns.EREFUSED
        return r
    r.auth = 1
    own = name in (f"{hostname}.{zone}".lower(), hostname.lower())
    if own and q.type in (dns.A, dns.ALL_RECORDS) and addresses:
        r.answers = [
            dns.RRHeader(name, dns.A, dns.IN, TTL, dns.Record_A(a, TTL)) for a in addresses
        ]
    elif name == zone and q.type == dns.SOA:
        r.answers = [soa(zone, hostname)]
    elif name == zone and q.type == dns.NS:
        ns = dns.Record_NS(f"{hostname}.{zone}", TTL)
        r.answers = [dns.RRHeader(zone, dns.NS, dns.IN, TTL, ns, auth=True)]
    elif own or name == zone:
        r.authority = [soa(zone, hostname)]  # the name exists, not with this type (NODATA)
    else:
        r.rCode = dns.ENAME
        r.authority = [soa(zone, hostname)]
    return r


def describe(query: dns.Message) -> tuple[str, str, dict[str, object]]:
    """(type name, query name, detail) for the event of a parsed query."""
    if not query.queries:
        return "EMPTY", "", {}
    q = query.queries[0]
    qtype = dns.QUERY_TYPES.get(q.type) or dns.EXT_QUERIES.get(q.type) or f"TYPE{q.type}"
    cls = dns.QUERY_CLASSES.get(q.cls, f"CLASS{q.cls}")
    return qtype, text(q.name.name.decode("ascii", "backslashreplace"), 255), {"class": cls}


class Resolver:
    """What both transports share: the zone, the decky's name and addresses."""

    def __init__(self, ctx: EmulatorContext) -> None:
        self.ctx = ctx
        self.zone = ctx.config.get("zone", "corp.local")
        self.hostname = ctx.hostname
        self.addresses = hosts_addresses(ctx.hostname)

    def respond(self, data: bytes, events: Events, proto: str, local_ip: str) -> bytes | None:
        """The encoded answer to `data` (None: not a query); over UDP at most 512 bytes, the
        rest cut with the TC bit set, as RFC 1035 has it."""
        query = parse_query(data)
        if query is None:
            return None
        qtype, name, detail = describe(query)
        events.request(qtype, name, detail={**detail, "proto": proto})
        addresses = [local_ip] if local_ip and local_ip != "0.0.0.0" else self.addresses
        response = answer(query, self.zone, self.hostname, addresses)
        response.maxSize = 512 if proto == "udp" else 65535
        return bytes(response.toStr())


class UDP(protocol.DatagramProtocol):
    def __init__(self, resolver: Resolver) -> None:
        self.resolver = resolver
        self.window_start = time.monotonic()
        self.counts: dict[str, int] = {}

    def datagramReceived(self, data: bytes, addr: tuple[str, int]) -> None:
        host = self.transport.getHost()
        events = Events(self.resolver.ctx, addr, (host.host, host.port), None)
        if not self.allow(addr[0]):
            events.emit_line = lambda event: None  # flooding: answer, but stop recording
        reply = self.resolver.respond(data, events, "udp", "")
        if reply is not None:
            self.transport.write(reply, addr)

    def allow(self, source: str) -> bool:
        now = time.monotonic()
        if now - self.window_start > WINDOW or len(self.counts) > MAX_SOURCES:
            self.window_start, self.counts = now, {}
        self.counts[source] = self.counts.get(source, 0) + 1
        return self.counts[source] <= EVENTS_PER_SOURCE


class TCP(BinaryProtocol):
    resolver: Resolver

    def consume(self) -> None:
        while len(self.buffer) >= 2 and not self.closing():
            size = int.from_bytes(self.buffer[:2], "big")
            if len(self.buffer) < 2 + size:
                return
            data, self.buffer = self.buffer[2 : 2 + size], self.buffer[2 + size :]
            if not self.count_command():
                return
            local = self.transport.getHost().host
            reply = self.resolver.respond(data, self.events, "tcp", local)
            if reply is None:
                self.transport.loseConnection()
                return
            self.transport.write(len(reply).to_bytes(2, "big") + reply)


def build(ctx: EmulatorContext) -> list[Service]:
    resolver = Resolver(ctx)
    services = _common.tcp_services(ctx, factory_for(ctx, TCP, resolver=resolver))
    for port, proto in ctx.ports:
        if proto == "udp":
            udp = internet.UDPServer(port, UDP(resolver), interface=_common.LISTEN_INTERFACE)
            services.append(udp)
    return services
