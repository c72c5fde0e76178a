"""The mutation queue in the store: enqueue, claim under a lease, take over, accept, finish."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from decnet.errors import NotEditable, NotFound, VersionConflict
from decnet.models import Status
from decnet.store import Store
from decnet.store.rows import MutationState

from .conftest import FakeClock, MakeTopology

OPS = [{"op": "remove_decky", "name": "db"}]


def _never_dead(_owner: str, _expires: str | None) -> bool:
    return False


def _always_dead(_owner: str, _expires: str | None) -> bool:
    return True


@pytest.fixture
def live(store: Store, make_topology: MakeTopology) -> str:
    store.insert_topology(make_topology(status=Status.ACTIVE))
    return "alpha"


def test_enqueue_bumps_the_version_and_appends_an_event(store: Store, live: str) -> None:
    row = store.enqueue_mutation(live, OPS, "remove_decky", expected_version=1)
    assert (row.state, row.version, row.op, row.ops, row.accepted) == (
        MutationState.PENDING, 2, "remove_decky", OPS, False,
    )  # fmt: skip
    assert store.get_topology(live).version == 2
    event = store.events_since(0, topology=live)[-1]
    assert event.type == "mutation.enqueued"
    assert event.payload == {"mutation": row.id, "op": "remove_decky", "ops": 1, "version": 2}


def test_stale_version_and_wrong_status_write_nothing(
    store: Store, live: str, make_topology: MakeTopology, dump: Callable[[], list[str]]
) -> None:
    store.insert_topology(make_topology("beta", octet=20))  # pending
    before = dump()
    with pytest.raises(VersionConflict) as err:
        store.enqueue_mutation(live, OPS, "remove_decky", expected_version=7)
    assert (err.value.current, err.value.expected) == (1, 7)
    with pytest.raises(NotEditable, match=r"beta.*pending"):
        store.enqueue_mutation("beta", OPS, "remove_decky")
    with pytest.raises(NotFound):
        store.enqueue_mutation("gamma", OPS, "remove_decky")
    assert dump() == before


def test_a_topology_being_reapplied_from_active_stays_open(store: Store, live: str) -> None:
    store.transition(live, Status.DEPLOYING, reason="a watcher round")
    assert store.enqueue_mutation(live, OPS, "remove_decky").state == MutationState.PENDING


def test_only_one_live_owner_claims_a_topology(store: Store, live: str) -> None:
    first = store.enqueue_mutation(live, OPS, "remove_decky")
    claimed = store.claim_mutations(live, "w1", 60, _never_dead)
    assert [(r.id, r.state, r.lease_owner) for r in claimed] == [
        (first.id, MutationState.APPLYING, "w1")
    ]
    second = store.enqueue_mutation(live, OPS, "remove_decky")
    assert store.claim_mutations(live, "w2", 60, _never_dead) == []
    assert store.get_mutation(second.id).state == MutationState.PENDING
    again = store.claim_mutations(live, "w1", 60, _never_dead)  # the holder takes new ones
    assert [r.id for r in again] == [first.id, second.id]
    types = [e.type for e in store.events_since(0, topology=live)]
    assert types.count("mutation.applying") == 2


def test_a_dead_owners_claim_is_taken_over_and_accepted_stays_accepted(
    store: Store, live: str, clock: FakeClock
) -> None:
    row = store.enqueue_mutation(live, OPS, "remove_decky")
    store.claim_mutations(live, "w1", 60, _never_dead)
    desired = store.get_topology(live)
    desired.deckies = [d for d in desired.deckies if d.name != "db"]
    store.accept_mutation(row.id, desired, round_id="r1", snapshot='{"before": 1}')
    taken = store.claim_mutations(live, "w2", 60, _always_dead)
    assert [(r.id, r.lease_owner, r.accepted, r.run_id) for r in taken] == [
        (row.id, "w2", True, "r1")
    ]
    assert store.round_snapshot(live, "r1") == '{"before": 1}'
    assert [d.name for d in store.get_topology(live).deckies] == ["gw", "bridge"]
    assert store.get_topology(live).version == 2  # accepting does not bump: enqueue did


def test_release_returns_only_unaccepted_claims(store: Store, live: str) -> None:
    a = store.enqueue_mutation(live, OPS, "remove_decky")
    b = store.enqueue_mutation(live, OPS, "remove_decky")
    store.claim_mutations(live, "w1", 60, _never_dead)
    store.accept_mutation(a.id, store.get_topology(live), round_id="r", snapshot=None)
    store.release_mutations([a.id, b.id], "w2")  # not the owner: nothing happens
    assert store.get_mutation(b.id).state == MutationState.APPLYING
    store.release_mutations([a.id, b.id], "w1")
    assert [store.get_mutation(i).state for i in (a.id, b.id)] == [
        MutationState.APPLYING, MutationState.PENDING,
    ]  # fmt: skip


def test_finish_drops_the_snapshot_and_records_issues(store: Store, live: str) -> None:
    row = store.enqueue_mutation(live, OPS, "remove_decky")
    store.claim_mutations(live, "w1", 60, _never_dead)
    store.accept_mutation(row.id, store.get_topology(live), round_id="r", snapshot="{}")
    issue = {"code": "IP_DUPLICATE", "path": "deckies[x]", "message": "m", "severity": "error"}
    done = store.finish_mutation(row.id, MutationState.FAILED, reason="bad", issues=[issue])
    assert (done.state, done.reason, done.issues, done.lease_owner) == (
        MutationState.FAILED, "bad", [issue], None,
    )  # fmt: skip
    assert store.round_snapshot(live, "r") is None
    assert store.events_since(0, topology=live)[-1].payload == {
        "mutation": row.id, "op": "remove_decky", "state": "failed", "reason": "bad",
        "issues": [issue],
    }  # fmt: skip


def test_cancel_only_pending(store: Store, live: str) -> None:
    a = store.enqueue_mutation(live, OPS, "remove_decky")
    assert store.cancel_mutation(a.id).state == MutationState.CANCELLED
    with pytest.raises(NotEditable, match="cancelled"):
        store.cancel_mutation(a.id)
    b = store.enqueue_mutation(live, OPS, "remove_decky")
    store.claim_mutations(live, "w1", 60, _never_dead)
    with pytest.raises(NotEditable, match="applying"):
        store.cancel_mutation(b.id)


def test_restore_desired_puts_the_state_back_and_bumps(store: Store, live: str) -> None:
    before = store.get_topology(live)
    changed = before.model_copy(update={"deckies": before.deckies[:1]})
    store.accept_mutation(store.enqueue_mutation(live, OPS, "x").id, changed, round_id="r",
                          snapshot=None)  # fmt: skip
    assert store.restore_desired(before, "rolled back") == 3
    again = store.get_topology(live)
    assert [d.name for d in again.deckies] == [d.name for d in before.deckies]
    assert again.deckies == before.deckies and again.lans == before.lans


def test_list_filters_and_keeps_queue_order(store: Store, live: str) -> None:
    ids = [store.enqueue_mutation(live, OPS, "x").id for _ in range(3)]
    store.cancel_mutation(ids[1])
    assert [r.id for r in store.list_mutations(live)] == ids
    assert [r.id for r in store.open_mutations(live)] == [ids[0], ids[2]]
    assert [r.id for r in store.list_mutations(live, limit=2)] == ids[1:]
    assert store.topologies_with_open_mutations() == [live]


def test_renewing_extends_only_the_owners_leases(store: Store, live: str, clock: FakeClock) -> None:
    row = store.enqueue_mutation(live, OPS, "x")
    store.claim_mutations(live, "w1", 60, _never_dead)
    first = store.get_mutation(row.id).lease_expires_at
    clock.advance(30)
    assert store.renew_mutation_leases("w2", 60) == 0
    assert store.renew_mutation_leases("w1", 60) == 1
    assert store.get_mutation(row.id).lease_expires_at > first  # type: ignore[operator]
