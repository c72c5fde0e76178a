"""A Collector following in a thread of the test's process, for the collection tests (local
hosts in tests/collect, testbed hosts in tests/fleet)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from decnet.engine.collect import CollectOptions, Collector
from decnet.engine.context import Context


@contextmanager
def collector_following(
    open_context: Callable[[], Context], opts: CollectOptions, join_timeout: float = 60
) -> Iterator[None]:
    """Run the collector with a context of its own (a SQLite connection stays in its thread);
    stopped and joined after, and whatever it raised fails the test."""
    stop = threading.Event()
    failed: list[BaseException] = []

    def run() -> None:
        ctx = open_context()
        try:
            Collector(ctx, opts).run(stop.is_set)
        except BaseException as err:
            failed.append(err)
        finally:
            ctx.store.close()

    thread = threading.Thread(target=run, name="test-collector")
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=join_timeout)
    assert not thread.is_alive() and failed == []
