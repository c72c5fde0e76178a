"""The topology generator (SPEC §4): pure, bounded, deterministic for a seed.

Determinism rests on three habits: the only randomness is one `random.Random(seed)` drawn in a
fixed order, every collection iterated is a list (or a dict built from a list), and nothing is
keyed by `hash()`. Deckies are validated from plain data in one pydantic-core call each, the
cheapest way to build 10,000 of them.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass, field

from decnet.core.allocate import allocate_in_place
from decnet.core.persona import personalize
from decnet.errors import UsageError
from decnet.models import Catalog, Decky, GeneratorParams, Lan, Membership, Topology

DMZ = "dmz"
GATEWAY = "gw"
MAX_LANS = 4096
MAX_DECKIES = 10_000


@dataclass
class _LanNode:
    name: str
    level: int
    parent: _LanNode | None
    deckies: list[Decky] = field(default_factory=list)
    bridge: Decky | None = None


def _lan_count(depth: int, branching: int) -> int:
    return sum(branching**level for level in range(depth))


def _usage(fld: str, value: object, problem: str, fix: str) -> UsageError:
    err = UsageError(f"generator parameter {fld}={value!r}: {problem}", hint=fix)
    err.field = fld  # an API error body names the parameter, so a form can point at it
    return err


def _check_bounds(params: GeneratorParams) -> None:
    if params.deckies_min > params.deckies_max:
        raise _usage(
            "deckies_min",
            params.deckies_min,
            f"exceeds deckies_max={params.deckies_max}",
            "make deckies_min <= deckies_max",
        )
    lans = _lan_count(params.depth, params.branching)
    if lans > MAX_LANS:
        raise _usage(
            "depth",
            params.depth,
            f"with branching={params.branching} gives {lans} LANs (limit {MAX_LANS})",
            "lower depth or branching",
        )
    worst = lans * (params.deckies_max + 1) + 1
    if worst > MAX_DECKIES:
        raise _usage(
            "deckies_max",
            params.deckies_max,
            f"allows up to {worst} deckies over {lans} LANs (limit {MAX_DECKIES})",
            "lower deckies_max, depth or branching",
        )


def _check_services(params: GeneratorParams, catalog: Catalog) -> None:
    if params.services is None:
        if not catalog.archetypes:
            raise _usage(
                "services",
                None,
                "the catalogue has no archetypes to draw from",
                "give an explicit list of services",
            )
        return
    unknown = [s for s in params.services if s not in catalog.services]
    if unknown:
        raise _usage(
            "services",
            unknown[0],
            "is not in the service catalogue",
            "run `decnet catalog` to list the services",
        )


def _lan_tree(depth: int, branching: int) -> list[_LanNode]:
    """Every LAN in breadth-first order: `dmz`, `lan-1`, `lan-2`, `lan-1-1`, …"""
    nodes = [_LanNode(DMZ, 0, None)]
    frontier = list(nodes)
    for level in range(1, depth):
        children = []
        for parent in frontier:
            prefix = "lan" if parent.parent is None else parent.name
            children += [_LanNode(f"{prefix}-{i}", level, parent) for i in range(1, branching + 1)]
        nodes += children
        frontier = children
    return nodes


class _Builder:
    """Draws everything random in one fixed order so a seed always yields the same topology."""

    def __init__(self, params: GeneratorParams, catalog: Catalog) -> None:
        self.params = params
        self.rng = random.Random(params.seed)
        self.catalog = catalog
        self.archetypes = sorted(catalog.archetypes)

    def services(self) -> tuple[list[str], str | None]:
        if self.params.services is not None:
            return list(self.params.services), None
        name = self.rng.choice(self.archetypes)
        return list(self.catalog.archetypes[name].services), name

    def decky(
        self, name: str, lans: list[str], *, forwards: bool = False, publish: Iterable[str] = ()
    ) -> Decky:
        services, archetype = self.services()
        # model_validate on plain data runs in pydantic-core and beats model_construct.
        return Decky.model_validate(
            {
                "name": name,
                "home_lan": lans[0],
                "memberships": [{"lan": lan} for lan in lans],
                "services": services,
                "archetype": archetype,
                "forwards_l3": forwards,
                "publish": list(publish),
            }
        )

    def populate(self, node: _LanNode) -> None:
        if node.parent is None:
            node.bridge = self.decky(GATEWAY, [node.name], publish=self.params.publish)
        else:
            forwards = self.rng.random() < self.params.forward_p
            node.bridge = self.decky(
                f"{node.name}-br", [node.name, node.parent.name], forwards=forwards
            )
        count = self.rng.randint(self.params.deckies_min, self.params.deckies_max)
        node.deckies = [self.decky(f"{node.name}-d{i}", [node.name]) for i in range(1, count + 1)]

    def cross_edges(self, nodes: list[_LanNode]) -> None:
        """Attach some bridges to a second LAN of the level above, turning the tree into a DAG."""
        levels: dict[int, list[_LanNode]] = {}
        for node in nodes:
            levels.setdefault(node.level, []).append(node)
        for node in nodes:
            if node.parent is None or self.rng.random() >= self.params.cross_p:
                continue
            others = [n for n in levels[node.level - 1] if n is not node.parent]
            if others and node.bridge is not None:
                target = self.rng.choice(others)
                node.bridge.memberships.append(Membership(lan=target.name))


def generate(
    params: GeneratorParams, catalog: Catalog, *, reserved_subnets: Iterable[str] = ()
) -> Topology:
    """A fully allocated topology shaped by `params` (SPEC §4), every decky with its
    persona (decnet.core.persona); same seed, same bytes."""
    _check_bounds(params)
    _check_services(params, catalog)
    builder = _Builder(params, catalog)
    nodes = _lan_tree(params.depth, params.branching)
    for node in nodes:
        builder.populate(node)
    if params.cross_p > 0:
        builder.cross_edges(nodes)
    topology = Topology(
        name=params.name,
        config=params.model_dump(mode="json"),
        lans=[Lan(name=n.name, is_dmz=n.parent is None) for n in nodes],
        deckies=[d for n in nodes for d in ([n.bridge] if n.bridge else []) + n.deckies],
    )
    allocate_in_place(topology, pool=params.subnet_pool, reserved_subnets=reserved_subnets)
    return personalize(topology, catalog)
