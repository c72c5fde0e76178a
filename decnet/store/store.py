"""`Store`: the one gateway to the SQLite file (docs/design.md, SPEC §2-§3).

Every write runs in one `BEGIN IMMEDIATE` transaction: checks (existence, status, version) are
read under the write lock, so a check and the write it guards can never be split by another
process. A failed check raises before anything is written.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from decnet import events as ev
from decnet import policy
from decnet.errors import (
    AlreadyExists,
    IllegalTransition,
    InternalError,
    InvalidTopology,
    NotEditable,
    StoreError,
    VersionConflict,
)
from decnet.events import EventPayload
from decnet.models import (
    LIVE,
    NAME_RE,
    PUBLISH_RE,
    TRANSITIONS,
    HostContext,
    Issue,
    Status,
    Topology,
)
from decnet.policy import Action
from decnet.store import events, topologies
from decnet.store.attacks import AttacksMixin
from decnet.store.bus import EventsMixin
from decnet.store.collect import CollectMixin
from decnet.store.layout import LayoutMixin
from decnet.store.mutations import MutationsMixin, live_round
from decnet.store.outputs import OutputsMixin
from decnet.store.rows import (
    EventRow,
    StatusEventRow,
    TopologySummary,
)
from decnet.store.runs import RunsMixin
from decnet.store.tokens import TokensMixin
from decnet.store.topologies import TopologyRef, dumps, new_id
from decnet.text import shown

_INTEGRITY_HINT = (
    "run `decnet topology validate` to list every problem; if it finds none, report this bug"
)


class Store(
    RunsMixin,
    OutputsMixin,
    EventsMixin,
    TokensMixin,
    LayoutMixin,
    MutationsMixin,
    CollectMixin,
    AttacksMixin,
):
    """The SQLite store: topologies and event appends here; runs and host reports, event reads
    and retention, API tokens, canvas layout, the mutation queue, collection (cursors and
    attack events), the attacker views and the outputs in their mixins."""

    # --- topologies ----------------------------------------------------------------------

    def host_context(
        self,
        host: str,
        *,
        exclude: str | None = None,
        inventory_hosts: Iterable[str] | None = None,
    ) -> HostContext:
        """Subnets and `port/proto` published by the OTHER live topologies on `host`."""
        where = f"t.target_host = ? AND t.name IS NOT ? AND t.status IN ({_marks(LIVE)})"
        params = (host, exclude, *sorted(LIVE))
        subnets = self.conn.execute(
            f"SELECT l.subnet, t.name FROM lan l JOIN topology t ON t.id = l.topology_id "
            f"WHERE {where} ORDER BY t.name, l.rowid",
            params,
        )
        published = self.conn.execute(
            f"SELECT d.publish, t.name FROM decky d JOIN topology t ON t.id = d.topology_id "
            f"WHERE {where} AND d.publish != '[]' ORDER BY t.name, d.rowid",
            params,
        )
        return HostContext(
            claimed_subnets={subnet: name for subnet, name in subnets},
            claimed_ports=_claimed_ports(published),
            inventory_hosts=None if inventory_hosts is None else frozenset(inventory_hosts),
        )

    def insert_topology(self, t: Topology) -> Topology:
        """Store a fully allocated topology at version 1 with its own status (normally
        pending); returns what `get_topology` would."""
        if not NAME_RE.fullmatch(t.name):
            message = f"topology name {shown(t.name)} is invalid"
            raise InvalidTopology([Issue(code="NAME_INVALID", path="name", message=message)])
        topology_id = new_id()
        rows = topologies.child_rows(t, topology_id)
        now = self._now()
        with self.transaction() as conn, _integrity(t.name):
            if conn.execute("SELECT 1 FROM topology WHERE name = ?", (t.name,)).fetchone():
                raise AlreadyExists(
                    f"topology {t.name!r} already exists",
                    hint="choose another name, or delete it with `decnet topology delete`",
                )
            conn.execute(
                "INSERT INTO topology (id, name, status, version, target_host, config, images, "
                "needs_resync, created_at, status_changed_at) VALUES (?,?,?,1,?,?,?,?,?,?)",
                (topology_id, t.name, Status(t.status), t.host, dumps(t.config),
                 dumps(t.images), t.needs_resync, now, now),
            )  # fmt: skip
            topologies.write_children(conn, rows)
            self._event(conn, ev.TopologyCreated(version=1), t.name, topology_id, now)
        # Exactly what was stored, so no reload (which would double the cost at 10k deckies).
        # A shallow copy: the LAN and decky objects are shared with `t`.
        stored = {"version": 1, "status": Status(t.status), "created_at": now}
        return t.model_copy(update={**stored, "status_changed_at": now})

    def get_topology(self, name: str) -> Topology:
        with self._snapshot() as conn:
            return topologies.load(conn, name)

    def list_topologies(self) -> list[TopologySummary]:
        rows = self.db.query(
            "SELECT t.name, t.status, t.version, t.target_host AS host, t.needs_resync, "
            "t.created_at, t.status_changed_at, "
            "(SELECT count(*) FROM lan WHERE topology_id = t.id) AS lans, "
            "(SELECT count(*) FROM decky WHERE topology_id = t.id) AS deckies, "
            f"t.status = 'deploying' AND ({_LAST_FROM}) IN ('active', 'degraded') AS live_round "
            "FROM topology t ORDER BY t.name"
        )
        return [TopologySummary(**row) for row in rows]

    def replace_topology(self, t: Topology, expected_version: int | None = None) -> Topology:
        """Replace the design of a pending topology (host, config, images, LANs, deckies).

        Status, needs_resync and created_at stay; LAN and decky ids are kept by name."""
        with self.transaction() as conn, _integrity(t.name):
            ref = self._writable(conn, t.name, expected_version, Action.EDIT)
            topologies.replace_children(conn, ref.id, t)
            conn.execute(
                "UPDATE topology SET target_host = ?, config = ?, images = ?, "
                "version = version + 1 WHERE id = ?",
                (t.host, dumps(t.config), dumps(t.images), ref.id),
            )
            payload = ev.TopologyUpdated(version=ref.version + 1)
            self._event(conn, payload, t.name, ref.id, self._now())
            return self.get_topology(t.name)

    def delete_topology(self, name: str, expected_version: int | None = None) -> None:
        """Remove the topology and every row of it (children cascade) in one transaction."""
        with self.transaction() as conn:
            ref = self._writable(conn, name, expected_version, Action.DELETE)
            conn.execute("DELETE FROM topology WHERE id = ?", (ref.id,))
            self._event(conn, ev.TopologyDeleted(version=ref.version), name, ref.id)

    def _writable(
        self,
        conn: sqlite3.Connection,
        name: str,
        expected_version: int | None,
        action: Action,
    ) -> TopologyRef:
        """The topology, if its version is the expected one and its status allows `action`
        (EDIT here is a design edit: pending only; live ones are queued mutations)."""
        ref = topologies.find(conn, name)
        if expected_version is not None and ref.version != expected_version:
            raise VersionConflict(name, ref.version, expected_version)
        refused = policy.verdict(action, ref.status, live_round=live_round(conn, ref)).reason
        if action is Action.EDIT and ref.status not in policy.DESIGN and not refused:
            refused = "it is deployed: change it live (ops are queued as mutations)"
        if refused:
            raise NotEditable(
                f"topology {name!r} ({ref.status}) cannot be {_PAST[action]} now: {refused}",
                hint=_HINT[action].format(name=name),
            )
        return ref

    def transition(
        self,
        name: str,
        to: Status | str,
        *,
        reason: str,
        expected_from: Status | str | None = None,
    ) -> Topology:
        """Compare-and-set the status; status_event + event in the same transaction."""
        wanted = Status(to)
        with self.transaction() as conn:
            ref = topologies.find(conn, name)
            current = ref.status
            if expected_from is not None and current != Status(expected_from):
                why = f"expected {Status(expected_from)}"
                raise IllegalTransition(name, current, wanted, why)
            if wanted not in TRANSITIONS[current]:
                raise IllegalTransition(name, current, wanted, reason)
            now = self._now()
            cursor = conn.execute(
                "UPDATE topology SET status = ?, status_changed_at = ? "
                "WHERE name = ? AND status = ?",
                (wanted, now, name, current),
            )
            if cursor.rowcount != 1:  # lost a race; the transaction rolls back
                raise IllegalTransition(name, current, wanted, "status changed concurrently")
            conn.execute(
                "INSERT INTO status_event (topology_id, from_status, to_status, at, reason) "
                "VALUES (?, ?, ?, ?, ?)",
                (ref.id, current, wanted, now, reason),
            )
            live_round = wanted is Status.DEPLOYING and current in policy.MUTABLE
            verdicts = policy.actions(wanted, live_round=live_round)
            payload = ev.TopologyStatus(from_=current, to=wanted, reason=reason, actions=verdicts)
            self._event(conn, payload, name, ref.id, now)
            return self.get_topology(name)

    def set_needs_resync(self, name: str, value: bool) -> None:
        """Operational flag (drift found / resynced): not a design change, no version bump."""
        with self.transaction() as conn:
            ref = topologies.find(conn, name)
            conn.execute("UPDATE topology SET needs_resync = ? WHERE id = ?", (value, ref.id))

    def status_events(self, name: str, limit: int = 20) -> list[StatusEventRow]:
        """The last `limit` status changes of a topology, newest first."""
        ref = topologies.find(self.conn, name)
        rows = self.conn.execute(
            "SELECT from_status, to_status, at, reason FROM status_event "
            "WHERE topology_id = ? ORDER BY id DESC LIMIT ?",
            (ref.id, limit),
        )
        return [StatusEventRow(from_status=f, to_status=t, at=at, reason=r) for f, t, at, r in rows]

    def hash_key(self) -> bytes:
        """The per-database key under which secret values enter the desired hash (SPEC §5)."""
        row = self.conn.execute("SELECT value FROM setting WHERE key = 'hash_key'").fetchone()
        if row is None:
            raise StoreError(
                f"database {str(self.path)!r} has no hash key",
                hint="the database is damaged; restore it from a backup",
            )
        return bytes.fromhex(row[0])

    # --- events --------------------------------------------------------------------------

    def append_event(self, payload: EventPayload, *, topology: str | None = None) -> int:
        """Append one event (its type and topic come with the payload's class)."""
        with self.transaction() as conn:
            row = conn.execute("SELECT id FROM topology WHERE name = ?", (topology,)).fetchone()
            return self._event(conn, payload, topology, row[0] if row else None)

    def events_since(
        self, after_id: int, *, topology: str | None = None, limit: int = 1000
    ) -> list[EventRow]:
        return events.since(self.conn, after_id, topology, limit)


_PAST = {Action.EDIT: "edited", Action.DELETE: "deleted"}
_HINT = {
    Action.EDIT: "a deployed topology changes live: `decnet mutate {name} OP …`",
    Action.DELETE: "tear it down first (`decnet teardown {name}`) if it is deployed",
}
_LAST_FROM = (
    "SELECT from_status FROM status_event WHERE topology_id = t.id ORDER BY id DESC LIMIT 1"
)


def _marks(values: Iterable[object]) -> str:
    return ", ".join("?" for _ in values)


def _claimed_ports(rows: Iterable[tuple[str, str]]) -> dict[str, str]:
    claimed: dict[str, str] = {}
    for publish, name in rows:
        for entry in json.loads(publish):
            match = PUBLISH_RE.fullmatch(entry)
            if match:  # malformed entries are the validator's business (PUBLISH_INVALID)
                claimed[f"{match['host']}/{match['proto'] or 'tcp'}"] = name
    return claimed


@contextmanager
def _integrity(name: str) -> Iterator[None]:
    """Turn a constraint violation (duplicate IP on a LAN, …) into a domain error."""
    try:
        yield
    except sqlite3.IntegrityError as err:
        # The validator refuses what the schema's constraints do: reaching one is a bug.
        raise InternalError(
            f"topology {shown(name)} violates a database constraint: {err}", hint=_INTEGRITY_HINT
        ) from err
