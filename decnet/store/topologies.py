"""Mapping a `Topology` to rows and back (names <-> ids happens here, at the store's edge).

Persisting builds every row in Python first and then issues one `executemany` per table;
loading issues one query per table and joins in Python. Both avoid per-row round trips, which
dominate at 10,000 deckies.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from decnet.errors import InvalidTopology, NotFound
from decnet.models import Decky, Issue, Lan, Membership, Status, Topology

_ALLOCATE_HINT = "allocate the topology first (decnet.core.allocate.allocate) and validate it"

LAN_INSERT = (
    "INSERT INTO lan (id, topology_id, name, subnet, is_dmz, allow_public, x, y, w, h) "
    "VALUES (?,?,?,?,?,?,?,?,?,?)"
)
DECKY_INSERT = (
    "INSERT INTO decky (id, topology_id, name, home_lan_id, services, service_config, "
    "archetype, forwards_l3, publish, x, y) VALUES (?,?,?,?,?,?,?,?,?,?,?)"
)
MEMBERSHIP_INSERT = "INSERT INTO membership (decky_id, lan_id, ip) VALUES (?,?,?)"


def new_id() -> str:
    return uuid.uuid4().hex


def dumps(value: Any) -> str:
    """Compact JSON; keys keep their order so service order and config order survive."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


@dataclass(frozen=True)
class TopologyRef:
    """The parent row as a write sees it: what the version and status checks need."""

    id: str
    name: str
    status: Status
    version: int


def find(conn: sqlite3.Connection, name: str) -> TopologyRef:
    row = conn.execute(
        "SELECT id, status, version FROM topology WHERE name = ?", (name,)
    ).fetchone()
    if row is None:
        raise NotFound(f"topology {name!r} not found", hint="run `decnet topology list`")
    return TopologyRef(row[0], name, Status(row[1]), row[2])


@dataclass
class ChildRows:
    lans: list[tuple[Any, ...]]
    deckies: list[tuple[Any, ...]]
    memberships: list[tuple[str, str, str]]


def child_rows(
    t: Topology, topology_id: str, known_ids: Mapping[tuple[str, str], str] | None = None
) -> ChildRows:
    """Every lan/decky/membership row of `t`; `known_ids` keeps ids stable across a replace."""
    known = known_ids or {}
    lan_ids = {lan.name: known.get(("lan", lan.name)) or new_id() for lan in t.lans}
    lans = [_lan_row(lan, lan_ids[lan.name], topology_id) for lan in t.lans]
    deckies: list[tuple[Any, ...]] = []
    memberships: list[tuple[str, str, str]] = []
    json_cache: dict[tuple[str, ...], str] = {}
    for decky in t.deckies:
        decky_id = known.get(("decky", decky.name)) or new_id()
        deckies.append(_decky_row(decky, decky_id, topology_id, lan_ids, json_cache))
        memberships.extend(_membership_rows(decky, decky_id, lan_ids))
    return ChildRows(lans, deckies, memberships)


def _lan_row(lan: Lan, lan_id: str, topology_id: str) -> tuple[Any, ...]:
    if lan.subnet is None:
        raise _unstorable("SUBNET_INVALID", f"lans[{lan.name}].subnet", "the subnet is not set")
    return (
        lan_id, topology_id, lan.name, lan.subnet, lan.is_dmz, lan.allow_public,
        lan.x, lan.y, lan.w, lan.h,
    )  # fmt: skip


def _decky_row(
    decky: Decky,
    decky_id: str,
    topology_id: str,
    lan_ids: Mapping[str, str],
    json_cache: dict[tuple[str, ...], str],
) -> tuple[Any, ...]:
    home = _lan_id(lan_ids, decky.home_lan, f"deckies[{decky.name}].home_lan", "DECKY_NO_LAN")
    # Most deckies share a service list; caching its JSON saves thousands of dumps.
    key = tuple(decky.services)
    services = json_cache.get(key)
    if services is None:
        services = json_cache[key] = dumps(decky.services)
    config = dumps(decky.service_config) if decky.service_config else "{}"
    publish = dumps(decky.publish) if decky.publish else "[]"
    return (
        decky_id, topology_id, decky.name, home, services, config,
        decky.archetype, decky.forwards_l3, publish, decky.x, decky.y,
    )  # fmt: skip


def _membership_rows(
    decky: Decky, decky_id: str, lan_ids: Mapping[str, str]
) -> list[tuple[str, str, str]]:
    rows = []
    for i, m in enumerate(decky.memberships):
        where = f"deckies[{decky.name}].memberships[{i}]"
        if m.ip is None:
            raise _unstorable("IP_MISSING", f"{where}.ip", "the IP is not set")
        lan_id = _lan_id(lan_ids, m.lan, f"{where}.lan", "MEMBERSHIP_UNKNOWN_LAN")
        rows.append((decky_id, lan_id, m.ip))
    return rows


def _lan_id(lan_ids: Mapping[str, str], name: str, where: str, code: str) -> str:
    try:
        return lan_ids[name]
    except KeyError:
        message = f"names LAN {name!r}, which the topology does not have"
        raise _unstorable(code, where, message) from None


