"""Topology use cases: the library calls behind `decnet topology …` (and later the HTTP API).

Each public function is one use case. Writes run in one store transaction that also reads the
host's claimed subnets and ports, so two commands racing on the same host cannot both take the
same /24; on any error nothing is written. Output meant for people or files (`show`, `export`)
masks secret service config values unless explicitly asked not to (SPEC §6).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from pydantic import Field

from decnet.core.allocate import DEFAULT_POOL, allocate
from decnet.core.generate import generate
from decnet.core.graph import to_dot, to_mermaid
from decnet.core.hashing import desired_hash
from decnet.core.persona import personalize
from decnet.core.topofile import dump_topology_file, mask_secrets
from decnet.core.validate import ensure_valid, missing_services, validate
from decnet.errors import AlreadyExists, InvalidRequest, InvalidTopology
from decnet.models import (
    HOST_HINT,
    NAME_RE,
    Catalog,
    Decky,
    GeneratorParams,
    HostContext,
    Issue,
    Lan,
    Status,
    Topology,
    host_problem,
)
from decnet.policy import WithActions
from decnet.store import Store
from decnet.store.rows import TopologySummary


class GraphFormat(StrEnum):
    MERMAID = "mermaid"
    DOT = "dot"


class TopologyView(WithActions):
    """What `show` reports: the stored topology plus its desired hash, secrets masked, and
    what its status allows now."""

    name: str
    version: int
    host: str
    desired_hash: str | None
    """None when the topology cannot be hashed: `problems` says why and what to do."""
    needs_resync: bool
    created_at: str | None
    status_changed_at: str | None
    config: dict[str, Any]
    images: dict[str, str]
    lans: list[Lan]
    deckies: list[Decky]
    problems: list[Issue] = Field(default_factory=list)


def _shown(value: str) -> str:
    return repr(value if len(value) <= 80 else value[:77] + "...")


def name_problem(value: str, what: str = "topology name") -> str | None:
    """NAME_INVALID naming the value and the pattern, or None for a valid name."""
    if NAME_RE.fullmatch(value):  # `$` alone would accept a trailing newline
        return None
    return f"NAME_INVALID: {what} {_shown(value)} does not match {NAME_RE.pattern}"


NAME_HINT = "use 1-63 lowercase letters, digits and '-', starting with a letter"


def check_name(value: str, what: str = "topology name", field: str = "name") -> str:
    """`value` if it is a valid name; a bad one is a bad argument (`field` names it)."""
    problem = name_problem(value, what)
    if problem:
        raise InvalidRequest(problem, field=field, hint=NAME_HINT)
    return value


def check_host(value: str, field: str = "host") -> str:
    """`value` if it can be an inventory host a topology is pinned to (`--host`)."""
    problem = host_problem(value)
    if problem:
        raise InvalidRequest(problem, field=field, hint=HOST_HINT)
    return value


def _check_services(services: list[str] | None, catalog: Catalog) -> None:
    """Unknown --services are SERVICE_UNKNOWN, as they would be in a topology file."""
    issues = [
        Issue(
            code="SERVICE_UNKNOWN",
            path=f"services[{i}]",
            message=f"{name!r} is not in the service catalogue"
            + "".join(
                f" (did you mean {m!r}?)"
                for m in difflib.get_close_matches(name, catalog.services, n=1)
            ),
        )
        for i, name in enumerate(services or [])
        if name not in catalog.services
    ]
    if issues:
        err = InvalidTopology(issues, subject="--services")
        err.hint = "run `decnet catalog services` to list the known services"
        raise err


def _ensure_absent(store: Store, name: str) -> None:
    # Checked before generating: a 10,000-decky topology is not built just to be refused.
    if any(s.name == name for s in store.list_topologies()):
        raise AlreadyExists(
            f"a topology named {name!r} already exists",
            hint=f"choose another name, or `decnet topology delete {name}` first",
        )


def generate_topology(
    store: Store, params: GeneratorParams, *, host: str = "localhost", catalog: Catalog
) -> Topology:
    """Generate a topology for `host`, avoiding the subnets its live topologies claim; store it."""
    check_name(params.name)
    check_host(host)
    _check_services(params.services, catalog)
    with store.transaction():
        _ensure_absent(store, params.name)
        ctx = store.host_context(host)
        generated = generate(params, catalog, reserved_subnets=ctx.claimed_subnets)
        topology = generated.model_copy(update={"host": host})
        ensure_valid(topology, catalog, ctx)
        return store.insert_topology(topology)


def create_topology(
    store: Store, topology: Topology, *, catalog: Catalog, pool: str = DEFAULT_POOL
) -> Topology:
    """Allocate what the topology leaves open, validate it against its host, store it."""
    # No check_name here: a bad name is NAME_INVALID among the issues ensure_valid lists.
    fresh = topology.model_copy(update={"status": Status.PENDING, "version": 1})
    with store.transaction():
        _ensure_absent(store, topology.name)
        ctx = store.host_context(topology.host)
        allocated = allocate(fresh, pool=pool, reserved_subnets=ctx.claimed_subnets)
        shaped = personalize(allocated, catalog)
        ensure_valid(shaped, catalog, ctx)
        return store.insert_topology(shaped)


def copy_topology(store: Store, name: str, new_name: str, *, catalog: Catalog) -> Topology:
    """A pending copy of the stored topology `name` under `new_name`: the same design (LANs,
    deckies, services and their settings, secrets included, canvas positions), none of the
    original's deployment. Checked against its host as `create` is: the copy keeps the
    original's subnets and addresses, which the original holds until it is torn down (any
    other status refuses them as overlapping). The secrets are copied inside the database:
    unlike an export, a copy needs none of them typed in again, and none leaves the server."""
    source = store.get_topology(check_name(name))
    copy = source.model_copy(
        update={
            "name": check_name(new_name, "name of the copy"),
            "needs_resync": False,
            "created_at": None,
            "status_changed_at": None,
        }
    )
    return create_topology(store, copy, catalog=catalog)


def validate_topology(
    store: Store | None,
    topology: Topology,
    *,
    catalog: Catalog,
    pool: str = DEFAULT_POOL,
    inventory_hosts: frozenset[str] | None = None,
) -> list[Issue]:
    """Every problem of `topology` as it would be created; against its host when a store is given.

    Open subnets and IPs are allocated first, as `create` would, so they are not reported missing.
    A stored topology of the same name is left out of the host's claims: it is this topology.
    """
    if store is None:
        ctx = HostContext(inventory_hosts=inventory_hosts)
    else:
        ctx = store.host_context(
            topology.host, exclude=topology.name, inventory_hosts=inventory_hosts
        )
    allocated = allocate(topology, pool=pool, reserved_subnets=ctx.claimed_subnets)
    return validate(personalize(allocated, catalog), catalog, ctx)


def validate_stored(
    store: Store,
    name: str,
    *,
    catalog: Catalog,
    inventory_hosts: frozenset[str] | None = None,
) -> list[Issue]:
    """Every problem of the stored topology `name`, against the other topologies on its host."""
    topology = store.get_topology(check_name(name))
    return validate_topology(store, topology, catalog=catalog, inventory_hosts=inventory_hosts)


def list_topologies(store: Store) -> list[TopologySummary]:
    return store.list_topologies()


def show_topology(
    store: Store,
    name: str,
    *,
    catalog: Catalog,
    site_images: Mapping[str, str] | None = None,
) -> TopologyView:
    """The stored topology with its desired hash; secret config values masked."""
    topology = store.get_topology(check_name(name))
    problems = missing_services(topology, catalog)
    digest = (
        None
        if problems
        else desired_hash(topology, catalog, dict(site_images or {}), secret_key=store.hash_key())
    )
    shown = mask_secrets(topology, catalog)
    return TopologyView(
        name=shown.name,
        status=shown.status,
        live_round=shown.status is Status.DEPLOYING and store.in_live_round(shown.name),
        version=shown.version,
        host=shown.host,
        desired_hash=digest,
        needs_resync=shown.needs_resync,
        created_at=shown.created_at,
        status_changed_at=shown.status_changed_at,
        config=shown.config,
        images=shown.images,
        lans=shown.lans,
        deckies=shown.deckies,
        problems=problems,
    )


def export_topology(
    store: Store, name: str, *, catalog: Catalog, include_secrets: bool = False
) -> str:
    """The stored topology as a topology file; secrets masked unless `include_secrets`.

    A masked file is refused by `create` until the secrets are filled in.
    """
    topology = store.get_topology(check_name(name))
    if not include_secrets:
        topology = mask_secrets(topology, catalog)
    return dump_topology_file(topology)


def delete_topology(store: Store, name: str, expected_version: int | None = None) -> None:
    """Remove the topology and all its rows (pending, failed or torn down only)."""
    store.delete_topology(check_name(name), expected_version=expected_version)


def graph_topology(store: Store, name: str, fmt: GraphFormat = GraphFormat.MERMAID) -> str:
    topology = store.get_topology(check_name(name))
    return to_mermaid(topology) if fmt is GraphFormat.MERMAID else to_dot(topology)
