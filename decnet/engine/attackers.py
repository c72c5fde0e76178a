"""The attacker's view (docs/observe.md): who touched the maze, where, in which order, and
what they did — the library calls behind `decnet attackers` and `/api/v1/attackers`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from decnet.core.observe.attackers import (
    Attacker,
    AttackerDetail,
    DeckyActivity,
    paths,
    sessions,
)
from decnet.core.observe.base import address
from decnet.errors import InvalidRequest, NotFound, UsageError
from decnet.store import Store
from decnet.store import db as dbmod
from decnet.store.rows import EventRow

MAX_ATTACKERS = 1000
FEED = 500
"""Attack events of a topology's activity sent at most (the newest)."""
TIMELINE = 5000
"""Events of one source shown at most (the newest)."""


def source_address(text: str, *, field: str | None = None) -> str:
    """`text` as an IP address (how the store keys sources), or a usage error."""
    found = address(text.strip())
    if found is None:
        message = f"{text[:60]!r} is not an IP address"
        hint = "give the source address as `decnet attackers` lists it, e.g. 10.0.0.7"
        if field is not None:
            raise InvalidRequest(message, field=field, hint=hint)
        raise UsageError(message, hint=hint)
    return found


def list_attackers(
    store: Store,
    *,
    topology: str | None = None,
    since: timedelta | None = None,
    limit: int = MAX_ATTACKERS,
    now: datetime | None = None,
) -> list[Attacker]:
    """One row per source address, the most recently active first."""
    moment = now or datetime.now(UTC)
    after = dbmod.iso(moment - since) if since is not None else None
    counts = store.attacker_counts(topology=topology, since=after, limit=limit)
    stops = paths(store.attacker_stops([c[0] for c in counts], topology=topology, since=after))
    return [
        Attacker(
            src_ip=ip, first_seen=first, last_seen=last, events=events, path=stops.get(ip, []),
            logins=logins, logins_succeeded=ok, commands=commands, downloads=downloads,
        )
        for ip, first, last, events, logins, ok, commands, downloads in counts
    ]  # fmt: skip


def attacker(store: Store, ip: str, *, limit: int = TIMELINE) -> AttackerDetail:
    """One source: its summary and its timeline, session by session."""
    counts = store.attacker_counts_of(ip)
    if counts is None:
        raise NotFound(
            f"no attack event from {ip}", hint="`decnet attackers` lists the sources seen"
        )
    _, first, last, events, logins, ok, commands, downloads = counts
    summary = Attacker(
        src_ip=ip, first_seen=first, last_seen=last, events=events,
        path=paths(store.attacker_stops([ip])).get(ip, []), logins=logins,
        logins_succeeded=ok, commands=commands, downloads=downloads,
    )  # fmt: skip
    rows = store.attacker_events(ip, limit=limit)
    wire = [r.model_dump(mode="json") for r in rows]
    return AttackerDetail(attacker=summary, sessions=sessions(wire), truncated=events > len(rows))


def topology_activity(
    store: Store,
    topology: str,
    *,
    since: timedelta | None = None,
    limit: int = FEED,
    now: datetime | None = None,
) -> tuple[list[DeckyActivity], list[EventRow], int]:
    """What the editor's activity view starts from: each attacked decky's count and newest time
    in the window, the newest `limit` attack events (newest first), and the newest event id
    when it was read (the stream's events after it are news)."""
    moment = now or datetime.now(UTC)
    after = dbmod.iso(moment - since) if since is not None else None
    counts, events, latest = store.topology_activity(topology, since=after, limit=limit)
    deckies = [DeckyActivity(decky=d, events=n, last_at=last) for d, n, last in counts]
    return deckies, events, latest
