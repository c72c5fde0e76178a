"""Numbered schema migrations (SPEC §2).

Each migration runs in its own transaction and is recorded in `schema_migration`. Never edit a
released migration: append a new one. `executescript` is not used because it commits implicitly,
which would break the one-transaction-per-migration guarantee.
"""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Migration:
    number: int
    name: str
    apply: Callable[[sqlite3.Connection], None]


def _sql(*statements: str) -> Callable[[sqlite3.Connection], None]:
    def apply(conn: sqlite3.Connection) -> None:
        for statement in statements:
            conn.execute(statement)

    return apply


_INITIAL = _sql(
    """CREATE TABLE topology (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        status TEXT NOT NULL,
        version INTEGER NOT NULL DEFAULT 1,
        target_host TEXT NOT NULL,
        config TEXT NOT NULL DEFAULT '{}',
        images TEXT NOT NULL DEFAULT '{}',
        needs_resync INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        status_changed_at TEXT NOT NULL
    )""",
    "CREATE INDEX topology_host ON topology (target_host, status)",
    """CREATE TABLE lan (
        id TEXT PRIMARY KEY,
        topology_id TEXT NOT NULL REFERENCES topology (id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        subnet TEXT NOT NULL,
        is_dmz INTEGER NOT NULL DEFAULT 0,
        x REAL, y REAL, w REAL, h REAL,
        UNIQUE (topology_id, name)
    )""",
    """CREATE TABLE decky (
        id TEXT PRIMARY KEY,
        topology_id TEXT NOT NULL REFERENCES topology (id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        home_lan_id TEXT NOT NULL REFERENCES lan (id),
        services TEXT NOT NULL DEFAULT '[]',
        service_config TEXT NOT NULL DEFAULT '{}',
        archetype TEXT,
        forwards_l3 INTEGER NOT NULL DEFAULT 0,
        publish TEXT NOT NULL DEFAULT '[]',
        x REAL, y REAL,
        UNIQUE (topology_id, name)
    )""",
    # FK child columns need their own index, or every parent delete scans the child table.
    "CREATE INDEX decky_home_lan ON decky (home_lan_id)",
    # A rowid table on purpose: rowid order is insertion order, which keeps each decky's
    # memberships in the order the model lists them.
    """CREATE TABLE membership (
        decky_id TEXT NOT NULL REFERENCES decky (id) ON DELETE CASCADE,
        lan_id TEXT NOT NULL REFERENCES lan (id) ON DELETE CASCADE,
        ip TEXT NOT NULL,
        PRIMARY KEY (decky_id, lan_id),
        UNIQUE (lan_id, ip)
    )""",
    """CREATE TABLE status_event (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        topology_id TEXT NOT NULL REFERENCES topology (id) ON DELETE CASCADE,
        from_status TEXT NOT NULL,
        to_status TEXT NOT NULL,
        at TEXT NOT NULL,
        reason TEXT NOT NULL DEFAULT ''
    )""",
    "CREATE INDEX status_event_topology ON status_event (topology_id, id)",
    """CREATE TABLE mutation (
        id TEXT PRIMARY KEY,
        topology_id TEXT NOT NULL REFERENCES topology (id) ON DELETE CASCADE,
        op TEXT NOT NULL,
        payload TEXT NOT NULL DEFAULT '{}',
        state TEXT NOT NULL DEFAULT 'pending',
        requested_at TEXT NOT NULL,
        started_at TEXT,
        finished_at TEXT,
        reason TEXT,
        lease_owner TEXT,
        lease_expires_at TEXT
    )""",
    "CREATE INDEX mutation_state ON mutation (state, topology_id)",
    "CREATE INDEX mutation_topology ON mutation (topology_id)",
    # No FK on topology_id: events outlive a deleted topology, so the name is kept as well.
    """CREATE TABLE event (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at TEXT NOT NULL,
        topic TEXT NOT NULL,
        topology_id TEXT,
        topology TEXT,
        type TEXT NOT NULL,
        payload TEXT NOT NULL DEFAULT '{}'
    )""",
    "CREATE INDEX event_topology_id ON event (topology_id, id)",
    "CREATE INDEX event_topology ON event (topology, id)",
    """CREATE TABLE run (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        hosts TEXT NOT NULL DEFAULT '[]',
        topologies TEXT NOT NULL DEFAULT '[]',
        status TEXT NOT NULL,
        owner TEXT NOT NULL,
        lease_expires_at TEXT,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        stats TEXT NOT NULL DEFAULT '{}',
        artifact_dir TEXT NOT NULL,
        error TEXT
    )""",
    "CREATE INDEX run_started ON run (started_at)",
    """CREATE TABLE host_report (
        host TEXT PRIMARY KEY,
        report TEXT NOT NULL DEFAULT '{}',
        gathered_at TEXT NOT NULL,
        reachable INTEGER NOT NULL,
        error TEXT
    )""",
)


