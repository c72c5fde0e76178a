"""The mutation queue (SPEC §2, §10): one row per batch of ops, claimed under a lease.

A batch moves pending → applying → applied | failed (or pending → cancelled). The enqueue
checks the status and `expected_version` and bumps the version in the same transaction. A
worker claims every open batch of a topology with one conditional UPDATE, which succeeds only
when no live worker holds a claim on that topology; a claim whose owner died is taken over.
When a batch is accepted into the desired state its row says so (`accepted_at`), so a worker
taking over never applies it twice, and the first accepted row of a round keeps the desired
state from before the round (`snapshot`), from which a failed round is rolled back.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from decnet import events as ev
from decnet import policy
from decnet.errors import NotEditable, NotFound, VersionConflict
from decnet.models import Status, Topology
from decnet.policy import Action
from decnet.store import db as dbmod
from decnet.store import topologies
from decnet.store.base import StoreBase
from decnet.store.rows import OPEN_STATES, MutationRow, MutationState
from decnet.store.topologies import TopologyRef, dumps, new_id

_COLUMNS = (
    "m.id, t.name, m.op, m.payload, m.state, m.version, m.requested_at, m.started_at, "
    "m.finished_at, m.reason, m.issues, m.lease_owner, m.lease_expires_at, m.accepted_at, "
    "m.run_id"
)
_FROM = "FROM mutation m JOIN topology t ON t.id = m.topology_id"
_OPEN = "('pending', 'applying')"

OwnerDead = Callable[[str, str | None], bool]
"""(lease owner, lease expiry) -> True when that claim may be taken over."""


def _row(values: Sequence[Any]) -> MutationRow:
    (id_, topology, op, payload, state, version, requested, started, finished, reason,
     issues, owner, expires, accepted, run_id) = values  # fmt: skip
    return MutationRow(
        id=id_,
        topology=topology,
        op=op,
        ops=json.loads(payload).get("ops", []),
        state=MutationState(state),
        version=version,
        requested_at=requested,
        started_at=started,
        finished_at=finished,
        reason=reason,
        issues=json.loads(issues) if issues else [],
        lease_owner=owner,
        lease_expires_at=expires,
        accepted=accepted is not None,
        run_id=run_id,
    )


class MutationsMixin(StoreBase):
    def _mutable(
        self, conn: sqlite3.Connection, name: str, expected_version: int | None
    ) -> TopologyRef:
        ref = topologies.find(conn, name)
        if expected_version is not None and ref.version != expected_version:
            raise VersionConflict(name, ref.version, expected_version)
        if ref.status in policy.DESIGN:
            raise NotEditable(
                f"topology {name!r} (pending) cannot change live: it was never deployed",
                hint="edits to a pending topology apply at once; deploy it to change it live",
            )
        refused = policy.verdict(Action.EDIT, ref.status, live_round=live_round(conn, ref))
        if not refused.allowed:
            raise NotEditable(
                f"topology {name!r} ({ref.status}) cannot change live now: {refused.reason}",
                hint=f"see `decnet status {name}`",
            )
        return ref

    def in_live_round(self, name: str) -> bool:
        """Deploying because the reconciler re-applies live changes (policy.verdict)."""
        return live_round(self.conn, topologies.find(self.conn, name))

    def verdict(self, name: str, action: Action) -> policy.Verdict:
        """May `action` happen to the topology as it is now (decnet/policy.py)?"""
        ref = topologies.find(self.conn, name)
        return policy.verdict(action, ref.status, live_round=live_round(self.conn, ref))

    def check_mutable(self, name: str) -> None:
        """NotEditable unless `name` is live (active, degraded, or being re-applied)."""
        self._mutable(self.conn, name, None)

    def enqueue_mutation(
        self,
        name: str,
        ops: list[dict[str, Any]],
        op: str,
        *,
        expected_version: int | None = None,
    ) -> MutationRow:
        """Queue a batch on a live topology: status and version checked, version bumped,
        `mutation.enqueued` appended, all in one transaction."""
        with self.transaction() as conn:
            ref = self._mutable(conn, name, expected_version)
            mutation_id, now, version = new_id()[:16], self._now(), ref.version + 1
            conn.execute("UPDATE topology SET version = ? WHERE id = ?", (version, ref.id))
            conn.execute(
                "INSERT INTO mutation (id, topology_id, op, payload, state, requested_at, "
                "version) VALUES (?, ?, ?, ?, 'pending', ?, ?)",
                (mutation_id, ref.id, op, dumps({"ops": ops}), now, version),
            )
            payload = ev.MutationEnqueued(
                mutation=mutation_id, op=op, ops=len(ops), version=version
            )
            self._event(conn, payload, name, ref.id, now)
            return self.get_mutation(mutation_id)

    def get_mutation(self, mutation_id: str) -> MutationRow:
        row = self.conn.execute(f"SELECT {_COLUMNS} {_FROM} WHERE m.id = ?", (mutation_id,))
        found = row.fetchone()
        if found is None:
            raise NotFound(
                f"mutation {mutation_id!r} not found",
                hint="run `decnet mutations NAME` to list a topology's mutations",
            )
        return _row(found)

    def list_mutations(
        self,
        name: str | None = None,
        *,
        states: Iterable[MutationState] | None = None,
        limit: int = 200,
    ) -> list[MutationRow]:
        """Oldest first (queue order); `limit` keeps the newest."""
        where, params = "WHERE 1 = 1", []
        if name is not None:
            topologies.find(self.conn, name)  # NotFound for an unknown topology
            where += " AND t.name = ?"
            params.append(name)
        chosen = sorted(states or ())
        if chosen:
            where += f" AND m.state IN ({', '.join('?' for _ in chosen)})"
            params += chosen
        sql = (
            f"SELECT * FROM (SELECT {_COLUMNS}, m.rowid AS seq {_FROM} {where} "
            "ORDER BY m.rowid DESC LIMIT ?) ORDER BY seq"
        )
        return [_row(r[:-1]) for r in self.conn.execute(sql, [*params, limit])]

    def open_mutations(self, name: str) -> list[MutationRow]:
        return self.list_mutations(name, states=OPEN_STATES, limit=1_000_000)

    def topologies_with_open_mutations(self) -> list[str]:
        rows = self.conn.execute(
            f"SELECT DISTINCT t.name {_FROM} WHERE m.state IN {_OPEN} ORDER BY t.name"
        )
        return [r[0] for r in rows]

    def claim_mutations(
        self, name: str, owner: str, lease_seconds: float, owner_dead: OwnerDead
    ) -> list[MutationRow]:
        """Claim every open batch of `name` for `owner`, or nothing when another live worker
        holds a claim on it. Claims whose owner is dead (`owner_dead`) are taken over."""
        with self.transaction() as conn:
            holders = conn.execute(
                "SELECT DISTINCT m.lease_owner, m.lease_expires_at FROM mutation m JOIN "
                "topology t ON t.id = m.topology_id WHERE t.name = ? AND m.state = 'applying'",
                (name,),
            ).fetchall()
            dead = [o for o, exp in holders if o != owner and owner_dead(o, exp)]
            if any(o != owner and o not in dead for o, _ in holders):
                return []
            marks = ", ".join("?" for _ in dead) or "NULL"
            claimed = conn.execute(
                f"SELECT m.id, m.op, m.state {_FROM} WHERE t.name = ? AND (m.state = 'pending' "
                f"OR (m.state = 'applying' AND m.lease_owner IN ({marks}))) ORDER BY m.rowid",
                (name, *dead),
            ).fetchall()
            now = self.clock()
            conn.executemany(
                "UPDATE mutation SET state = 'applying', lease_owner = ?, lease_expires_at = ?, "
                "started_at = coalesce(started_at, ?) WHERE id = ?",
                [(owner, _lease(now, lease_seconds), dbmod.iso(now), c[0]) for c in claimed],
            )
            ref = topologies.find(conn, name)
            for mutation_id, op, state in claimed:
                takeover = state == MutationState.APPLYING
                payload = ev.MutationApplying(mutation=mutation_id, op=op, takeover=takeover)
                self._event(conn, payload, name, ref.id)
            return self.open_mutations(name)

    def renew_mutation_leases(self, owner: str, lease_seconds: float) -> int:
        with self.transaction() as conn:
            cursor = conn.execute(
                "UPDATE mutation SET lease_expires_at = ? "
                "WHERE state = 'applying' AND lease_owner = ?",
                (_lease(self.clock(), lease_seconds), owner),
            )
            return cursor.rowcount

    def release_mutations(self, ids: Iterable[str], owner: str) -> None:
        """Give claimed batches that were not accepted back to the queue."""
        with self.transaction() as conn:
            conn.executemany(
                "UPDATE mutation SET state = 'pending', lease_owner = NULL, "
                "lease_expires_at = NULL WHERE id = ? AND state = 'applying' "
                "AND lease_owner = ? AND accepted_at IS NULL",
                [(i, owner) for i in ids],
            )

    def accept_mutation(
        self, mutation_id: str, desired: Topology, *, round_id: str, snapshot: str | None
    ) -> None:
        """Write the batch's result as the desired state (no version bump: the enqueue
        consumed it) and mark the batch accepted, in one transaction."""
        with self.transaction() as conn:
            ref = topologies.find(conn, desired.name)
            topologies.replace_children(conn, ref.id, desired)
            conn.execute(
                "UPDATE mutation SET accepted_at = ?, run_id = ?, snapshot = ? WHERE id = ?",
                (self._now(), round_id, snapshot, mutation_id),
            )

    def round_snapshot(self, name: str, round_id: str) -> str | None:
        """The desired state from before round `round_id` (JSON), kept by its first batch."""
        row = self.conn.execute(
            f"SELECT m.snapshot {_FROM} WHERE t.name = ? AND m.run_id = ? "
            "AND m.snapshot IS NOT NULL ORDER BY m.rowid LIMIT 1",
            (name, round_id),
        ).fetchone()
        return row[0] if row else None

    def finish_mutation(
        self,
        mutation_id: str,
        state: MutationState,
        *,
        reason: str = "",
        issues: Sequence[Mapping[str, Any]] = (),
    ) -> MutationRow:
        """Close a batch (applied, failed or cancelled) and append its event; the snapshot
        is dropped (it holds the whole topology, secrets included)."""
        with self.transaction() as conn:
            row = self.get_mutation(mutation_id)
            conn.execute(
                "UPDATE mutation SET state = ?, finished_at = ?, reason = ?, issues = ?, "
                "lease_owner = NULL, lease_expires_at = NULL, snapshot = NULL WHERE id = ?",
                (state, self._now(), reason, dumps(list(issues)) if issues else None, row.id),
            )
            payload = ev.REGISTRY[f"mutation.{state}"].model_validate(
                {"mutation": row.id, "op": row.op, "state": str(state), "reason": reason or None,
                 "issues": list(issues) or None}
            )  # fmt: skip
            ref = topologies.find(conn, row.topology)
            self._event(conn, payload, row.topology, ref.id)
            return self.get_mutation(mutation_id)

    def cancel_mutation(self, mutation_id: str) -> MutationRow:
        with self.transaction():
            row = self.get_mutation(mutation_id)
            if row.state != MutationState.PENDING:
                raise NotEditable(
                    f"mutation {mutation_id!r} is {row.state}; only a pending one can be cancelled",
                    hint=f"see `decnet mutations {row.topology}`",
                )
            return self.finish_mutation(
                mutation_id, MutationState.CANCELLED, reason="cancelled by the operator"
            )

    def restore_desired(self, desired: Topology, reason: str) -> int:
        """Put back a desired state (a failed round's snapshot); bumps the version so editors
        holding the rolled-back state reload. Returns the new version."""
        with self.transaction() as conn:
            ref = topologies.find(conn, desired.name)
            topologies.replace_children(conn, ref.id, desired)
            conn.execute("UPDATE topology SET version = version + 1 WHERE id = ?", (ref.id,))
            payload = ev.TopologyUpdated(version=ref.version + 1, reason=reason)
            self._event(conn, payload, desired.name, ref.id)
            return ref.version + 1


def live_round(conn: sqlite3.Connection, ref: TopologyRef) -> bool:
    """Deploying because the reconciler re-applies it from active or degraded (a watcher's
    round): the queue stays open while it runs."""
    if ref.status != Status.DEPLOYING:
        return False
    row = conn.execute(
        "SELECT from_status FROM status_event WHERE topology_id = ? ORDER BY id DESC LIMIT 1",
        (ref.id,),
    ).fetchone()
    return row is not None and Status(row[0]) in policy.MUTABLE


def _lease(moment: datetime, seconds: float) -> str:
    return dbmod.iso(moment + timedelta(seconds=seconds))
