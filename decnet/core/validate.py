"""The validator (SPEC §4): every problem of a topology, as data, in one pass.

Each rule is a small generator over a shared, precomputed index, so the whole run stays O(n)
for 10,000 deckies and no rule hides another's findings. Codes live in
`decnet.errors.ISSUE_CODES` and are documented in docs/issue-codes.md.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import accumulate

from decnet.core.allocate import int_to_ip, ip_to_int, parse_subnet
from decnet.core.secrets import MASK, is_secret
from decnet.errors import InvalidTopology
from decnet.models import (
    IMAGE_RE,
    NAME_RE,
    PUBLISH_RE,
    Catalog,
    ConfigValue,
    Decky,
    HostContext,
    Issue,
    Lan,
    ServiceSpec,
    Severity,
    Topology,
)
from decnet.text import shown

MIN_PREFIX = 16
MAX_PREFIX = 29
_WILDCARD = "*"
_TYPES: dict[str, type] = {"str": str, "int": int, "bool": bool}
_ENV_UNSAFE = re.compile("[\x00\ud800-\udfff]")
"""What no container environment carries: NUL (runc refuses to start the container; every
other C0 control reaches it as is — Docker 20.10, compose 2.26), and a lone UTF-16 surrogate
(not UTF-8: neither the database nor a compose file can hold it)."""


def _prefix(span: tuple[int, int]) -> int:
    return 33 - (span[1] - span[0]).bit_length()


@dataclass(frozen=True)
class _Index:
    lans: dict[str, Lan]
    """The first LAN of each name (duplicates are reported, not indexed)."""
    spans: dict[str, tuple[int, int]]
    """LAN name -> [network, broadcast + 1) for every LAN whose subnet is valid."""
    dmz: str | None


def _index(topology: Topology) -> _Index:
    lans: dict[str, Lan] = {}
    spans: dict[str, tuple[int, int]] = {}
    for lan in topology.lans:
        if lan.name in lans:
            continue
        lans[lan.name] = lan
        span = parse_subnet(lan.subnet) if lan.subnet is not None else None
        if span is not None and MIN_PREFIX <= _prefix(span) <= MAX_PREFIX:
            spans[lan.name] = span
    dmz = next((lan.name for lan in topology.lans if lan.is_dmz), None)
    return _Index(lans, spans, dmz)


def _issue(code: str, path: str, message: str, severity: Severity = Severity.ERROR) -> Issue:
    return Issue.model_construct(code=code, severity=severity, message=message, path=path)


Rule = Callable[[Topology, Catalog, HostContext, _Index], Iterator[Issue]]

# --- names -----------------------------------------------------------------------------------

_NAME_FIX = "use lowercase letters, digits and '-', starting with a letter, at most 63 characters"


def check_names(t: Topology, _c: Catalog, _x: HostContext, _i: _Index) -> Iterator[Issue]:
    if not NAME_RE.fullmatch(t.name):
        message = f"topology name {shown(t.name)} is invalid; {_NAME_FIX}"
        yield _issue("NAME_INVALID", "name", message)
    for kind, items in (("lans", t.lans), ("deckies", t.deckies)):
        for item in items:
            if not NAME_RE.fullmatch(item.name):
                yield _issue(
                    "NAME_INVALID",
                    f"{kind}[{item.name}].name",
                    f"name {shown(item.name)} is invalid; {_NAME_FIX}",
                )


def check_duplicate_names(t: Topology, _c: Catalog, _x: HostContext, _i: _Index) -> Iterator[Issue]:
    for kind, items in (("lans", t.lans), ("deckies", t.deckies)):
        seen: set[str] = set()
        for item in items:
            if item.name in seen:
                yield _issue(
                    "NAME_DUPLICATE",
                    f"{kind}[{item.name}].name",
                    f"{kind[:-1] if kind == 'lans' else 'decky'} name {item.name!r} is "
                    "used twice; rename one of them",
                )
            seen.add(item.name)


# --- DMZ, reachability, homes ----------------------------------------------------------------


def check_dmz(t: Topology, _c: Catalog, _x: HostContext, _i: _Index) -> Iterator[Issue]:
    dmzs = [lan for lan in t.lans if lan.is_dmz]
    if not dmzs:
        yield _issue(
            "DMZ_MISSING",
            "lans",
            "no LAN is marked as DMZ; set is_dmz on the LAN that faces the outside",
        )
    for lan in dmzs[1:]:
        yield _issue(
            "DMZ_MULTIPLE",
            f"lans[{lan.name}].is_dmz",
            f"LAN {lan.name!r} is a second DMZ (first: {dmzs[0].name!r}); "
            "keep is_dmz on exactly one LAN",
        )


def _reached_lans(t: Topology, index: _Index, start: str) -> set[str]:
    neighbours: dict[str, list[list[str]]] = {}
    for decky in t.deckies:
        lans = [m.lan for m in decky.memberships if m.lan in index.lans]
        if len(set(lans)) >= 2:
            for lan in lans:
                neighbours.setdefault(lan, []).append(lans)
    reached, queue = {start}, [start]
    while queue:
        for group in neighbours.pop(queue.pop(), []):
            fresh = [lan for lan in group if lan not in reached]
            reached.update(fresh)
            queue += fresh
    return reached


def check_reachability(t: Topology, _c: Catalog, _x: HostContext, i: _Index) -> Iterator[Issue]:
    if i.dmz is None:
        return
    reached = _reached_lans(t, i, i.dmz)
    for name in i.lans:
        if name not in reached:
            yield _issue(
                "LAN_UNREACHABLE",
                f"lans[{name}]",
                f"LAN {name!r} is not connected to DMZ {i.dmz!r} through bridge deckies; "
                "attach a decky of this LAN to a LAN that is connected",
            )


def check_home(t: Topology, _c: Catalog, _x: HostContext, i: _Index) -> Iterator[Issue]:
    for decky in t.deckies:
        path = f"deckies[{decky.name}].home_lan"
        if decky.home_lan not in i.lans:
            yield _issue(
                "DECKY_NO_LAN",
                path,
                f"home LAN {decky.home_lan!r} of decky "
                f"{decky.name!r} does not exist; set home_lan to an existing LAN",
            )
        elif all(m.lan != decky.home_lan for m in decky.memberships):
            yield _issue(
                "DECKY_NO_LAN",
                path,
                f"decky {decky.name!r} has no membership on its "
                f"home LAN {decky.home_lan!r}; add one",
            )


def check_memberships(t: Topology, _c: Catalog, _x: HostContext, i: _Index) -> Iterator[Issue]:
    for decky in t.deckies:
        seen: set[str] = set()
        for m in decky.memberships:
            path = f"deckies[{decky.name}].memberships[{m.lan}]"
            if m.lan not in i.lans:
                yield _issue(
                    "MEMBERSHIP_UNKNOWN_LAN",
                    path,
                    f"decky {decky.name!r} is attached "
                    f"to LAN {m.lan!r}, which does not exist; add the LAN or detach",
                )
            elif m.lan in seen:
                yield _issue(
                    "MEMBERSHIP_DUPLICATE",
                    path,
                    f"decky {decky.name!r} is attached "
                    f"to LAN {m.lan!r} twice; remove one membership",
                )
            seen.add(m.lan)


# --- addresses -------------------------------------------------------------------------------


def _loose_network(text: str) -> str | None:
    """The network `text` means when it is a CIDR with host bits set, else None."""
    address, _, bits = text.partition("/")
    value = ip_to_int(address)
    if value is None or not (bits.isascii() and bits.isdigit()) or int(bits) > 32:
        return None
    mask = (0xFFFFFFFF << (32 - int(bits))) & 0xFFFFFFFF
    return f"{int_to_ip(value & mask)}/{int(bits)}" if value & mask != value else None


def _subnet_problem(text: str | None) -> str | None:
    if text is None:
        return "the LAN has no subnet (the allocator did not run); allocate one or set it"
    span = parse_subnet(text)
    if span is None:
        network = _loose_network(text)
        if network is not None:
            return f"{text!r} has host bits set; write it as {network}"
        return f"{text!r} is not an IPv4 CIDR; write it like 10.192.0.0/24"
    if not MIN_PREFIX <= _prefix(span) <= MAX_PREFIX:
        return (
            f"{text!r} has prefix /{_prefix(span)}; use a prefix between /{MIN_PREFIX} "
            f"and /{MAX_PREFIX}"
        )
    return None


def check_subnets(t: Topology, _c: Catalog, _x: HostContext, _i: _Index) -> Iterator[Issue]:
    for lan in t.lans:
        problem = _subnet_problem(lan.subnet)
        if problem is not None:
            yield _issue(
                "SUBNET_INVALID",
                f"lans[{lan.name}].subnet",
                f"subnet of LAN {lan.name!r}: {problem}",
            )


def _block(cidr: str) -> tuple[int, int]:
    span = parse_subnet(cidr)
    assert span is not None, cidr
    return span


PRIVATE_RANGES: tuple[tuple[str, tuple[int, int]], ...] = tuple(
    (cidr, _block(cidr)) for cidr in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
)
"""RFC 1918: the only ranges a deception LAN may use without `allow_public`."""

SPECIAL_RANGES: tuple[tuple[str, str, tuple[int, int]], ...] = tuple(
    (cidr, what, _block(cidr))
    for cidr, what in (
        ("0.0.0.0/8", "'this network' (unspecified)"),
        ("127.0.0.0/8", "loopback"),
        ("169.254.0.0/16", "link-local"),
        ("172.17.0.0/16", "Docker's default bridge (docker0)"),
        ("224.0.0.0/4", "multicast"),
        ("240.0.0.0/4", "reserved (and broadcast)"),
    )
)
"""Ranges no LAN may use, `allow_public` or not: the host or Docker already means them."""

_PRIVATE_FIX = "pick a subnet in 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16"


def _inside(span: tuple[int, int], block: tuple[int, int]) -> bool:
    return block[0] <= span[0] and span[1] <= block[1]


def _touches(span: tuple[int, int], block: tuple[int, int]) -> bool:
    return span[0] < block[1] and block[0] < span[1]


def _not_private(lan: Lan, span: tuple[int, int]) -> str | None:
    for cidr, what, block in SPECIAL_RANGES:
        if _touches(span, block):
            return (
                f"subnet {lan.subnet} of LAN {lan.name!r} lies in {cidr}, {what}, which no LAN "
                f"may use (not even with allow_public); {_PRIVATE_FIX}"
            )
    if lan.allow_public or any(_inside(span, block) for _, block in PRIVATE_RANGES):
        return None
    return (
        f"subnet {lan.subnet} of LAN {lan.name!r} is not a private (RFC 1918) range; "
        f"{_PRIVATE_FIX}, or set allow_public: true on the LAN if you mean public addresses"
    )


def check_subnet_private(t: Topology, _c: Catalog, _x: HostContext, i: _Index) -> Iterator[Issue]:
    for name, span in i.spans.items():
        problem = _not_private(i.lans[name], span)
        if problem is not None:
            yield _issue("SUBNET_NOT_PRIVATE", f"lans[{name}].subnet", problem)


def _overlaps(spans: list[tuple[int, int, str]]) -> Iterator[tuple[str, str]]:
    """(later, earlier) pairs of overlapping spans; each later span is reported once."""
    holder, reach = "", -1
    for start, end, name in sorted(spans):
        if start < reach:
            yield name, holder
        if end > reach:
            holder, reach = name, end


def check_overlap_within(t: Topology, _c: Catalog, _x: HostContext, i: _Index) -> Iterator[Issue]:
    spans = [(start, end, name) for name, (start, end) in i.spans.items()]
    for name, other in _overlaps(spans):
        yield _issue(
            "SUBNET_OVERLAP",
            f"lans[{name}].subnet",
            f"subnet {i.lans[name].subnet} of LAN {name!r} overlaps "
            f"{i.lans[other].subnet} of LAN {other!r}; give one of them another subnet",
        )


def _claimed_overlap(
    claimed: list[tuple[int, int, str, str]], reach: list[int], span: tuple[int, int]
) -> tuple[int, int, str, str] | None:
    """The claimed subnet overlapping `span`; `reach` is the running max of claimed ends."""
    last = bisect.bisect_left(claimed, (span[1],)) - 1
    if last < 0 or reach[last] <= span[0]:
        return None
    return next(c for c in reversed(claimed[: last + 1]) if c[1] > span[0])


def check_overlap_host(t: Topology, _c: Catalog, x: HostContext, i: _Index) -> Iterator[Issue]:
    claimed = sorted(
        (span[0], span[1], subnet, owner)
        for subnet, owner in x.claimed_subnets.items()
        if (span := parse_subnet(subnet)) is not None
    )
    reach = list(accumulate((c[1] for c in claimed), max))
    for name, span in i.spans.items():
        hit = _claimed_overlap(claimed, reach, span)
        if hit is not None:
            yield _issue(
                "SUBNET_OVERLAP",
                f"lans[{name}].subnet",
                f"subnet {i.lans[name].subnet} of LAN {name!r} overlaps {hit[2]} of "
                f"live topology {hit[3]!r} on host {t.host!r}; choose a free subnet "
                "or leave it unset so the allocator picks one",
            )


def _ip_problem(
    ip: str | None, value: int | None, span: tuple[int, int] | None
) -> tuple[str, str] | None:
    if ip is None:
        return "IP_MISSING", "has no IP (the allocator did not run); allocate or pin one"
    if value is None:
        return "IP_INVALID", f"IP {ip!r} is not an IPv4 address; write it like 10.192.0.2"
    if span is None:
        return None
    if not span[0] <= value < span[1]:
        return "IP_OUT_OF_SUBNET", (
            f"IP {ip} is outside subnet {int_to_ip(span[0])}/"
            f"{_prefix(span)}; pick an address inside it"
        )
    if value in (span[0], span[0] + 1, span[1] - 1):
        return "IP_RESERVED", (
            f"IP {ip} is the network, gateway (.1) or broadcast address; pick another host address"
        )
    return None


def check_ips(t: Topology, _c: Catalog, _x: HostContext, i: _Index) -> Iterator[Issue]:
    first_user: dict[str, dict[int, Decky]] = {name: {} for name in i.lans}
    for decky in t.deckies:
        for m in decky.memberships:
            if m.lan not in i.lans:
                continue
            value = ip_to_int(m.ip) if m.ip is not None else None
            problem = _ip_problem(m.ip, value, i.spans.get(m.lan))
            path = f"deckies[{decky.name}].memberships[{m.lan}].ip"
            if problem is not None:
                yield _issue(
                    problem[0], path, f"decky {decky.name!r} on LAN {m.lan!r}: {problem[1]}"
                )
            # A decky attached twice to one LAN is MEMBERSHIP_DUPLICATE, not an IP clash.
            first = first_user[m.lan].setdefault(value, decky) if value is not None else decky
            if first is not decky:
                # Worded for either decky: an editor shows it on the one being edited.
                yield _issue(
                    "IP_DUPLICATE",
                    path,
                    f"IP {m.ip} on LAN {m.lan!r} is used by both {first.name!r} and "
                    f"{decky.name!r}; give one of them another address",
                )


# --- services --------------------------------------------------------------------------------


def check_services(t: Topology, c: Catalog, _x: HostContext, _i: _Index) -> Iterator[Issue]:
    for decky in t.deckies:
        seen: set[str] = set()
        for pos, service in enumerate(decky.services):
            path = f"deckies[{decky.name}].services[{pos}]"
            if service in seen:
                yield _issue(
                    "SERVICE_DUPLICATE",
                    path,
                    f"decky {decky.name!r} lists service {service!r} twice; remove one",
                )
            elif service not in c.services:
                yield _issue(
                    "SERVICE_UNKNOWN",
                    path,
                    f"service {service!r} of decky "
                    f"{decky.name!r} is not in the catalogue; see `decnet catalog`",
                )
            seen.add(service)


def _config_value_issues(
    catalog: Catalog, spec: ServiceSpec, values: dict[str, ConfigValue], base: str
) -> Iterator[Issue]:
    for key, value in values.items():
        param = spec.param(key)
        if param is None:
            declared = ", ".join(p.key for p in spec.params) or "none"
            yield _issue(
                "SERVICE_CONFIG_UNDECLARED",
                f"{base}.{key}",
                f"service {spec.name!r} declares no key {key!r}; declared keys: {declared}",
            )
        elif type(value) is not _TYPES[param.type]:
            shown = MASK if is_secret(catalog, spec.name, key) else repr(value)
            yield _issue(
                "SERVICE_CONFIG_INVALID",
                f"{base}.{key}",
                f"{spec.name}.{key} must be "
                f"of type {param.type}, not {type(value).__name__} ({shown}); fix "
                "the value",
            )
        elif isinstance(value, str) and (bad := _ENV_UNSAFE.search(value)) is not None:
            yield _issue(  # the value is never quoted: it may be a secret
                "SERVICE_CONFIG_CHARACTER",
                f"{base}.{key}",
                f"{spec.name}.{key} holds U+{ord(bad.group()):04X} at position {bad.start()}, "
                "which no container environment can carry; remove it",
            )


def check_service_config(t: Topology, c: Catalog, _x: HostContext, _i: _Index) -> Iterator[Issue]:
    for decky in t.deckies:
        for service, values in decky.service_config.items():
            base = f"deckies[{decky.name}].service_config.{service}"
            if service not in decky.services:
                yield _issue(
                    "SERVICE_CONFIG_UNDECLARED",
                    base,
                    f"decky {decky.name!r} has "
                    f"config for service {service!r} but does not run it; add the "
                    "service or drop its config",
                )
            elif service in c.services:
                yield from _config_value_issues(c, c.services[service], values, base)


def check_archetype(t: Topology, c: Catalog, _x: HostContext, _i: _Index) -> Iterator[Issue]:
    for decky in t.deckies:
        if decky.archetype is not None and decky.archetype not in c.archetypes:
            yield _issue(
                "ARCHETYPE_UNKNOWN",
                f"deckies[{decky.name}].archetype",
                f"archetype {decky.archetype!r} of decky {decky.name!r} is not in the "
                "catalogue; pick one from `decnet catalog` or clear it",
            )


def check_images(t: Topology, c: Catalog, _x: HostContext, _i: _Index) -> Iterator[Issue]:
    for key, image in t.images.items():
        path = f"images[{key}]"
        if key != _WILDCARD and key not in c.services and key not in c.families:
            yield _issue(
                "SERVICE_UNKNOWN",
                path,
                f"image override for {key!r}, which is not a catalogue service or "
                "family; use a service name, a family (sensor, lure) or '*'",
            )
        if not IMAGE_RE.fullmatch(image):
            yield _issue(
                "IMAGE_INVALID",
                path,
                f"image {image!r} for {key!r} is not a valid "
                "image reference; write it like registry.example/ssh:1.0",
            )


# --- publishing and host ---------------------------------------------------------------------


def parse_publish(entry: str) -> tuple[int, int, str] | None:
    """`2222:22` -> (2222, 22, "tcp"); None when malformed or a port is out of range."""
    match = PUBLISH_RE.fullmatch(entry)
    if match is None:
        return None
    host, container = int(match["host"]), int(match["container"])
    if not (1 <= host <= 65535 and 1 <= container <= 65535):
        return None
    return host, container, match["proto"] or "tcp"


def _served(decky: Decky, c: Catalog) -> set[tuple[int, str]]:
    specs = (c.services[s] for s in decky.services if s in c.services)
    return {(p.port, p.proto) for spec in specs for p in spec.ports}


def check_publish(t: Topology, c: Catalog, _x: HostContext, _i: _Index) -> Iterator[Issue]:
    for decky in t.deckies:
        for pos, entry in enumerate(decky.publish):
            path = f"deckies[{decky.name}].publish[{pos}]"
            parsed = parse_publish(entry)
            if parsed is None:
                yield _issue(
                    "PUBLISH_INVALID",
                    path,
                    f"publish entry {entry!r} is not "
                    "HOST:CONTAINER[/udp] with ports 1-65535; write it like 2222:22",
                )
            elif (parsed[1], parsed[2]) not in _served(decky, c):
                yield _issue(
                    "PUBLISH_INVALID",
                    path,
                    f"publish entry {entry!r}: no service of "
                    f"decky {decky.name!r} listens on {parsed[1]}/{parsed[2]}; publish "
                    "a port one of its services uses",
                    Severity.WARNING,
                )


def check_publish_dmz(t: Topology, _c: Catalog, _x: HostContext, i: _Index) -> Iterator[Issue]:
    for decky in t.deckies:
        home = i.lans.get(decky.home_lan)
        if decky.publish and home is not None and not home.is_dmz:
            yield _issue(
                "PUBLISH_NOT_DMZ",
                f"deckies[{decky.name}].publish",
                f"decky {decky.name!r} publishes host ports but is homed in "
                f"{home.name!r}, not the DMZ; move it to the DMZ or drop publish",
            )


def check_ports(t: Topology, _c: Catalog, x: HostContext, _i: _Index) -> Iterator[Issue]:
    first_user: dict[str, tuple[str, int]] = {}
    for decky in t.deckies:
        for pos, entry in enumerate(decky.publish):
            parsed = parse_publish(entry)
            if parsed is None:
                continue
            key, path = f"{parsed[0]}/{parsed[2]}", f"deckies[{decky.name}].publish[{pos}]"
            first = first_user.setdefault(key, (decky.name, pos))
            if key in x.claimed_ports:
                yield _issue(
                    "PORT_COLLISION",
                    path,
                    f"host port {key} is already published by "
                    f"live topology {x.claimed_ports[key]!r} on host {t.host!r}; "
                    "choose another host port",
                )
            elif first != (decky.name, pos):
                yield _issue(
                    "PORT_COLLISION",
                    path,
                    f"host port {key} is published twice in "
                    f"this topology (first by decky {first[0]!r}); choose another",
                )


def check_host(t: Topology, _c: Catalog, x: HostContext, _i: _Index) -> Iterator[Issue]:
    if x.inventory_hosts is not None and t.host not in x.inventory_hosts:
        known = ", ".join(sorted(x.inventory_hosts)[:10]) or "none"
        yield _issue(
            "HOST_UNKNOWN",
            "host",
            f"target host {t.host!r} is not in the inventory "
            f"(hosts: {known}); add it to the inventory or pin another host",
        )


RULES: tuple[Rule, ...] = (
    check_names,
    check_duplicate_names,
    check_dmz,
    check_reachability,
    check_home,
    check_memberships,
    check_subnets,
    check_subnet_private,
    check_overlap_within,
    check_overlap_host,
    check_ips,
    check_services,
    check_service_config,
    check_archetype,
    check_images,
    check_publish,
    check_publish_dmz,
    check_ports,
    check_host,
)
"""Every rule, in the order its findings are listed."""


def validate(topology: Topology, catalog: Catalog, ctx: HostContext = HostContext()) -> list[Issue]:
    """Every problem of `topology` (errors and warnings), never raising for a bad topology."""
    index = _index(topology)
    return [issue for rule in RULES for issue in rule(topology, catalog, ctx, index)]


def missing_services(topology: Topology, catalog: Catalog) -> list[Issue]:
    """SERVICE_UNKNOWN for each service a *stored* topology runs that the catalogue no longer
    has (removed or renamed since it was created). Such a topology has no desired hash and
    cannot be rendered for a deploy, so status, show and drift report these instead."""
    fix = (
        "put the service back in the catalogue (or use a decnet version that has it), or tear "
        f"the topology down (`decnet teardown {topology.name}`) and create it without the service"
    )
    return [
        _issue(
            "SERVICE_UNKNOWN",
            f"deckies[{decky.name}].services[{pos}]",
            f"service {service!r} of decky {decky.name!r} is not in the catalogue, so "
            f"topology {topology.name!r} has no desired hash; {fix}",
        )
        for decky in topology.deckies
        for pos, service in enumerate(decky.services)
        if service not in catalog.services
    ]


def ensure_valid(
    topology: Topology, catalog: Catalog, ctx: HostContext = HostContext()
) -> list[Issue]:
    """Raise `InvalidTopology` if validation finds an error; otherwise return the warnings."""
    issues = validate(topology, catalog, ctx)
    if any(issue.severity is Severity.ERROR for issue in issues):
        raise InvalidTopology(issues, subject=f"topology {shown(topology.name)}")
    return issues
