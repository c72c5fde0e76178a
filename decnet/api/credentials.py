"""Short-lived secrets the server keeps in memory: stream tickets and one-time login codes.

Both are single use and expire; only their SHA-256 is kept, so a dump of the process's maps
reveals nothing usable. A stream ticket stands in for the bearer token of the one request that
opens an EventSource (which cannot send headers); the login code that `decnet serve` prints is
exchanged once for an editor session token (`POST /api/v1/sessions`).
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


def _key(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "replace")).hexdigest()


class OneTimeSecrets(Generic[T]):
    """secret -> value, each redeemable once before it expires. Thread-safe."""

    def __init__(self, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl, self.clock = ttl, clock
        self._items: dict[str, tuple[float, T]] = {}
        self._lock = threading.Lock()

    def issue(self, value: T) -> str:
        secret = secrets.token_urlsafe(32)
        now = self.clock()
        with self._lock:
            self._items = {k: v for k, v in self._items.items() if v[0] > now}  # drop expired
            self._items[_key(secret)] = (now + self.ttl, value)
        return secret

    def redeem(self, secret: str) -> T | None:
        with self._lock:
            found = self._items.pop(_key(secret), None)
        if found is None or found[0] <= self.clock():
            return None
        return found[1]
