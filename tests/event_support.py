"""Events for tests of the bus itself: every event written must be a declared type
(decnet/events.py), and `watch.error` is one that no consumer acts on."""

from __future__ import annotations

from decnet import events as ev

TICK_TYPE = ev.WatchError.type


def tick(n: int, chore: str = "test") -> ev.WatchError:
    """A harmless declared event whose payload carries `n` (as `error`) and `chore`."""
    return ev.WatchError(chore=chore, error=str(n))
