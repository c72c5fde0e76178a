"""SNMP v1/v2c agent: answers the system group to the right community, records every request.

OpenCanary's SNMP module only logs (it never answers) and needs scapy, whose SNMP layer alone
costs ~48 MB per process; this is a small BER codec of our own. With the configured community
(`DECNET_SNMP_COMMUNITY`, default `public`) Get/GetNext/GetBulk over the system group
(sysDescr from `DECNET_SNMP_SYS_DESCR`, sysName = host name, sysUpTime, …) get real answers and
Set is refused as read-only; another community gets silence, as on a real agent. Each datagram
becomes a `request` line (method, first OID as path, all OIDs, community, version); the first
use of a community by a source address also becomes a `login` line with its outcome.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Any

from twisted.application import internet, service
from twisted.internet.protocol import DatagramProtocol

from decnet_sensor.emulators._common import WILDCARDS
from decnet_sensor.emulators.base import EmulatorContext

SERVICE = "snmp"
DEFAULT_COMMUNITY = "public"
DEFAULT_DESCR = "Linux"
MAX_REPETITIONS = 16
SEEN_LOGINS = 4096

PDU_METHODS = {0xA0: "get", 0xA1: "getnext", 0xA3: "set", 0xA5: "getbulk"}
VERSIONS = {0: "v1", 1: "v2c"}
SYSTEM = "1.3.6.1.2.1.1"


class BerError(ValueError):
    pass


# --- BER --------------------------------------------------------------------------------------


def _read(data: bytes, pos: int) -> tuple[int, bytes, int]:
    """(tag, value, next position) of the TLV at `pos`."""
    if pos + 2 > len(data):
        raise BerError("short")
    tag, length, pos = data[pos], data[pos + 1], pos + 2
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 4 or pos + count > len(data):
            raise BerError("bad length")
        length = int.from_bytes(data[pos : pos + count], "big")
        pos += count
    if pos + length > len(data):
        raise BerError("truncated")
    return tag, data[pos : pos + length], pos + length


def _items(data: bytes) -> list[tuple[int, bytes]]:
    out, pos = [], 0
    while pos < len(data):
        tag, value, pos = _read(data, pos)
        out.append((tag, value))
    return out


def _int(value: bytes) -> int:
    return int.from_bytes(value, "big", signed=True) if value else 0


def _oid(value: bytes) -> str:
    if not value:
        raise BerError("empty oid")
    parts = [value[0] // 40, value[0] % 40]
    n = 0
    for byte in value[1:]:
        n = (n << 7) | (byte & 0x7F)
        if not byte & 0x80:
            parts.append(n)
            n = 0
    return ".".join(map(str, parts))


def _tlv(tag: int, value: bytes) -> bytes:
    n = len(value)
    if n < 0x80:
        head = bytes([n])
    else:
        raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
        head = bytes([0x80 | len(raw)]) + raw
    return bytes([tag]) + head + value


def _enc_int(n: int, tag: int = 0x02) -> bytes:
    size = max(1, (n.bit_length() + 8) // 8)
    return _tlv(tag, n.to_bytes(size, "big", signed=tag == 0x02))


def _enc_oid(oid: str) -> bytes:
    parts = [int(p) for p in oid.split(".")]
    out = bytearray([parts[0] * 40 + parts[1]])
    for n in parts[2:]:
        chunk = [n & 0x7F]
        n >>= 7
        while n:
            chunk.append(0x80 | (n & 0x7F))
            n >>= 7
        out += bytes(reversed(chunk))
    return _tlv(0x06, bytes(out))


def _key(oid: str) -> tuple[int, ...]:
    return tuple(int(p) for p in oid.split(".") if p.isdigit())


# --- agent ------------------------------------------------------------------------------------


class Agent(DatagramProtocol):
    def __init__(self, ctx: EmulatorContext) -> None:
        self.ctx = ctx
        self.community = ctx.config.get("community") or DEFAULT_COMMUNITY
        self.started = time.monotonic()
        self.seen: OrderedDict[tuple[str, str], None] = OrderedDict()
        descr = ctx.config.get("sys_descr") or DEFAULT_DESCR
        self.mib: dict[str, tuple[str, Any]] = {
            f"{SYSTEM}.1.0": ("str", descr),
            f"{SYSTEM}.2.0": ("oid", "1.3.6.1.4.1.8072.3.2.10"),
            f"{SYSTEM}.3.0": ("ticks", None),
            f"{SYSTEM}.4.0": ("str", "root"),
            f"{SYSTEM}.5.0": ("str", ctx.hostname),
            f"{SYSTEM}.6.0": ("str", "server room"),
            f"{SYSTEM}.7.0": ("int", 72),
        }
        self.order = sorted(self.mib, key=_key)

    def _value(self, oid: str) -> bytes:
        kind, value = self.mib[oid]
        if kind == "str":
            return _tlv(0x04, str(value).encode("utf-8"))
        if kind == "oid":
            return _enc_oid(str(value))
        if kind == "ticks":
            return _enc_int(int((time.monotonic() - self.started) * 100) & 0xFFFFFFFF, 0x43)
        return _enc_int(int(value))

    def _next(self, oid: str) -> str | None:
        key = _key(oid)
        return next((o for o in self.order if _key(o) > key), None)

    def datagramReceived(self, datagram: bytes, addr: Any) -> None:
        host = self.transport.getHost()
        dst_ip = None if host.host in WILDCARDS else host.host  # a wildcard socket
        where = {"src_ip": addr[0], "src_port": addr[1], "dst_ip": dst_ip, "dst_port": host.port}
        try:
            version, community, pdu_tag, request_id, params, oids = self._parse(datagram)
        except (BerError, IndexError, ValueError):
            self.ctx.emit(
                {"kind": "request", **where, "method": "invalid", "query": datagram[:512]}
            )
            return
        method = PDU_METHODS.get(pdu_tag, f"pdu-0x{pdu_tag:02x}")
        ok = community == self.community
        login_key = (addr[0], community)
        if login_key not in self.seen:
            self.seen[login_key] = None
            while len(self.seen) > SEEN_LOGINS:
                self.seen.popitem(last=False)
            self.ctx.emit(
                {
                    "kind": "login",
                    **where,
                    "username": "",
                    "password": community,
                    "outcome": "success" if ok else "failure",
                    "mechanism": "snmp-community",
                }
            )
        self.ctx.emit(
            {
                "kind": "request",
                **where,
                "method": method,
                "path": oids[0] if oids else "",
                "query": " ".join(oids),
                "detail": {"version": VERSIONS.get(version, str(version)), "community": community},
            }
        )
        if not ok or pdu_tag not in PDU_METHODS:
            return
        reply = self._answer(version, community, pdu_tag, request_id, params, oids)
        self.transport.write(reply, addr)

    @staticmethod
    def _parse(data: bytes) -> tuple[int, str, int, int, tuple[int, int], list[str]]:
        tag, body, _ = _read(data, 0)
        if tag != 0x30:
            raise BerError("not a sequence")
        parts = _items(body)
        version = _int(parts[0][1])
        community = parts[1][1].decode("utf-8", errors="backslashreplace")
        pdu_tag, pdu = parts[2]
        fields = _items(pdu)
        request_id = _int(fields[0][1])
        params = (_int(fields[1][1]), _int(fields[2][1]))
        oids = [_oid(_items(vb)[0][1]) for _, vb in _items(fields[3][1])][:64]
        return version, community, pdu_tag, request_id, params, oids

    def _answer(
        self,
        version: int,
        community: str,
        pdu_tag: int,
        request_id: int,
        params: tuple[int, int],
        oids: list[str],
    ) -> bytes:
        binds: list[bytes] = []
        error, index = 0, 0
        v1 = version == 0
        if pdu_tag == 0xA3:  # set: read-only agent
            error, index = (4 if v1 else 17), 1
            binds = [_tlv(0x30, _enc_oid(o) + _tlv(0x05, b"")) for o in oids]
        else:
            if pdu_tag == 0xA5:  # getbulk: getnext of the non-repeaters, then of the rest, N times
                non_rep, reps = max(params[0], 0), min(max(params[1], 0), MAX_REPETITIONS)
                binds = [self._varbind(o, self._next(o)) for o in oids[:non_rep]]
                cursor = list(oids[non_rep:])
                for _ in range(reps):
                    targets = [self._next(o) for o in cursor]
                    binds += [self._varbind(o, t) for o, t in zip(cursor, targets, strict=True)]
                    cursor = [t or o for o, t in zip(cursor, targets, strict=True)]
            else:
                for i, oid in enumerate(oids, 1):
                    target = oid if pdu_tag == 0xA0 else self._next(oid)
                    if target is None or target not in self.mib:
                        if v1:
                            error, index = 2, i
                            binds = [_tlv(0x30, _enc_oid(o) + _tlv(0x05, b"")) for o in oids]
                            break
                        missing = 0x80 if pdu_tag == 0xA0 else 0x82
                        binds.append(_tlv(0x30, _enc_oid(oid) + _tlv(missing, b"")))
                    else:
                        binds.append(_tlv(0x30, _enc_oid(target) + self._value(target)))
        pdu = _enc_int(request_id) + _enc_int(error) + _enc_int(index) + _tlv(0x30, b"".join(binds))
        body = _enc_int(version) + _tlv(0x04, community.encode("utf-8")) + _tlv(0xA2, pdu)
        return _tlv(0x30, body)

    def _varbind(self, requested: str, target: str | None) -> bytes:
        """The value at `target`, or endOfMibView at `requested` when the walk is over."""
        if target is not None and target in self.mib:
            return _tlv(0x30, _enc_oid(target) + self._value(target))
        return _tlv(0x30, _enc_oid(requested) + _tlv(0x82, b""))


def build(ctx: EmulatorContext) -> list[service.Service]:
    return [internet.UDPServer(port, Agent(ctx)) for port, proto in ctx.ports if proto == "udp"]
