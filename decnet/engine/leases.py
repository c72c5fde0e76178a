"""Run leases and recovery of topologies left mid-run by a controller that died.

The rule (documented in docs/lifecycle.md): a run records its owner (`host:pid:start-time`) and
a lease that a heartbeat renews while it runs. A topology found in `deploying` or
`tearing_down` whose runs are all finished, or whose owner process is gone (same machine), or
whose lease has expired (any machine), is moved to `failed` with the reason, and the run is
marked `abandoned`. Any later command does this first, so nothing stays stuck; `--force` on
deploy/teardown does it even while a lease looks alive.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from decnet.errors import DecnetError, IllegalTransition
from decnet.models import Status
from decnet.store import Store
from decnet.store.rows import RunRow

LEASE_SECONDS = 60
HEARTBEAT_SECONDS = 10
IN_FLIGHT = (Status.DEPLOYING, Status.TEARING_DOWN)
ABANDONED = "abandoned"


def _start_time(pid: int) -> str:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    # field 22 (starttime) counts from the end of the comm field, which may contain spaces
    return stat.rsplit(")", 1)[1].split()[19]


def current_owner() -> str:
    pid = os.getpid()
    return f"{socket.gethostname()}:{pid}:{_start_time(pid)}"


def owner_alive(owner: str) -> bool | None:
    """True/False for an owner on this machine; None when it ran elsewhere (lease decides)."""
    host, _, rest = owner.partition(":")
    pid_text, _, started = rest.partition(":")
    if host != socket.gethostname() or not (pid_text.isascii() and pid_text.isdigit()):
        return None
    return _start_time(int(pid_text)) == started != ""


def _parse(ts: str | None) -> datetime | None:
    return datetime.fromisoformat(ts) if ts else None


def run_is_alive(owner: str | None, lease_expires_at: str | None, now: datetime) -> bool:
    """Alive while its lease runs and its owner is not known to be gone: an expired lease
    means the heartbeat stopped (any machine); a dead local pid needs no lease to tell."""
    expires = _parse(lease_expires_at)
    if not owner or expires is None or expires <= now:
        return False
    return owner_alive(owner) is not False


def _abandon(store: Store, run: RunRow, why: str) -> None:
    # DecnetError: finished meanwhile, by its controller or by another recovery
    with contextlib.suppress(DecnetError):
        store.finish_run(run.id, ABANDONED, run.stats or {}, error=why)


def recover_stale(
    store: Store, *, force: bool = False, names: list[str] | None = None
) -> list[str]:
    """Move topologies stuck in a run whose controller died to `failed` and mark the dead
    runs `abandoned` (those whose topologies already moved on too); returns the names."""
    now = datetime.now(UTC)
    recovered: list[str] = []
    for summary in store.list_topologies():
        if summary.status not in IN_FLIGHT or (names is not None and summary.name not in names):
            continue
        runs = store.running_runs(summary.name)
        if not force and any(run_is_alive(r.owner, r.lease_expires_at, now) for r in runs):
            continue
        for run in runs:
            _abandon(store, run, "controller died" + (" (--force)" if force else ""))
        reason = "recovered: the controller of its last run died" + (" (--force)" if force else "")
        try:
            store.transition(
                summary.name, Status.FAILED, reason=reason, expected_from=summary.status
            )
        except IllegalTransition:
            continue  # somebody else recovered or finished it meanwhile
        recovered.append(summary.name)
    for run in store.running_runs():  # e.g. a run that died after moving its topologies on
        if not run_is_alive(run.owner, run.lease_expires_at, now):
            _abandon(store, run, "controller died")
    return recovered


@contextmanager
def heartbeat(db_path: Path, run_id: str) -> Iterator[None]:
    """Renew the run's lease in the background for as long as the block runs."""
    stop = threading.Event()

    def beat() -> None:
        store = Store(db_path)  # sqlite connections stay in the thread that made them
        while not stop.wait(HEARTBEAT_SECONDS):
            try:
                store.renew_run_lease(run_id, LEASE_SECONDS)
            except sqlite3.OperationalError:
                continue  # busy past the timeout: the next beat tries again
            except DecnetError:
                return  # the run was finished or abandoned under us: nothing left to renew

    thread = threading.Thread(target=beat, name=f"lease-{run_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)
