"""What the launcher hands an emulator's `build(ctx)`."""

from __future__ import annotations

import pathlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class EmulatorContext:
    service: str
    ports: list[tuple[int, str]]
    """(port, "tcp"|"udp") pairs the emulator listens on."""
    config: dict[str, str]
    """The service's parameters (catalogue key -> value) from the container's environment."""
    hostname: str
    state_dir: pathlib.Path
    """Survives recreation of the container (keys, generated identities)."""
    emit: Callable[[dict[str, Any]], None]
    """Write one `decnet` line for this service; a "session" key moves to the envelope."""
