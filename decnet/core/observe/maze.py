"""What the store's topologies say about sensor sources: the LAN of each decky address (for
attribution) and which sources are retired (their decky is gone, so the host side may remove
them once everything in them is collected). Pure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from decnet.core.observe.base import Placement
from decnet.core.observe.line import SOURCE_RE
from decnet.models import Status, Topology

GONE = frozenset({Status.TORN_DOWN, Status.PENDING})
"""Statuses in which none of a topology's containers run."""


def placements(topologies: Iterable[Topology]) -> dict[tuple[str, str], Placement]:
    """(topology, decky) -> the LAN of each of the decky's addresses."""
    return {
        (t.name, d.name): Placement({m.ip: m.lan for m in d.memberships if m.ip})
        for t in topologies
        for d in t.deckies
    }


def retired(host: str, sources: Iterable[str], topologies: Mapping[str, Topology]) -> list[str]:
    """The sources on `host` whose decky is gone: its topology (known to this store) is torn
    down, not yet deployed, or pinned to another host, or no longer has the decky. A source of a
    topology this store does not know is never retired: another controller may own it."""
    out = []
    for source in sources:
        match = SOURCE_RE.fullmatch(source)
        if match is None:
            continue
        t = topologies.get(match[1])
        if t is None:
            continue
        if t.status in GONE or t.host != host or match[2] not in {d.name for d in t.deckies}:
            out.append(source)
    return sorted(out)
