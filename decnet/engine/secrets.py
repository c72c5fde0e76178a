"""Which values are secret (`decnet.core.secrets.is_secret`): what the runner scrubs from
every message and kept artifact of a run."""

from __future__ import annotations

from collections.abc import Iterable

from decnet.core.secrets import is_secret
from decnet.models import Catalog, Topology


def secret_values(topologies: Iterable[Topology], catalog: Catalog) -> frozenset[str]:
    return frozenset(
        str(value)
        for t in topologies
        for decky in t.deckies
        for service, config in decky.service_config.items()
        for key, value in config.items()
        if str(value) and is_secret(catalog, service, key)
    )
