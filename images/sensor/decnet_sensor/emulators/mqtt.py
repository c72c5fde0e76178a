"""MQTT 3.1, 3.1.1 and 5 broker answering like Mosquitto: CONNECT (client id, username,
password) recorded and accepted when anonymous access is allowed, SUBSCRIBE/PUBLISH recorded
as requests; `$SYS/broker/version` carries the configured version; nothing is relayed."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from twisted.application.service import Service

from ._common import QUERY_CAP, BinaryProtocol, factory_for, flag, tcp_services, text
from .base import EmulatorContext

SERVICE = "mqtt"

CONNECT, CONNACK, PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP = 1, 2, 3, 4, 5, 6, 7
SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK, PINGREQ, PINGRESP, DISCONNECT = 8, 9, 10, 11, 12, 13, 14
MAX_PACKET = 1 << 16
VERSION_TOPIC = "$SYS/broker/version"


class Malformed(Exception):
    """Bytes no MQTT client sends."""


@dataclass
class Connect:
    protocol: str
    level: int
    keepalive: int
    client_id: str
    username: bytes | None = None
    password: bytes | None = None
    will_topic: str = ""


@dataclass
class Publish:
    topic: str
    qos: int
    retain: bool
    packet_id: int
    payload: bytes = b""


@dataclass
class Subscribe:
    packet_id: int
    topics: list[tuple[str, int]] = field(default_factory=list)


class Reader:
    """Bounds-checked reads of one packet body."""

    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise Malformed("truncated")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def u8(self) -> int:
        return self.take(1)[0]

    def u16(self) -> int:
        return int(struct.unpack("!H", self.take(2))[0])

    def binary(self) -> bytes:
        return self.take(self.u16())

    def string(self) -> str:
        return text(self.binary())

    def varint(self) -> int:
        value = decode_varint(self.data, self.pos)
        if value is None:
            raise Malformed("truncated varint")
        value_, self.pos = value
        return value_

    def skip_properties(self, level: int) -> None:
        if level >= 5:
            self.take(self.varint())

    def left(self) -> bool:
        return self.pos < len(self.data)


def decode_varint(buf: bytes, pos: int) -> tuple[int, int] | None:
    """(value, next position) of MQTT's variable byte integer; None when more bytes are due."""
    value = 0
    for i in range(4):
        if pos + i >= len(buf):
            return None
        b = buf[pos + i]
        value |= (b & 0x7F) << (7 * i)
        if not b & 0x80:
            return value, pos + i + 1
    raise Malformed("varint over 4 bytes")


def encode_varint(n: int) -> bytes:
    out = bytearray()
    while True:
        n, b = n >> 7, n & 0x7F
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def split_packet(buf: bytes) -> tuple[int, int, bytes, bytes] | None:
    """(type, flags, body, rest) of the first whole packet in `buf`; None to wait for more."""
    if not buf:
        return None
    length = decode_varint(buf, 1)
    if length is None:
        return None
    size, start = length
    if size > MAX_PACKET:
        raise Malformed("packet too large")
    if len(buf) < start + size:
        return None
    return buf[0] >> 4, buf[0] & 0x0F, buf[start : start + size], buf[start + size :]


def packet(kind: int, body: bytes, flags: int = 0) -> bytes:
    return bytes([kind << 4 | flags]) + encode_varint(len(body)) + body


def parse_connect(body: bytes) -> Connect:
    r = Reader(body)
    protocol = r.string()
    if protocol not in ("MQTT", "MQIsdp"):
        raise Malformed("not MQTT")
    level, flags, keepalive = r.u8(), r.u8(), r.u16()
    r.skip_properties(level)
    c = Connect(protocol, level, keepalive, r.string())
    if flags & 0x04:  # a will message
        r.skip_properties(level)
        c.will_topic = r.string()
        r.binary()
    if flags & 0x80:
        c.username = r.binary()
    if flags & 0x40:
        c.password = r.binary()
    return c


def parse_publish(flags: int, body: bytes, level: int) -> Publish:
    r = Reader(body)
    topic = r.string()
    qos = (flags >> 1) & 3
    if qos == 3:
        raise Malformed("qos 3")
    packet_id = r.u16() if qos else 0
    r.skip_properties(level)
    return Publish(topic, qos, bool(flags & 1), packet_id, body[r.pos :])


def parse_subscribe(body: bytes, level: int) -> Subscribe:
    r = Reader(body)
    s = Subscribe(r.u16())
    r.skip_properties(level)
    while r.left() and len(s.topics) < 64:
        s.topics.append((r.string(), r.u8() & 3))
    if not s.topics:
        raise Malformed("no topic")
    return s


