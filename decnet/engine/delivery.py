"""Delivering the bus to the outputs: one worker thread per output, a runner that keeps them.

A worker holds its output's lease (so two processes never deliver the same output), reads the
matching events after its cursor by id (at most `batch` at a time: the table is the queue, so
nothing grows in memory while a receiver is down), hands them to its sink, and moves the
cursor once the sink acknowledged them. A failure is counted and retried after an exponential
backoff with jitter; it blocks that output only — collection and the other outputs go on, as
they share nothing but the (WAL) database, which readers never lock. Events that retention
deleted before delivery are skipped as a gap, counted and announced.

With `aggregate`, a worker folds the events of one window (decnet/core/aggregate.py) and
delivers its aggregates once the window has closed; the cursor moves past the window only
when all of them went through, so a crash re-folds and redelivers the same aggregates (same
ids). `decnet serve` runs an `OutputRunner` in a thread (decnet/api/services.py) unless
`--no-outputs`; `decnet outputs run` runs one on its own.
"""

from __future__ import annotations

import logging
import random
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path

from decnet.core.aggregate import Window
from decnet.core.outputs import OutputSecret, OutputSpec, backoff
from decnet.engine.leases import current_owner, owner_alive
from decnet.engine.sinks import DeliveryError, Item, Sink, make_sink
from decnet.errors import DecnetError
from decnet.store import Store
from decnet.store.outputs import Batch, OutputRow

log = logging.getLogger("decnet.outputs")
SinkFactory = Callable[[OutputSpec, OutputSecret], Sink]
RETRY_AFTER_CAP = 900.0
"""The longest a receiver's Retry-After is honoured (seconds)."""


@dataclass(frozen=True)
class DeliveryOptions:
    poll: float = 0.25
    """Seconds between looks at the table when an output is caught up."""
    batch: int = 500
    """Events read (and held in memory) per step."""
    lease_seconds: float = 30.0
    retry_base: float = 1.0
    retry_cap: float = 60.0
    settle: float = 2.0
    """Seconds after a window's end before it is delivered (late commits land in it)."""
    refresh: float = 2.0
    """How often the runner looks for outputs added or removed (and a worker for its lease)."""
    idle_advance: float = 5.0
    """How often a caught-up output moves its cursor past events its filter does not take."""
    commit_every: float = 1.0
    """Seconds between cursor commits within a batch of one-event deliveries (webhooks)."""


class Step(Enum):
    IDLE = "idle"
    """Caught up, or waiting for a window to close."""
    DELIVERED = "delivered"
    FAILED = "failed"
    GONE = "gone"
    """Removed, or the lease went to another worker."""


def claim_is_dead(owner: str, expires: str | None) -> bool:
    """A claim may be taken over when its process is gone (this machine) or its lease ran out."""
    if owner_alive(owner.split("#", 1)[0]) is False:
        return True
    return expires is None or datetime.fromisoformat(expires) <= datetime.now(UTC)


@dataclass
class _Acks:
    """What a receiver acknowledged since the cursor last moved (one commit for many
    one-event webhook deliveries: a crash delivers at most these again)."""

    through: int
    delivered: int = 0
    dropped: int = 0
    error: str | None = None
    since: float = field(default_factory=time.monotonic)

    @property
    def pending(self) -> bool:
        return bool(self.delivered or self.dropped)

    def due(self, every: float) -> bool:
        return time.monotonic() - self.since >= every


