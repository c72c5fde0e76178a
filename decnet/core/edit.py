"""Applying ops to a topology (SPEC §10): pure, all or nothing.

`edit` applies a batch to a copy of the topology, allocates what the ops leave open, and
validates the result in full against its host. References that do not resolve are `OP_*`
issues at the op's path (`ops[2].lan`); everything else is the validator's finding on the
resulting topology. The caller writes the result only when no issue is an error, so a refused
batch leaves nothing behind.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from decnet.core.allocate import DEFAULT_POOL, allocate, copy_topology
from decnet.core.ops import (
    AddDecky,
    AddLan,
    AttachDecky,
    DetachDecky,
    Op,
    RemoveDecky,
    RemoveLan,
    UpdateDecky,
    UpdateLan,
)
from decnet.core.persona import new_pairs, personalize
from decnet.core.secrets import MASK, is_secret
from decnet.core.validate import validate
from decnet.errors import AllocationError
from decnet.models import (
    Catalog,
    Decky,
    HostContext,
    Issue,
    Lan,
    Membership,
    Severity,
    Topology,
)

_SHOWN = 3
"""How many names an issue lists before it says `and N more`."""


@dataclass
class EditResult:
    topology: Topology | None
    """The edited, allocated topology; None when an issue is an error."""
    issues: list[Issue]
    notes: list[str] = field(default_factory=list)
    """Side effects worth telling (e.g. bridge deckies detached from a removed LAN)."""

    @property
    def ok(self) -> bool:
        return self.topology is not None


@dataclass
class _Work:
    """The copy being edited, and what the handlers report."""

    topology: Topology
    catalog: Catalog
    live: bool
    issues: list[Issue] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def problem(self, code: str, path: str, message: str) -> None:
        self.issues.append(Issue(code=code, severity=Severity.ERROR, message=message, path=path))

    def lan(self, name: str, path: str) -> Lan | None:
        lan = self.topology.lan(name)
        if lan is None:
            known = ", ".join(sorted(x.name for x in self.topology.lans)[:10]) or "none"
            self.problem("OP_LAN_UNKNOWN", path, f"no LAN {name!r} (LANs: {known})")
        return lan

    def decky(self, name: str, path: str) -> Decky | None:
        decky = self.topology.decky(name)
        if decky is None:
            self.problem("OP_DECKY_UNKNOWN", path, f"no decky {name!r} in the topology")
        return decky

    def free(self, name: str, path: str, kind: str) -> bool:
        taken = self.topology.lan(name) if kind == "LAN" else self.topology.decky(name)
        if taken is not None:
            self.problem("OP_NAME_TAKEN", path, f"a {kind} named {name!r} already exists")
        return taken is None


def _listed(names: Sequence[str]) -> str:
    more = f" and {len(names) - _SHOWN} more" if len(names) > _SHOWN else ""
    return ", ".join(repr(n) for n in names[:_SHOWN]) + more


def _canvas(target: Lan | Decky, canvas: Any) -> None:
    """Only the coordinates the op names: `{x: 1}` moves, it does not clear the size."""
    if canvas is not None:
        for key in canvas.model_fields_set:
            setattr(target, key, getattr(canvas, key))


# --- LAN ops ----------------------------------------------------------------------------------


def _add_lan(w: _Work, op: AddLan, at: str) -> None:
    if w.free(op.name, f"{at}.name", "LAN"):
        lan = Lan(name=op.name, subnet=op.subnet, is_dmz=op.dmz, allow_public=op.allow_public)
        _canvas(lan, op.canvas)
        w.topology.lans.append(lan)


def _remove_lan(w: _Work, op: RemoveLan, at: str) -> None:
    lan = w.lan(op.name, f"{at}.name")
    if lan is None:
        return
    homed = [d.name for d in w.topology.deckies if d.home_lan == op.name]
    if homed:
        w.problem(
            "OP_LAN_IN_USE",
            f"{at}.name",
            f"LAN {op.name!r} is the home of {_listed(homed)}; remove or move them first",
        )
        return
    for decky in w.topology.deckies:
        if any(m.lan == op.name for m in decky.memberships):
            decky.memberships = [m for m in decky.memberships if m.lan != op.name]
            w.notes.append(f"decky {decky.name!r} is detached from removed LAN {op.name!r}")
    w.topology.lans.remove(lan)


def _update_lan(w: _Work, op: UpdateLan, at: str) -> None:
    lan = w.lan(op.name, f"{at}.name")
    if lan is None:
        return
    for key, value in (("subnet", op.subnet), ("dmz", op.dmz)):
        if value is not None and w.live:
            w.problem(
                "OP_LIVE_FORBIDDEN",
                f"{at}.{key}",
                f"the {key} of LAN {op.name!r} cannot change while the topology is live; "
                "tear it down, edit, and deploy again, or add a new LAN instead",
            )
            return
    if op.subnet is not None:
        lan.subnet = op.subnet
    if op.dmz is not None:
        lan.is_dmz = op.dmz
    if op.allow_public is not None:
        lan.allow_public = op.allow_public
    _canvas(lan, op.canvas)
    if op.rename is not None and op.rename != op.name and w.free(op.rename, f"{at}.rename", "LAN"):
        _rename_lan(w.topology, op.name, op.rename)


def _rename_lan(t: Topology, old: str, new: str) -> None:
    for lan in t.lans:
        if lan.name == old:
            lan.name = new
    for decky in t.deckies:
        if decky.home_lan == old:
            decky.home_lan = new
        for m in decky.memberships:
            if m.lan == old:
                m.lan = new


# --- decky ops --------------------------------------------------------------------------------


def _services(w: _Work, op: AddDecky, at: str) -> list[str]:
    if op.services is not None:
        return list(op.services)
    if op.archetype is None:
        return []
    archetype = w.catalog.archetypes.get(op.archetype)
    if archetype is None:
        known = ", ".join(sorted(w.catalog.archetypes))
        w.problem(
            "ARCHETYPE_UNKNOWN",
            f"{at}.archetype",
            f"archetype {op.archetype!r} is not in the catalogue (archetypes: {known})",
        )
        return []
    return list(archetype.services)


def _add_decky(w: _Work, op: AddDecky, at: str) -> None:
    lan = w.lan(op.lan, f"{at}.lan")
    free = w.free(op.name, f"{at}.name", "decky")
    services = _services(w, op, at)
    if lan is None or not free:
        return
    decky = Decky(
        name=op.name,
        home_lan=op.lan,
        memberships=[Membership(lan=op.lan, ip=op.ip)],
        services=services,
        service_config={s: dict(c) for s, c in op.config.items()},
        archetype=op.archetype,
        forwards_l3=op.forwards_l3,
        publish=list(op.publish),
    )
    _canvas(decky, op.canvas)
    w.topology.deckies.append(decky)


def _remove_decky(w: _Work, op: RemoveDecky, at: str) -> None:
    decky = w.decky(op.name, f"{at}.name")
    if decky is not None:
        w.topology.deckies.remove(decky)


def _patch_config(decky: Decky, patch: dict[str, dict[str, Any]]) -> None:
    for service, values in patch.items():
        merged = dict(decky.service_config.get(service, {}))
        for key, value in values.items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = value
        if merged:
            decky.service_config[service] = merged
        else:
            decky.service_config.pop(service, None)


def _set_services(w: _Work, decky: Decky, services: list[str]) -> None:
    dropped = sorted(set(decky.service_config) - set(services))
    for service in dropped:  # config of a service the decky no longer runs has no meaning
        del decky.service_config[service]
        w.notes.append(f"config of service {service!r} of decky {decky.name!r} is dropped")
    decky.services = list(services)


def _needs_force(w: _Work, op: UpdateDecky, at: str, key: str, what: str) -> bool:
    if w.live and not op.force:
        w.problem(
            "OP_FORCE_REQUIRED",
            f"{at}.{key}",
            f"{what} recreates the base container of live decky {op.name!r} (its IP stack "
            "restarts under an intruder); set force: true to do it anyway",
        )
        return True
    return False


def _update_decky(w: _Work, op: UpdateDecky, at: str) -> None:
    decky = w.decky(op.name, f"{at}.name")
    if decky is None:
        return
    if op.forwards_l3 is not None and op.forwards_l3 != decky.forwards_l3:
        if _needs_force(w, op, at, "forwards_l3", "turning forwarding on or off"):
            return
        decky.forwards_l3 = op.forwards_l3
    if op.home is not None and op.home != decky.home_lan:
        if w.lan(op.home, f"{at}.home") is None:
            return
        if _needs_force(w, op, at, "home", f"moving the decky to LAN {op.home!r}"):
            return
        _move_home(decky, op.home)
    if op.services is not None:
        _set_services(w, decky, op.services)
    if op.config is not None:
        _patch_config(decky, op.config)
    if op.publish is not None:
        decky.publish = list(op.publish)
    _canvas(decky, op.canvas)


def _move_home(decky: Decky, lan: str) -> None:
    """The new home keeps the decky's membership there if it had one; the old home goes."""
    kept = next((m for m in decky.memberships if m.lan == lan), Membership(lan=lan))
    others = [m for m in decky.memberships if m.lan not in (lan, decky.home_lan)]
    decky.home_lan = lan
    decky.memberships = [kept, *others]


