# Copyright: decnet contributors
# Apache-2.0 (see the repository's license)
"""The bounded worker pool of decnet_compose_project: at most N docker calls in flight.

Standard library only: this runs on the managed host."""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

from ansible.module_utils.decnet_failure import Failure

T = TypeVar("T")


def _ignore(ok: bool) -> None:
    pass


def default_concurrency() -> int:
    # Measured on 2 cores / engine 20.10: ~8 container starts in flight keep the load near 50;
    # unbounded, 1,000 starts exhausted dockerd's threads.
    return min(32, max(2, 4 * (os.cpu_count() or 1)))


class Pool:
    """At most `size` docker calls in flight; remembers the peak per kind of operation."""

    def __init__(self, size: int) -> None:
        self.size = max(1, size)
        self.peak: dict[str, int] = {}

    def map(
        self,
        op: str,
        items: Sequence[T],
        fn: Callable[[T], str | None],
        on_done: Callable[[bool], None] = _ignore,
    ) -> dict[int, str]:
        """fn(item) -> None (done) or an error text; returns {index: error} of the failures."""
        lock = threading.Lock()
        state = {"now": 0, "max": 0}

        def one(item: T) -> str | None:
            with lock:
                state["now"] += 1
                state["max"] = max(state["max"], state["now"])
            try:
                return fn(item)
            except Failure as exc:
                return str(exc)
            finally:
                with lock:
                    state["now"] -= 1

        errors: dict[int, str] = {}
        if items:
            with ThreadPoolExecutor(max_workers=min(self.size, len(items))) as ex:
                futures = {ex.submit(one, item): i for i, item in enumerate(items)}
                for fut in as_completed(futures):
                    err = fut.result()
                    if err is not None:
                        errors[futures[fut]] = err
                    on_done(err is None)
        self.peak[op] = max(self.peak.get(op, 0), state["max"])
        return errors
