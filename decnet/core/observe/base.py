"""What every normaliser shares: the fields of the maze and of the wire, built once per line.

A sensor's event names the connection's addresses in its own words (cowrie `src_ip`,
OpenCanary `src_host`); the normaliser hands them to `Base.make`, which checks them (an
address must parse as one, a port must be a port), attributes the LAN from the destination
address, and fills in what every attack event carries: topology, host, decky, service,
session, sensor, time, the line's reference and the raw line (capped).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, TypeVar

from decnet.core.observe.line import Origin, SensorLine, safe, text
from decnet.events import RAW, SHORT, AttackEvent

E = TypeVar("E", bound=AttackEvent)
UNKNOWN_SERVICE = "unknown"
UNSPECIFIED = ("0.0.0.0", "::")


@dataclass(frozen=True)
class Placement:
    """What the store knows of one decky: the LAN of each of its addresses."""

    lans: Mapping[str, str] = field(default_factory=dict)
    """Address -> LAN name."""
    only: str | None = field(init=False, default=None)
    """The decky's LAN when it has exactly one."""

    def __post_init__(self) -> None:
        names = set(self.lans.values())
        object.__setattr__(self, "only", names.pop() if len(names) == 1 else None)

    def lan_of(self, dst_ip: str | None) -> str | None:
        """The LAN of `dst_ip`; without one (a UDP socket bound to the wildcard), the decky's
        only LAN when it has exactly one."""
        if dst_ip is not None and dst_ip in self.lans:
            return self.lans[dst_ip]
        return self.only


_IPV4 = re.compile(r"(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}"
                   r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])")  # fmt: skip
"""A dotted quad as `ipaddress` writes one (no leading zeros): the common case, checked fast."""


def address(value: Any) -> str | None:
    """An IP address as text (IPv4-mapped IPv6 as IPv4), or None for anything else."""
    if not isinstance(value, str) or not 2 <= len(value) <= 64:
        return None
    if _IPV4.fullmatch(value):
        return value
    return _address(value)


@lru_cache(maxsize=4096)
def _address(value: str) -> str | None:
    try:
        ip = ipaddress.ip_address(value.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    return str(ip)


def port(value: Any) -> int | None:
    return value if type(value) is int and 0 <= value <= 65535 else None


def pick(doc: Mapping[str, Any], *keys: str) -> Any:
    """The first of `keys` present (and not None) in `doc`."""
    for key in keys:
        value = doc.get(key)
        if value is not None:
            return value
    return None


@dataclass(frozen=True, slots=True)
class Base:
    origin: Origin
    line: SensorLine
    placement: Placement

    def make(
        self,
        cls: type[E],
        *,
        src_ip: Any,
        src_port: Any = None,
        dst_ip: Any = None,
        dst_port: Any = None,
        **fields: Any,
    ) -> E | None:
        """One attack event of `cls`, or None when the line names no valid source address
        (a sensor-level line, or one that breaks the format): nothing to attribute."""
        source = address(src_ip)
        if source is None:
            return None
        destination = address(dst_ip)
        if destination in UNSPECIFIED:  # a wildcard socket's own address: no destination
            destination = None
        line = self.line
        return cls(
            topology=self.origin.topology,
            host=self.origin.host,
            decky=self.origin.decky,
            lan=self.placement.lan_of(destination),
            service=line.service or UNKNOWN_SERVICE,
            src_ip=source,
            src_port=port(src_port),
            dst_ip=destination,
            dst_port=port(dst_port),
            session=line.session,
            sensor=line.sensor,
            observed_at=line.at,
            line=self.origin.ref(line.epoch, line.seq),
            raw=safe(line.text, RAW),
            **fields,
        )


def short(value: Any, cap: int = SHORT) -> str | None:
    return text(value, cap)