def _attach(w: _Work, op: AttachDecky, at: str) -> None:
    decky = w.decky(op.decky, f"{at}.decky")
    lan = w.lan(op.lan, f"{at}.lan")
    if decky is None or lan is None:
        return
    if any(m.lan == op.lan for m in decky.memberships):
        w.problem(
            "OP_ALREADY_ATTACHED",
            f"{at}.lan",
            f"decky {op.decky!r} is already attached to LAN {op.lan!r}",
        )
        return
    decky.memberships.append(Membership(lan=op.lan, ip=op.ip))


def _detach(w: _Work, op: DetachDecky, at: str) -> None:
    decky = w.decky(op.decky, f"{at}.decky")
    if decky is None:
        return
    if op.lan == decky.home_lan:
        w.problem(
            "OP_HOME_LAN",
            f"{at}.lan",
            f"LAN {op.lan!r} is the home of decky {op.decky!r}; it cannot be detached "
            "(move the decky with update_decky home, or remove it)",
        )
    elif all(m.lan != op.lan for m in decky.memberships):
        w.problem(
            "OP_NOT_ATTACHED",
            f"{at}.lan",
            f"decky {op.decky!r} is not attached to LAN {op.lan!r}",
        )
    else:
        decky.memberships = [m for m in decky.memberships if m.lan != op.lan]


