"""Which values are secret: every service config value whose catalogue parameter says so, and
every value of a service the catalogue no longer has (which of its keys were secret is
unknown)."""

from __future__ import annotations

from collections.abc import Iterable

from decnet.models import Catalog, Topology


def secret_values(topologies: Iterable[Topology], catalog: Catalog) -> frozenset[str]:
    found: set[str] = set()
    for t in topologies:
        for decky in t.deckies:
            for service, config in decky.service_config.items():
                spec = catalog.services.get(service)
                for key, value in config.items():
                    param = spec.param(key) if spec else None
                    secret = spec is None or (param is not None and param.secret)
                    if secret and str(value):
                        found.add(str(value))
    return frozenset(found)
