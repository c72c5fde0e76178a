"""The recorded sensor lines (tests/fixtures/sensor_lines/, from the real sensor image) and the
attack events the normaliser makes of them, as the golden files keep them.

Shared by the golden test and `regen.py`, so both normalise exactly the same thing.
"""

from __future__ import annotations

import json
from pathlib import Path

from decnet.core.observe.base import Placement
from decnet.core.observe.line import Origin, parse_line
from decnet.core.observe.normalise import normalise

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sensor_lines"
GOLDEN = Path(__file__).resolve().parent / "golden"
SENSORS = ("cowrie", "opencanary", "decnet")
ORIGIN = Origin.of("h1", "golden/recorded/sensor")
PLACEMENT = Placement({"10.235.208.10": "dmz"})
"""The recorded decky's one address, on LAN `dmz`."""


def recorded(sensor: str) -> list[str]:
    return (FIXTURES / f"{sensor}.jsonl").read_text(encoding="ascii").splitlines()


def normalised_text(sensor: str) -> str:
    """One block per recorded line: its seq and what it became (events without `raw`, which
    is the line itself; or the sensor's health note; or nothing)."""
    out = []
    for raw in recorded(sensor):
        line = parse_line(raw)
        result = normalise(line, ORIGIN, PLACEMENT)
        out.append(f"# seq {line.seq}: {_what(line.event)}")
        for event in result.events:
            assert event.raw == raw  # the recorded lines are all shorter than RAW
            wire = {k: v for k, v in event.wire().items() if k != "raw"}
            out.append(json.dumps({"type": event.type, **wire}, sort_keys=True))
        if result.note is not None:
            out.append(f"note {result.note.kind} at {result.note.at}: {result.note.detail}")
        if not result.events and result.note is None:
            out.append("(nothing)")
    return "\n".join(out) + "\n"


def _what(event: dict[str, object]) -> str:
    for key in ("eventid", "logtype", "kind"):
        if key in event:
            return f"{key} {event[key]}"
    return "?"
