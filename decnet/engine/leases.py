"""Run leases and recovery of topologies left mid-run by a controller that died.

The rule (documented in docs/lifecycle.md): a run records its owner (`host:pid:start-time`) and
a lease that a heartbeat renews while it runs. A topology found in `deploying` or
`tearing_down` whose runs are all finished, or whose owner process is gone (same machine), or
whose lease has expired (any machine), is moved to `failed` with the reason, and the run is
marked `abandoned`. Any later command does this first, so nothing stays stuck; `--force` on
deploy/teardown does it even while a lease looks alive.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from decnet.errors import IllegalTransition
from decnet.models import Status
from decnet.store import Store

LEASE_SECONDS = 60
HEARTBEAT_SECONDS = 10
IN_FLIGHT = (Status.DEPLOYING, Status.TEARING_DOWN)


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
    alive = owner_alive(owner) if owner else False
    if alive is not None:
        return alive
    expires = _parse(lease_expires_at)
    return expires is not None and expires > now


def recover_stale(
    store: Store, *, force: bool = False, names: list[str] | None = None
) -> list[str]:
    """Move topologies stuck in a run whose controller died to `failed`; returns their names."""
    now = datetime.now(UTC)
    recovered: list[str] = []
    for summary in store.list_topologies():
        if summary.status not in IN_FLIGHT or (names is not None and summary.name not in names):
            continue
        runs = store.active_runs_for(summary.name)
        if not force and any(run_is_alive(r.owner, r.lease_expires_at, now) for r in runs):
            continue
        for run in runs:
            store.finish_run(run.id, "abandoned", run.stats or {}, error="controller died")
        reason = "recovered: the controller of its last run died" + (" (--force)" if force else "")
        try:
            store.transition(
                summary.name, Status.FAILED, reason=reason, expected_from=summary.status
            )
        except IllegalTransition:
            continue  # somebody else recovered or finished it meanwhile
        recovered.append(summary.name)
    return recovered


@contextmanager
def heartbeat(db_path: Path, run_id: str) -> Iterator[None]:
    """Renew the run's lease in the background for as long as the block runs."""
    stop = threading.Event()

    def beat() -> None:
        store = Store(db_path)  # sqlite connections stay in the thread that made them
        while not stop.wait(HEARTBEAT_SECONDS):
            store.renew_run_lease(run_id, LEASE_SECONDS)

    thread = threading.Thread(target=beat, name=f"lease-{run_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)
