"""The receivers' side of outputs: one sink per kind, each acknowledging what it was sent.

`send(items)` returns only once the receiver has what it was given — the bytes written to the
TCP (or TLS) connection with no sign that the peer went away, the lines fsync'ed to the file,
a 2xx from the webhook — so the worker advances its cursor only then (at least once). It raises
`DeliveryError` otherwise: `retry=False` when the receiver refused the items for good (an HTTP
4xx but 408/429), so they are counted as dropped instead of retried forever.

Syslog over TCP has no acknowledgement of its own (RFC 6587): like rsyslog's omfwd, a message
in flight when the receiver dies can be lost. Before and after every write the sink checks
that the receiver has not closed the connection, so a receiver that restarted between two
batches gets the batch again on a new connection instead of losing it to a dead socket.

Error messages name the receiver by what `outputs list` shows (never a webhook's path, query
or headers) and carry no response body: they are stored and shown.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import socket
import ssl
import stat
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from decnet.core import signing, syslog
from decnet.core.outputs import (
    JsonlOptions,
    OutputSecret,
    OutputSpec,
    SyslogOptions,
    WebhookOptions,
)
from decnet.files import FILE_MODE, private_dir
from decnet.text import terminal_safe

CONNECT_TIMEOUT = 10.0
CLOSE_TIMEOUT = 2.0
TLS_SETTLE = 1.0
"""Seconds a new TLS session is given to be refused before anything is sent on it."""
USER_AGENT = "decnet-outputs/1"
_RESPONSE_CAP = 64 * 1024
Item = dict[str, Any]
"""An event as `GET /events` serves it, or an aggregate ({"aggregate": …, "sample": …})."""


class DeliveryError(Exception):
    def __init__(self, message: str, *, retry: bool = True, after: float | None = None) -> None:
        super().__init__(terminal_safe(message, 500))
        self.retry = retry
        self.after = after
        """Seconds the receiver asked us to wait (Retry-After), if it did."""


class Sink(Protocol):
    chunk: int
    """Items per acknowledged send: the cursor moves after each chunk."""

    def send(self, items: Sequence[Item]) -> None: ...

    def linger(self, seconds: float) -> None:
        """After a send: wait (up to `seconds`) for a late refusal, where one can come."""

    def close(self) -> None: ...


def _reason(err: BaseException) -> str:
    text = getattr(err, "strerror", None) or str(err) or type(err).__name__
    return f"{type(err).__name__}: {text}"


def tls_context(ca: str | None, cert: str | None = None, key: str | None = None) -> ssl.SSLContext:
    """Verify the receiver against `ca` (default: the system's CAs), TLS 1.2 or later."""
    context = ssl.create_default_context(cafile=ca)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if cert:
        context.load_cert_chain(cert, key)
    return context


def controller_hostname() -> str:
    """This machine's name as an RFC 5424 HOSTNAME (printable US-ASCII, at most 255)."""
    name = "".join(c if "!" <= c <= "~" else "-" for c in socket.gethostname())
    return name[:255] or syslog.NIL


# --- syslog (RFC 5424 over RFC 6587 TCP or RFC 5425 TLS) -----------------------------------


class SyslogSink:
    chunk = 500

    def __init__(self, opts: SyslogOptions, hostname: str | None = None) -> None:
        self.opts = opts
        self.hostname = hostname or controller_hostname()
        self.sock: socket.socket | None = None

    def message(self, item: Item) -> bytes:
        if "aggregate" in item:
            return syslog.format_aggregate(item, self.opts, self.hostname)
        return syslog.format_event(item, self.opts, self.hostname)

    def send(self, items: Sequence[Item]) -> None:
        data = b"".join(syslog.frame(self.message(item)) for item in items)
        sock = self._connected()
        try:
            sock.sendall(data)
        except OSError as err:
            self.close()
            raise DeliveryError(f"syslog {self.opts.url}: {_reason(err)}") from err
        if self._peer_closed(sock):
            self.close()
            raise DeliveryError(f"syslog {self.opts.url}: the receiver closed the connection")

    def _connected(self) -> socket.socket:
        if self.sock is not None and self._peer_closed(self.sock):
            self.close()
        if self.sock is None:
            self.sock = self._connect()
        return self.sock

    def _connect(self) -> socket.socket:
        where = (self.opts.host, self.opts.port)
        try:
            raw = socket.create_connection(where, timeout=CONNECT_TIMEOUT)
        except OSError as err:
            raise DeliveryError(f"syslog {self.opts.url}: {_reason(err)}") from err
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        if self.opts.transport == "tcp":
            return raw
        try:
            context = tls_context(self.opts.ca, self.opts.cert, self.opts.key)
            sock = context.wrap_socket(raw, server_hostname=self.opts.host)
        except (OSError, ssl.SSLError) as err:
            raw.close()
            raise DeliveryError(f"syslog {self.opts.url}: TLS: {_reason(err)}") from err
        # A receiver may refuse the session after the handshake (TLS 1.3 checks the client's
        # certificate after the client finished; rsyslog checks peer names afterwards): wait
        # for that answer once per connection, or the first batch would go to a dead socket.
        if self._closes_within(sock, TLS_SETTLE):
            sock.close()
            raise DeliveryError(
                f"syslog {self.opts.url}: TLS: the receiver closed the session after the "
                "handshake (does it require a client certificate, or another one?)"
            )
        return sock

    def linger(self, seconds: float) -> None:
        """Wait up to `seconds` for the receiver to close the connection (what a refusal of
        what was just sent looks like); raise if it did."""
        if self.sock is not None and self._closes_within(self.sock, seconds):
            self.close()
            raise DeliveryError(f"syslog {self.opts.url}: the receiver closed the connection")

    @staticmethod
    def _closes_within(sock: socket.socket, seconds: float) -> bool:
        sock.settimeout(seconds)
        try:
            return sock.recv(1) == b""
        except TimeoutError:
            return False
        except (OSError, ssl.SSLError):
            return True
        finally:
            with contextlib.suppress(OSError):
                sock.settimeout(CONNECT_TIMEOUT)

    @staticmethod
    def _peer_closed(sock: socket.socket) -> bool:
        """Whether the receiver closed (or reset) the connection. A syslog receiver never
        sends data; TLS 1.3 session tickets are read by the TLS layer and are not data."""
        timeout = sock.gettimeout()
        sock.settimeout(0)
        try:
            if isinstance(sock, ssl.SSLSocket):
                return sock.recv(1) == b""
            return sock.recv(1, socket.MSG_PEEK) == b""
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
            return False
        except (OSError, ssl.SSLError):
            return True
        finally:
            with contextlib.suppress(OSError):
                sock.settimeout(timeout)

    def close(self) -> None:
        """End the connection cleanly: a TLS close_notify (a receiver on OpenSSL 3 may drop
        the last records of a connection that ends without one), then the TCP FIN."""
        sock, self.sock = self.sock, None
        if sock is None:
            return
        with contextlib.suppress(OSError, ValueError):
            sock.settimeout(CLOSE_TIMEOUT)
            if isinstance(sock, ssl.SSLSocket):
                sock = sock.unwrap()
            sock.shutdown(socket.SHUT_WR)
        with contextlib.suppress(OSError):
            sock.close()


# --- JSON lines ----------------------------------------------------------------------------


def json_line(item: Item) -> bytes:
    """One line of JSON: ASCII only (so U+2028, lone surrogates and controls are escaped)."""
    return json.dumps(item, ensure_ascii=True, separators=(",", ":")).encode("ascii") + b"\n"


class JsonlSink:
    chunk = 500

    def __init__(self, opts: JsonlOptions) -> None:
        self.opts = opts
        self.path = Path(opts.path)
        self.fd: int | None = None
        self.size = 0

    def send(self, items: Sequence[Item]) -> None:
        try:
            fd = self._open()
            pending: list[bytes] = []
            size = self.size
            for line in map(json_line, items):
                if size and size + len(line) > self.opts.max_bytes:
                    self._write(fd, b"".join(pending))
                    pending = []
                    fd = self._rotate()
                    size = self.size
                pending.append(line)
                size += len(line)
            self._write(fd, b"".join(pending))
            os.fsync(fd)
        except OSError as err:
            self.close()
            raise DeliveryError(f"jsonl {self.opts.path}: {_reason(err)}") from err

    def _write(self, fd: int, data: bytes) -> None:
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        self.size += len(data)

    def _open(self) -> int:
        if self.fd is not None:
            return self.fd
        private_dir(self.path.parent)
        flags = os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW
        fd = os.open(self.path, flags, FILE_MODE)
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            os.close(fd)
            raise DeliveryError(f"jsonl {self.opts.path}: not a regular file")
        if info.st_uid == os.getuid():
            os.fchmod(fd, FILE_MODE)
        self.fd, self.size = fd, info.st_size
        if info.st_size and os.pread(fd, 1, info.st_size - 1) != b"\n":
            self._write(fd, b"\n")  # a line cut by a crash stays alone on its line
        return fd

    def linger(self, seconds: float) -> None:
        """Written and fsync'ed: nothing can come later."""

    def _rotate(self) -> int:
        """PATH -> PATH.1 -> … -> PATH.KEEP (the oldest is dropped); a fresh PATH."""
        assert self.fd is not None
        os.fsync(self.fd)
        self.close()
        keep = self.opts.keep
        for index in range(keep - 1, 0, -1):
            older = self.path.with_name(f"{self.path.name}.{index}")
            if older.exists():
                os.replace(older, self.path.with_name(f"{self.path.name}.{index + 1}"))
        if keep:
            os.replace(self.path, self.path.with_name(f"{self.path.name}.1"))
        else:
            self.path.unlink()
        directory = os.open(self.path.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(directory)  # the renames survive a crash with the new file
        finally:
            os.close(directory)
        return self._open()

    def close(self) -> None:
        if self.fd is not None:
            with contextlib.suppress(OSError):
                os.close(self.fd)
            self.fd = None


# --- webhooks ------------------------------------------------------------------------------


def _retry_after(value: str | None) -> float | None:
    if value and value.strip().isdigit():
        return float(value.strip())
    return None


class WebhookSink:
    chunk = 1

    def __init__(
        self, opts: WebhookOptions, secret: OutputSecret, clock: Callable[[], float] = time.time
    ) -> None:
        self.opts, self.clock = opts, clock
        self.key = (secret.key or "").encode()
        self.headers = dict(secret.headers)
        parts = urlsplit(secret.url or "")
        self.https = parts.scheme == "https"
        self.host, self.port = parts.hostname or "", parts.port or (443 if self.https else 80)
        self.target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self.conn: http.client.HTTPConnection | None = None

    def send(self, items: Sequence[Item]) -> None:
        for item in items:
            self._post(item)

    def _post(self, item: Item) -> None:
        body = json_line(item)[:-1]
        stamp = int(self.clock())
        headers = {
            **self.headers,
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            signing.HEADER: signing.signature_header(self.key, stamp, body),
            "X-Decnet-Delivery": _delivery_id(item),
        }
        where = self.opts.endpoint + "/…"
        try:
            conn = self._connection()
            conn.request("POST", self.target, body=body, headers=headers)
            response = conn.getresponse()
            response.read(_RESPONSE_CAP)
            if response.will_close:
                self.close()
        except (OSError, http.client.HTTPException, ssl.SSLError) as err:
            self.close()
            raise DeliveryError(f"webhook {where}: {_reason(err)}") from err
        status = response.status
        if 200 <= status < 300:
            return
        self.close()  # whatever else the receiver left on the connection is unknown
        after = _retry_after(response.getheader("Retry-After"))
        if status in (408, 429) or status >= 500 or status < 400:
            raise DeliveryError(f"webhook {where}: answered HTTP {status}", after=after)
        raise DeliveryError(f"webhook {where}: refused with HTTP {status} (dropped)", retry=False)

    def linger(self, seconds: float) -> None:
        """The 2xx was the answer: nothing can come later."""

    def _connection(self) -> http.client.HTTPConnection:
        if self.conn is None:
            if self.https:
                context = tls_context(self.opts.ca)
                self.conn = http.client.HTTPSConnection(
                    self.host, self.port, timeout=self.opts.timeout, context=context
                )
            else:
                self.conn = http.client.HTTPConnection(
                    self.host, self.port, timeout=self.opts.timeout
                )
        return self.conn

    def close(self) -> None:
        if self.conn is not None:
            with contextlib.suppress(OSError):
                self.conn.close()
            self.conn = None


def _delivery_id(item: Item) -> str:
    """The id a receiver can deduplicate on: the event id, or the aggregate's id."""
    if "aggregate" in item:
        return str(item["aggregate"]["id"])
    return str(item.get("id"))


def make_sink(spec: OutputSpec, secret: OutputSecret) -> Sink:
    if isinstance(spec.options, SyslogOptions):
        return SyslogSink(spec.options)
    if isinstance(spec.options, JsonlOptions):
        return JsonlSink(spec.options)
    return WebhookSink(spec.options, secret)
