"""`decnet collect` (docs/observe.md, "Collection"): every touch of a decky becomes an event.

One stream per inventory host (decnet/runner/streams.py: the agent as a local subprocess or
over one SSH session), each read by a thread of its own into a bounded queue: a full queue
stops the reading, the pipe fills, and the agent on the host waits — a flood slows itself
down instead of filling memory. One loop (this module's `Collector.run`, the only writer)
takes the queues in turn, normalises the lines (decnet/core/observe), and commits each round
in ONE transaction with the sources' cursors (`Store.collect`); only then does it acknowledge
to the hosts. So a collector killed at any point resumes from the last commit, and a line
delivered twice is written once.

Around the queues the loop keeps each host's health: it connects hosts (a lease in the store,
so two collectors never stream one host; a down host is retried with backoff and never blocks
the others), emits `collect.stalled` when a host has sent nothing for `stall_after` seconds
and `collect.resumed` when it is back, tells the agents which sources are retired (their
decky is gone: the host side removes them once everything in them is committed), and closes
scan windows (`attack.scan`).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from decnet import events as ev
from decnet.core.observe import maze
from decnet.core.observe.base import Placement
from decnet.core.observe.line import BadLine, Origin, iso_time, parse_line
from decnet.core.observe.normalise import normalise
from decnet.core.observe.scan import THRESHOLD, WINDOW, ScanAggregator
from decnet.engine.context import Context
from decnet.engine.leases import current_owner, owner_alive
from decnet.errors import DecnetError
from decnet.models import Topology
from decnet.runner import streams
from decnet.runner.inventory import host_connections, load_inventory
from decnet.runner.streams import AgentOptions, HostStream, StreamTarget
from decnet.store import Store
from decnet.store import db as dbmod
from decnet.store.collect import Batch, Collected, Skipped

log = logging.getLogger("decnet.collect")

QUEUE_CHUNKS = 64
"""Chunks of frames (each at most streams.CHUNK bytes of them) waiting per host before its
reader stops reading (and its agent stops sending)."""
HEALTH_EVERY = 1.0
REFRESH_EVERY = 2.0
ELSEWHERE_RETRY = 10.0
_EMPTY = Placement()


@dataclass(frozen=True)
class CollectOptions:
    inventory: Path | None = None
    once: bool = False
    """Collect what every host has now, then return (instead of following)."""
    batch_lines: int = 5000
    """Frames taken from one host per round (one transaction holds a round of every host)."""
    stall_after: float = 30.0
    retry_min: float = 1.0
    retry_max: float = 30.0
    lease_seconds: float = 30.0
    agent: AgentOptions = field(default_factory=AgentOptions)
    scan_window: timedelta = WINDOW
    scan_threshold: int = THRESHOLD


@dataclass
class HostReport:
    """What a collector did with one host (the summary of `decnet collect --once`)."""

    host: str
    lines: int = 0
    events: int = 0
    duplicates: int = 0
    gaps: int = 0
    missing: int = 0
    bad_lines: int = 0
    removed: list[str] = field(default_factory=list)
    error: str | None = None
    connected: bool = False


@dataclass
class CollectReport:
    hosts: dict[str, HostReport] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(h.connected and h.error is None for h in self.hosts.values())


@dataclass(frozen=True)
class _Ended:
    error: str | None


Item = list[streams.Frame] | _Ended


@dataclass
class _Link:
    """One host: its stream, the queue its reader fills, and its health."""

    host: str
    target: StreamTarget | None
    report: HostReport
    created: float
    queue: queue.Queue[Item] = field(default_factory=lambda: queue.Queue(QUEUE_CHUNKS))
    stream: HostStream | None = None
    reader: threading.Thread | None = None
    state: str = "down"
    state_since: str | None = None
    last_frame: float | None = None
    heard_at: float | None = None
    """Wall-clock time of the last frame."""
    host_time: str | None = None
    error: str | None = None
    stalled_since: str | None = None
    retry_at: float = 0.0
    failures: int = 0
    attempted: bool = False
    finished: bool = False
    done: bool = False
    """The agent said it sent everything (--once): acknowledge, then let it finish."""
    leased_at: float = 0.0
    sources: set[str] = field(default_factory=set)
    retired: tuple[str, ...] = ()
    status: streams.Status | None = None
    dirty: bool = True


class Collector:
    def __init__(
        self,
        ctx: Context,
        opts: CollectOptions = CollectOptions(),
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.ctx, self.opts, self.clock = ctx, opts, clock
        self.owner = f"{current_owner()}#collect"
        self.links: dict[str, _Link] = {}
        self.wake = threading.Event()
        self.scans = ScanAggregator(opts.scan_window, opts.scan_threshold)
        self.topologies: dict[str, Topology] = {}
        self.placements: dict[tuple[str, str], Placement] = {}
        self._versions: dict[str, tuple[int, str, str]] = {}
        self._origins: dict[tuple[str, str], Origin] = {}
        self._last_health = self._last_refresh = 0.0

    @property
    def store(self) -> Store:
        return self.ctx.store

    # --- the loop ---------------------------------------------------------------------------

    def run(self, stop: Callable[[], bool] = lambda: False) -> CollectReport:
        """Collect until `stop()` (or, with `once`, until every host sent what it had)."""
        self._setup()
        try:
            while True:
                now = time.monotonic()
                self._supervise(now)
                busy = self._round()
                if self.opts.once and all(link.finished for link in self.links.values()):
                    break
                if not self.opts.once and stop():
                    break
                if not busy:
                    self.wake.wait(0.2)
                    self.wake.clear()
        finally:
            self._shutdown()
        return CollectReport({h: link.report for h, link in self.links.items()})

    def _setup(self) -> None:
        path = self.ctx.inventory_path(self.opts.inventory)
        cache = self.ctx.settings.home / "cache"
        inventory = load_inventory(path, cache)
        connections = host_connections(path, cache)
        stalled = {h: r.stalled_since for h, r in self.store.collect_hosts().items()}
        now = time.monotonic()
        agent = replace(self.opts.agent, once=self.opts.once)
        for host in inventory.hosts:
            report = HostReport(host)
            try:
                target = streams.stream_target(host, connections.get(host, {}), agent)
            except DecnetError as err:
                target, report.error = None, str(err)
            link = _Link(host=host, target=target, report=report, created=now)
            link.stalled_since = stalled.get(host)
            link.error = report.error
            self.links[host] = link
        self._refresh_topologies()
        self._seed_scans()

    def _shutdown(self) -> None:
        """Let every agent finish, committing what they still send (a reader blocked on a
        full queue must be served to see its end), then release the hosts."""
        for link in self.links.values():
            if link.stream is not None:
                link.stream.finish()
        deadline = time.monotonic() + 10
        while any(link.stream is not None for link in self.links.values()):
            if time.monotonic() > deadline:
                for link in self.links.values():
                    if link.stream is not None:
                        link.stream.close(timeout=1)
            if not self._round():
                self.wake.wait(0.05)
                self.wake.clear()
        for link in self.links.values():
            link.state, link.dirty = "down", True
        self._persist_health(force=True)
        self.store.release_collect_hosts(self.owner)

    # --- connecting -------------------------------------------------------------------------

    def _supervise(self, now: float) -> None:
        for link in self.links.values():
            # renewed also while down: a live lease is what says a collector runs
            renew = link.leased_at and now - link.leased_at > self.opts.lease_seconds / 3
            keep = renew and not link.finished and link.state != "elsewhere"
            if keep and not self._lease(link, now) and link.stream is not None:
                link.error = "another collector took this host's stream"
                link.stream.finish()
            if link.stream is None and not link.finished:
                self._maybe_connect(link, now)
            self._check_stall(link, now)
        if now - self._last_refresh >= REFRESH_EVERY:
            self._last_refresh = now
            self._refresh_topologies()
            for link in self.links.values():
                self._send_retired(link)
            self._close_scans()
        self._persist_health()

    def _maybe_connect(self, link: _Link, now: float) -> None:
        if link.target is None:
            link.finished = self.opts.once
            return
        if now < link.retry_at or (self.opts.once and link.attempted):
            return
        if not self._lease(link, now):
            link.retry_at = now + ELSEWHERE_RETRY
            self._set_state(link, "elsewhere")
            link.finished = self.opts.once
            if self.opts.once:
                link.report.error = "another collector holds this host's stream"
            return
        link.attempted = True
        cursors = self.store.collect_cursors(link.host)
        link.sources |= set(cursors)
        link.retired = tuple(maze.retired(link.host, link.sources, self.topologies))
        stream = HostStream(link.target)
        link.stream = stream
        link.reader = threading.Thread(
            target=self._read, args=(link, stream, cursors, link.retired),
            name=f"collect-{link.host}", daemon=True,
        )  # fmt: skip
        self._set_state(link, "connecting")
        link.reader.start()

    def _lease(self, link: _Link, now: float) -> bool:
        def dead(owner: str) -> bool:
            return owner_alive(owner.split("#", 1)[0]) is False

        held = self.store.claim_collect_host(
            link.host, self.owner, self.opts.lease_seconds, owner_dead=dead
        )
        link.leased_at = now
        if held:
            link.dirty = True
        return held

    def _read(
        self,
        link: _Link,
        stream: HostStream,
        cursors: Mapping[str, tuple[str, int]],
        retired: tuple[str, ...],
    ) -> None:
        """The reader thread of one stream: frames into the host's queue until it ends."""
        error: str | None = None
        try:
            stream.start(cursors, retired)
            for frames in stream.frames():
                link.queue.put(frames)  # blocks while the queue is full: backpressure
                self.wake.set()
        except DecnetError as err:
            error = str(err)
        except Exception as err:  # a broken pipe, a dead process: the stream is over
            error = f"the stream failed: {err}"
        finally:
            stream.close(timeout=5)
            link.queue.put(_Ended(error or stream.outcome()))  # None: it ended cleanly
            self.wake.set()

    # --- rounds -----------------------------------------------------------------------------

    def _round(self) -> bool:
        """Take what every host queued (up to batch_lines each), commit it in one transaction,
        acknowledge. True when there was anything."""
        batches: list[Batch] = []
        taken: list[tuple[_Link, int]] = []
        ended: list[tuple[_Link, _Ended]] = []
        for link in self.links.values():
            batch, count, end = self._take(link)
            if batch.items or batch.extra:
                batches.append(batch)
            if count:
                taken.append((link, count))
            if end is not None:
                ended.append((link, end))
        if batches:
            self._commit(batches)
        for link, count in taken:
            for _ in range(count):
                link.queue.task_done()
            if link.status is not None:
                self._status(link, link.status)
                link.status = None
            if link.done and link.stream is not None:
                self._send_retired(link)  # it now knows every source the agent has
                link.stream.finish()
        for link, end in ended:
            self._ended(link, end)
        return bool(taken)

    def _commit(self, batches: list[Batch]) -> None:
        """One transaction for the round, then the acknowledgements. A failed commit drops
        the streams of the round: they restart from the committed cursors, so what was taken
        from their queues is sent again rather than skipped."""
        try:
            result = self.store.collect(batches)
        except DecnetError as err:
            log.error("committing a round failed: %s", err)
            for batch in batches:
                link = self.links[batch.host]
                link.error, link.dirty = f"a commit failed: {err}", True
                if link.stream is not None:
                    link.stream.finish()
            return
        acks: dict[str, dict[str, list[object]]] = {}
        for (host, source), (epoch, seq) in result.cursors.items():
            acks.setdefault(host, {})[source] = [epoch, seq]
        for batch in batches:
            link = self.links[batch.host]
            counts = result.hosts.get(batch.host)
            if counts is not None:
                link.report.events += counts.events
                link.report.duplicates += counts.duplicates
            if link.stream is not None and batch.host in acks:
                link.stream.send({"op": "ack", "acks": acks[batch.host]})

    def _take(self, link: _Link) -> tuple[Batch, int, _Ended | None]:
        """The host's queued chunks (until the round holds batch_lines frames); how many chunks
        were taken, and the end of the stream if it came."""
        batch = Batch(link.host)
        count = frames = 0
        while frames < self.opts.batch_lines:
            try:
                item = link.queue.get_nowait()
            except queue.Empty:
                break
            count += 1
            if isinstance(item, _Ended):
                return batch, count, item
            self._heard(link)
            for frame in item:
                self._frame(link, frame, batch)
            frames += len(item)
        return batch, count, None

    def _frame(self, link: _Link, frame: streams.Frame, batch: Batch) -> None:
        if isinstance(frame, streams.Line):
            self._line(link, frame, batch)
        elif isinstance(frame, streams.Gap):
            batch.items.append(Skipped(frame.source, frame.epoch, frame.after_seq, frame.missing))
            link.report.gaps += 1
            link.report.missing += frame.missing
        elif isinstance(frame, streams.Status):
            link.status = frame  # applied after the round's commit, which may make its rows
        elif isinstance(frame, streams.Hello):
            self._set_state(link, "connected")
            link.failures, link.error = 0, None
            link.report.connected = True
        elif isinstance(frame, streams.Removed):
            self.store.forget_source(link.host, frame.source)
            link.sources.discard(frame.source)
            link.report.removed.append(frame.source)
        elif isinstance(frame, streams.Problem):
            log.warning("%s: %s", link.host, frame.text)
            link.error, link.dirty = frame.text, True
        elif isinstance(frame, streams.Done):
            link.done = True

    def _line(self, link: _Link, frame: streams.Line, batch: Batch) -> None:
        link.report.lines += 1
        link.sources.add(frame.source)
        key = (link.host, frame.source)
        origin = self._origins.get(key)
        if origin is None:
            origin = self._origins[key] = Origin.of(link.host, frame.source)
        try:
            line = parse_line(frame.text)
            if (line.epoch, line.seq) != (frame.epoch, frame.seq):
                raise BadLine("the frame and the line disagree on epoch and seq")
        except BadLine:
            link.report.bad_lines += 1
            batch.items.append(Collected(frame.source, frame.epoch, frame.seq))
            return
        placement = self.placements.get((origin.topology, origin.decky), _EMPTY)
        result = normalise(line, origin, placement)
        for event in result.events:
            if isinstance(event, ev.AttackConnect):
                scan = self.scans.add(event)
                if scan is not None:
                    batch.extra.append(scan)
        batch.items.append(
            Collected(frame.source, frame.epoch, frame.seq, line.at, result.events, result.note)
        )

    def _status(self, link: _Link, frame: streams.Status) -> None:
        at = iso_time(frame.host_time) or self._now()
        link.host_time, link.dirty = at, True
        link.sources |= set(frame.newest)
        link.report.bad_lines = max(link.report.bad_lines, frame.bad_lines)
        self.store.report_sources(link.host, frame.newest, at)

    def _ended(self, link: _Link, end: _Ended) -> None:
        if link.reader is not None:
            link.reader.join(timeout=5)
        link.stream = link.reader = None
        link.done = False
        if self.opts.once:
            link.finished = True
        # the agent ends cleanly only when asked to (its stdin closed): anything else is a fault
        if end.error is not None or not link.report.connected:
            link.error = end.error or "the stream ended before the agent answered"
            if self.opts.once or not link.report.connected:
                link.report.error = link.error
        link.failures += 1
        delay = min(self.opts.retry_max, self.opts.retry_min * 2 ** min(link.failures - 1, 10))
        link.retry_at = time.monotonic() + delay
        self._set_state(link, "down")

    # --- health -----------------------------------------------------------------------------

    def _set_state(self, link: _Link, state: str) -> None:
        if link.state != state:
            link.state, link.state_since, link.dirty = state, self._now(), True

    def _heard(self, link: _Link) -> None:
        link.last_frame = time.monotonic()
        link.heard_at = time.time()  # spelled out when the health is written, not per frame
        link.dirty = True
        if link.stalled_since is not None:
            since = datetime.fromisoformat(link.stalled_since)
            stalled_for = max(0.0, (self.clock() - since).total_seconds())
            self.store.append_event(ev.CollectResumed(host=link.host, stalled_for=stalled_for))
            link.stalled_since = None

    def _check_stall(self, link: _Link, now: float) -> None:
        if link.stalled_since is not None or self.opts.once or link.state == "elsewhere":
            return
        heard = link.last_frame if link.last_frame is not None else link.created
        if now - heard < self.opts.stall_after:
            return
        since = _iso(link.heard_at) if link.heard_at is not None else self._now(now - heard)
        reason = link.error or f"nothing heard for {now - heard:.0f} s"
        self.store.append_event(ev.CollectStalled(host=link.host, reason=reason, since=since))
        link.stalled_since, link.dirty = since, True

    def _persist_health(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_health < HEALTH_EVERY:
            return
        self._last_health = now
        for link in self.links.values():
            if not (link.dirty or force) or (link.state == "elsewhere" and not force):
                continue
            link.dirty = False
            self.store.update_collect_host(
                link.host, self.owner, state=link.state, state_since=link.state_since,
                last_frame_at=_iso(link.heard_at) if link.heard_at is not None else None,
                host_time=link.host_time, error=link.error,
                stalled_since=link.stalled_since,
            )  # fmt: skip

    def _now(self, ago: float = 0.0) -> str:
        return dbmod.iso(self.clock() - timedelta(seconds=ago))

    # --- the maze: attribution, retired sources, scans ------------------------------------------

    def _refresh_topologies(self) -> None:
        rows = self.store.conn.execute("SELECT name, version, status, target_host FROM topology")
        versions = {name: (v, s, h) for name, v, s, h in rows}
        if versions == self._versions:
            return
        for name in set(self.topologies) - set(versions):
            del self.topologies[name]
        for name, version in versions.items():
            if self._versions.get(name) != version:
                try:
                    self.topologies[name] = self.store.get_topology(name)
                except DecnetError:  # deleted meanwhile: the next refresh sees it gone
                    self.topologies.pop(name, None)
        self._versions = versions
        self.placements = maze.placements(self.topologies.values())

    def _send_retired(self, link: _Link) -> None:
        """Tell the agent which of its sources are retired, when that changed."""
        retired = tuple(maze.retired(link.host, link.sources, self.topologies))
        changed = link.stream is not None and retired != link.retired
        if changed and link.stream is not None:
            link.stream.send({"op": "retire", "sources": list(retired)})
            link.retired = retired

    def _close_scans(self) -> None:
        scans = self.scans.close_due(self.clock())
        if scans:
            by_host: dict[str, Batch] = {}
            for scan in scans:
                by_host.setdefault(scan.host, Batch(scan.host)).extra.append(scan)
            self.store.collect(list(by_host.values()))

    def _seed_scans(self) -> None:
        """Rebuild the open scan windows from the connects already stored (a restart keeps
        counting the scan it interrupted)."""
        since = dbmod.iso(self.clock() - self.opts.scan_window)
        scans = []
        for payload in self.store.recent_connects(since):
            try:
                connect = ev.AttackConnect.model_validate(payload)
            except ValueError:
                continue
            scan = self.scans.add(connect)
            if scan is not None:
                scans.append(scan)
        if scans:
            self.store.collect([Batch(s.host, extra=[s]) for s in scans])


def _iso(moment: float) -> str:
    return dbmod.iso(datetime.fromtimestamp(moment, UTC))


def collect(
    ctx: Context, opts: CollectOptions = CollectOptions(), stop: Callable[[], bool] = lambda: False
) -> CollectReport:
    """Run a collector until `stop()` (or once through every host)."""
    return Collector(ctx, opts).run(stop)
