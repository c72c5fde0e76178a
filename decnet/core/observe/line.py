"""The envelope of one sensor line (format v1, SENSORS-DESIGN.md) and text made safe to keep.

Everything in a line was written by an intruder or derived from what one sent. Parsing never
trusts it: the envelope's fields are checked by type and pattern, every string that is kept is
cut to a cap and cleared of lone surrogates (JSON can spell them, SQLite cannot store them),
and a line that breaks the format is a `BadLine` with the reason, never an exception of
another kind.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

FORMAT = 1
SENSORS = frozenset({"cowrie", "opencanary", "decnet"})
NAME = r"[a-z][a-z0-9-]{0,62}"
SOURCE_RE = re.compile(rf"({NAME})/({NAME})/({NAME})")
"""A source directory under the host's sensor dir: TOPOLOGY/DECKY/FAMILY."""
EPOCH_RE = re.compile(r"[0-9a-f]{1,64}")
SERVICE_RE = re.compile(NAME)
MAX_SEQ = 2**62
_SURROGATE = re.compile(r"[\ud800-\udfff]")


class BadLine(ValueError):
    """A line that is not a sensor line of format v1; `str()` says why."""


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a line was written: the inventory host and the source directory on it."""

    host: str
    topology: str
    decky: str
    family: str

    @property
    def source(self) -> str:
        return f"{self.topology}/{self.decky}/{self.family}"

    def ref(self, epoch: str, seq: int) -> str:
        """The line's reference, unique across the fleet: `HOST:T/D/F#EPOCH:SEQ`."""
        return f"{self.host}:{self.source}#{epoch}:{seq}"

    @classmethod
    def of(cls, host: str, source: str) -> Origin:
        match = SOURCE_RE.fullmatch(source)
        if match is None:
            raise BadLine(f"source {source[:200]!r} is not TOPOLOGY/DECKY/FAMILY")
        return cls(host, match[1], match[2], match[3])


@dataclass(frozen=True, slots=True)
class SensorLine:
    epoch: str
    seq: int
    at: str
    """When the sensor wrote it, as the store writes times (fixed-width ISO 8601 UTC)."""
    sensor: str
    service: str | None
    session: str | None
    event: dict[str, Any]
    truncated: bool
    text: str
    """The line as read (ASCII JSON when the sensor's writer made it)."""


def safe(value: str, cap: int) -> str:
    """`value` cut to `cap` characters, each lone surrogate replaced by U+FFFD."""
    if len(value) > cap:
        value = value[:cap]
    if _SURROGATE.search(value):
        value = _SURROGATE.sub("\ufffd", value)
    return value


def text(value: Any, cap: int) -> str | None:
    """A field of a sensor's event as text to keep: strings as they are, numbers and booleans
    spelled out, containers as compact JSON; None stays None. Cut and made safe."""
    if value is None:
        return None
    if isinstance(value, str):
        return safe(value, cap)
    if isinstance(value, bool | int | float):
        return safe(json.dumps(value), cap)
    try:
        dumped = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=repr)
    except (ValueError, RecursionError):
        dumped = repr(type(value))
    return safe(dumped, cap)


_WRITER_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z")
"""How the sensor's writer spells `at`: already UTC with microseconds."""


def iso_time(value: Any) -> str | None:
    """An ISO 8601 time as the store writes times (UTC, microseconds), or None."""
    if not isinstance(value, str) or not 19 <= len(value) <= 40:
        return None
    if _WRITER_TIME.fullmatch(value):
        try:
            datetime.fromisoformat(value)  # a real date and time (no 31 February)
        except ValueError:
            return None
        return value[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def parse_line(raw: str) -> SensorLine:
    """One line of format v1 (without its newline); BadLine says what is wrong with it."""
    try:
        doc = json.loads(raw)
    except (ValueError, RecursionError):
        raise BadLine("not JSON") from None
    if not isinstance(doc, dict):
        raise BadLine("not a JSON object")
    if doc.get("v") != FORMAT or type(doc.get("v")) is not int:
        raise BadLine(f"format {text(doc.get('v'), 20)!r} is not {FORMAT}")
    epoch, seq = doc.get("epoch"), doc.get("seq")
    if not isinstance(epoch, str) or not EPOCH_RE.fullmatch(epoch):
        raise BadLine("epoch is not a hex string")
    if type(seq) is not int or not 1 <= seq <= MAX_SEQ:
        raise BadLine("seq is not a positive whole number")
    at = iso_time(doc.get("at"))
    if at is None:
        raise BadLine("at is not an ISO 8601 time")
    sensor = doc.get("sensor")
    if sensor not in SENSORS:
        raise BadLine(f"sensor {text(sensor, 40)!r} is unknown")
    event = doc.get("event")
    if not isinstance(event, dict):
        raise BadLine("event is not an object")
    service = doc.get("service")
    session = doc.get("session")
    return SensorLine(
        epoch=epoch,
        seq=seq,
        at=at,
        sensor=sensor,
        service=service if isinstance(service, str) and SERVICE_RE.fullmatch(service) else None,
        session=text(session, 128) if isinstance(session, str) and session else None,
        event=event,
        truncated=doc.get("truncated") is True,
        text=raw,
    )
