"""Several processes, each with its own Store on the same file (the CLI, the API, the watcher)."""

from __future__ import annotations

import multiprocessing as mp
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from pathlib import Path

from decnet import events as ev
from decnet.errors import IllegalTransition
from decnet.store import Store

from .conftest import MakeTopology

# forkserver, not fork: a fork copies whatever lock another thread of the test worker (xdist's
# receiver, a logger) held at that moment, and a child then waited forever on it (seen in CI).
CTX = mp.get_context("forkserver")
RACERS = 2
ROUNDS = 5


def race_transition(path: Path, name: str, who: int, barrier: Barrier, out: Queue[str]) -> None:
    store = Store(path)
    barrier.wait()
    try:
        store.transition(name, "deploying", reason=f"racer {who}", expected_from="pending")
        out.put("won")
    except IllegalTransition as err:
        out.put(f"lost: {err}")
    finally:
        store.close()


def append_events(path: Path, who: int, barrier: Barrier, n: int) -> None:
    store = Store(path)
    barrier.wait()
    for i in range(n):
        store.append_event(ev.WatchError(chore=f"racer-{who}", error=str(i)))
    store.close()


def run_all(procs: list[mp.process.BaseProcess]) -> None:
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0


def test_racing_the_same_transition_exactly_one_wins(
    db_path: Path, make_topology: MakeTopology
) -> None:
    with Store(db_path) as store:
        for r in range(ROUNDS):
            store.insert_topology(make_topology(f"t{r}", octet=10 + r))
    for r in range(ROUNDS):
        barrier, out = CTX.Barrier(RACERS), CTX.Queue()
        args = [(db_path, f"t{r}", who, barrier, out) for who in range(RACERS)]
        run_all([CTX.Process(target=race_transition, args=a) for a in args])
        results = sorted(out.get(timeout=10) for _ in range(RACERS))
        assert results[-1] == "won"
        assert all(res.startswith("lost:") for res in results[:-1])
        assert "from deploying to deploying" in results[0]
    with Store(db_path) as store:
        for r in range(ROUNDS):
            history = store.status_events(f"t{r}")
            assert [(h.from_status, h.to_status) for h in history] == [("pending", "deploying")]
            kinds = [e.type for e in store.events_since(0, topology=f"t{r}")]
            assert kinds == ["topology.created", "topology.status"]


def test_concurrent_appends_get_unique_monotonic_ids(db_path: Path) -> None:
    Store(db_path).close()
    n = 40
    barrier = CTX.Barrier(RACERS)
    run_all(
        [CTX.Process(target=append_events, args=(db_path, w, barrier, n)) for w in range(RACERS)]
    )
    with Store(db_path) as store:
        events = store.events_since(0, limit=10_000)
    assert len(events) == RACERS * n
    ids = [e.id for e in events]
    assert ids == sorted(set(ids))
    for who in range(RACERS):  # each writer's own events are in its order
        mine = [e.payload["error"] for e in events if e.payload.get("chore") == f"racer-{who}"]
        assert mine == [str(i) for i in range(n)]
