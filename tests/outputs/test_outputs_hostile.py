"""Hostile input through every output: a corpus of attack events whose intruder-written fields
hold control characters, ANSI escapes, `<script>`, RFC 5424 metacharacters, forged syslog
headers and frames, odd unicode and values at their caps goes through a real rsyslog (TCP and
TLS, both netstream drivers), a JSON lines file and a verifying HTTPS webhook; every value
comes back exactly, every record stays one record."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest
from outputs_support import (
    Cli,
    Pki,
    doc_snippet,
    hostile_events,
    parse_rfc5424,
    rendered,
    rsyslog,
    webhook,
    write_events,
)

from decnet.store import EventRow, Store

KEY = "k3y-for-the-hostile-webhook-0123456789"


def stored(db: Path) -> list[EventRow]:
    with Store(db) as store:
        return store.query_events(0, type_glob="attack.*", limit=10_000)


def corpus(db: Path) -> list[EventRow]:
    """Write the corpus; what the table holds is exactly what the models made."""
    payloads = hostile_events()
    write_events(db, payloads)
    events = stored(db)
    assert [e.payload for e in events] == [p.wire() for p in payloads]
    return events


def assert_inert_line(line: bytes) -> None:
    """One record: valid UTF-8 and no control character left in it."""
    text = line.decode("utf-8")
    assert not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in text), text[:200]


def assert_round_trip(lines: list[bytes], events: list[EventRow], pen: int = 32473) -> None:
    decode = doc_snippet("decnet_value")
    assert len(lines) == len(events)
    for line, event in zip(lines, events, strict=True):
        assert_inert_line(line)
        message = parse_rfc5424(line)
        assert message.version == 1 and message.msgid == event.type
        assert "truncated" not in message.sd[f"decnet@{pen}"]
        envelope = {k: decode(v) for k, v in message.sd[f"decnet@{pen}"].items()}
        assert envelope == {"id": str(event.id), "at": event.at, "topic": "attack",
                            "type": event.type, "topology": event.topology}  # fmt: skip
        payload = {k: decode(v) for k, v in message.sd[f"payload@{pen}"].items()}
        assert payload == {k: rendered(v) for k, v in event.payload.items()}
        text = message.msg.removeprefix(b"\xef\xbb\xbf")
        assert message.msg == text or not text.isascii()  # a BOM only before non-ASCII text


def test_syslog_over_tcp_round_trips_every_hostile_value(
    cli: Cli, db: Path, tmp_path: Path
) -> None:
    with rsyslog(tmp_path / "rsyslog") as receiver:
        added = cli("outputs", "add", "siem", "--kind", "syslog", "--url", receiver.url,
                    "--max-message", "1048576")  # fmt: skip
        assert added.returncode == 0, added.stderr
        events = corpus(db)
        ran = cli("outputs", "run", "--once")
        assert ran.returncode == 0 and "siem: caught up" in ran.stdout, ran.stderr
        lines = receiver.wait_lines(len(events))
    assert_round_trip(lines, events)


@pytest.mark.parametrize("driver", ["gtls", "ossl"])
def test_syslog_over_tls_round_trips_every_hostile_value(
    cli: Cli, db: Path, tmp_path: Path, pki: Pki, driver: str
) -> None:
    with rsyslog(tmp_path / "rsyslog", tls=driver, pki=pki) as receiver:
        added = cli("outputs", "add", "siem", "--kind", "syslog", "--url", receiver.url,
                    "--ca", str(pki.ca), "--max-message", "1048576",
                    "--enterprise-id", "424242")  # fmt: skip
        assert added.returncode == 0, added.stderr
        events = corpus(db)
        assert cli("outputs", "run", "--once").returncode == 0
        lines = receiver.wait_lines(len(events))
    assert_round_trip(lines, events, pen=424242)


def test_syslog_over_tls_with_a_client_certificate(
    cli: Cli, db: Path, tmp_path: Path, pki: Pki
) -> None:
    """A receiver that authenticates senders (x509/certvalid) takes decnet's client certificate
    and refuses a sender without one."""
    with rsyslog(tmp_path / "rsyslog", tls="gtls", pki=pki, auth="x509/certvalid") as receiver:
        bare = cli("outputs", "add", "bare", "--kind", "syslog", "--url", receiver.url,
                   "--ca", str(pki.ca))  # fmt: skip
        signed = cli("outputs", "add", "signed", "--kind", "syslog", "--url", receiver.url,
                     "--ca", str(pki.ca), "--cert", str(pki.client_cert),
                     "--key", str(pki.client_key))  # fmt: skip
        assert bare.returncode == 0 and signed.returncode == 0, bare.stderr + signed.stderr
        assert cli("outputs", "test", "signed").returncode == 0
        lines = receiver.wait_lines(1)
        refused = cli("outputs", "test", "bare")
        assert receiver.wait_lines(2, timeout=3) == lines  # nothing more arrived
    assert [parse_rfc5424(line).msgid for line in lines] == ["output.test"]
    assert refused.returncode == 1 and "error: output bare: the test event did not arrive" in (
        refused.stderr
    )


def test_jsonl_holds_each_hostile_event_on_one_valid_line(
    cli: Cli, db: Path, tmp_path: Path
) -> None:
    path = tmp_path / "logs" / "events.jsonl"
    assert cli("outputs", "add", "archive", "--kind", "jsonl", "--path", str(path)).returncode == 0
    events = corpus(db)
    assert cli("outputs", "run", "--once").returncode == 0
    lines = path.read_bytes().split(b"\n")
    assert lines.pop() == b""
    assert len(lines) == len(events)
    for line, event in zip(lines, events, strict=True):
        assert line.isascii() and all(0x20 <= b < 0x7F for b in line)
        assert json.loads(line) == event.model_dump(mode="json")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_webhook_bodies_verify_and_parse(cli: Cli, db: Path, tmp_path: Path, pki: Pki) -> None:
    keyfile = tmp_path / "key"
    keyfile.write_text(KEY + "\n")
    keyfile.chmod(0o600)
    with webhook(KEY.encode(), pki=pki) as receiver:
        added = cli("outputs", "add", "hook", "--kind", "webhook", "--url", receiver.url(),
                    "--ca", str(pki.ca), "--secret-from-file", str(keyfile))  # fmt: skip
        assert added.returncode == 0, added.stderr
        events = corpus(db)
        assert cli("outputs", "run", "--once").returncode == 0
        received = list(receiver.received)
    assert len(received) == len(events)
    for got, event in zip(received, events, strict=True):
        assert got.verified and got.status == 200
        assert got.path == "/hooks/decnet?token=s3cr3t-in-query"
        assert got.headers["X-Decnet-Delivery"] == str(event.id)
        assert got.body.isascii()
        body: dict[str, Any] = json.loads(got.body)
        assert body == event.model_dump(mode="json")
