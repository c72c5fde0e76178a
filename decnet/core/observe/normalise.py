"""One sensor line -> its attack events (or the sensor's health): the dispatch on `sensor`.

`normalise(line, origin, placement)` is pure and total: whatever the line holds, it returns a
`Normalised` (maybe empty), never raises. A line the sensor writes about itself
(`sensor.start`, `sensor.heartbeat`, `sensor.error`, OpenCanary's error logtype) becomes a
`SensorNote` for the source's health instead of an event.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from decnet.core.observe import cowrie, native, opencanary
from decnet.core.observe.base import Base, Placement
from decnet.core.observe.line import Origin, SensorLine, text
from decnet.events import AttackEvent

NOTE_DETAIL = 2000
"""Characters of a health line's detail kept (compact JSON)."""
_NOTE_KEYS = (
    "version", "services", "implementations", "failed", "uptime_s", "connections", "open",
    "udp_peers", "dropped", "errors", "rss_bytes", "message", "error", "service",
)  # fmt: skip

NORMALISERS: dict[str, Callable[[Base], list[AttackEvent]]] = {
    "cowrie": cowrie.normalise,
    "opencanary": opencanary.normalise,
    "decnet": native.normalise,
}
"""One function per sensor format."""


@dataclass(frozen=True, slots=True)
class SensorNote:
    """A line about the sensor itself: `start`, `heartbeat` or `error`."""

    kind: str
    at: str
    detail: str
    """Selected fields of the line, compact JSON, capped."""


@dataclass(frozen=True, slots=True)
class Normalised:
    events: tuple[AttackEvent, ...] = ()
    note: SensorNote | None = None


def _note(kind: str, line: SensorLine, doc: dict[str, Any]) -> SensorNote:
    kept = {k: doc[k] for k in _NOTE_KEYS if k in doc}
    return SensorNote(kind=kind, at=line.at, detail=text(kept, NOTE_DETAIL) or "{}")


def health(line: SensorLine) -> SensorNote | None:
    event = line.event
    if line.sensor == "decnet" and event.get("kind") in native.HEALTH_KINDS:
        return _note(str(event["kind"]).removeprefix("sensor."), line, event)
    if line.sensor == "opencanary" and event.get("logtype") == opencanary.ERROR:
        data = event.get("logdata")
        return _note("error", line, {"error": data, "service": line.service})
    return None


def normalise(line: SensorLine, origin: Origin, placement: Placement) -> Normalised:
    note = health(line)
    if note is not None:
        return Normalised(note=note)
    events = NORMALISERS[line.sensor](Base(origin, line, placement))
    return Normalised(events=tuple(events))
