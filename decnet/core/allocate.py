"""Subnet and IP allocation (SPEC §4): pure and deterministic.

Addresses are handled as plain ints in the hot loops: building an `ipaddress` object per host
costs microseconds, and a 10,000-decky topology allocates tens of thousands of them.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Iterator, Mapping, Sequence

from decnet.errors import AllocationError, UsageError
from decnet.models import Decky, Lan, Topology

DEFAULT_POOL = "10.192.0.0/12"
"""4096 /24s, outside Docker's default pools (172.17-31/16, 192.168/16) and the testbed's."""

_BLOCK = 256  # one /24
_FIRST_HOST = 2  # .0 is the network, .1 the bridge gateway Docker takes


def ip_to_int(text: str) -> int | None:
    """Dotted-quad to int, or None when `text` is not a canonical IPv4 address.

    Hand-rolled because `ipaddress.IPv4Address` is several times slower and the validator and
    allocator parse one address per membership.
    """
    parts = text.split(".")
    if len(parts) != 4:
        return None
    value = 0
    for part in parts:
        if not (part.isascii() and part.isdigit()) or (len(part) > 1 and part[0] == "0"):
            return None
        octet = int(part)
        if octet > 255:
            return None
        value = (value << 8) | octet
    return value


def int_to_ip(value: int) -> str:
    return f"{value >> 24}.{(value >> 16) & 255}.{(value >> 8) & 255}.{value & 255}"


def parse_subnet(text: str) -> tuple[int, int] | None:
    """A canonical IPv4 CIDR as the half-open int range [network, broadcast + 1), else None."""
    try:
        net = ipaddress.IPv4Network(text, strict=True)
    except (ValueError, TypeError):
        return None
    if str(net) != text:
        return None
    start = int(net.network_address)
    return start, start + net.num_addresses


def _parse_pool(pool: str) -> tuple[int, int]:
    span = parse_subnet(pool)
    if span is None or span[1] - span[0] < _BLOCK:
        raise UsageError(
            f"subnet pool {pool!r} is not an IPv4 CIDR of /24 or larger",
            hint=f"give a private range such as {DEFAULT_POOL}",
        )
    return span


def _merged(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def _free_blocks(pool: tuple[int, int], used: list[tuple[int, int]]) -> Iterator[int]:
    """Start addresses of the /24s of `pool` that overlap nothing in `used` (merged, sorted)."""
    cursor, pool_end = pool
    for start, end in used:
        while cursor + _BLOCK <= min(start, pool_end):
            yield cursor
            cursor += _BLOCK
        # Jump past the used span, rounded up to the next /24 boundary of the pool.
        cursor = max(cursor, pool[0] + -(-(end - pool[0]) // _BLOCK) * _BLOCK)
    while cursor + _BLOCK <= pool_end:
        yield cursor
        cursor += _BLOCK


def _used_spans(lans: Sequence[Lan], reserved: Iterable[str]) -> list[tuple[int, int]]:
    spans = [parse_subnet(s) for s in reserved]
    spans += [parse_subnet(lan.subnet) for lan in lans if lan.subnet is not None]
    return _merged(s for s in spans if s is not None)


def _assign_subnets(lans: Sequence[Lan], pool: str, reserved: Iterable[str]) -> None:
    free = _free_blocks(_parse_pool(pool), _used_spans(lans, reserved))
    for lan in lans:
        if lan.subnet is not None:
            continue
        start = next(free, None)
        if start is None:
            raise AllocationError(
                f"subnet pool {pool} has no free /24 left for LAN {lan.name!r}",
                hint="use a larger --subnet-pool, fewer LANs, or tear down topologies on this host",
            )
        lan.subnet = f"{int_to_ip(start)}/24"


class _LanHosts:
    """Hands out the free host addresses of one LAN in ascending order, skipping pinned ones."""

    def __init__(self, lan: Lan, span: tuple[int, int]) -> None:
        self.lan = lan
        self.cursor = span[0] + _FIRST_HOST
        self.last = span[1] - 2  # the broadcast address is span[1] - 1
        self.taken: set[int] = set()

    def next(self) -> str:
        while self.cursor in self.taken:
            self.cursor += 1
        if self.cursor > self.last:
            raise AllocationError(
                f"LAN {self.lan.name!r} ({self.lan.subnet}) has no free host address left",
                hint="give the LAN a larger subnet or move deckies to another LAN",
            )
        self.cursor += 1
        return int_to_ip(self.cursor - 1)


def _host_allocators(
    lans: Sequence[Lan], deckies: Sequence[Decky], avoid: Mapping[str, Iterable[str]]
) -> dict[str, _LanHosts]:
    hosts: dict[str, _LanHosts] = {}
    for lan in lans:
        span = parse_subnet(lan.subnet) if lan.subnet is not None else None
        if span is not None and lan.name not in hosts:
            hosts[lan.name] = _LanHosts(lan, span)
            avoided = (ip_to_int(ip) for ip in avoid.get(lan.name, ()))
            hosts[lan.name].taken.update(v for v in avoided if v is not None)
    for decky in deckies:
        for m in decky.memberships:
            pinned = ip_to_int(m.ip) if m.ip is not None else None
            if pinned is not None and m.lan in hosts:
                hosts[m.lan].taken.add(pinned)
    return hosts


def allocate_in_place(
    topology: Topology,
    *,
    pool: str = DEFAULT_POOL,
    reserved_subnets: Iterable[str] = (),
    avoid_ips: Mapping[str, Iterable[str]] | None = None,
) -> None:
    """`allocate` for a caller that owns `topology` outright (e.g. one it just built)."""
    _assign_subnets(topology.lans, pool, reserved_subnets)
    hosts = _host_allocators(topology.lans, topology.deckies, avoid_ips or {})
    for decky in topology.deckies:
        for m in decky.memberships:
            if m.ip is None and m.lan in hosts:
                m.ip = hosts[m.lan].next()


def _copy_decky(decky: Decky) -> Decky:
    # Field by field: deepcopy of 10,000 models costs more than the whole allocation.
    copy = decky.model_copy()
    copy.memberships = [m.model_copy() for m in decky.memberships]
    copy.services = list(decky.services)
    copy.service_config = {k: dict(v) for k, v in decky.service_config.items()}
    copy.publish = list(decky.publish)
    return copy


def copy_topology(topology: Topology) -> Topology:
    """A copy whose LANs, deckies and their lists can be edited without touching `topology`."""
    copy = topology.model_copy()
    copy.lans = [lan.model_copy() for lan in topology.lans]
    copy.deckies = [_copy_decky(d) for d in topology.deckies]
    copy.config, copy.images = dict(topology.config), dict(topology.images)
    return copy


def allocate(
    topology: Topology,
    *,
    pool: str = DEFAULT_POOL,
    reserved_subnets: Iterable[str] = (),
    avoid_ips: Mapping[str, Iterable[str]] | None = None,
) -> Topology:
    """A copy of `topology` with every missing subnet and IP filled in; pinned values kept.

    Subnets are the lowest free /24s of `pool`, skipping `reserved_subnets` (e.g. those claimed
    by other live topologies on the same host) and every subnet the topology already uses. Host
    IPs start at .2 and skip pinned addresses and `avoid_ips` (LAN -> addresses, e.g. those a
    live edit just freed, which Docker may still hold). LANs whose subnet is unparsable are left
    alone for the validator to report.
    """
    copy = copy_topology(topology)
    allocate_in_place(copy, pool=pool, reserved_subnets=reserved_subnets, avoid_ips=avoid_ips)
    return copy
