"""The MQTT emulator against paho-mqtt (3.1.1 and 5) and raw packets."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as paho
import pytest
from decnet_sensor.emulators import mqtt
from emu_support import fuzz_tcp
from paho.mqtt.enums import CallbackAPIVersion

pytestmark = pytest.mark.timeout(120)


def raw_connect(client_id: str, user: str | None = None, password: str | None = None) -> bytes:
    def s(v: str) -> bytes:
        return len(v.encode()).to_bytes(2, "big") + v.encode()

    flags = (0x80 if user is not None else 0) | (0x40 if password is not None else 0) | 0x02
    body = s("MQTT") + bytes([4, flags]) + (60).to_bytes(2, "big") + s(client_id)
    body += (s(user) if user is not None else b"") + (s(password) if password is not None else b"")
    return mqtt.packet(mqtt.CONNECT, body)


def test_parsers() -> None:
    assert mqtt.encode_varint(321) == b"\xc1\x02"
    assert mqtt.decode_varint(b"\xc1\x02", 0) == (321, 2)
    assert mqtt.decode_varint(b"\xc1", 0) is None
    with pytest.raises(mqtt.Malformed):
        mqtt.decode_varint(b"\xff\xff\xff\xff\x01", 0)
    kind, _, body, rest = mqtt.split_packet(raw_connect("c1", "u", "p") + b"\xc0") or (
        0,
        0,
        b"",
        b"",
    )
    assert kind == mqtt.CONNECT and rest == b"\xc0"
    c = mqtt.parse_connect(body)
    assert (c.client_id, c.username, c.password, c.level) == ("c1", b"u", b"p", 4)
    with pytest.raises(mqtt.Malformed):
        mqtt.parse_connect(body[:9])
    assert mqtt.topic_matches("$SYS/#", "$SYS/broker/version")
    assert mqtt.topic_matches("a/+/c", "a/b/c") and not mqtt.topic_matches("a/+", "a/b/c")
    assert not mqtt.topic_matches("#", "$SYS/broker/version")
    assert mqtt.version_payload("mosquitto 2.0.18") == b"mosquitto version 2.0.18"


@pytest.mark.parametrize("protocol", [paho.MQTTv311, paho.MQTTv5])
def test_paho_connect_subscribe_publish(serve: Callable[..., Any], protocol: int) -> None:
    emu = serve("mqtt", ["1883/tcp"], {"version": "mosquitto 2.0.11"})
    got: dict[str, Any] = {}
    connected, version = threading.Event(), threading.Event()
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id="plc-7", protocol=protocol)
    client.username_pw_set("scada", "s3cret")

    def on_connect(c: Any, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        got["reason"] = reason
        connected.set()

    def on_message(c: Any, userdata: Any, msg: Any) -> None:
        got[msg.topic] = msg.payload
        version.set()

    client.on_connect, client.on_message = on_connect, on_message
    client.connect("127.0.0.1", emu.port(1883))
    client.loop_start()
    try:
        assert connected.wait(10) and not got["reason"].is_failure
        client.subscribe([("$SYS/#", 0), ("factory/+/temp", 1)])
        assert version.wait(10)
        assert got["$SYS/broker/version"] == b"mosquitto version 2.0.11"
        info = client.publish("factory/line1/cmd", b"STOP", qos=1)
        info.wait_for_publish(10)
        assert info.is_published()
        client.publish("factory/line1/cmd2", b"GO", qos=2).wait_for_publish(10)
    finally:
        client.disconnect()
        client.loop_stop()
    login = emu.events(kind="login", username="scada")[0]
    assert login["password"] == "s3cret" and login["outcome"] == "success"
    conn = emu.events(kind="request", method="CONNECT")[0]
    assert conn["path"] == "plc-7" and conn["detail"]["level"] == (5 if protocol == 5 else 4)
    sub = emu.events(kind="request", method="SUBSCRIBE")[0]
    assert sub["detail"]["topics"] == ["$SYS/#", "factory/+/temp"]
    pub = emu.events(kind="request", method="PUBLISH", path="factory/line1/cmd")[0]
    assert pub["query"] == "STOP" and pub["detail"]["qos"] == 1
    assert emu.events(kind="request", method="PUBLISH", path="factory/line1/cmd2")


def test_anonymous_refused_when_not_allowed(serve: Callable[..., Any]) -> None:
    emu = serve("mqtt", ["1883/tcp"], {"allow_anonymous": "false"})
    with socket.create_connection(("127.0.0.1", emu.port(1883)), timeout=5) as s:
        s.sendall(raw_connect("x", "admin", "admin"))
        assert s.recv(10) == b"\x20\x02\x00\x05"  # CONNACK: not authorized
        assert s.recv(10) == b""  # and closed
    assert emu.events(kind="login", username="admin", password="admin", outcome="failure")


def test_ping_and_protocol_violations(serve: Callable[..., Any]) -> None:
    emu = serve("mqtt", ["1883/tcp"])
    with socket.create_connection(("127.0.0.1", emu.port(1883)), timeout=5) as s:
        s.sendall(b"\xc0\x00")  # PINGREQ before CONNECT: closed
        assert s.recv(10) == b""
    with socket.create_connection(("127.0.0.1", emu.port(1883)), timeout=5) as s:
        s.sendall(raw_connect("anon") + b"\xc0\x00")
        assert s.recv(4) == b"\x20\x02\x00\x00"
        assert s.recv(2) == b"\xd0\x00"
    seeds = [
        raw_connect("a", "b", "c"),
        raw_connect("a") + b"\x82\x06\x00\x01\x00\x01#\x00",
        raw_connect("a") + b"\x32\x05\x00\x01t\x00\x01",
    ]
    fuzz_tcp(emu.port(1883), seeds)
    fuzz_tcp(emu.port(1883), seeds, prefix=raw_connect("a"))
    with socket.create_connection(("127.0.0.1", emu.port(1883)), timeout=5) as s:
        s.sendall(raw_connect("again"))
        assert s.recv(4) == b"\x20\x02\x00\x00"
    assert emu.alive()