@dataclass
class OutputWorker:
    """Delivers one output; `run` is its thread, `step` one unit of work."""

    store: Store
    output_id: str
    owner: str
    opts: DeliveryOptions = field(default_factory=DeliveryOptions)
    sinks: SinkFactory = make_sink
    flush_now: bool = False
    """Deliver an aggregation window without waiting for it to close (`outputs run --once`)."""
    clock: Callable[[], float] = time.time
    rand: Callable[[], float] = random.random

    row: OutputRow | None = None
    sink: Sink | None = None
    wait: float = 0.0
    """Seconds the last step asks to wait before the next (backoff, window end, poll)."""
    sent: dict[str, bool] = field(default_factory=dict)
    """Aggregates of the open window already handled: id -> delivered (False: dropped)."""
    last_error: str | None = None
    _idle_advanced: float = 0.0
    _renewed: float = 0.0

    # --- the thread -------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        try:
            while not stop.is_set():
                try:
                    if not self.hold():
                        stop.wait(self.opts.refresh)
                        continue
                    outcome = self.step()
                except DecnetError as err:  # the database busy past its timeout: try again
                    log.warning("output %s: %s", self.output_id, err)
                    self.drop_state()
                    stop.wait(self.opts.refresh)
                    continue
                if outcome is Step.GONE:
                    return
                if outcome is not Step.DELIVERED:
                    self._pause(stop, self.wait)
        finally:
            self.close()

    def _pause(self, stop: threading.Event, seconds: float) -> None:
        """Wait (a backoff may outlast the lease), renewing the lease meanwhile: a failing
        output stays held, and shown as failing rather than stopped."""
        deadline = time.monotonic() + seconds
        while not stop.wait(
            min(self.opts.lease_seconds / 3, max(0.0, deadline - time.monotonic()))
        ):
            try:
                if time.monotonic() >= deadline or not self.hold():
                    return
            except DecnetError:  # the database busy: the loop's next round deals with it
                return

    def hold(self) -> bool:
        """Claim the lease, or renew it when half of it has run out."""
        if self.row is not None and time.monotonic() - self._renewed < self.opts.lease_seconds / 2:
            return True
        row = self.store.claim_output(
            self.output_id, self.owner, self.opts.lease_seconds, claim_is_dead
        )
        if row is None:
            self.drop_state()
            return False
        if self.row is None or row.cursor != self.row.cursor:
            self.sent.clear()  # another worker moved the cursor meanwhile: start over from it
        self.row, self._renewed = row, time.monotonic()
        return True

    def drop_state(self) -> None:
        self.row = None
        self.sent.clear()
        if self.sink is not None:
            self.sink.close()
            self.sink = None

    def close(self) -> None:
        self.drop_state()
        try:
            self.store.release_output(self.output_id, self.owner)
        except DecnetError:
            log.warning("could not release the lease of output %s", self.output_id)

    # --- one step ---------------------------------------------------------------------------

    def step(self) -> Step:
        row = self.row
        assert row is not None, "hold() first"
        batch = self.store.output_batch(row.spec, row.cursor, self.opts.batch)
        if batch.pruned_through > row.cursor:
            return self._skip_gap(row, batch.pruned_through)
        if row.spec.aggregate:
            return self._aggregated(row, batch)
        if not batch.rows:
            return self._idle(row, batch.mark)
        short = len(batch.rows) < self.opts.batch
        sink = self._sink(row)
        if not self._still_mine(row):
            return Step.GONE
        acks = _Acks(row.cursor)
        for start in range(0, len(batch.rows), sink.chunk):
            chunk = batch.rows[start : start + sink.chunk]
            last = start + sink.chunk >= len(batch.rows)
            through = batch.mark if last and short else int(chunk[-1]["id"])
            failure = self._send(chunk, acks)
            if failure is not None:  # commit what went through, then count the failure
                if acks.pending and self._flush(acks) is Step.GONE:
                    return Step.GONE
                return self._failed(self.row or row, *failure)
            acks.through = through
            if acks.due(self.opts.commit_every):
                if self._flush(acks) is Step.GONE:
                    return Step.GONE
                acks = _Acks(through)
        return self._flush(acks)

    def _send(self, items: list[Item], acks: _Acks) -> tuple[str, float | None] | None:
        """Send a chunk and count it in `acks` (delivered, or dropped when refused for good);
        a failure to retry is returned: (error, seconds the receiver asked to wait)."""
        assert self.row is not None and self.sink is not None
        try:
            self.sink.send(items)
        except DeliveryError as err:
            if err.retry:
                return str(err), err.after
            acks.dropped += len(items)
            acks.error = str(err)
            return None
        except Exception as err:  # a bug must not end the worker; it is retried and shown
            log.exception("output %s: delivery failed", self.row.name)
            return f"internal error: {type(err).__name__}: {err}", None
        acks.delivered += len(items)
        return None

    def _flush(self, acks: _Acks) -> Step:
        """Commit what the receiver acknowledged so far (the cursor moves past it)."""
        row = self.row
        assert row is not None
        if acks.through == row.cursor:
            return Step.DELIVERED
        return self._advance(
            acks.through, delivered=acks.delivered, dropped=acks.dropped, error=acks.error
        )

    def _advance(
        self, through: int, *, delivered: int = 0, dropped: int = 0, error: str | None = None
    ) -> Step:
        row = self.row
        assert row is not None
        moved = self.store.advance_output(
            row.id, self.owner, from_cursor=row.cursor, to_cursor=through,
            delivered=delivered, dropped=dropped, error=error,
            lease_seconds=self.opts.lease_seconds,
        )  # fmt: skip
        if not moved:
            self.drop_state()
            return Step.GONE
        failures = 0 if delivered or dropped else row.failures
        self.row = row.model_copy(update={"cursor": through, "failures": failures})
        self._renewed = time.monotonic()
        return Step.DELIVERED

    def _failed(self, row: OutputRow, error: str, after: float | None) -> Step:
        failures = self.store.fail_output(row.id, self.owner, error, self.opts.lease_seconds)
        if not failures:
            self.drop_state()
            return Step.GONE
        self.row = row.model_copy(update={"failures": failures})
        self.last_error = error
        delay = backoff(
            failures - 1, base=self.opts.retry_base, cap=self.opts.retry_cap, rand=self.rand()
        )
        self.wait = max(delay, min(after or 0.0, RETRY_AFTER_CAP))
        log.warning("output %s: %s (retry in %.1f s)", row.name, error, self.wait)
        return Step.FAILED

    def _idle(self, row: OutputRow, mark: int) -> Step:
        """Caught up: move past the events the filter skipped, now and then (a write)."""
        self.wait = self.opts.poll
        due = time.monotonic() - self._idle_advanced >= self.opts.idle_advance
        if mark > row.cursor and (due or self.flush_now):
            self._idle_advanced = time.monotonic()
            if self._advance(mark) is Step.GONE:
                return Step.GONE
        return Step.IDLE

    def _skip_gap(self, row: OutputRow, through: int) -> Step:
        log.error("output %s: events %d-%d were pruned undelivered", row.name, row.cursor, through)
        moved = self.store.skip_gap(
            row.id, self.owner, from_cursor=row.cursor, through=through,
            lease_seconds=self.opts.lease_seconds,
        )  # fmt: skip
        if not moved:
            self.drop_state()
            return Step.GONE
        self.row = row.model_copy(update={"cursor": through})
        return Step.DELIVERED

    def _still_mine(self, row: OutputRow) -> bool:
        """Whether the output still exists and this worker holds it: checked before each
        send, so a removed output gets nothing more (but what was in flight)."""
        current = self.store.output_by_id(row.id)
        if current is None or current.lease_owner != self.owner:
            self.drop_state()
            return False
        return True

    def _sink(self, row: OutputRow) -> Sink:
        if self.sink is None:
            self.sink = self.sinks(row.spec, self.store.output_secret(row.id))
        return self.sink

    # --- aggregation --------------------------------------------------------------------------

    def _aggregated(self, row: OutputRow, batch: Batch) -> Step:
        if not batch.rows:
            return self._idle(row, batch.mark)
        seconds = row.spec.aggregate
        assert seconds is not None
        window = Window.opening_at(batch.rows[0], seconds)
        due = window.end.timestamp() + self.opts.settle - self.clock()
        if due > 0 and not self.flush_now:
            self.wait = min(due, self.opts.refresh)
            return Step.IDLE
        through = self._fold(window, row, batch)
        aggregates = [a for a in window.aggregates() if a["aggregate"]["id"] not in self.sent]
        sink = self._sink(row)
        if not self._still_mine(row):
            return Step.GONE
        for start in range(0, len(aggregates), sink.chunk):
            chunk = aggregates[start : start + sink.chunk]
            outcome = self._send_aggregates(row, chunk)
            if outcome is not Step.DELIVERED:
                return outcome
        delivered = sum(self.sent.values())
        dropped = len(self.sent) - delivered
        self.sent.clear()
        return self._advance(through, delivered=delivered, dropped=dropped)

    def _fold(self, window: Window, row: OutputRow, batch: Batch) -> int:
        """Fold the window's events (page by page); returns the cursor after the window."""
        while True:
            for item in batch.rows:
                if not window.holds(item) or window.full:
                    return window.through
                window.add(item)
            if len(batch.rows) < self.opts.batch:
                return batch.mark  # everything up to the mark was seen and folded
            batch = self.store.output_batch(row.spec, window.through, self.opts.batch)
            if not batch.rows:
                return batch.mark

    def _send_aggregates(self, row: OutputRow, chunk: list[Item]) -> Step:
        assert self.sink is not None
        ids = [str(a["aggregate"]["id"]) for a in chunk]
        try:
            self.sink.send(chunk)
        except DeliveryError as err:
            if err.retry:
                return self._failed(row, str(err), err.after)
            self.sent.update(dict.fromkeys(ids, False))
            return Step.DELIVERED
        except Exception as err:
            log.exception("output %s: delivery failed", row.name)
            return self._failed(row, f"internal error: {type(err).__name__}: {err}", None)
        self.sent.update(dict.fromkeys(ids, True))
        return Step.DELIVERED

    # --- once ---------------------------------------------------------------------------------

    def drain(self) -> str | None:
        """Deliver everything pending now (windows flushed early); the error that stopped it,
        or None when caught up."""
        self.flush_now = True
        try:
            if not self.hold():
                return "another worker holds this output (is `decnet serve` running?)"
            while True:
                outcome = self.step()
                if outcome is Step.FAILED:
                    return self.last_error or "failed"
                if outcome is Step.GONE:
                    return "the output was removed or taken over meanwhile"
                if outcome is Step.IDLE:
                    return None
        finally:
            self.close()


