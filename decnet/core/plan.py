"""The plan of a change (SPEC §10): what Docker will create, recreate and remove, and why.

Pure: it diffs the compose models (`decnet.core.render.compose_model`) of the topology before
and after, so it predicts exactly what `docker compose up --remove-orphans` does with the
rendered files. Compose recreates a container when its definition changes, and a service
container whenever its base is recreated (it lives in the base's network namespace).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from decnet.core.render import served

CREATE, RECREATE, REMOVE = "create", "recreate", "remove"

# Which parts of a container's definition a reason names; the rest is "definition change".
_REASONS: tuple[tuple[str, str], ...] = (
    ("image", "image change"),
    ("networks", "base network change"),
    ("environment", "service config change"),
    ("sysctls", "forwarding change"),
    ("ports", "published ports change"),
    ("cap_add", "capabilities change"),
    ("hostname", "hostname change"),
    ("volumes", "sensor directory change"),
)
BASE_RECREATED = "its base is recreated"
_VERB = {CREATE: "starts", RECREATE: "restarts", REMOVE: "stops"}


class ContainerChange(BaseModel):
    container: str
    decky: str
    role: str
    """base | service"""
    service: str | None = None
    """The catalogue service of a one-service container."""
    services: list[str] = []
    """Every service the container serves: all of them restart with it."""
    action: str
    """create | recreate | remove"""
    reasons: list[str] = []


class NetworkChange(BaseModel):
    network: str
    lan: str
    action: str
    """create | recreate | remove"""


class Plan(BaseModel):
    """What applying a change does on the host; `version` is the topology version it was
    computed on (a later apply with that expected_version refuses if the topology moved)."""

    topology: str
    version: int
    containers: list[ContainerChange] = []
    networks: list[NetworkChange] = []
    unchanged: int = 0
    """Containers that stay as they are (same id before and after)."""
    notes: list[str] = []

    @property
    def changes(self) -> bool:
        return bool(self.containers or self.networks)


_NAMED = frozenset(key for key, _ in _REASONS)


def _reasons(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    found = [why for key, why in _REASONS if before.get(key) != after.get(key)]
    rest = (set(before) | set(after)) - _NAMED
    if any(before.get(key) != after.get(key) for key in rest):
        found.append("definition change")
    return found


def _change(key: str, svc: Mapping[str, Any], action: str, reasons: list[str]) -> ContainerChange:
    labels = svc.get("labels") or {}
    return ContainerChange(
        container=str(svc["container_name"]),
        decky=str(labels.get("decnet.decky", key)),
        role=str(labels.get("decnet.role", "")),
        service=labels.get("decnet.service"),
        services=served(svc),
        action=action,
        reasons=reasons,
    )


def _base_key(svc: Mapping[str, Any]) -> str | None:
    mode = str(svc.get("network_mode") or "")
    return mode.split(":", 1)[1] if mode.startswith("service:") else None


def _containers(
    before: Mapping[str, Any], after: Mapping[str, Any]
) -> tuple[list[ContainerChange], int]:
    changes: list[ContainerChange] = []
    recreated_bases: set[str] = set()
    unchanged = 0
    # Bases first: a service's fate depends on its base's.
    ordered = sorted(after, key=lambda k: (_base_key(after[k]) is not None, k))
    for key in ordered:
        new, old = after[key], before.get(key)
        if old is None:
            changes.append(_change(key, new, CREATE, []))
            continue
        reasons = _reasons(old, new)
        base = _base_key(new)
        if base is not None and base in recreated_bases:
            reasons.append(BASE_RECREATED)
        if reasons:
            changes.append(_change(key, new, RECREATE, reasons))
            recreated_bases.add(key)
        else:
            unchanged += 1
    changes += [_change(k, before[k], REMOVE, []) for k in sorted(set(before) - set(after))]
    changes.sort(key=lambda c: (c.decky, c.role != "base", c.container))
    return changes, unchanged


def _networks(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[NetworkChange]:
    def change(net: Mapping[str, Any], key: str, action: str) -> NetworkChange:
        lan = str((net.get("labels") or {}).get("decnet.lan", key))
        return NetworkChange(network=str(net["name"]), lan=lan, action=action)

    old = {n["name"]: (k, n) for k, n in before.items()}
    new = {n["name"]: (k, n) for k, n in after.items()}
    out = []
    for name, (key, net) in sorted(new.items()):
        if name not in old:
            out.append(change(net, key, CREATE))
        elif old[name][1] != net:
            out.append(change(net, key, RECREATE))
    out += [change(n, k, REMOVE) for name, (k, n) in sorted(old.items()) if name not in new]
    return out


def plan_change(
    topology: str,
    version: int,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any],
    notes: list[str] | None = None,
) -> Plan:
    """The plan from compose model `before` (None: nothing on the host yet) to `after`."""
    old = before or {"services": {}, "networks": {}}
    containers, unchanged = _containers(old.get("services") or {}, after.get("services") or {})
    return Plan(
        topology=topology,
        version=version,
        containers=containers,
        networks=_networks(old.get("networks") or {}, after.get("networks") or {}),
        unchanged=unchanged,
        notes=list(notes or []),
    )


def plan_text(plan: Plan) -> str:
    """The plan as plain lines (what `decnet mutate … --plan` prints), one change a line."""
    lines = [f"plan for {plan.topology} at version {plan.version}:"]
    for c in plan.containers:
        why = f" ({', '.join(c.reasons)})" if c.reasons else ""
        with_ = f"; {_VERB[c.action]} {', '.join(c.services)}" if c.services else ""
        lines.append(f"  {c.action:<8} container {c.container}{why}{with_}")
    lines += [f"  {n.action:<8} network   {n.network} (LAN {n.lan})" for n in plan.networks]
    if not plan.changes:
        lines.append("  no container or network changes")
    lines.append(f"  {plan.unchanged} containers unchanged")
    lines += [f"  note: {note}" for note in plan.notes]
    return "\n".join(lines) + "\n"
