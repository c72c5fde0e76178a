"""The one vocabulary of edits (SPEC §10): ops, name-keyed, and batches of them.

An op is a pydantic model with unknown keys refused, discriminated by its `op` field. The same
ops edit a pending topology at once and queue a change to a live one; the CLI, the API and the
editor all speak them. Parsing turns any shape error into `InvalidRequest` naming the field
path (`ops[2].lan`) and what to write instead. Applying them is `decnet.core.edit`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from decnet.core.secrets import mask_config, refuse_mask
from decnet.errors import InvalidRequest
from decnet.models import Catalog, ConfigValue, Coordinate, Size

MAX_OPS = 1000
"""Ops in one batch: an editor session stages tens; a script may add hundreds of deckies."""

OpConfigValue = Annotated[ConfigValue, AfterValidator(refuse_mask)]
"""A config value in an op: never the MASK that output shows (a client sending back a masked
config would overwrite the real secret with it)."""


class _Op(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class LanCanvas(_Op):
    """Where the editor draws a LAN box (cosmetic: never part of the desired hash)."""

    x: Coordinate | None = None
    y: Coordinate | None = None
    w: Size | None = None
    h: Size | None = None


class DeckyCanvas(_Op):
    x: Coordinate | None = None
    y: Coordinate | None = None


class AddLan(_Op):
    op: Literal["add_lan"]
    name: str
    subnet: str | None = None
    """IPv4 CIDR; allocated from the topology's pool when left out."""
    dmz: bool = False
    allow_public: bool = False
    """Allow a non-RFC-1918 subnet (special ranges stay refused); validation only."""
    canvas: LanCanvas | None = None


class RemoveLan(_Op):
    """Refused while a decky is homed there; visiting bridge deckies are detached."""

    op: Literal["remove_lan"]
    name: str


class UpdateLan(_Op):
    op: Literal["update_lan"]
    name: str
    rename: str | None = None
    subnet: str | None = None
    """Pending topologies only: a live LAN's subnet is its Docker network's."""
    dmz: bool | None = None
    """Pending topologies only."""
    allow_public: bool | None = None
    canvas: LanCanvas | None = None


class AddDecky(_Op):
    op: Literal["add_decky"]
    name: str
    lan: str
    """The home LAN."""
    services: list[str] | None = None
    archetype: str | None = None
    """Expands to its services when `services` is left out; kept as a label."""
    config: dict[str, dict[str, OpConfigValue]] = {}
    ip: str | None = None
    """Pinned home IP; allocated when left out."""
    forwards_l3: bool = False
    publish: list[str] = []
    canvas: DeckyCanvas | None = None


class RemoveDecky(_Op):
    op: Literal["remove_decky"]
    name: str


class UpdateDecky(_Op):
    op: Literal["update_decky"]
    name: str
    services: list[str] | None = None
    """Replaces the list (order is container order)."""
    config: dict[str, dict[str, OpConfigValue | None]] | None = None
    """Merged per service; a key set to null removes it."""
    forwards_l3: bool | None = None
    publish: list[str] | None = None
    home: str | None = None
    """Move the decky to another home LAN (its home IP is allocated there)."""
    canvas: DeckyCanvas | None = None
    force: bool = False
    """Allow, on a live topology, a change that recreates the decky's base container in a way
    an intruder notices (forwarding flipped, home moved)."""


class AttachDecky(_Op):
    op: Literal["attach_decky"]
    decky: str
    lan: str
    ip: str | None = None


class DetachDecky(_Op):
    op: Literal["detach_decky"]
    decky: str
    lan: str
    """Never the home LAN."""


Op = Annotated[
    AddLan
    | RemoveLan
    | UpdateLan
    | AddDecky
    | RemoveDecky
    | UpdateDecky
    | AttachDecky
    | DetachDecky,
    Field(discriminator="op"),
]
OP_TYPES: dict[str, type[_Op]] = {
    "add_lan": AddLan,
    "remove_lan": RemoveLan,
    "update_lan": UpdateLan,
    "add_decky": AddDecky,
    "remove_decky": RemoveDecky,
    "update_decky": UpdateDecky,
    "attach_decky": AttachDecky,
    "detach_decky": DetachDecky,
}
"""Every op kind, in the order the docs list them."""