@dataclass
class OutputRunner:
    """Keeps one worker thread per output of the database, for as long as `run` runs."""

    db_path: Path
    opts: DeliveryOptions = field(default_factory=DeliveryOptions)
    sinks: SinkFactory = make_sink
    owner: str = field(default_factory=lambda: f"{current_owner()}#{uuid.uuid4().hex[:8]}")
    workers: dict[str, tuple[threading.Thread, threading.Event]] = field(default_factory=dict)

    def run(self, stop: threading.Event) -> None:
        with Store(self.db_path) as store:
            try:
                while not stop.is_set():
                    self.refresh(store)
                    stop.wait(self.opts.refresh)
            finally:
                self.stop_all()

    def refresh(self, store: Store) -> None:
        """Start a worker per new output; stop those of removed ones; restart ended ones."""
        try:
            current = {row.id: row.name for row in store.list_outputs()}
        except DecnetError as err:  # a busy database: the next refresh tries again
            log.warning("outputs: %s", err)
            return
        for output_id, (thread, stopping) in list(self.workers.items()):
            if output_id not in current:
                stopping.set()
            if not thread.is_alive():
                del self.workers[output_id]
        for output_id, name in current.items():
            if output_id not in self.workers:
                self.workers[output_id] = self._start(output_id, name)

    def _start(self, output_id: str, name: str) -> tuple[threading.Thread, threading.Event]:
        stopping = threading.Event()

        def work() -> None:
            with Store(self.db_path) as store:
                worker = OutputWorker(store, output_id, self.owner, self.opts, self.sinks)
                worker.run(stopping)

        thread = threading.Thread(target=work, name=f"decnet-output-{name}", daemon=True)
        thread.start()
        return thread, stopping

    def stop_all(self, timeout: float = 30) -> None:
        for _, stopping in self.workers.values():
            stopping.set()
        deadline = time.monotonic() + timeout
        for thread, _ in self.workers.values():
            thread.join(max(0.0, deadline - time.monotonic()))
        self.workers.clear()

    def run_once(self, names: list[str] | None = None) -> dict[str, str | None]:
        """Drain every output (or those named) once, in turn; name -> error or None."""
        results: dict[str, str | None] = {}
        with Store(self.db_path) as store:
            for row in store.list_outputs():
                if names is None or row.name in names:
                    worker = OutputWorker(store, row.id, self.owner, self.opts, self.sinks)
                    results[row.name] = worker.drain()
        return results