def _unstorable(code: str, path: str, message: str) -> InvalidTopology:
    """What the caller should have allocated or validated away, as the validator says it."""
    err = InvalidTopology([Issue(code=code, path=path, message=message)])
    err.hint = _ALLOCATE_HINT
    return err


def write_children(conn: sqlite3.Connection, rows: ChildRows) -> None:
    conn.executemany(LAN_INSERT, rows.lans)
    conn.executemany(DECKY_INSERT, rows.deckies)
    conn.executemany(MEMBERSHIP_INSERT, rows.memberships)


def replace_children(conn: sqlite3.Connection, topology_id: str, t: Topology) -> None:
    """Replace the LANs, deckies and memberships of a topology by `t`'s (ids kept by name)."""
    rows = child_rows(t, topology_id, child_ids(conn, topology_id))
    # Deckies first: their home_lan_id references the LANs.
    conn.execute("DELETE FROM decky WHERE topology_id = ?", (topology_id,))
    conn.execute("DELETE FROM lan WHERE topology_id = ?", (topology_id,))
    write_children(conn, rows)


def child_ids(conn: sqlite3.Connection, topology_id: str) -> dict[tuple[str, str], str]:
    ids = {("lan", n): i for i, n in conn.execute(_IDS.format("lan"), (topology_id,))}
    ids.update({("decky", n): i for i, n in conn.execute(_IDS.format("decky"), (topology_id,))})
    return ids


_IDS = "SELECT id, name FROM {} WHERE topology_id = ?"


# --- loading ---------------------------------------------------------------------------------
# Rows come from our own schema, so models are built with `model_construct` (no re-validation):
# at 10,000 deckies validation would cost more than the queries.


def load(conn: sqlite3.Connection, name: str) -> Topology:
    head = conn.execute(
        "SELECT id, status, version, target_host, config, images, needs_resync, created_at, "
        "status_changed_at FROM topology WHERE name = ?",
        (name,),
    ).fetchone()
    if head is None:
        raise NotFound(f"topology {name!r} not found", hint="run `decnet topology list`")
    topology_id = head[0]
    lans, lan_names = _load_lans(conn, topology_id)
    return Topology.model_construct(
        name=name,
        status=Status(head[1]),
        version=head[2],
        host=head[3],
        config=json.loads(head[4]),
        images=json.loads(head[5]),
        needs_resync=bool(head[6]),
        lans=lans,
        deckies=_load_deckies(conn, topology_id, lan_names),
        created_at=head[7],
        status_changed_at=head[8],
    )


def _load_lans(conn: sqlite3.Connection, topology_id: str) -> tuple[list[Lan], dict[str, str]]:
    lans: list[Lan] = []
    names: dict[str, str] = {}
    rows = conn.execute(
        "SELECT id, name, subnet, is_dmz, allow_public, x, y, w, h FROM lan "
        "WHERE topology_id = ? ORDER BY rowid",
        (topology_id,),
    )
    for lan_id, name, subnet, is_dmz, allow_public, x, y, w, h in rows:
        names[lan_id] = name
        lans.append(
            Lan.model_construct(
                name=name,
                subnet=subnet,
                is_dmz=bool(is_dmz),
                allow_public=bool(allow_public),
                x=x,
                y=y,
                w=w,
                h=h,
            )
        )
    return lans, names


def _load_deckies(
    conn: sqlite3.Connection, topology_id: str, lan_names: Mapping[str, str]
) -> list[Decky]:
    members: dict[str, list[Membership]] = {}
    for decky_id, lan_id, ip in conn.execute(
        "SELECT m.decky_id, m.lan_id, m.ip FROM decky d JOIN membership m ON m.decky_id = d.id "
        "WHERE d.topology_id = ? ORDER BY m.rowid",
        (topology_id,),
    ):
        member = Membership.model_construct(lan=lan_names[lan_id], ip=ip)
        members.setdefault(decky_id, []).append(member)
    services_cache: dict[str, list[str]] = {}
    rows = conn.execute(
        "SELECT id, name, home_lan_id, services, service_config, archetype, forwards_l3, "
        "publish, x, y FROM decky WHERE topology_id = ? ORDER BY rowid",
        (topology_id,),
    )
    return [_decky(row, lan_names, members, services_cache) for row in rows]


def _decky(
    row: tuple[Any, ...],
    lan_names: Mapping[str, str],
    members: Mapping[str, list[Membership]],
    services_cache: dict[str, list[str]],
) -> Decky:
    decky_id, name, home, services, config, archetype, forwards, publish, x, y = row
    if services not in services_cache:
        services_cache[services] = json.loads(services)
    return Decky.model_construct(
        name=name,
        home_lan=lan_names[home],
        memberships=members.get(decky_id, []),
        # Copy: a shared list would let one decky's edit leak into its neighbours.
        services=list(services_cache[services]),
        service_config=json.loads(config) if config != "{}" else {},
        archetype=archetype,
        forwards_l3=bool(forwards),
        publish=json.loads(publish) if publish != "[]" else [],
        x=x,
        y=y,
    )
