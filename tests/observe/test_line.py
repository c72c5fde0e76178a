"""The envelope parser and the normalisers on lines that break the format or carry hostile
text: every one is a `BadLine` with a reason or a safe, capped event — never a crash."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from observe_sample import SENSORS, recorded

from decnet.core.observe.base import Placement, address
from decnet.core.observe.line import BadLine, Origin, parse_line, safe, text
from decnet.core.observe.normalise import normalise
from decnet.core.observe.scan import ScanAggregator
from decnet.events import LONG, RAW, SHORT, AttackCommand, AttackConnect, AttackEvent, AttackLogin

ORIGIN = Origin.of("h1", "t/d/sensor")
GOOD = {"v": 1, "epoch": "ab12", "seq": 7, "at": "2026-12-07T10:00:00.123456Z", "sensor": "decnet"}


def line(event: dict[str, Any], **envelope: Any) -> str:
    return json.dumps({**GOOD, "service": "ssh", "session": "s1", **envelope, "event": event})


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "not JSON"),
        ("{", "not JSON"),
        ("[" * 100_000, "not JSON"),
        ("[1]", "not a JSON object"),
        (json.dumps({**GOOD, "v": 2, "event": {}}), "format"),
        (json.dumps({**GOOD, "v": True, "event": {}}), "format"),
        (json.dumps({**GOOD, "epoch": "../x", "event": {}}), "epoch"),
        (json.dumps({**GOOD, "seq": 0, "event": {}}), "seq"),
        (json.dumps({**GOOD, "seq": "7", "event": {}}), "seq"),
        (json.dumps({**GOOD, "seq": True, "event": {}}), "seq"),
        (json.dumps({**GOOD, "at": "yesterday", "event": {}}), "at"),
        (json.dumps({**GOOD, "sensor": "\x1b[31mevil", "event": {}}), "sensor"),
        (json.dumps({**GOOD, "event": "x"}), "event"),
    ],
)
def test_bad_lines_say_why(raw: str, reason: str) -> None:
    with pytest.raises(BadLine, match=reason):
        parse_line(raw)


def test_odd_envelope_fields_are_dropped_not_trusted() -> None:
    parsed = parse_line(line({"kind": "connect"}, service="../../etc", session={"x": 1}))
    assert parsed.service is None and parsed.session is None
    assert parsed.at == "2026-12-07T10:00:00.123456+00:00"


def test_safe_text() -> None:
    assert safe("a\ud800b", 10) == "a\ufffdb"
    assert safe("x" * 20, 5) == "xxxxx"
    assert text({"a": [1, "\udfff"]}, 100) == '{"a":[1,"\ufffd"]}'
    assert text(3, 10) == "3" and text(None, 10) is None and text(True, 10) == "true"


def test_addresses_are_checked() -> None:
    assert address("10.0.0.1") == "10.0.0.1"
    assert address("::ffff:10.0.0.1") == "10.0.0.1"
    assert address("fe80::1%eth0") == "fe80::1"
    for bad in ("", "<script>", "10.0.0.256", 7, None, "1" * 100):
        assert address(bad) is None


HOSTILE = [
    "\x1b]0;pwned\x07\x1b[2J",
    "<script>alert(1)</script>",
    '] " \\ [x@y a="b"]',
    "\ud800\udfff\udbff lone",
    "\x00nul\x7fdel\u202eoverride",
]


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_credentials_are_kept_as_data(value: str) -> None:
    raw = line(
        {"kind": "login", "src_ip": "10.1.2.3", "src_port": 5, "dst_ip": "10.0.0.2",
         "dst_port": 22, "username": value, "password": value, "outcome": "success"},
    )  # fmt: skip
    (event,) = normalise(parse_line(raw), ORIGIN, Placement({"10.0.0.2": "dmz"})).events
    assert isinstance(event, AttackLogin)
    # what a JSON reader makes of it (a surrogate pair is one character), made safe
    assert event.username == safe(json.loads(json.dumps(value)), SHORT)
    assert event.password == event.username
    assert event.lan == "dmz" and event.outcome == "success"
    json.dumps(event.wire()).encode("utf-8")  # storable: no lone surrogate is left
    event.username.encode("utf-8")


def test_long_values_are_capped() -> None:
    huge = "A" * (RAW * 4)
    raw = line({"kind": "command", "src_ip": "10.1.2.3", "command": huge})
    (event,) = normalise(parse_line(raw), ORIGIN, Placement()).events
    assert isinstance(event, AttackCommand)
    assert len(event.command) == LONG and len(event.raw) == RAW and event.lan is None


def test_lines_without_a_source_address_make_no_event() -> None:
    for src in (None, "", "not-an-ip", 12):
        raw = line({"kind": "connect", "src_ip": src})
        assert normalise(parse_line(raw), ORIGIN, Placement()).events == ()


def test_udp_without_destination_takes_the_deckys_only_lan() -> None:
    raw = line({"kind": "connect", "proto": "udp", "src_ip": "10.9.9.9", "dst_ip": None})
    (event,) = normalise(parse_line(raw), ORIGIN, Placement({"10.0.0.2": "dmz"})).events
    assert event.lan == "dmz" and event.dst_ip is None
    two = Placement({"10.0.0.2": "dmz", "10.1.0.2": "lan"})
    (event,) = normalise(parse_line(raw), ORIGIN, two).events
    assert event.lan is None


@pytest.mark.parametrize("wildcard", ["0.0.0.0", "::"])
def test_a_wildcard_sockets_own_address_is_no_destination(wildcard: str) -> None:
    raw = line({"kind": "request", "src_ip": "10.9.9.9", "dst_ip": wildcard, "dst_port": 53})
    (event,) = normalise(parse_line(raw), ORIGIN, Placement({"10.0.0.2": "dmz"})).events
    assert (event.dst_ip, event.dst_port, event.lan) == (None, 53, "dmz")


def test_unknown_kinds_and_eventids_make_nothing() -> None:
    assert normalise(parse_line(line({"kind": "dance"})), ORIGIN, Placement()).events == ()
    cowrie = line({"eventid": "cowrie.unknown", "src_ip": "1.2.3.4"}, sensor="cowrie")
    assert normalise(parse_line(cowrie), ORIGIN, Placement()).events == ()


def test_an_unknown_opencanary_logtype_is_still_a_request() -> None:
    raw = line(
        {"logtype": 99001, "src_host": "10.1.1.1", "src_port": 4, "dst_host": "10.0.0.2",
         "dst_port": 9, "logdata": {"X": "<b>"}},
        sensor="opencanary",
    )  # fmt: skip
    (event,) = normalise(parse_line(raw), ORIGIN, Placement()).events
    assert event.type == "attack.request"
    assert event.wire()["method"] == "opencanary-99001" and event.wire()["query"] == '{"X":"<b>"}'


def test_a_bad_digest_is_dropped() -> None:
    raw = line({"kind": "download", "src_ip": "10.1.1.1", "url": "http://x/y", "sha256": "zz"})
    (event,) = normalise(parse_line(raw), ORIGIN, Placement()).events
    assert event.wire()["url"] == "http://x/y" and "sha256" not in event.wire()


def test_sources_are_names() -> None:
    assert Origin.of("h", "a/b/c").ref("ff", 3) == "h:a/b/c#ff:3"
    for bad in ("a/b", "a/b/c/d", "../b/c", "A/b/c", "a/b/c\n"):
        with pytest.raises(BadLine):
            Origin.of("h", bad)


def test_the_fast_wire_form_is_model_dumps() -> None:
    """AttackEvent.wire skips model_dump for speed; it must give the very same document."""
    made: list[AttackEvent] = []
    for sensor in SENSORS:
        for raw in recorded(sensor):
            made += normalise(parse_line(raw), ORIGIN, Placement({"10.235.208.10": "dmz"})).events
    scans = ScanAggregator(threshold=1)
    for e in made:
        if isinstance(e, AttackConnect):
            scans.add(e)
    made += scans.close_due(datetime(2100, 1, 1, tzinfo=UTC))
    assert {e.type for e in made} >= {"attack.connect", "attack.login", "attack.scan"}
    for e in made:
        dumped = e.model_dump(mode="json", by_alias=True, exclude_none=True)
        assert e.wire() == dumped and list(e.wire()) == list(dumped)
