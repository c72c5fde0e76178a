"""The launcher's own view of the wire: a `connect` and a `close` line for every accepted TCP
connection on any service port, a `connect` line for the first datagram of a UDP peer per
minute, and the session ids that tie a sensor's lines to those connections.

Connections are tracked at the listening port, not by wrapping protocols: `TrackedPort` accepts
through `TrackedServer`, a plain `tcp.Server` subclass, so every sensor (Cowrie, OpenCanary, our
emulators) sees the transport it expects (Cowrie treats a ProtocolWrapper as a PROXY-protocol
front and delays its own connect event) and the connect line precedes anything the protocol
writes. TLS sits above the port (TLSMemoryBIOFactory), so HTTPS is tracked the same way.
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from typing import Any

from twisted.application import service
from twisted.internet import interfaces, protocol, tcp
from twisted.internet.protocol import DatagramProtocol
from twisted.protocols.tls import TLSMemoryBIOFactory
from twisted.python.failure import Failure

from decnet_sensor.contract import REDACTED
from decnet_sensor.writer import LineWriter

MIN_CUT = 4
"""Secrets shorter than this are redacted only where they are a whole value."""
RECENT_SESSIONS = 4096
"""Closed connections whose session a late sensor line can still find."""
UDP_WINDOW = 60.0
"""A UDP peer (ip, port) gets a new `connect` line after this many quiet seconds."""
UDP_PEERS = 8192


def local_ip(address: Any) -> str | None:
    """A listening UDP socket's own address, None when it is the wildcard (a datagram's
    destination address is not known without IP_PKTINFO; the decky's IP is)."""
    host = getattr(address, "host", None)
    return None if host in (None, "", "0.0.0.0", "::") else str(host)


def new_session() -> str:
    return secrets.token_hex(6)


def _redact(event: dict[str, Any], hidden: frozenset[str]) -> dict[str, Any]:
    """The event with every configured secret cut out of its strings (and bytes), at the top
    level and one level down (OpenCanary's `logdata`); Cowrie repeats a password in its
    `message`, so substrings go too."""

    def clean(value: Any) -> Any:
        if isinstance(value, bytes):
            text = value.decode("utf-8", "backslashreplace")
            cut = _cut(text, hidden)
            return cut if cut != text else value  # untouched bytes stay bytes
        return _cut(value, hidden) if isinstance(value, str) else value

    out: dict[str, Any] = {}
    for key, value in event.items():
        if isinstance(value, dict):
            out[key] = {k: clean(v) for k, v in value.items()}
        else:
            out[key] = clean(value)
    return out


def _cut(text: str, hidden: frozenset[str]) -> str:
    if text in hidden:
        return REDACTED
    for secret in sorted(hidden, key=len, reverse=True):
        if len(secret) >= MIN_CUT:  # a very short secret would mangle every line
            text = text.replace(secret, REDACTED)
    return text


class Tracker:
    """Session ids by (proto, src ip, src port), and the launcher's own lines."""

    def __init__(
        self,
        writer: LineWriter,
        port_map: dict[tuple[int, str], str],
        hidden: dict[str, frozenset[str]] | None = None,
    ) -> None:
        self.writer = writer
        self.port_map = port_map
        self.hidden = hidden or {}
        self.open: dict[tuple[str, str, int], str] = {}
        self.recent: OrderedDict[tuple[str, str, int], str] = OrderedDict()
        self.udp_seen: OrderedDict[tuple[str, int, int], tuple[str, float]] = OrderedDict()
        self.connections = 0
        self.datagram_peers = 0

    def service_of(self, port: int, proto: str = "tcp") -> str | None:
        return self.port_map.get((port, proto))

    def emit(
        self, sensor: str, event: dict[str, Any], service: str | None, session: str | None
    ) -> None:
        hidden = self.hidden.get(service or "")
        if hidden:
            event = _redact(event, hidden)
        self.writer.write(sensor, event, service=service, session=session)

    def decnet(
        self, service: str | None, event: dict[str, Any], session: str | None = None
    ) -> None:
        self.emit("decnet", event, service, session)

    def session_for(self, ip: str, port: int, proto: str | None = None) -> str | None:
        for p in (proto,) if proto else ("tcp", "udp"):
            key = (p, ip, port)
            found = self.open.get(key) or self.recent.get(key)
            if found:
                return found
            if p == "udp":
                for (src, sport, _dport), (session, _) in reversed(self.udp_seen.items()):
                    if src == ip and sport == port:
                        return session
        return None

    # --- TCP --------------------------------------------------------------------------------

    def tcp_opened(self, transport: TrackedServer) -> None:
        peer, host = transport.getPeer(), transport.getHost()
        transport.decnet_ends = (peer.host, peer.port, host.host, host.port)
        key = ("tcp", peer.host, peer.port)
        session = new_session()
        self.open[key] = session
        self.connections += 1
        transport.decnet_session = session
        transport.decnet_started = time.monotonic()
        self.decnet(
            self.service_of(host.port),
            {
                "kind": "connect",
                "proto": "tcp",
                "src_ip": peer.host,
                "src_port": peer.port,
                "dst_ip": host.host,
                "dst_port": host.port,
            },
            session,
        )

    def tcp_closed(self, transport: TrackedServer) -> None:
        src_ip, src_port, dst_ip, dst_port = transport.decnet_ends  # the socket is gone by now
        key = ("tcp", src_ip, src_port)
        session = self.open.pop(key, transport.decnet_session)
        self.recent[key] = session
        while len(self.recent) > RECENT_SESSIONS:
            self.recent.popitem(last=False)
        self.decnet(
            self.service_of(dst_port),
            {
                "kind": "close",
                "proto": "tcp",
                "src_ip": src_ip,
                "src_port": src_port,
                "dst_ip": dst_ip,
                "dst_port": dst_port,
                "duration_ms": int((time.monotonic() - transport.decnet_started) * 1000),
                "bytes_in": transport.decnet_bytes_in,
            },
            session,
        )

    # --- UDP --------------------------------------------------------------------------------

    def datagram(self, service_name: str, src: tuple[str, int], dst: tuple[str | None, int]) -> str:
        """The session of this UDP peer; a `connect` line when it is new or was quiet a while."""
        key = (src[0], src[1], dst[1])
        now = time.monotonic()
        seen = self.udp_seen.get(key)
        if seen and now - seen[1] < UDP_WINDOW:
            self.udp_seen.move_to_end(key)
            self.udp_seen[key] = (seen[0], now)
            return seen[0]
        session = new_session()
        self.udp_seen[key] = (session, now)
        while len(self.udp_seen) > UDP_PEERS:
            self.udp_seen.popitem(last=False)
        self.datagram_peers += 1
        self.decnet(
            service_name,
            {
                "kind": "connect",
                "proto": "udp",
                "src_ip": src[0],
                "src_port": src[1],
                "dst_ip": dst[0],
                "dst_port": dst[1],
            },
            session,
        )
        return session


