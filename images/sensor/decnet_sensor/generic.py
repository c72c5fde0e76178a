"""A port the service's implementation does not speak (e.g. SIP over TCP, where OpenCanary
only has UDP): the connection is accepted and recorded, the first bytes the client sends
become one `request` line, and nothing is answered."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twisted.internet import protocol
from twisted.protocols.policies import TimeoutMixin

from decnet_sensor.track import Listener, Tracker, local_ip

FIRST_BYTES = 4096
IDLE_SECONDS = 30


class _Recorder(TimeoutMixin, protocol.Protocol):
    def __init__(self, tracker: Tracker, service_name: str) -> None:
        self.tracker, self.service_name = tracker, service_name
        self.seen = b""
        self.reported = False

    def connectionMade(self) -> None:
        self.setTimeout(IDLE_SECONDS)

    def dataReceived(self, data: bytes) -> None:
        self.resetTimeout()
        if self.reported:
            return
        self.seen += data
        if len(self.seen) >= FIRST_BYTES or b"\n" in self.seen:
            self._report()

    def _report(self) -> None:
        if self.reported or not self.seen:
            return
        self.reported = True
        peer, host = self.transport.getPeer(), self.transport.getHost()
        self.tracker.decnet(
            self.service_name,
            {
                "kind": "request",
                "src_ip": peer.host,
                "src_port": peer.port,
                "dst_ip": host.host,
                "dst_port": host.port,
                "query": self.seen[:FIRST_BYTES],
                "detail": {"answered": False},
            },
            self.tracker.session_for(peer.host, peer.port, "tcp"),
        )

    def connectionLost(self, reason: Any = None) -> None:
        self.setTimeout(None)
        self._report()

    def timeoutConnection(self) -> None:
        self.transport.loseConnection()


class _RecorderFactory(protocol.Factory):
    def __init__(self, tracker: Tracker, service_name: str) -> None:
        self.tracker, self.service_name = tracker, service_name

    def buildProtocol(self, addr: Any) -> protocol.Protocol:
        return _Recorder(self.tracker, self.service_name)


class _Datagrams(protocol.DatagramProtocol):
    def __init__(self, tracker: Tracker, service_name: str) -> None:
        self.tracker, self.service_name = tracker, service_name

    def datagramReceived(self, datagram: bytes, addr: Any) -> None:
        host = self.transport.getHost()
        self.tracker.decnet(
            self.service_name,
            {
                "kind": "request",
                "src_ip": addr[0],
                "src_port": addr[1],
                "dst_ip": local_ip(host),
                "dst_port": host.port,
                "query": datagram[:FIRST_BYTES],
                "detail": {"answered": False},
            },
            self.tracker.session_for(addr[0], addr[1], "udp"),
        )


def listener(
    tracker: Tracker,
    service_name: str,
    port: int,
    proto: str,
    on_error: Callable[[str, str], None],
) -> Listener:
    handler: protocol.Factory | protocol.DatagramProtocol
    if proto == "udp":
        handler = _Datagrams(tracker, service_name)
    else:
        handler = _RecorderFactory(tracker, service_name)
    return Listener(tracker, service_name, port, proto, handler, on_error=on_error)
