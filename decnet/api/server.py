"""Running the app on uvicorn: `decnet serve`, and the same server in a thread for tests.

Shutdown (SIGTERM or Ctrl-C) first ends every open event stream — uvicorn waits for open
responses before it runs the lifespan's shutdown — and then stops the background services in
reverse order: the run worker lets its job finish (or cancels it after a grace period), so no
topology is left `deploying`.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import re
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType

import h11
import uvicorn
from fastapi import FastAPI
from uvicorn.protocols.http.h11_impl import H11Protocol

from decnet.api.app import create_app
from decnet.api.config import ApiConfig
from decnet.api.state import ApiState
from decnet.errors import EnvironmentProblem, UsageError

_BIND = re.compile(
    r"^(?:\[(?P<v6>[0-9A-Fa-f:.]+)\]|(?P<host>[A-Za-z0-9.-]{1,253})):(?P<port>\d{1,5})$"
)
GRACEFUL_SHUTDOWN_SECONDS = 5


@dataclass(frozen=True)
class Bind:
    host: str
    port: int

    @property
    def loopback(self) -> bool:
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False

    def url(self, port: int | None = None) -> str:
        """Where a browser on this machine reaches it (a wildcard bind answers on loopback)."""
        host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(self.host, self.host)
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.port if port is None else port}"


def parse_bind(text: str) -> Bind:
    """`HOST:PORT` or `[V6]:PORT`; port 0 picks a free one."""
    match = _BIND.fullmatch(text.strip())
    port = int(match["port"]) if match else -1
    if match is None or not 0 <= port <= 65535:
        raise UsageError(
            f"--bind {text!r} is not HOST:PORT",
            hint="e.g. --bind 127.0.0.1:8400 (or [::1]:8400)",
        )
    return Bind(match["v6"] or match["host"], port)


_BIND_HINTS = {
    errno.EADDRINUSE: "another process listens there (`ss -ltnp` names it): stop it, or pick "
    "another port with --bind HOST:PORT (port 0 takes any free one)",
    errno.EACCES: "ports below 1024 need root: pick a port of 1024 or more",
    errno.EADDRNOTAVAIL: "the address is not one of this machine's: use 127.0.0.1, or an "
    "address `ip -br addr` lists",
}


def listen_socket(bind: Bind) -> socket.socket:
    """The bound socket `decnet serve` listens on; EnvironmentProblem with a hint when the
    address cannot be had (uvicorn would only log `ERROR: [Errno 98]` and exit 3)."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            bind.host, bind.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        sock = socket.socket(family, kind, proto)
    except OSError as err:
        raise EnvironmentProblem(
            f"cannot listen on {bind.host}:{bind.port}: {err.strerror or err}",
            hint="give --bind an address of this machine, e.g. 127.0.0.1:8400",
        ) from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as err:
        sock.close()
        raise EnvironmentProblem(
            f"cannot listen on {bind.host}:{bind.port}: {err.strerror or err}",
            hint=_BIND_HINTS.get(err.errno or 0, "check --bind"),
        ) from None
    return sock


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline on each request's head (its line and headers):
    `header_seconds` from the connection's start, or from the previous response on a kept-alive
    one, however it trickles in. uvicorn 0.54 has none, so 1,000 half-sent requests held 1,000
    connections for good. (The body's deadline is decnet.api.middleware's.)"""

    header_seconds = 10.0
    _head_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._await_head()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:
            self._head_arrived()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._await_head()

    def connection_lost(self, exc: Exception | None) -> None:
        self._head_arrived()
        super().connection_lost(exc)

    def _await_head(self) -> None:
        idle = self.conn.their_state is h11.IDLE and not self.transport.is_closing()
        if idle and self._head_deadline is None:
            self._head_deadline = self.loop.call_later(self.header_seconds, self._too_slow)

    def _head_arrived(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _too_slow(self) -> None:
        self._head_deadline = None
        if not self.transport.is_closing():
            self.transport.close()


def guarded_protocol(seconds: float) -> type[GuardedH11Protocol]:
    """The protocol class with this deadline (uvicorn makes the instances itself)."""

    class Protocol(GuardedH11Protocol):
        header_seconds = seconds

    return Protocol


class DecnetServer(uvicorn.Server):
    """uvicorn's server, plus: end the streams when asked to exit, report the bound port."""

    def __init__(self, config: uvicorn.Config, app: FastAPI) -> None:
        super().__init__(config)
        self.app = app
        self.state: ApiState = app.state.decnet
        self.on_started: Callable[[int], None] = lambda _port: None

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self.end_streams()
        super().handle_exit(sig, frame)

    def end_streams(self) -> None:
        """Close every open stream (thread-safe): uvicorn waits for open responses."""
        self.state.hub.shut("the server is stopping")

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            self.on_started(self.bound_port())

    def bound_port(self) -> int:
        for server in self.servers:
            for sock in server.sockets:
                return int(sock.getsockname()[1])
        return self.config.port


def build_server(config: ApiConfig, bind: Bind, *, log_level: str = "info") -> DecnetServer:
    app: FastAPI = create_app(config)
    uv = uvicorn.Config(
        app,
        host=bind.host,
        port=bind.port,
        log_level=log_level,
        # Query strings may hold a stream ticket: no access log that would record one.
        access_log=False,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        lifespan="on",
        server_header=False,
        http=guarded_protocol(config.header_seconds),
    )
    return DecnetServer(uv, app)


class ThreadedServer:
    """The real server on 127.0.0.1 in a background thread (tests, benchmarks)."""

    def __init__(self, config: ApiConfig, port: int = 0) -> None:
        self.server = build_server(config, Bind("127.0.0.1", port), log_level="warning")
        self.port = 0
        self._ready = threading.Event()
        self.server.on_started = self._started
        self._thread = threading.Thread(target=self._run, name="decnet-api", daemon=True)

    @property
    def state(self) -> ApiState:
        return self.server.state

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def app(self) -> FastAPI:
        return self.server.app

    def _started(self, port: int) -> None:
        self.port = port
        self._ready.set()

    def _run(self) -> None:
        asyncio.run(self.server.serve())
        self._ready.set()  # also when startup failed: start() then reports it

    def start(self, timeout: float = 30) -> ThreadedServer:
        self._thread.start()
        if not self._ready.wait(timeout) or not self.port:
            self.stop()
            raise RuntimeError("the API server did not start")
        return self

    def stop(self, timeout: float = 60) -> None:
        self.server.end_streams()
        self.server.should_exit = True
        self._thread.join(timeout)