class TrackedServer(tcp.Server):
    """An accepted TCP connection that reports its start, its end and the bytes it received."""

    server: TrackedPort
    decnet_session = ""
    decnet_ends: tuple[str, int, str, int] = ("", 0, "", 0)
    decnet_started = 0.0
    decnet_bytes_in = 0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.server.tracker.tcp_opened(self)

    def _dataReceived(self, data: bytes) -> Any:
        self.decnet_bytes_in += len(data)
        return super()._dataReceived(data)

    def connectionLost(self, reason: Failure) -> None:
        try:
            super().connectionLost(reason)
        finally:
            self.server.tracker.tcp_closed(self)


class TrackedPort(tcp.Port):
    transport = TrackedServer

    def __init__(self, tracker: Tracker, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tracker = tracker


class TrackedDatagram(DatagramProtocol):
    """Reports the first datagram of each peer, then hands every datagram to `inner`."""

    def __init__(self, tracker: Tracker, service_name: str, inner: DatagramProtocol) -> None:
        self.tracker, self.service_name, self.inner = tracker, service_name, inner

    def makeConnection(self, transport: Any) -> None:
        self.transport = transport
        self.inner.makeConnection(transport)

    def doStop(self) -> None:
        self.inner.doStop()

    def datagramReceived(self, datagram: bytes, addr: Any) -> None:
        host = self.transport.getHost()
        self.tracker.datagram(self.service_name, (addr[0], addr[1]), (local_ip(host), host.port))
        self.inner.datagramReceived(datagram, addr)


class Listener(service.Service):
    """One tracked listening port: TCP (plain or TLS) or UDP, on every address."""

    def __init__(
        self,
        tracker: Tracker,
        service_name: str,
        port: int,
        proto: str,
        handler: protocol.Factory | DatagramProtocol,
        tls: interfaces.IOpenSSLServerConnectionCreator | None = None,
        on_error: Any = None,
    ) -> None:
        self.tracker, self.service_name, self.port, self.proto = tracker, service_name, port, proto
        self.handler, self.tls, self.on_error = handler, tls, on_error
        self.listening: Any = None
        self.setName(f"{service_name}:{port}/{proto}")

    def startService(self) -> None:
        super().startService()
        from twisted.internet import reactor

        try:
            if self.proto == "udp":
                assert isinstance(self.handler, DatagramProtocol)
                wrapped = TrackedDatagram(self.tracker, self.service_name, self.handler)
                self.listening = reactor.listenUDP(self.port, wrapped)  # type: ignore[attr-defined]
            else:
                assert isinstance(self.handler, protocol.Factory)
                factory: protocol.Factory = self.handler
                if self.tls is not None:
                    factory = TLSMemoryBIOFactory(self.tls, False, factory)
                port = TrackedPort(self.tracker, self.port, factory, 50, "", reactor)
                port.startListening()
                self.listening = port
        except Exception as err:  # a port taken or refused: report it, keep the others up
            if self.on_error is None:
                raise
            self.on_error(self.service_name, f"cannot listen on {self.name}: {err}")

    def stopService(self) -> Any:
        super().stopService()
        if self.listening is not None:
            listening, self.listening = self.listening, None
            return listening.stopListening()
        return None