# --- the batch --------------------------------------------------------------------------------

_HANDLERS: dict[type, Callable[[_Work, Any, str], None]] = {
    AddLan: _add_lan,
    RemoveLan: _remove_lan,
    UpdateLan: _update_lan,
    AddDecky: _add_decky,
    RemoveDecky: _remove_decky,
    UpdateDecky: _update_decky,
    AttachDecky: _attach,
    DetachDecky: _detach,
}


def _used_ips(t: Topology) -> dict[str, set[str]]:
    used: dict[str, set[str]] = {}
    for decky in t.deckies:
        for m in decky.memberships:
            if m.ip is not None:
                used.setdefault(m.lan, set()).add(m.ip)
    return used


def apply_ops(
    topology: Topology, ops: Sequence[Op], catalog: Catalog, *, live: bool
) -> tuple[Topology, list[Issue], list[str]]:
    """The ops applied in order to a copy of `topology`; reference problems as `OP_*` issues."""
    work = _Work(copy_topology(topology), catalog, live)
    for position, op in enumerate(ops):
        _HANDLERS[type(op)](work, op, f"ops[{position}]")
    return work.topology, work.issues, work.notes


def edit(
    topology: Topology,
    ops: Sequence[Op],
    catalog: Catalog,
    ctx: HostContext,
    *,
    live: bool,
) -> EditResult:
    """Apply, allocate and validate a batch; the result is only usable when `ok`.

    On a live topology addresses freed by the batch are not handed out again in it: Docker
    may still hold them while the old container goes.
    """
    edited, issues, notes = apply_ops(topology, ops, catalog, live=live)
    if issues:
        return EditResult(None, issues, notes)
    pool = str(topology.config.get("subnet_pool") or DEFAULT_POOL)
    try:
        allocated = allocate(
            edited,
            pool=pool,
            reserved_subnets=ctx.claimed_subnets,
            avoid_ips=_used_ips(topology) if live else None,
        )
    except AllocationError as err:
        return EditResult(None, [_allocation_issue(err)], notes)
    # Only the services this batch adds get a persona: a running decky's others never change.
    allocated = personalize(allocated, catalog, only=new_pairs(topology, allocated))
    found = validate(allocated, catalog, ctx)
    if any(i.severity is Severity.ERROR for i in found):
        return EditResult(None, found, notes)
    return EditResult(allocated, found, notes)


def _allocation_issue(err: AllocationError) -> Issue:
    return Issue(code="ALLOCATION_FAILED", message=f"{err}; {err.hint}", path="ops")


# --- judging a change without its secrets ---------------------------------------------------

SecretRef = tuple[str, str, str]
"""(decky, service, key) of a secret config value."""
WRITTEN = f"{MASK} (written by the batch)"
"""What a secret the batch writes looks like when a change is judged (see `blind`)."""
WRITTEN_NOTE = (
    "a secret the batch writes counts as changed: plans never compare secret values, so the "
    "service is shown recreated even if the value is the one it has"
)


def secrets_written(ops: Sequence[Op], catalog: Catalog) -> frozenset[SecretRef]:
    """Every secret config value the batch writes (a null removes a key: it writes nothing)."""
    return frozenset(
        (op.name, service, key)
        for op in ops
        if isinstance(op, AddDecky | UpdateDecky)
        for service, values in (op.config or {}).items()
        for key, value in values.items()
        if value is not None and is_secret(catalog, service, key)
    )


def blind(
    topology: Topology, catalog: Catalog, written: frozenset[SecretRef] = frozenset()
) -> Topology:
    """`topology` as a change is judged by (its plan, whether it changes anything): every
    secret value MASK, or WRITTEN where the batch wrote one. Otherwise the answer would depend
    on the stored secret, and setting a password to a guess would tell whether it is right."""

    def hidden(decky: str, service: str, config: dict[str, Any]) -> dict[str, Any]:
        return {
            k: (WRITTEN if (decky, service, k) in written else MASK)
            if is_secret(catalog, service, k)
            else v
            for k, v in config.items()
        }

    deckies = [
        d.model_copy(
            update={
                "service_config": {s: hidden(d.name, s, c) for s, c in d.service_config.items()}
            }
        )
        for d in topology.deckies
    ]
    return topology.model_copy(update={"deckies": deckies})


def changes_nothing(before: Topology, after: Topology, ops: Sequence[Op], catalog: Catalog) -> bool:
    """Whether `after` (the edited `before`) is `before` again, judged blind to secrets: a
    batch that writes a secret always changes something."""
    written = secrets_written(ops, catalog)
    return blind(before, catalog).model_dump() == blind(after, catalog, written).model_dump()
