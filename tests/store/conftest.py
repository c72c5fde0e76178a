"""Fixtures of the store tests: a store on a temp file with a controllable clock, and small
hand-built topologies (fully allocated, as `insert_topology` requires)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from decnet.models import Decky, Lan, Membership, Status, Topology
from decnet.store import Store

MakeTopology = Callable[..., Topology]


class FakeClock:
    def __init__(self) -> None:
        self.now = datetime(2025, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "nested" / "decnet.db"


@pytest.fixture
def store(db_path: Path, clock: FakeClock) -> Iterator[Store]:
    s = Store(db_path, clock=clock)
    yield s
    s.close()


def build_topology(
    name: str = "alpha",
    *,
    host: str = "localhost",
    status: Status = Status.PENDING,
    octet: int = 10,
    publish: list[str] | None = None,
) -> Topology:
    """DMZ + one inner LAN: a gateway, a bridge (two memberships, pinned IPs) and a plain decky."""
    dmz, inner = f"10.{octet}.0.0/24", f"10.{octet}.1.0/24"
    return Topology(
        name=name,
        status=status,
        host=host,
        config={"seed": 7, "depth": 2, "note": "ünïcode"},
        images={"ssh": "registry.example/ssh:1"},
        lans=[
            Lan(name="dmz", subnet=dmz, is_dmz=True, x=0.0, y=0.0, w=400.5, h=300.0),
            Lan(name="inner", subnet=inner, x=500.0, y=10.25),
        ],
        deckies=[
            Decky(
                name="gw",
                home_lan="dmz",
                memberships=[Membership(lan="dmz", ip=f"10.{octet}.0.2")],
                # Deliberately not alphabetical: the order is meaningful and must survive.
                services=["ssh", "http"],
                service_config={"ssh": {"banner": "$HOME", "port": 22, "weak": True}},
                archetype="linux-server",
                publish=publish if publish is not None else ["2222:22", "5353:53/udp"],
                x=12.5,
                y=-3.0,
            ),
            Decky(
                name="bridge",
                home_lan="inner",
                memberships=[
                    Membership(lan="inner", ip=f"10.{octet}.1.2"),
                    Membership(lan="dmz", ip=f"10.{octet}.0.77"),
                ],
                services=["smb"],
                forwards_l3=True,
            ),
            Decky(
                name="db",
                home_lan="inner",
                memberships=[Membership(lan="inner", ip=f"10.{octet}.1.3")],
                services=["mysql", "ssh"],
            ),
        ],
    )


@pytest.fixture
def make_topology() -> MakeTopology:
    return build_topology


@pytest.fixture
def dump(db_path: Path) -> Callable[[], list[str]]:
    """A full SQL dump of the DB file, read through a separate connection."""

    def take() -> list[str]:
        conn = sqlite3.connect(db_path)
        try:
            return list(conn.iterdump())
        finally:
            conn.close()

    return take


def rows_of(db_path: Path, sql: str, *params: object) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(db_path)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


@pytest.fixture
def query(db_path: Path) -> Callable[..., list[tuple[Any, ...]]]:
    return lambda sql, *params: rows_of(db_path, sql, *params)
