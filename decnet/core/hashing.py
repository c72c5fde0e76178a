"""The desired hash (SPEC §5): one canonical SHA-256 of what a topology puts on its host.

The projection is purpose-built rather than a model dump, so a field added to the models for
bookkeeping (status, timestamps, canvas layout, …) can never change the hash by accident, and a
value that reaches the host never drops out of it silently.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Mapping
from typing import Any

from decnet.core.catalog import resolve_image
from decnet.models import Catalog, Decky, Lan, Topology

PROJECTION_FORMAT = 1
"""Bump when the projection changes shape, so every stored hash changes visibly once."""

_SCALARS: frozenset[type] = frozenset({str, int, float, bool, type(None)})
_CONTAINERS: frozenset[type] = frozenset({dict, list})


def _service_entry(
    service: str, catalog: Catalog, images: Mapping[str, str], site: Mapping[str, str]
) -> dict[str, Any]:
    """The host-facing form of one service with its declared defaults as config."""
    spec = catalog.services[service]
    return {
        "name": service,
        "image": resolve_image(service, catalog, site, images),
        "config": {p.key: p.default for p in spec.params if p.default is not None},
        # Ports and capabilities come from the catalogue but land in the compose file, so a
        # catalogue upgrade that changes them must show up as config drift.
        "ports": sorted(str(p) for p in spec.ports),
        "cap_add": sorted(spec.cap_add),
    }


class _Services:
    """Builds each service's entry once per projection; deckies without overrides share it."""

    def __init__(self, topology: Topology, catalog: Catalog, site: Mapping[str, str]) -> None:
        self.topology, self.catalog, self.site = topology, catalog, site
        self.base: dict[str, dict[str, Any]] = {}

    def entry(self, decky: Decky, service: str) -> dict[str, Any]:
        if service not in self.catalog.services:
            raise ValueError(
                f"service {service!r} of decky {decky.name!r} is not in the catalogue; "
                "validate the topology before hashing it"
            )
        if service not in self.base:
            self.base[service] = _service_entry(
                service, self.catalog, self.topology.images, self.site
            )
        base = self.base[service]
        override = decky.service_config.get(service)
        if not override:
            return base
        return {**base, "config": {**base["config"], **override}}


def _decky(decky: Decky, services: _Services) -> dict[str, Any]:
    memberships = sorted(decky.memberships, key=lambda m: (m.lan, m.ip or ""))
    return {
        "name": decky.name,
        "home_lan": decky.home_lan,
        "memberships": [{"lan": m.lan, "ip": m.ip} for m in memberships],
        # Service order is the container order, so it is meaningful and kept.
        "services": [services.entry(decky, s) for s in decky.services],
        "forwards_l3": decky.forwards_l3,
        "publish": sorted(decky.publish),
    }


def _lan(lan: Lan) -> dict[str, Any]:
    return {"name": lan.name, "subnet": lan.subnet, "is_dmz": lan.is_dmz}


def projection(
    topology: Topology, catalog: Catalog, site_images: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Exactly what reaches the host, as plain JSON data with every unordered list sorted.

    Deckies that run a service with the same effective config share one entry object, so
    treat the result as read-only.
    """
    services = _Services(topology, catalog, site_images or {})
    lans = sorted(topology.lans, key=lambda lan: (lan.name, lan.subnet or "", lan.is_dmz))
    return {
        "format": PROJECTION_FORMAT,
        "topology": topology.name,
        "lans": [_lan(lan) for lan in lans],
        "deckies": [_decky(d, services) for d in sorted(topology.deckies, key=lambda d: d.name)],
    }


class _Unfit(Exception):
    """Carries the first offending value up the recursion, collecting its path on the way."""

    def __init__(self, error: TypeError | ValueError) -> None:
        self.error = error
        self.path: list[str] = []


def _check_value(value: object, seen: set[int]) -> None:
    kind = type(value)
    if isinstance(value, dict | list) and kind in _CONTAINERS:
        _check_container(value, seen)
    elif kind not in _SCALARS:
        raise _Unfit(TypeError(f"{kind.__name__} is not canonical JSON data"))
    elif isinstance(value, float) and not math.isfinite(value):
        raise _Unfit(ValueError(f"{value!r} has no canonical JSON form"))


def _check_container(obj: dict[Any, Any] | list[Any], seen: set[int]) -> None:
    """Reject what `json` would silently coerce or emit: tuples, enums, non-str keys, NaN."""
    if id(obj) in seen:  # projections share service entries between deckies
        return
    seen.add(id(obj))
    items: Iterable[tuple[Any, Any]] = obj.items() if isinstance(obj, dict) else enumerate(obj)
    for key, value in items:
        if isinstance(obj, dict) and type(key) is not str:
            raise _Unfit(TypeError(f"dict key {key!r} is {type(key).__name__}, not str"))
        try:
            _check_value(value, seen)
        except _Unfit as unfit:
            unfit.path.append(f"[{key!r}]")
            raise


def canonical_json(obj: object) -> bytes:
    """Sorted keys, compact separators, UTF-8; fails loudly on anything but plain JSON data.

    Raises TypeError for a type outside str/int/float/bool/None/list/dict (subclasses such as
    enums and tuples included) and ValueError for NaN or infinity.
    """
    try:
        _check_value(obj, set())
    except _Unfit as unfit:
        where = "$" + "".join(reversed(unfit.path))
        raise type(unfit.error)(f"canonical_json at {where}: {unfit.error}") from None
    text = json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    return text.encode("utf-8")


def desired_hash(
    topology: Topology, catalog: Catalog, site_images: Mapping[str, str] | None = None
) -> str:
    """Hex SHA-256 of the canonical projection; the one function every comparison uses."""
    return hashlib.sha256(canonical_json(projection(topology, catalog, site_images))).hexdigest()
