"""The attacker's view, shaped from rows the store read: one source's path through the maze
(the deckies and LANs it touched, in order) and its timeline, session by session. Pure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel


class Stop(BaseModel):
    """One step of a source's path: a decky (on a LAN) it touched, and when first."""

    topology: str
    decky: str
    lan: str | None
    first_at: str


class Attacker(BaseModel):
    """One source address and what it did."""

    src_ip: str
    first_seen: str
    last_seen: str
    events: int
    path: list[Stop]
    """Every decky (and LAN) it touched, in the order it first did."""
    logins: int
    """Authentication attempts."""
    logins_succeeded: int
    commands: int
    downloads: int

    @property
    def deckies(self) -> list[str]:
        return _unique(f"{s.topology}/{s.decky}" for s in self.path)

    @property
    def lans(self) -> list[str]:
        return _unique(f"{s.topology}/{s.lan}" for s in self.path if s.lan)


class DeckyActivity(BaseModel):
    """How much one decky was attacked in a window."""

    decky: str
    events: int
    last_at: str
    """Sensor time of its newest attack event."""


class Session(BaseModel):
    """The events of one connection (or one event that has none: a scan)."""

    session: str | None
    topology: str | None
    decky: str | None
    service: str | None
    started_at: str
    ended_at: str
    events: list[dict[str, Any]]
    """Wire events (`id`, `at`, `topic`, `type`, `topology`, `payload`), oldest first."""


class AttackerDetail(BaseModel):
    attacker: Attacker
    sessions: list[Session]
    truncated: bool
    """Only the newest events were read (`limit`): older sessions are left out."""


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def paths(rows: Iterable[Sequence[Any]]) -> dict[str, list[Stop]]:
    """(src_ip, topology, decky, lan, first_at) rows, in any order -> each source's path,
    ordered by first touch (ties by name, so the order is stable)."""
    out: dict[str, list[Stop]] = {}
    for ip, topology, decky, lan, first_at in rows:
        out.setdefault(ip, []).append(
            Stop(topology=topology, decky=decky, lan=lan, first_at=first_at)
        )
    for stops in out.values():
        stops.sort(key=lambda s: (s.first_at, s.topology, s.decky, s.lan or ""))
    return out


def sessions(events: Sequence[Mapping[str, Any]]) -> list[Session]:
    """Wire events grouped by connection, in the order each connection began (sensor time: two
    deckies' lines reach the store in no particular order), each session's events in order."""
    groups: dict[tuple[Any, ...], list[Mapping[str, Any]]] = {}

    def when(r: Mapping[str, Any]) -> tuple[str, int]:
        return str(r["payload"].get("observed_at", r["at"])), int(r["id"])

    for row in sorted(events, key=when):
        p = row["payload"]
        key: tuple[Any, ...] = (
            (p.get("topology"), p.get("decky"), p["session"])
            if p.get("session")
            else ("", row["id"])
        )
        groups.setdefault(key, []).append(row)
    out = []
    for rows in groups.values():
        first = rows[0]["payload"]
        times = [str(r["payload"].get("observed_at", r["at"])) for r in rows]
        out.append(
            Session(
                session=first.get("session"),
                topology=first.get("topology"),
                decky=first.get("decky"),
                service=first.get("service"),
                started_at=min(times),
                ended_at=max(times),
                events=[dict(r) for r in rows],
            )
        )
    return out
