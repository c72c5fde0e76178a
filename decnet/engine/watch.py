"""The reconciler (SPEC §10): `decnet watch` applies queued mutations and converges drift.

A round, per topology with open mutations:
1. claim every open batch with one conditional UPDATE and a lease (a live watcher renews it;
   a dead watcher's claim is taken over — batches it already accepted are never re-applied);
2. apply each batch to the desired state in its own transaction after full validation; an
   invalid batch fails with its issues and leaves the database as it was;
3. render and apply the topology once for every batch accepted in the round, through the same
   rollout as `decnet deploy`;
4. success: batches applied, topology active. Host failure: the accepted batches are rolled
   back from the desired state and fail with the host's cause; the topology goes `degraded`
   with `needs_resync`, and a later round converges the host back to the desired state.
Besides the queue, every round re-applies live topologies marked `needs_resync` (level-
triggered: from the full desired state, never from the last event), and every `drift_every`
seconds the watcher gathers drift, which marks what needs a resync.
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from decnet import events as ev
from decnet import policy
from decnet.core.edit import EditResult, edit
from decnet.core.ops import parse_ops
from decnet.engine.context import Context
from decnet.engine.drift import drift
from decnet.engine.leases import current_owner, owner_alive, recover_stale
from decnet.engine.rollout import DEPLOY, EventSink, RolloutOptions, rollout
from decnet.errors import DecnetError
from decnet.models import Issue, Severity, Status, Topology
from decnet.store import Store
from decnet.store.rows import MutationRow, MutationState

LEASE_SECONDS = 60.0
RENEW_SECONDS = 10.0
CONVERGE = frozenset({Status.ACTIVE, Status.DEGRADED})
"""Live statuses whose `needs_resync` the watcher acts on by itself."""


@dataclass(frozen=True)
class WatchOptions:
    inventory: Path | None = None
    interval: float = 2.0
    """Seconds between rounds when nothing is queued."""
    drift_every: float = 300.0
    """Seconds between drift scans (0 turns them off)."""
    lease_seconds: float = LEASE_SECONDS


@dataclass
class TopologyRound:
    """What one round did to one topology."""

    topology: str
    applied: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    status: str = ""
    reason: str = ""
    converged: bool = False
    """The round re-applied the topology without a batch (a resync)."""


def claim_is_dead(owner: str, expires: str | None, now: datetime | None = None) -> bool:
    """A claim may be taken over when its process is gone (same machine) or its lease ran out
    (any machine: a live watcher renews it every RENEW_SECONDS)."""
    if owner_alive(owner.split("#", 1)[0]) is False:
        return True
    moment = now or datetime.now(UTC)
    return expires is None or datetime.fromisoformat(expires) <= moment


class Watcher:
    """One reconciler; `owner` is unique per instance, so two in one process are two owners."""

    def __init__(
        self, ctx: Context, opts: WatchOptions = WatchOptions(), on_event: EventSink | None = None
    ) -> None:
        self.ctx, self.opts = ctx, opts
        self.owner = f"{current_owner()}#{uuid.uuid4().hex[:8]}"
        self.on_event: EventSink = on_event or (lambda _e: None)
        self.wake = threading.Event()
        """Set it to start the next round now (an enqueue in the same process)."""

    # --- one topology -----------------------------------------------------------------------

    def reconcile(self, name: str) -> TopologyRound | None:
        """Apply the open batches of `name`; None when another live watcher holds them."""
        store = self.ctx.store
        rows = store.claim_mutations(name, self.owner, self.opts.lease_seconds, claim_is_dead)
        if not rows:
            return None
        t = store.get_topology(name)
        if t.status not in (*policy.MUTABLE, Status.FAILED):
            return self._unapplicable(t, rows)
        round_id = next((r.run_id for r in rows if r.accepted and r.run_id), uuid.uuid4().hex[:12])
        accepted = self._accept(t, rows, round_id)
        out = TopologyRound(topology=name, failed=[r.id for r in rows if r.id not in accepted])
        if accepted:
            self._apply(name, accepted, round_id, out)
        return out

    def _unapplicable(self, t: Topology, rows: list[MutationRow]) -> TopologyRound | None:
        if t.status in (Status.DEPLOYING, Status.PENDING):
            # Someone else's deploy is running (or the topology was reset): try again later.
            self.ctx.store.release_mutations([r.id for r in rows], self.owner)
            return None
        out = TopologyRound(topology=t.name, status=t.status)
        for row in rows:
            reason = f"topology is {t.status}; nothing was changed"
            self.ctx.store.finish_mutation(row.id, MutationState.FAILED, reason=reason)
            out.failed.append(row.id)
        return out

    def _accept(self, t: Topology, rows: list[MutationRow], round_id: str) -> list[str]:
        """Validate and write each new batch into the desired state; ids accepted."""
        store = self.ctx.store
        accepted = [r.id for r in rows if r.accepted]
        snapshot = store.round_snapshot(t.name, round_id) if accepted else None
        current = t
        for row in (r for r in rows if not r.accepted):
            result = self._edit(current, row)
            if isinstance(result, str) or result.topology is None:
                issues = [] if isinstance(result, str) else result.issues
                reason = result if isinstance(result, str) else _invalid_reason(issues)
                store.finish_mutation(
                    row.id,
                    MutationState.FAILED,
                    reason=reason,
                    issues=[i.model_dump(mode="json") for i in issues],
                )
                continue
            first = snapshot is None
            if first:
                snapshot = current.model_dump_json()
            store.accept_mutation(
                row.id, result.topology, round_id=round_id, snapshot=snapshot if first else None
            )
            current = result.topology
            accepted.append(row.id)
        return accepted

    def _edit(self, t: Topology, row: MutationRow) -> EditResult | str:
        try:
            ops = parse_ops(row.ops)
        except DecnetError as err:  # stored by an older decnet whose ops no longer parse
            return f"the batch no longer parses: {err}"
        host_ctx = self.ctx.store.host_context(t.host, exclude=t.name)
        return edit(t, ops, self.ctx.catalog, host_ctx, live=True)

    def _apply(self, name: str, accepted: list[str], round_id: str, out: TopologyRound) -> None:
        store = self.ctx.store
        status, reason = self._deploy(name)
        out.status, out.reason = status, reason
        if status == Status.ACTIVE:
            for mutation_id in accepted:
                store.finish_mutation(mutation_id, MutationState.APPLIED, reason=reason)
            out.applied = accepted
            return
        snapshot = store.round_snapshot(name, round_id)
        if snapshot is not None:
            store.restore_desired(Topology.model_validate_json(snapshot), f"rolled back: {reason}")
        for mutation_id in accepted:
            store.finish_mutation(mutation_id, MutationState.FAILED, reason=reason)
        out.failed += accepted
        if store.get_topology(name).status in CONVERGE:
            store.set_needs_resync(name, True)

    def _deploy(self, name: str) -> tuple[str, str]:
        """(status after, reason): one rollout; an error before any side effect is a result."""
        opts = RolloutOptions(inventory=self.opts.inventory, failure_status=Status.DEGRADED)
        try:
            report = rollout(self.ctx, [name], DEPLOY, opts, self.on_event)
        except DecnetError as err:
            current = self.ctx.store.get_topology(name).status
            return current, f"not applied: {err}"
        outcome = report.topologies[0]
        reason = outcome.reason or f"applied by run {report.run_id}"
        return str(outcome.status), reason

    # --- rounds -----------------------------------------------------------------------------

    def converge(self, name: str) -> TopologyRound:
        """Re-apply a live topology marked `needs_resync` (no batch involved)."""
        status, reason = self._deploy(name)
        return TopologyRound(topology=name, status=status, reason=reason, converged=True)

    def drain(self) -> list[TopologyRound]:
        """Every topology with open batches that no other live watcher holds, once."""
        recover_stale(self.ctx.store)
        found = (self.reconcile(n) for n in self.ctx.store.topologies_with_open_mutations())
        return [r for r in found if r is not None]

    def converge_all(self, skip: frozenset[str] = frozenset()) -> list[TopologyRound]:
        """Every live topology marked `needs_resync` with an empty queue."""
        store = self.ctx.store
        names = [
            s.name
            for s in store.list_topologies()
            if s.needs_resync and s.status in CONVERGE and s.name not in skip
        ]
        return [self.converge(n) for n in names if not store.open_mutations(n)]

    def round(self) -> list[TopologyRound]:
        results = self.drain()
        return results + self.converge_all(frozenset(r.topology for r in results))

    def run(
        self,
        stop: Callable[[], bool],
        *,
        once: bool = False,
        on_round: Callable[[list[TopologyRound]], None] = lambda _r: None,
    ) -> None:
        """Rounds until `stop()` (checked between rounds, never inside an apply); `once`
        drains every queue, converges once, and returns."""
        with self._renewing():
            if once:
                while results := self.drain():
                    on_round(results)
                on_round(self.converge_all())
                return
            # The first scan waits a period: a (re)started watcher has a queue to serve first,
            # and a server starting up should not open with an Ansible run on every host.
            last_drift = time.monotonic()
            while not stop():
                if self.opts.drift_every and time.monotonic() - last_drift >= self.opts.drift_every:
                    last_drift = time.monotonic()
                    self._safely("drift", self.gather_drift)
                self.wake.clear()
                results = self.round()
                on_round(results)
                if not results and _wait(stop, self.opts.interval, self.wake):
                    return

    def gather_drift(self) -> None:
        drift(self.ctx, inventory=self.opts.inventory)

    def _safely(self, chore: str, fn: Callable[[], object]) -> None:
        """A chore's failure (drift scan) must not stop the watcher: it becomes an event and
        the next round tries again."""
        try:
            fn()
        except DecnetError as err:
            self.ctx.store.append_event(ev.WatchError(chore=chore, error=str(err)))

    @contextmanager
    def _renewing(self) -> Iterator[None]:
        """Renew this watcher's claims in the background (own connection: sqlite is
        per-thread)."""
        stop = threading.Event()

        def beat() -> None:
            with Store(self.ctx.settings.db_path) as store:
                while not stop.wait(RENEW_SECONDS):
                    with contextlib.suppress(DecnetError):  # a busy DB: the next beat retries
                        store.renew_mutation_leases(self.owner, self.opts.lease_seconds)

        thread = threading.Thread(target=beat, name="watch-lease", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join(timeout=5)


def _invalid_reason(issues: Sequence[Issue]) -> str:
    errors = [i for i in issues if i.severity is Severity.ERROR]
    if not errors:
        return "invalid; nothing was changed"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"invalid: {errors[0].code} at {errors[0].path}: {errors[0].message}{more}"


def _wait(stop: Callable[[], bool], seconds: float, wake: threading.Event) -> bool:
    """Sleep up to `seconds`, or until `wake` is set; True when `stop()` turned true."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not wake.is_set():
        if stop():
            return True
        wake.wait(min(0.2, max(0.0, deadline - time.monotonic())))
    return stop()