def _live_half(conn: sqlite3.Connection) -> None:
    _sql(
        # Site-wide values that belong to this database, such as the hash key (SPEC §5).
        "CREATE TABLE setting (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        # One mutation row is one batch of ops (payload = {"ops": [...]}), applied all or none.
        "ALTER TABLE mutation ADD COLUMN version INTEGER",
        "ALTER TABLE mutation ADD COLUMN issues TEXT",
        "ALTER TABLE mutation ADD COLUMN accepted_at TEXT",
        "ALTER TABLE mutation ADD COLUMN snapshot TEXT",
        "ALTER TABLE mutation ADD COLUMN run_id TEXT",
        "CREATE INDEX mutation_topology_state ON mutation (topology_id, state)",
        # API tokens: only a hash of the token is kept; the token itself is shown once.
        """CREATE TABLE api_token (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            role TEXT NOT NULL,
            token_hash TEXT NOT NULL UNIQUE,
            created_at TEXT NOT NULL,
            expires_at TEXT,
            revoked_at TEXT,
            last_used_at TEXT
        )""",
        "CREATE INDEX event_at ON event (at)",
    )(conn)
    # The per-database key that secret values enter the desired hash under (an HMAC): made
    # with the database, never printed.
    conn.execute(
        "INSERT INTO setting (key, value) VALUES ('hash_key', ?)", (secrets.token_hex(32),)
    )


_ALLOW_PUBLIC = _sql(
    # A LAN may use a non-RFC-1918 subnet only when it says so (validation: SUBNET_NOT_PRIVATE).
    "ALTER TABLE lan ADD COLUMN allow_public INTEGER NOT NULL DEFAULT 0",
)

_CANVAS_LOW = {"x": "-1e7", "y": "-1e7", "w": "0", "h": "0"}
_CANVAS_BOUNDS = _sql(
    # Ops once let canvas values through that the layout route refused (-1e308, negative
    # sizes); the editor drew a blank canvas from them. Cleared, it places those boxes anew.
    # The bound is written out: it is what held when this migration was released.
    *(
        f"UPDATE {table} SET {c} = NULL WHERE {c} NOT BETWEEN {_CANVAS_LOW[c]} AND 1e7"
        for table, columns in (("lan", "xywh"), ("decky", "xy"))
        for c in columns
    ),
)


_COLLECTION = _sql(
    # One row per attack event, written in the event's transaction: the columns the attacker
    # views group and filter on, so they never parse payloads. UNIQUE (line, type) makes
    # collection idempotent: a sensor line yields at most one event of each type.
    """CREATE TABLE attack (
        event_id INTEGER PRIMARY KEY REFERENCES event (id) ON DELETE CASCADE,
        line TEXT NOT NULL,
        type TEXT NOT NULL,
        observed_at TEXT NOT NULL,
        topology TEXT NOT NULL,
        host TEXT NOT NULL,
        decky TEXT NOT NULL,
        lan TEXT,
        service TEXT NOT NULL,
        src_ip TEXT NOT NULL,
        dst_port INTEGER,
        session TEXT,
        outcome TEXT,
        UNIQUE (line, type)
    )""",
    "CREATE INDEX attack_source ON attack (src_ip, observed_at)",
    "CREATE INDEX attack_observed ON attack (observed_at)",
    # The collector's cursor per source directory of a host, committed with the events the
    # lines produced; and what the host side last reported about the source.
    """CREATE TABLE collect_source (
        host TEXT NOT NULL,
        source TEXT NOT NULL,
        epoch TEXT NOT NULL,
        seq INTEGER NOT NULL,
        committed_at TEXT NOT NULL,
        last_line_at TEXT,
        lines INTEGER NOT NULL DEFAULT 0,
        gaps INTEGER NOT NULL DEFAULT 0,
        missing INTEGER NOT NULL DEFAULT 0,
        written_epoch TEXT,
        written_seq INTEGER,
        reported_at TEXT,
        sensor_kind TEXT,
        sensor_at TEXT,
        sensor_detail TEXT,
        PRIMARY KEY (host, source)
    )""",
    # Each host's stream: who collects it (a lease, so two collectors never stream one host)
    # and how it is doing.
    """CREATE TABLE collect_host (
        host TEXT PRIMARY KEY,
        owner TEXT,
        lease_expires_at TEXT,
        state TEXT NOT NULL DEFAULT 'down',
        state_since TEXT,
        last_frame_at TEXT,
        host_time TEXT,
        error TEXT,
        stalled_since TEXT,
        updated_at TEXT NOT NULL
    )""",
)


_OUTPUTS = _sql(
    # Outputs for the SOC (decnet/store/outputs.py): `id` is one incarnation of a name, so a
    # worker of a removed output never writes into the row of a new one of the same name.
    # `secret` (a webhook's URL, key and header values) is read only to deliver, never shown.
    """CREATE TABLE output (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL,
        spec TEXT NOT NULL,
        secret TEXT NOT NULL DEFAULT '{}',
        cursor INTEGER NOT NULL,
        created_at TEXT NOT NULL,
        delivered INTEGER NOT NULL DEFAULT 0,
        failed INTEGER NOT NULL DEFAULT 0,
        dropped INTEGER NOT NULL DEFAULT 0,
        lost INTEGER NOT NULL DEFAULT 0,
        failures INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        last_error_at TEXT,
        last_delivered_at TEXT,
        lease_owner TEXT,
        lease_expires_at TEXT
    )""",
)


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "initial schema", _INITIAL),
    Migration(2, "live half: settings, mutation batches, api tokens", _live_half),
    Migration(3, "lan.allow_public", _ALLOW_PUBLIC),
    Migration(4, "collection: attack index, cursors, host streams", _COLLECTION),
    Migration(5, "canvas values inside the canvas bound", _CANVAS_BOUNDS),
    Migration(6, "outputs for the SOC", _OUTPUTS),
)
"""Every migration this version of decnet knows, in order; numbers are 1..N without gaps."""

LATEST = MIGRATIONS[-1].number