class Batch(_Op):
    """Ops submitted together: validated against the state all of them produce, all or none."""

    ops: list[Op] = Field(min_length=1, max_length=MAX_OPS)
    expected_version: int | None = Field(default=None, ge=1)


_OPS = TypeAdapter(list[Op])


_UNION_MEMBERS = frozenset({"str", "int", "bool", "float", "none"})


def _where(loc: Sequence[int | str]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in OP_TYPES or part in _UNION_MEMBERS or "[" in part:
            continue  # a discriminator tag or a union member: not a key the user wrote
        else:
            out += f".{part}" if out else str(part)
    return out


def _hint(error: Mapping[str, Any]) -> str:
    kind = error.get("type", "")
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        return "`op` must be one of: " + ", ".join(OP_TYPES)
    if kind == "extra_forbidden":
        return "remove the key; docs/mutations.md lists each op's keys"
    if kind == "missing":
        return "add the key; docs/mutations.md lists each op's keys"
    return "see docs/mutations.md for the op vocabulary"


def request_error(err: ValidationError, prefix: str = "") -> InvalidRequest:
    """The first problem of a pydantic error as one `InvalidRequest` (field path, no value
    echoed: a payload may carry a secret)."""
    first = err.errors()[0]
    field = _where([*([prefix] if prefix else []), *first["loc"]]) or prefix or "body"
    message = first["msg"].removeprefix("Value error, ")
    if first["type"] == "union_tag_invalid":
        message = f"unknown op {str(first.get('ctx', {}).get('tag', ''))[:40]!r}"
    elif first["type"] == "union_tag_not_found":
        message = "every op needs an `op` key"
    return InvalidRequest(f"{field}: {message}", field=field, hint=_hint(first))


def parse_ops(data: object, *, field: str = "ops") -> list[Op]:
    """A list of op objects (JSON/YAML data) as ops; `InvalidRequest` for any shape error."""
    if isinstance(data, Mapping):
        data = [data]
    try:
        ops = _OPS.validate_python(data)
    except ValidationError as err:
        raise request_error(err, field) from None
    if not ops:
        raise InvalidRequest(f"{field}: no op given", field=field, hint="give at least one op")
    if len(ops) > MAX_OPS:
        raise InvalidRequest(
            f"{field}: {len(ops)} ops in one batch (at most {MAX_OPS})",
            field=field,
            hint="split the change into several batches",
        )
    return ops


def parse_batch(data: object) -> Batch:
    """A batch document: `{ops: [...], expected_version: N}` or a bare list of ops."""
    if isinstance(data, list):
        return Batch.model_construct(ops=parse_ops(data), expected_version=None)
    if not isinstance(data, Mapping):
        raise InvalidRequest(
            "batch: expected a list of ops or a mapping with `ops`",
            field="batch",
            hint="see docs/mutations.md for the batch format",
        )
    extra = sorted(set(data) - {"ops", "expected_version"})
    if extra:
        raise InvalidRequest(
            f"batch: unknown key {extra[0]!r}",
            field=extra[0],
            hint="a batch has `ops` and optionally `expected_version`",
        )
    version = data.get("expected_version")
    if version is not None and (type(version) is not int or version < 1):
        raise InvalidRequest(
            "expected_version: must be a positive integer",
            field="expected_version",
            hint="give the version `decnet topology show` reports",
        )
    return Batch.model_construct(ops=parse_ops(data.get("ops")), expected_version=version)


def dump_ops(ops: Sequence[Op]) -> list[dict[str, Any]]:
    """Ops as plain data, without keys left at their default (what a mutation row stores)."""
    return [op.model_dump(mode="json", exclude_defaults=True) | {"op": op.op} for op in ops]


def op_label(ops: Sequence[Op]) -> str:
    """What the `op` column of a mutation row says: the op kind, or `batch` for several."""
    return ops[0].op if len(ops) == 1 else "batch"


def mask_ops(ops: Sequence[Mapping[str, Any]], catalog: Catalog) -> list[dict[str, Any]]:
    """Stored ops (plain data) with every secret config value replaced by MASK, for output."""

    shown = []
    for op in ops:
        config = op.get("config")
        if isinstance(config, Mapping):
            services = {s: v for s, v in config.items() if isinstance(v, Mapping)}
            op = {**op, "config": {s: mask_config(catalog, s, v) for s, v in services.items()}}
        shown.append(dict(op))
    return shown
