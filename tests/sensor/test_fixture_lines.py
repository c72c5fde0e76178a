"""tests/fixtures/sensor_lines/: real lines recorded from the sensor image (record_lines.py),
kept for the controller's normaliser. They must stay valid lines of format v1."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sensor_lines"
ENVELOPE = {"v", "epoch", "seq", "at", "sensor", "event"}
OPTIONAL = {"service", "session", "truncated"}


@pytest.mark.parametrize("sensor", ["cowrie", "opencanary", "decnet"])
def test_recorded_lines_are_format_v1(sensor: str) -> None:
    raw = (FIXTURES / f"{sensor}.jsonl").read_bytes()
    assert raw.endswith(b"\n") and all(b < 0x80 for b in raw)
    lines = [json.loads(line) for line in raw.splitlines()]
    assert lines
    seqs = [d["seq"] for d in lines]
    assert seqs == sorted(seqs) and len({d["epoch"] for d in lines}) == 1
    for d in lines:
        assert ENVELOPE <= set(d) <= ENVELOPE | OPTIONAL
        assert d["v"] == 1 and d["sensor"] == sensor and isinstance(d["event"], dict)
        assert d["at"].endswith("Z")
        if sensor == "cowrie":
            assert d["event"]["eventid"].startswith("cowrie.")
            assert d["event"]["session"] and d["session"]
        elif sensor == "opencanary":
            assert isinstance(d["event"]["logtype"], int) and "src_host" in d["event"]
        else:
            assert d["event"]["kind"] in {
                "connect", "close", "login", "request", "command", "download",
                "sensor.start", "sensor.heartbeat", "sensor.error",
            }  # fmt: skip
    if sensor == "decnet":
        kinds = {d["event"]["kind"] for d in lines}
        assert {"sensor.start", "sensor.heartbeat", "connect", "close", "login", "request"} <= kinds
