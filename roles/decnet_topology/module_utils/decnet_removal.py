# Copyright: decnet contributors
# Apache-2.0 (see the repository's license)
"""Removal for decnet_compose_project: containers (dependents first) and networks, bounded, with
exactly what is left and why.

Standard library only: this runs on the managed host."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from ansible.module_utils.decnet_engine import GONE, essential
from ansible.module_utils.decnet_failure import SHOWN, listing
from ansible.module_utils.decnet_model import name_of

if TYPE_CHECKING:
    from collections.abc import Mapping

    from ansible.module_utils.decnet_engine import Docker
    from ansible.module_utils.decnet_failure import Left
    from ansible.module_utils.decnet_host import Doc
    from ansible.module_utils.decnet_model import Topology


def remove_objects(topo: Topology, containers: list[Doc], networks: list[Doc]) -> Left:
    """Stop and remove `containers` (dependents first) and then `networks`, at most
    `concurrency` at a time; returns what is really left: {"containers": [...], "networks":
    [...], "causes": [...]} (empty lists when everything went)."""
    docker, pool, progress = topo.docker, topo.pool, topo.progress
    stop_timeout = str(max(0, topo.options.stop_timeout))
    progress.update("remove", 0, len(containers))

    def remove_container(c: Doc) -> str | None:
        # stop first (the container's own shutdown), then rm -f, which also covers a stop that
        # failed or timed out
        docker.attempt(["stop", "-t", stop_timeout, c["Id"]])
        rc, err = docker.attempt(["rm", "-f", "-v", c["Id"]])
        if rc == 0 or GONE.search(err):
            return None
        return f"container {name_of(c)}: {essential(err)}"

    dependents = [c for c in containers if _net_mode(c).startswith("container:")]
    rest = [c for c in containers if not _net_mode(c).startswith("container:")]
    causes: list[str] = []
    for group in (dependents, rest):
        errors = pool.map("remove", group, remove_container, lambda ok: progress.bump())
        causes += [errors[i] for i in sorted(errors)]
    progress.update("networks", 0, len(networks))
    errors = pool.map(
        "network", networks, lambda n: remove_network(docker, n), lambda ok: progress.bump()
    )
    causes += [errors[i] for i in sorted(errors)]
    alive_c = set(docker.ids("container")) if containers else set()
    alive_n = set(docker.ids("network")) if networks else set()
    return {
        "containers": sorted(name_of(c) for c in containers if c["Id"] in alive_c),
        "networks": sorted(name_of(n) for n in networks if n["Id"] in alive_n),
        "causes": [topo.docker.scrub(c) for c in causes],
    }


def _net_mode(container: Doc) -> str:
    return str((container.get("HostConfig") or {}).get("NetworkMode") or "")


def remove_network(docker: Docker, net: Doc) -> str | None:
    rc, err = docker.attempt(["network", "rm", net["Id"]])
    if rc == 0 or GONE.search(err):
        return None
    if "active endpoints" not in err:
        return f"network {name_of(net)}: {essential(err)}"
    stale, live = endpoints(docker, net["Id"])
    for endpoint in stale:
        # an endpoint whose container is gone (dockerd lost track under load): only a forced
        # disconnect (or a dockerd restart) frees the network
        docker.attempt(["network", "disconnect", "-f", net["Id"], endpoint])
    if stale:
        rc, err = docker.attempt(["network", "rm", net["Id"]])
        if rc == 0 or GONE.search(err):
            return None
        stale, live = endpoints(docker, net["Id"])
    holders = ", ".join(live + [f"{s} (stale)" for s in stale]) or "none listed"
    return f"network {name_of(net)}: has active endpoints ({holders})"


def endpoints(docker: Docker, net_id: str) -> tuple[list[str], list[str]]:
    """(stale endpoint names, names of live containers) attached to a network."""
    rc, out, _ = docker.run(["network", "inspect", net_id])
    if rc != 0:
        return [], []
    attached = (json.loads(out) or [{}])[0].get("Containers") or {}
    return split_endpoints(attached, set(docker.ids("container")))


def split_endpoints(
    attached: Mapping[str, Doc | None], existing: set[str]
) -> tuple[list[str], list[str]]:
    """An endpoint is stale when no container with its key's id exists (docker shows such
    endpoints under the old id or as `ep-ENDPOINT`); it is disconnected by name, the only
    handle `network disconnect -f` accepts for it."""
    stale: list[str] = []
    live: list[str] = []
    for cid, ep in sorted(attached.items()):
        name = str((ep or {}).get("Name") or cid)
        (live if cid in existing else stale).append(name)
    return stale, live


def describe_left(left: Left) -> str:
    parts: list[str] = []
    if left["containers"]:
        parts.append(listing(left["containers"], "container"))
    if left["networks"]:
        parts.append(listing(left["networks"], "network"))
    text = " and ".join(parts) or "nothing"
    causes = left["causes"][:SHOWN]
    if causes:
        more = f"; and {len(left['causes']) - SHOWN} more" if len(left["causes"]) > SHOWN else ""
        text += ": " + "; ".join(causes) + more
    return text


def is_clean(left: Left) -> bool:
    return not left["containers"] and not left["networks"]
