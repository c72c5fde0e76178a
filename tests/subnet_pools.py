"""Subnets for tests that deploy to the shared Docker engine.

Tests on other xdist workers deploy at the same time, and the engine (and decnet's pre-flight)
refuses overlapping subnets, so each worker draws /20s from its own share of 10.224.0.0/12,
away from the default pool (10.192.0.0/12) that demo and generated topologies use. Within its
share a worker starts at random, and a /20 that overlaps a network the engine already holds (an
earlier test's leftovers, a network made by hand) is skipped.
"""

from __future__ import annotations

import ipaddress
import itertools
import os
import random
import subprocess

_RANGE = ipaddress.IPv4Network("10.224.0.0/12")
_SLOTS = list(_RANGE.subnets(new_prefix=20))
_turn = itertools.count(random.randrange(len(_SLOTS)))


def _share() -> list[ipaddress.IPv4Network]:
    workers = max(int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")), 1)
    index = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0) % workers
    size = len(_SLOTS) // workers
    return _SLOTS[index * size : (index + 1) * size]


_SUBNETS = "{{range .IPAM.Config}}{{.Subnet}} {{end}}"


def _engine_subnets() -> list[ipaddress.IPv4Network]:
    ids = subprocess.run(["docker", "network", "ls", "-q"], capture_output=True, text=True).stdout
    if not ids.split():
        return []
    out = subprocess.run(
        ["docker", "network", "inspect", "--format", _SUBNETS, *ids.split()],
        capture_output=True,
        text=True,
    ).stdout
    return [n for n in (_network(s) for s in out.split()) if n is not None]


def _network(text: str) -> ipaddress.IPv4Network | None:
    try:
        return ipaddress.IPv4Network(text, strict=False)
    except ValueError:  # an IPv6 subnet
        return None


def _fresh() -> ipaddress.IPv4Network:
    share = _share()
    taken = _engine_subnets()
    for _ in range(len(share)):
        slot = share[next(_turn) % len(share)]
        if not any(slot.overlaps(net) for net in taken):
            return slot
    raise RuntimeError(f"every /20 of this worker's share of {_RANGE} overlaps an engine network")


def fresh_pool() -> str:
    """A /20 (a subnet pool to allocate from) no other test of this run holds at the same time."""
    return str(_fresh())


def fresh_lans(count: int) -> list[str]:
    """`count` /24s (at most 16) of one fresh /20, for a topology file with pinned subnets."""
    return [str(net) for net in itertools.islice(_fresh().subnets(new_prefix=24), count)]
