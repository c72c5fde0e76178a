"""The desired hash (SPEC §5): one canonical SHA-256 of what a topology puts on its host.

The projection is purpose-built rather than a model dump, so a field added to the models for
bookkeeping (status, timestamps, canvas layout, …) can never change the hash by accident, and a
value that reaches the host never drops out of it silently.

Secret config values (`decnet.core.secrets.is_secret`) enter the projection only as an HMAC-SHA256
under the per-database key (`Store.hash_key()`), never as themselves: the hash is shown by
`show`, `status` and `meta.json`, and an unkeyed digest over a password falls to a guess list.
The key is an argument, so the core stays pure; it has no default, so no caller can forget it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
from collections.abc import Iterable, Mapping
from typing import Any

from decnet.core.catalog import container_image, runs_alone
from decnet.core.secrets import is_secret
from decnet.models import Catalog, ConfigValue, Decky, Lan, Topology

PROJECTION_FORMAT = 3
"""Bump when the projection changes shape, so every stored hash changes visibly once.
2: secret values enter as an HMAC under the per-database key. 3: services run in their
family's sensor container (its image, its hardening and log bounds)."""

SEALED_PREFIX = "hmac-sha256:"
"""What a secret value looks like in the projection: this prefix and the hex HMAC."""
MIN_KEY_BYTES = 16

_SCALARS: frozenset[type] = frozenset({str, int, float, bool, type(None)})
_CONTAINERS: frozenset[type] = frozenset({dict, list})


def check_secret_key(secret_key: bytes) -> bytes:
    """The key itself, or TypeError/ValueError: an empty or short key would seal nothing."""
    if not isinstance(secret_key, bytes):
        raise TypeError(f"secret_key must be bytes, not {type(secret_key).__name__}")
    if len(secret_key) < MIN_KEY_BYTES:
        raise ValueError(f"secret_key must have at least {MIN_KEY_BYTES} bytes")
    return secret_key


def seal(secret_key: bytes, value: ConfigValue) -> str:
    """A secret as it enters the projection: equal values seal equally under one key (so a
    changed secret changes the hash), and nothing about the value shows without the key."""
    digest = hmac.new(secret_key, canonical_json(value), hashlib.sha256).hexdigest()
    return SEALED_PREFIX + digest


def _config(
    values: Mapping[str, ConfigValue], catalog: Catalog, service: str, secret_key: bytes
) -> dict[str, Any]:
    return {
        k: seal(secret_key, v) if is_secret(catalog, service, k) else v for k, v in values.items()
    }


def _service_entry(
    service: str,
    catalog: Catalog,
    images: Mapping[str, str],
    site: Mapping[str, str],
    secret_key: bytes,
) -> dict[str, Any]:
    """The host-facing form of one service with its declared defaults as config."""
    spec = catalog.services[service]
    defaults = {p.key: p.default for p in spec.params if p.default is not None}
    return {
        "name": service,
        # The container it runs in: its family's (shared) or its own (the lure, an override).
        "family": None if runs_alone(service, catalog, site, images) else spec.family,
        "image": container_image(service, catalog, site, images),
        "config": _config(defaults, catalog, service, secret_key),
        # Ports and capabilities come from the catalogue but land in the compose file, so a
        # catalogue upgrade that changes them must show up as config drift.
        "ports": sorted(str(p) for p in spec.ports),
        "cap_add": sorted(spec.cap_add),
    }


class _Services:
    """Builds each service's entry once per projection; deckies without overrides share it."""

    def __init__(
        self, topology: Topology, catalog: Catalog, site: Mapping[str, str], secret_key: bytes
    ) -> None:
        self.topology, self.catalog, self.site = topology, catalog, site
        self.secret_key = secret_key
        self.base: dict[str, dict[str, Any]] = {}

    def entry(self, decky: Decky, service: str) -> dict[str, Any]:
        if service not in self.catalog.services:
            raise ValueError(
                f"service {service!r} of decky {decky.name!r} is not in the catalogue; "
                "validate the topology before hashing it"
            )
        if service not in self.base:
            self.base[service] = _service_entry(
                service, self.catalog, self.topology.images, self.site, self.secret_key
            )
        base = self.base[service]
        override = decky.service_config.get(service)
        if not override:
            return base
        sealed = _config(override, self.catalog, service, self.secret_key)
        return {**base, "config": {**base["config"], **sealed}}


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
    topology: Topology,
    catalog: Catalog,
    site_images: Mapping[str, str] | None = None,
    *,
    secret_key: bytes,
) -> dict[str, Any]:
    """Exactly what reaches the host, as plain JSON data with every unordered list sorted;
    secret values sealed under `secret_key` (see `seal`).

    Deckies that run a service with the same effective config share one entry object, so
    treat the result as read-only.
    """
    services = _Services(topology, catalog, site_images or {}, check_secret_key(secret_key))
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
    topology: Topology,
    catalog: Catalog,
    site_images: Mapping[str, str] | None = None,
    *,
    secret_key: bytes,
) -> str:
    """Hex SHA-256 of the canonical projection; the one function every comparison uses.

    `secret_key` is the database's hash key (`Store.hash_key()`, `Context.hash_key`).
    """
    data = projection(topology, catalog, site_images, secret_key=secret_key)
    return hashlib.sha256(canonical_json(data)).hexdigest()
