"""The service catalogue (SPEC §6) and image resolution.

The catalogue is data (`decnet/data/catalog.yml`); `load_catalog` parses it once. Everything
else here is pure: resolving a service's image from the catalogue default, the site's settings
and the topology's own overrides.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from importlib import resources

import yaml

from decnet.models import Archetype, Catalog, FamilySpec, ServiceSpec

WILDCARD = "*"


@cache
def load_catalog() -> Catalog:
    text = resources.files("decnet").joinpath("data/catalog.yml").read_text(encoding="utf-8")
    raw = yaml.safe_load(text)
    services = [ServiceSpec.model_validate(s) for s in raw["services"]]
    archetypes = [Archetype.model_validate(a) for a in raw["archetypes"]]
    families = [FamilySpec.model_validate(f) for f in raw.get("families", [])]
    return Catalog(
        services={s.name: s for s in services},
        archetypes={a.name: a for a in archetypes},
        families={f.name: f for f in families},
    )


def resolve_image(
    service: str,
    catalog: Catalog,
    site_images: Mapping[str, str] | None = None,
    topology_images: Mapping[str, str] | None = None,
) -> str:
    """The image a service runs: topology override > site override > catalogue default.

    Each override map is keyed by service name, or `*` for every service.
    """
    for overrides in (topology_images or {}, site_images or {}):
        if service in overrides:
            return overrides[service]
        if WILDCARD in overrides:
            return overrides[WILDCARD]
    return catalog.services[service].image


def resolve_family_image(
    family: str,
    catalog: Catalog,
    site_images: Mapping[str, str] | None = None,
    topology_images: Mapping[str, str] | None = None,
) -> str:
    """The image of a decky's `family` container (`sensor`): topology override > site override
    > the catalogue's family default. The key is the family's name; `*` (every *service*)
    does not apply, as for the base container: a family image serves many services."""
    for overrides in (topology_images or {}, site_images or {}):
        if family in overrides:
            return overrides[family]
    return catalog.families[family].image


def runs_alone(
    service: str,
    catalog: Catalog,
    site_images: Mapping[str, str] | None = None,
    topology_images: Mapping[str, str] | None = None,
) -> bool:
    """A service runs in a container of its own, not its family's, when it is a lure or when
    the site or the topology gives it an image of its own, by name or by `*` (that image
    speaks for it alone: `*=decnet-lure:0.1` puts every service back on the lure)."""
    if catalog.services[service].family == "lure":
        return True
    return any(
        service in overrides or WILDCARD in overrides
        for overrides in (topology_images or {}, site_images or {})
    )


def container_image(
    service: str,
    catalog: Catalog,
    site_images: Mapping[str, str] | None = None,
    topology_images: Mapping[str, str] | None = None,
) -> str:
    """The image of the container that serves `service` on a decky."""
    if runs_alone(service, catalog, site_images, topology_images):
        return resolve_image(service, catalog, site_images, topology_images)
    family = catalog.services[service].family
    return resolve_family_image(family, catalog, site_images, topology_images)