def topic_matches(pattern: str, topic: str) -> bool:
    """MQTT topic filter matching (`+` one level, `#` the rest); `$` topics only explicitly."""
    pat, top = pattern.split("/"), topic.split("/")
    if topic.startswith("$") and pat[0] in ("+", "#"):
        return False
    for i, p in enumerate(pat):
        if p == "#":
            return True
        if i >= len(top) or (p != "+" and p != top[i]):
            return False
    return len(pat) == len(top)


def version_payload(version: str) -> bytes:
    name, _, number = version.partition(" ")
    return (f"{name} version {number}" if number else version).encode()


class MQTT(BinaryProtocol):
    MAX_BUFFER = MAX_PACKET + 8

    def connectionMade(self) -> None:
        super().connectionMade()
        self.level = 0  # 0 until CONNECT

    def consume(self) -> None:
        try:
            while not self.closing():
                got = split_packet(self.buffer)
                if got is None:
                    return
                kind, flags, body, self.buffer = got
                if not self.count_command():
                    return
                self.packet(kind, flags, body)
        except Malformed:
            self.transport.loseConnection()

    def packet(self, kind: int, flags: int, body: bytes) -> None:
        if (kind == CONNECT) != (self.level == 0):  # CONNECT first, and only once
            self.transport.loseConnection()
        elif kind == CONNECT:
            self.connect(parse_connect(body))
        elif kind == PUBLISH:
            self.publish(parse_publish(flags, body, self.level))
        elif kind == PUBREL:
            self.transport.write(packet(PUBCOMP, body[:2]))
        elif kind == SUBSCRIBE:
            self.subscribe(parse_subscribe(body, self.level))
        elif kind == UNSUBSCRIBE:
            r = Reader(body)
            pid = r.take(2)
            r.skip_properties(self.level)
            count = 0
            while r.left() and count < 64:
                r.string()
                count += 1
            codes = b"\x00" * (count + 1) if self.level >= 5 else b""  # no properties, all ok
            self.transport.write(packet(UNSUBACK, pid + codes))
        elif kind == PINGREQ:
            self.transport.write(packet(PINGRESP, b""))
        elif kind == DISCONNECT:
            self.transport.loseConnection()

    def connect(self, c: Connect) -> None:
        anonymous = flag(self.ctx.config, "allow_anonymous", True)
        detail = {"protocol": c.protocol, "level": c.level, "keepalive": c.keepalive}
        if c.will_topic:
            detail["will_topic"] = c.will_topic
        self.events.request("CONNECT", c.client_id, detail=detail)
        if c.username is not None or c.password is not None:
            outcome = "success" if anonymous else "failure"
            self.events.login(c.username or b"", c.password, outcome, mechanism="CONNECT")
        if c.level >= 5:
            code = 0x00 if anonymous else 0x87  # not authorized
            self.transport.write(packet(CONNACK, bytes([0, code, 0])))
        else:
            code = 0 if anonymous else 5
            self.transport.write(packet(CONNACK, bytes([0, code])))
        if not anonymous:
            self.transport.loseConnection()
            return
        self.level = max(c.level, 3)

    def publish(self, p: Publish) -> None:
        detail = {"qos": p.qos, "retain": p.retain, "size": len(p.payload)}
        self.events.request("PUBLISH", p.topic, query=text(p.payload, QUERY_CAP), detail=detail)
        reason = b"" if self.level < 5 else b"\x00"
        if p.qos == 1:
            self.transport.write(packet(PUBACK, struct.pack("!H", p.packet_id) + reason))
        elif p.qos == 2:
            self.transport.write(packet(PUBREC, struct.pack("!H", p.packet_id) + reason))

    def subscribe(self, s: Subscribe) -> None:
        topics = [t for t, _ in s.topics]
        self.events.request("SUBSCRIBE", topics[0], detail={"topics": topics[:32]})
        props = b"\x00" if self.level >= 5 else b""
        granted = bytes(q for _, q in s.topics)
        self.transport.write(packet(SUBACK, struct.pack("!H", s.packet_id) + props + granted))
        if any(topic_matches(t, VERSION_TOPIC) for t in topics):
            body = struct.pack("!H", len(VERSION_TOPIC)) + VERSION_TOPIC.encode() + props
            version = self.ctx.config.get("version", "mosquitto 2.0.18")
            self.transport.write(packet(PUBLISH, body + version_payload(version), flags=1))


def build(ctx: EmulatorContext) -> list[Service]:
    return tcp_services(ctx, factory_for(ctx, MQTT))
