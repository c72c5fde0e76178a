"""The bounds every emulator shares: idle connections closed, lines and frames capped, a
command budget per connection; and a string cap that keeps escapes of undecodable bytes."""

from __future__ import annotations

import socket
import struct
import time
from collections.abc import Callable
from typing import Any

import pytest
from decnet_sensor.emulators import _common

pytestmark = pytest.mark.timeout(120)


def closed_within(s: socket.socket, seconds: float) -> bool:
    s.settimeout(seconds)
    try:
        while s.recv(4096):
            pass
    except TimeoutError:
        return False
    return True


def test_text_caps_and_escapes() -> None:
    assert _common.text(b"ok\xff\xfe") == "ok\\xff\\xfe"
    assert len(_common.text("x" * 10_000)) == _common.FIELD_CAP
    assert len(_common.text(b"\xff" * 10_000, 100)) == 100
    assert _common.flag({"a": "TRUE"}, "a", False) and not _common.flag({"a": "0"}, "a", True)
    assert _common.flag({}, "a", True)


@pytest.mark.parametrize("service,port,hello", [("smtp", 25, b""), ("postgres", 5432, b"\0\0")])
def test_idle_connection_closed(
    serve: Callable[..., Any], service: str, port: int, hello: bytes
) -> None:
    emu = serve(service, [f"{port}/tcp"], idle=1.0)
    with socket.create_connection(("127.0.0.1", emu.port(port)), timeout=5) as s:
        s.sendall(hello)  # half a message, then silence
        started = time.monotonic()
        assert closed_within(s, 5)
        assert 0.8 < time.monotonic() - started < 4


def test_long_line_and_command_budget(serve: Callable[..., Any]) -> None:
    emu = serve("smtp", ["25/tcp"])
    with socket.create_connection(("127.0.0.1", emu.port(25)), timeout=5) as s:
        s.recv(100)
        s.sendall(b"HELO " + b"a" * 20_000 + b"\r\n")
        assert closed_within(s, 5)
    with socket.create_connection(("127.0.0.1", emu.port(25)), timeout=5) as s:
        s.sendall(b"NOOP\r\n" * (_common.MAX_COMMANDS + 5))
        assert closed_within(s, 5)


def test_oversized_frame_dropped(serve: Callable[..., Any]) -> None:
    emu = serve("mqtt", ["1883/tcp"])
    with socket.create_connection(("127.0.0.1", emu.port(1883)), timeout=5) as s:
        s.sendall(b"\x10\xff\xff\xff\x7f")  # CONNECT claiming 256 MB
        assert closed_within(s, 5)
    emu2 = serve("postgres", ["5432/tcp"])
    with socket.create_connection(("127.0.0.1", emu2.port(5432)), timeout=5) as s:
        s.sendall(struct.pack("!I", 1 << 30))
        assert closed_within(s, 5)
