"""The SSE wire form of an event, encoded once per event however many streams carry it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sse_starlette import ServerSentEvent

from decnet.store import EventRow


def to_json(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


@dataclass(frozen=True, slots=True)
class Wired:
    id: int
    topology: str | None
    frame: bytes
    """`id: …`, `event: …`, `data: …` and the blank line, ready to send."""


def wire(row: EventRow) -> Wired:
    data = {
        "id": row.id,
        "at": row.at,
        "topic": row.topic,
        "type": row.type,
        "topology": row.topology,
        "payload": row.payload,
    }
    frame = ServerSentEvent(to_json(data), id=str(row.id), event=row.type).encode()
    return Wired(row.id, row.topology, frame)


def message(event: str, data: Any) -> bytes:
    """A frame without an `id:` (snapshot, reset, closed): not a resume point."""
    return ServerSentEvent(to_json(data), event=event).encode()
