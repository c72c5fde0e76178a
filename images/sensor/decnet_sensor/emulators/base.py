"""What the launcher hands every emulator's `build` (one frozen value per service)."""

from __future__ import annotations

import pathlib
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class EmulatorContext:
    service: str
    ports: list[tuple[int, str]]  # (port, "tcp" | "udp"), from DECNET_SERVICES
    config: dict[str, str]  # catalogue param key -> value; secrets included, never emit them
    hostname: str
    state_dir: pathlib.Path  # survives container recreation
    emit: Callable[[dict[str, object]], None]  # one `decnet` line for this service
