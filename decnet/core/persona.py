"""Decky personas: every decky looks like a machine of its own (issue 14).

A parameter with `variants` or a `persona` rule (decnet/data/catalog.yml) that a decky leaves
unset gets a value when the decky's service is written, the way its IPs are allocated then:
stored, so it never changes under a running decky (not on a re-render, not when a later decnet
ships other variants), and shown and exported like any other config. The pick is a digest of
the topology's seed, its name, the decky, the service and the key: the same inputs give the
same persona, two deckies seldom share a banner, and never a host name.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable

from decnet.models import Catalog, ConfigParam, ConfigValue, Decky, Topology

Pair = tuple[str, str]
"""(decky name, service)"""


def _digest(*parts: str) -> int:
    joined = "\x00".join(parts).encode("utf-8")
    return int.from_bytes(hashlib.sha256(joined).digest()[:8], "big")


def _seed(topology: Topology) -> str:
    return str(topology.config.get("seed", ""))


def _domain(topology: Topology, param: ConfigParam) -> str:
    """One domain per topology and parameter: every decky of a network shares it."""
    names = [str(v) for v in param.variants] or ["corp.local"]
    return names[_digest(_seed(topology), topology.name, param.key, "domain") % len(names)]


def persona_value(
    topology: Topology, decky: Decky, service: str, param: ConfigParam
) -> ConfigValue | None:
    """The value an unset persona parameter gets, or None for an ordinary parameter."""
    if param.persona == "hostname":
        return decky.name
    if param.persona == "fqdn":
        return f"{decky.name}.{_domain(topology, param)}"
    if not param.variants:
        return None
    pick = _digest(_seed(topology), topology.name, decky.name, service, param.key)
    return param.variants[pick % len(param.variants)]


def _fill(topology: Topology, decky: Decky, services: Iterable[str], catalog: Catalog) -> Decky:
    config = {s: dict(c) for s, c in decky.service_config.items()}
    for service in services:
        spec = catalog.services.get(service)
        if spec is None:  # validation reports SERVICE_UNKNOWN
            continue
        values = config.setdefault(service, {})
        for param in spec.params:
            if param.key not in values:
                value = persona_value(topology, decky, service, param)
                if value is not None:
                    values[param.key] = value
        if not values:
            del config[service]
    return (
        decky
        if config == decky.service_config
        else decky.model_copy(update={"service_config": config})
    )


def personalize(
    topology: Topology, catalog: Catalog, *, only: Collection[Pair] | None = None
) -> Topology:
    """`topology` with the persona parameters its deckies leave unset filled in; with
    `only`, just those (decky, service) pairs (a live edit gives the ones it added, so a
    running decky's other services never change under it)."""
    deckies = []
    for decky in topology.deckies:
        services = [s for s in decky.services if only is None or (decky.name, s) in only]
        deckies.append(_fill(topology, decky, services, catalog) if services else decky)
    if all(new is old for new, old in zip(deckies, topology.deckies, strict=True)):
        return topology
    return topology.model_copy(update={"deckies": deckies})


def new_pairs(before: Topology, after: Topology) -> set[Pair]:
    """The (decky, service) pairs `after` has and `before` had not."""
    old = {(d.name, s) for d in before.deckies for s in d.services}
    return {(d.name, s) for d in after.deckies for s in d.services} - old
