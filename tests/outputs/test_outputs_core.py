"""The pure rules of outputs: RFC 5424 escaping and framing, signatures, aggregation windows,
backoff, severities, and the checks of what a user asks for."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from outputs_support import _value, doc_snippet, parse_rfc5424

from decnet.core import signing, syslog
from decnet.core.aggregate import MAX_GROUPS, Window, window_start
from decnet.core.output_request import OutputRequest, build, parse_size, parse_window
from decnet.core.outputs import Severity, SyslogOptions, backoff, severity
from decnet.errors import InvalidRequest

ANY_TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=200)
"""Any code points, lone surrogates included."""
OPTS = SyslogOptions(transport="tcp", host="127.0.0.1", port=514)


def event(payload: dict[str, Any], kind: str = "attack.login", id_: int = 7) -> dict[str, Any]:
    return {"id": id_, "at": "2026-12-07T01:02:03.456789+00:00", "topic": kind.split(".")[0],
            "topology": "corp", "type": kind, "payload": payload}  # fmt: skip


# --- escaping -------------------------------------------------------------------------------


@given(ANY_TEXT)
def test_escaping_round_trips_any_text_and_leaves_nothing_unprintable(text: str) -> None:
    escaped = syslog.escape_value(text)
    assert escaped.isprintable()
    escaped.encode("utf-8")  # lone surrogates were escaped too
    assert syslog.unescape_value(escaped) == text
    assert doc_snippet("decnet_value")(escaped) == text  # the documented decoder agrees


@given(ANY_TEXT)
def test_a_param_value_cannot_end_early(text: str) -> None:
    wire = syslog.param_value(text).encode("utf-8")
    value, rest = _value(wire + b'" tail')
    assert rest == b" tail" and value == syslog.escape_value(text)


def test_param_names_keep_to_the_rfc_charset_and_stay_distinct() -> None:
    assert syslog.param_name('a b=c]"d') == "a_b_c__d"
    assert syslog.param_name("x" * 40) == "x" * 32
    assert syslog.param_name("é") == "_"
    params = syslog.params({"a b": 1, "a=b": 2, "gone": None, "flag": True, "list": [1, "x"]})
    assert params == [("a_b", "1"), ("a_b_", "2"), ("flag", "true"), ("list", '[1,"x"]')]


# --- messages -------------------------------------------------------------------------------


def test_a_message_has_the_rfc_5424_header_and_every_field() -> None:
    payload = {"username": "root", "password": 'p"]\\', "outcome": "success", "src_ip": "1.2.3.4"}
    message = syslog.format_event(event(payload), OPTS, "ctl")
    parsed = parse_rfc5424(message)
    assert parsed.pri == 16 * 8 + Severity.ALERT  # local0, a successful login
    assert (parsed.version, parsed.timestamp, parsed.hostname, parsed.app_name, parsed.procid,
            parsed.msgid) == (1, "2026-12-07T01:02:03.456789Z", "ctl", "decnet", "-",
                              "attack.login")  # fmt: skip
    assert parsed.sd["decnet@32473"] == {"id": "7", "at": "2026-12-07T01:02:03.456789+00:00",
                                         "topic": "attack", "type": "attack.login",
                                         "topology": "corp"}  # fmt: skip
    decode = syslog.unescape_value
    assert {k: decode(v) for k, v in parsed.sd["payload@32473"].items()} == payload
    assert parsed.msg == b'attack.login root/p"]\\ success from 1.2.3.4 in corp'


def test_the_summary_is_ascii_or_starts_with_a_bom() -> None:
    plain = parse_rfc5424(syslog.format_event(event({"username": "root"}), OPTS, "h"))
    utf8 = parse_rfc5424(syslog.format_event(event({"username": "rôot\x1b"}), OPTS, "h"))
    assert plain.msg.isascii()
    assert utf8.msg == "\ufeffattack.login rôot\\x1b in corp".encode()


def test_octet_counting_counts_octets() -> None:
    message = syslog.format_event(event({"username": "é" * 10}), OPTS, "h")
    framed = syslog.frame(message)
    length, _, rest = framed.partition(b" ")
    assert int(length) == len(rest) == len(message) and rest == message


def test_a_long_message_is_cut_to_the_limit_and_says_which_fields() -> None:
    payload = {"username": "u", "raw": "\x1b" * 8192, "command": "c" * 4000, "src_ip": "1.1.1.1"}
    opts = SyslogOptions(transport="tcp", host="h", port=1, max_message=2048)
    message = syslog.format_event(event(payload, "attack.command"), opts, "h")
    assert len(message) <= 2048
    parsed = parse_rfc5424(message)
    cut = parsed.sd["decnet@32473"]["truncated"].split(",")
    assert "raw" in cut
    values = {k: syslog.unescape_value(v) for k, v in parsed.sd["payload@32473"].items()}
    for name, original in payload.items():
        assert original.startswith(values[name]) if name in cut else values[name] == original


def test_an_aggregate_is_one_message_with_its_sample() -> None:
    window = Window.opening_at(event({"src_ip": "1.2.3.4", "dst_port": 22}), 60)
    for i in range(5):
        window.add(event({"src_ip": "1.2.3.4", "dst_port": 20 + i}, "attack.connect", i + 1))
    [aggregate] = window.aggregates()
    parsed = parse_rfc5424(syslog.format_aggregate(aggregate, OPTS, "h"))
    assert parsed.msgid == "attack.connect"
    assert parsed.sd["aggregate@32473"]["count"] == "5"
    assert parsed.sd["aggregate@32473"]["dst_ports"] == "[20,21,22,23,24]"
    assert parsed.sd["decnet@32473"]["id"] == "1"
    assert parsed.msg.startswith(b"5x attack.connect")


def test_severities() -> None:
    assert severity(event({"outcome": "failure"})) == Severity.WARNING
    assert severity(event({}, "attack.command")) == Severity.CRITICAL
    assert severity(event({}, "collect.stalled")) == Severity.ERROR
    assert severity(event({}, "task.failed")) == Severity.ERROR
    assert severity(event({}, "topology.created")) == Severity.INFORMATIONAL
    assert severity(event({}, "output.test")) == Severity.NOTICE


# --- signatures and backoff -----------------------------------------------------------------


def test_a_signature_verifies_only_its_body_within_the_tolerance() -> None:
    key, body, now = b"0123456789abcdef", b'{"id":1}', int(time.time())
    header = signing.signature_header(key, now, body)
    assert signing.verify(key, header, body, now)
    assert not signing.verify(key, header, body + b" ", now)
    assert not signing.verify(b"another key 0123", header, body, now)
    assert not signing.verify(key, header, body, now + signing.TOLERANCE + 1)
    assert not signing.verify(key, "garbage", body, now)
    assert not signing.verify(key, "t=x,v1=00", body, now)
    documented = doc_snippet("verify_decnet_signature")
    assert documented(key, signing.signature_header(key, int(time.time()), body), body)


@pytest.mark.parametrize("attempt", range(12))
def test_backoff_doubles_up_to_its_cap_with_jitter(attempt: int) -> None:
    full = min(60.0, 2.0**attempt)
    assert backoff(attempt, base=1, cap=60, rand=0.0) == full / 2
    assert backoff(attempt, base=1, cap=60, rand=0.999) == pytest.approx(full, rel=1e-3)


# --- aggregation ----------------------------------------------------------------------------


def test_windows_are_aligned_on_the_epoch() -> None:
    assert window_start("2026-12-07T01:02:03.5+00:00", 60).isoformat() == (
        "2026-12-07T01:02:00+00:00"
    )
    assert window_start("2026-12-07T01:02:03+02:00", 3600).isoformat() == (
        "2026-12-06T23:00:00+00:00"
    )


def test_a_window_folds_per_source_topology_and_type() -> None:
    window = Window.opening_at(event({}), 60)
    kinds = ["attack.connect"] * 1000 + ["attack.login"] * 3
    for i, kind in enumerate(kinds, start=1):
        window.add(event({"src_ip": "9.9.9.9", "dst_port": i % 7, "decky": "d"}, kind, i))
    window.add(event({"src_ip": "8.8.8.8"}, "attack.connect", 2000))
    aggregates = window.aggregates()
    assert [(a["aggregate"]["type"], a["aggregate"]["src_ip"], a["aggregate"]["count"])
            for a in aggregates] == [("attack.connect", "9.9.9.9", 1000),
                                     ("attack.login", "9.9.9.9", 3),
                                     ("attack.connect", "8.8.8.8", 1)]  # fmt: skip
    first = aggregates[0]["aggregate"]
    assert (first["first_id"], first["last_id"], first["dst_ports"]) == (1, 1000, list(range(7)))
    assert aggregates[0]["sample"]["id"] == 1 and window.through == 2000
    again = Window.opening_at(event({}), 60)
    for i, kind in enumerate(kinds, start=1):
        again.add(event({"src_ip": "9.9.9.9", "dst_port": i % 7, "decky": "d"}, kind, i))
    assert again.aggregates()[0]["aggregate"]["id"] == first["id"]  # the same on a refold
    assert json.dumps(aggregates)  # plain JSON


def test_a_window_holds_its_time_and_closes_when_full() -> None:
    window = Window.opening_at(event({}), 60)
    assert window.holds(event({}))
    assert not window.holds({**event({}), "at": "2026-12-07T01:03:00+00:00"})
    for i in range(MAX_GROUPS):
        window.add(event({"src_ip": f"10.{i // 65536}.{i // 256 % 256}.{i % 256}"}, id_=i))
    assert window.full


# --- requests -------------------------------------------------------------------------------


def request(**fields: Any) -> OutputRequest:
    return OutputRequest.model_validate({"name": "soc", **fields})


def test_a_webhook_request_keeps_its_secrets_apart() -> None:
    spec, secret = build(request(kind="webhook", url="https://h.example:8443/x/y?token=t",
                                 secret="  0123456789abcdef\n",
                                 headers=["Authorization: Bearer abc"]))  # fmt: skip
    assert spec.target == "https://h.example:8443/…"
    assert spec.options.model_dump_json().count("token") == 0
    assert "Bearer" not in spec.model_dump_json() and "0123456789" not in spec.model_dump_json()
    assert secret.url == "https://h.example:8443/x/y?token=t"
    assert secret.key == "0123456789abcdef"
    assert secret.headers == {"Authorization": "Bearer abc"}
    assert spec.types == ("attack.*",)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": "Bad Name", "kind": "jsonl", "path": "/x"}, "name"),
        ({"kind": "syslog"}, "url"),
        ({"kind": "syslog", "url": "udp://h:514"}, "url"),
        ({"kind": "syslog", "url": "tcp://h:70000"}, "url"),
        ({"kind": "syslog", "url": "tcp://h:514", "ca": "/ca.pem"}, "ca"),
        ({"kind": "syslog", "url": "tls://h:6514", "key": "/k.pem"}, "key"),
        ({"kind": "syslog", "url": "tcp://h:514", "path": "/x"}, "path"),
        ({"kind": "syslog", "url": "tcp://h:514", "facility": "nope"}, "facility"),
        ({"kind": "syslog", "url": "tcp://h:514", "hostname": "a b"}, "hostname"),
        ({"kind": "syslog", "url": "tcp://h:514", "max_message": 10}, "max_message"),
        ({"kind": "syslog", "url": "tcp://h:514", "types": ["ATTACK;"]}, "types"),
        ({"kind": "syslog", "url": "tcp://h:514", "topologies": ["../x"]}, "topologies"),
        ({"kind": "syslog", "url": "tcp://h:514", "aggregate": "2d"}, "aggregate"),
        ({"kind": "jsonl", "path": "relative.jsonl"}, "path"),
        ({"kind": "jsonl", "path": "/x", "keep": -1}, "keep"),
        ({"kind": "jsonl", "path": "/x", "url": "tcp://h:1"}, "url"),
        ({"kind": "webhook", "url": "ftp://h/x", "secret": "0123456789abcdef"}, "url"),
        ({"kind": "webhook", "url": "https://u:p@h/x", "secret": "0123456789abcdef"}, "url"),
        ({"kind": "webhook", "url": "https://h/x"}, "secret"),
        ({"kind": "webhook", "url": "https://h/x", "secret": "short"}, "secret"),
        ({"kind": "webhook", "url": "http://h/x", "secret": "0123456789abcdef", "ca": "/c"}, "ca"),
        ({"kind": "webhook", "url": "https://h/x", "secret": "0123456789abcdef",
          "headers": ["X-Decnet-Signature: forged"]}, "headers"),
        ({"kind": "webhook", "url": "https://h/x", "secret": "0123456789abcdef",
          "headers": ["X-Evil: a\r\nInjected: b"]}, "headers"),
    ],
)  # fmt: skip
def test_bad_requests_name_their_field(fields: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        build(request(**fields))
    assert caught.value.field == field and caught.value.hint


def test_a_bad_webhook_url_is_not_echoed() -> None:
    with pytest.raises(InvalidRequest) as caught:
        build(request(kind="webhook", url="https://u:secret-pw@h/x", secret="0123456789abcdef"))
    assert "secret-pw" not in str(caught.value)


def test_sizes_and_windows() -> None:
    assert [parse_size(s) for s in ("4096", "512K", "100M", "2G", "1mb")] == [
        4096, 512 * 1024, 100 * 1024**2, 2 * 1024**3, 1024**2,
    ]  # fmt: skip
    assert [parse_window(s) for s in ("60s", "5m", "1h", "1d")] == [60, 300, 3600, 86400]
    for bad in ("", "0s", "10", "1w", "-5s"):
        with pytest.raises(InvalidRequest):
            parse_window(bad)
    with pytest.raises(InvalidRequest):
        parse_size("lots")
