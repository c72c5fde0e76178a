"""The server's background worker: long jobs (deploy, teardown, reconcile, drift) off the request.

`decnet serve` answers a lifecycle request with 202 and a job id at once; one worker thread runs
the jobs in order through the same library calls as the CLI (`engine.lifecycle`,
`engine.drift`), with its own store connection. A job's progress is in the event bus like
everything else (`job.queued`, `job.started`, `job.finished`, plus the Ansible run's own
events); its record (`JobView`, served as `GET /api/v1/runs/{id}`) lives in the server process.

Stopping (SIGTERM) refuses new jobs, cancels the queued ones, gives the running job a grace
period to finish and then asks it to cancel: ansible-runner stops after the current task and the
rollout moves its topologies to a final status, so nothing is left `deploying`.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from pydantic import BaseModel

from decnet import events as ev
from decnet.engine import drift as drift_engine
from decnet.engine.context import Context
from decnet.engine.leases import recover_stale
from decnet.engine.lifecycle import deploy, teardown
from decnet.engine.rollout import DEPLOY, TEARDOWN, RolloutOptions, RolloutReport
from decnet.errors import Busy, DecnetError, EnvironmentProblem, IllegalTransition, NotFound
from decnet.settings import Settings
from decnet.store import Store
from decnet.store import db as dbmod

log = logging.getLogger(__name__)

KEPT_JOBS = 500
"""Finished jobs remembered for `GET /runs/{id}`; their events stay in the bus."""
STOP_GRACE_SECONDS = 10.0


class JobKind(StrEnum):
    DEPLOY = "deploy"
    TEARDOWN = "teardown"
    RECONCILE = "reconcile"
    DRIFT = "drift"


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    """The job ran and something failed (a topology ended `failed`), or it could not run."""
    CANCELLED = "cancelled"


class JobView(BaseModel):
    id: str
    kind: JobKind
    state: JobState
    topologies: list[str]
    options: dict[str, Any]
    requested_by: str
    queued_at: str
    started_at: str | None = None
    finished_at: str | None = None
    ansible_runs: list[str] = []
    """The Ansible runs the job started (see `decnet status`, the `run.*` events)."""
    result: dict[str, Any] | None = None
    error: str | None = None


@dataclass(frozen=True)
class JobRequest:
    kind: JobKind
    topologies: tuple[str, ...] = ()
    dry_run: bool = False
    force: bool = False


@dataclass
class _Job:
    view: JobView
    request: JobRequest
    cancelled: threading.Event = field(default_factory=threading.Event)


def report_data(report: RolloutReport) -> dict[str, Any]:
    """A rollout report as data (the `--json` shape of `decnet deploy`)."""
    return {
        "run": report.run_id,
        "kind": report.kind,
        "dry_run": report.dry_run,
        "status": report.status,
        "ok": report.ok,
        "hosts": report.hosts,
        "topologies": [{**vars(t), "status": str(t.status)} for t in report.topologies],
    }


def precheck(store: Store, request: JobRequest) -> None:
    """Refuse at once what the job would refuse later: unknown names (NotFound) and statuses
    that forbid the action (IllegalTransition); nothing is written but stale-run recovery."""
    if request.kind not in (JobKind.DEPLOY, JobKind.TEARDOWN):
        return
    recover_stale(store, force=request.force, names=list(request.topologies))
    kind = DEPLOY if request.kind is JobKind.DEPLOY else TEARDOWN
    for name in request.topologies:
        refused = store.verdict(name, kind.action).reason
        if refused:
            current = store.get_topology(name).status
            raise IllegalTransition(name, current, kind.in_flight, refused)


class RunWorker:
    """One thread running queued jobs in order; `submit` is safe from any thread."""

    def __init__(self, settings: Settings, *, grace: float = STOP_GRACE_SECONDS) -> None:
        self.settings = settings
        self.grace = grace
        self._lock = threading.Condition()
        self._queue: deque[_Job] = deque()
        self._jobs: OrderedDict[str, _Job] = OrderedDict()
        self._running: _Job | None = None
        self._dropped: list[_Job] = []
        self._stopping = False
        self._thread: threading.Thread | None = None

    # --- the request side -----------------------------------------------------------------

    def submit(self, store: Store, request: JobRequest, requested_by: str) -> JobView:
        precheck(store, request)
        with self._lock:
            if self._stopping or self._thread is None:
                raise EnvironmentProblem(
                    "the server is not accepting jobs (shutting down)", hint="retry shortly"
                )
            self._refuse_overlap(request)
            job = _Job(
                view=JobView(
                    id=uuid.uuid4().hex[:12],
                    kind=request.kind,
                    state=JobState.QUEUED,
                    topologies=list(request.topologies),
                    options={"dry_run": request.dry_run, "force": request.force},
                    requested_by=requested_by,
                    queued_at=dbmod.iso(store.clock()),
                ),
                request=request,
            )
            self._remember(job)
            self._queue.append(job)
            self._event(store, ev.JobQueued, job)
            self._lock.notify_all()
            return job.view.model_copy()

    def _refuse_overlap(self, request: JobRequest) -> None:
        pending = [*self._queue, *([self._running] if self._running else [])]
        for job in pending:
            same = set(job.request.topologies) & set(request.topologies)
            if same or (job.request.kind == request.kind and not request.topologies):
                what = ", ".join(sorted(same)) or str(request.kind)
                raise Busy(
                    f"job {job.view.id} ({job.request.kind} {what}) is already {job.view.state}",
                    hint=f"wait for it: GET /api/v1/runs/{job.view.id}",
                )

    def get(self, job_id: str) -> JobView:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                raise NotFound(f"run {job_id!r} not found", hint="GET /api/v1/runs lists them")
            return job.view.model_copy()

    def recent(self, limit: int = 100) -> list[JobView]:
        with self._lock:
            return [j.view.model_copy() for j in reversed(self._jobs.values())][:limit]

    # --- the worker side ------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="decnet-run-worker", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Refuse new jobs, cancel the queued ones, let the running one finish (or cancel it
        after the grace period), and wait for the thread."""
        with self._lock:
            self._stopping = True
            self._dropped = list(self._queue)
            self._queue.clear()
            for job in self._dropped:
                job.view.state = JobState.CANCELLED
                job.view.error = "the server stopped before the job ran"
            self._lock.notify_all()
        if self._thread is None:
            return
        self._thread.join(self.grace)
        with self._lock:
            if self._running is not None:
                log.warning("cancelling job %s: the server is stopping", self._running.view.id)
                self._running.cancelled.set()
        self._thread.join()
        self._thread = None

    def _loop(self) -> None:
        ctx = Context.open(self.settings)  # this thread's own connection
        try:
            while (job := self._next()) is not None:
                self._run(ctx, job)
            for dropped in self._dropped:
                self._event(ctx.store, ev.JobFinished, dropped)
        finally:
            ctx.store.close()

    def _next(self) -> _Job | None:
        with self._lock:
            while not self._queue and not self._stopping:
                self._lock.wait()
            if not self._queue:
                return None
            job = self._running = self._queue.popleft()
            job.view.state = JobState.RUNNING
            return job

    def _run(self, ctx: Context, job: _Job) -> None:
        job.view.started_at = dbmod.iso(ctx.store.clock())
        self._event(ctx.store, ev.JobStarted, job)
        state, error = JobState.FAILED, None
        result: dict[str, Any] | None = None
        runs: list[str] = []
        try:
            state, result, runs = self._execute(ctx, job)
        except DecnetError as err:
            error = str(err)
        except Exception as err:  # a bug: keep the server alive, record a safe message
            log.exception("job %s failed unexpectedly", job.view.id)
            error = f"internal error: {type(err).__name__}"
        with self._lock:
            job.view.state = JobState.CANCELLED if job.cancelled.is_set() else state
            job.view.result, job.view.error, job.view.ansible_runs = result, error, runs
            job.view.finished_at = dbmod.iso(ctx.store.clock())
            self._running = None
        self._event(ctx.store, ev.JobFinished, job)

    def _execute(self, ctx: Context, job: _Job) -> tuple[JobState, dict[str, Any], list[str]]:
        request = job.request
        if request.kind is JobKind.DRIFT:
            found = drift_engine.drift(ctx)
            findings = [asdict(f) for f in found.findings]
            data = {"status": found.status, "exit_code": found.exit_code, "hosts": found.hosts}
            return JobState.SUCCEEDED, {**data, "findings": findings}, []
        if request.kind is JobKind.RECONCILE:
            report = drift_engine.reconcile(ctx)  # runs to the end: reconcile takes no cancel
        else:
            run: Callable[..., RolloutReport] = (
                deploy if request.kind is JobKind.DEPLOY else teardown
            )
            opts = RolloutOptions(dry_run=request.dry_run, force=request.force)
            report = run(
                ctx, list(request.topologies), opts=opts, should_cancel=job.cancelled.is_set
            )
        state = JobState.SUCCEEDED if report.ok else JobState.FAILED
        return state, report_data(report), [report.run_id] if report.run_id else []

    # --- shared -----------------------------------------------------------------------------

    def _remember(self, job: _Job) -> None:
        self._jobs[job.view.id] = job
        while len(self._jobs) > KEPT_JOBS:
            oldest = next(iter(self._jobs.values()))
            if oldest.view.state in (JobState.QUEUED, JobState.RUNNING):
                break
            self._jobs.popitem(last=False)

    def _event(self, store: Store, type_: type[ev.JobEvent], job: _Job) -> None:
        view = job.view
        payload = type_(
            job=view.id,
            kind=view.kind,
            state=view.state,
            topologies=view.topologies,
            error=view.error or None,
            runs=view.ansible_runs or None,
        )
        single = view.topologies[0] if len(view.topologies) == 1 else None
        store.append_event(payload, topology=single)
