"""Hand-written topology files (docs/topology-file.md): YAML in, `Topology` out, and back.

Parsing runs in two steps so that every error can point at a line. First the YAML is composed
into nodes with the safe loader and turned into plain data while the position of every key and
value is recorded (duplicate keys are refused here: PyYAML would silently keep the last one).
Then strict pydantic models of the file format check keys and types. An error from either step
becomes one `TopologyFileError` naming `source:line:column`, the field path and what to write
instead. Semantic checks (names, subnets, reachability, …) stay with `core.validate`.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from typing import Annotated, Any

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError, field_validator
from pydantic_core import ErrorDetails
from yaml.error import Mark
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from decnet.core.catalog import load_catalog
from decnet.core.secrets import MASK, mask_config, refuse_mask
from decnet.errors import TopologyFileError
from decnet.models import Catalog, Coordinate, Decky, HostName, Lan, Membership, Size, Topology
from decnet.text import shown

MAX_FILE_BYTES = 64 * 1024 * 1024
"""Largest topology file read (a 100,000-decky export is about 15 MiB); callers that read a
file stop at this many bytes, so `-f /dev/zero` is refused instead of read forever."""
MAX_ALIAS_NODES = 200_000
"""Bound on the values that alias expansion adds (every value reached through `*alias`), so
`&a [*a, *a, …]` bombs cannot exhaust memory; values written out in the file count against
MAX_FILE_BYTES instead."""
MAX_DEPTH = 16
"""The format nests at most 5 levels; deeper means a mistake or a recursive alias."""

Path = tuple[str | int, ...]

# libyaml's parser when PyYAML was built with it: five times faster on a 10,000-decky export
_LOADER: type[yaml.SafeLoader] | type[yaml.CSafeLoader] = getattr(
    yaml, "CSafeLoader", yaml.SafeLoader
)
_DUMPER: type[yaml.SafeDumper] | type[yaml.CSafeDumper] = getattr(
    yaml, "CSafeDumper", yaml.SafeDumper
)

_PLAIN_TAGS: dict[type[Node], tuple[str, ...]] = {
    MappingNode: ("tag:yaml.org,2002:map",),
    SequenceNode: ("tag:yaml.org,2002:seq",),
}
"""Collections must be plain; scalar tags are checked in `_Located._scalar`."""
_SCALAR_TAGS = frozenset(
    f"tag:yaml.org,2002:{name}" for name in ("str", "int", "float", "bool", "null")
)
"""The scalar types the format has: another tag (`!!binary`, `!!set`, `!foo`) is refused."""
_TIMESTAMP = "tag:yaml.org,2002:timestamp"


# --- the file format, as strict models ------------------------------------------------------


def _config_scalar(value: Any) -> str | int | bool:
    if isinstance(value, bool | int | str):
        return refuse_mask(value)
    raise ValueError(f"expected a string, integer or boolean, got {_a(_type_name(value))}")


ConfigScalar = Annotated[Any, AfterValidator(_config_scalar)]


class _FileModel(BaseModel):
    # strict: YAML already typed the scalars; `forwards_l3: 1` or `name: 12` is a mistake.
    model_config = ConfigDict(extra="forbid", strict=True)


class FileCanvas(_FileModel):
    # .inf and .nan would reach `show --json` as Infinity/NaN, which is not JSON
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)

    x: Coordinate | None = None
    y: Coordinate | None = None
    w: Size | None = None
    h: Size | None = None


class FileLan(_FileModel):
    name: str
    dmz: bool = False
    subnet: str | None = None
    allow_public: bool = False
    canvas: FileCanvas | None = None


class FileAttach(_FileModel):
    lan: str
    ip: str | None = None


class FileDecky(_FileModel):
    name: str
    home: str
    services: list[str] | None = None
    archetype: str | None = None
    config: dict[str, dict[str, ConfigScalar]] = {}
    publish: list[str] = []
    forwards_l3: bool = False
    attach: list[FileAttach] = []
    ip: str | None = None
    canvas: FileCanvas | None = None

    @field_validator("attach", mode="before")
    @classmethod
    def _short_attach(cls, value: Any) -> Any:
        """`attach: [office]` is short for `attach: [{lan: office}]`."""
        if isinstance(value, list):
            return [{"lan": item} if isinstance(item, str) else item for item in value]
        return value


class FileTopology(_FileModel):
    name: str
    host: HostName = "localhost"
    images: dict[str, str] = {}
    lans: list[FileLan] = []
    deckies: list[FileDecky] = []


_MODEL_AT: dict[tuple[str, ...], type[_FileModel]] = {
    (): FileTopology,
    ("lans", "#"): FileLan,
    ("lans", "#", "canvas"): FileCanvas,
    ("deckies", "#"): FileDecky,
    ("deckies", "#", "canvas"): FileCanvas,
    ("deckies", "#", "attach", "#"): FileAttach,
}
"""Which model a mapping at a path is (list indices as `#`), to suggest keys it knows."""


# --- YAML nodes -> plain data with positions ------------------------------------------------


def format_path(path: Path) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


class _Located:
    """Plain data built from YAML nodes, plus where each value and each key starts."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.values: dict[Path, Mark] = {}
        self.keys: dict[Path, Mark] = {}
        self._expanded = 0
        self._collections: set[int] = set()
        self._scalars = yaml.SafeLoader("")

    def error(self, message: str, mark: Mark | None, path: Path = ()) -> TopologyFileError:
        return TopologyFileError(
            message,
            line=mark.line + 1 if mark else None,
            column=mark.column + 1 if mark else None,
            field=format_path(path) or None,
            source=self.source,
        )

    def build(self, node: Node, path: Path = (), aliased: bool = False) -> Any:
        # The composer gives an alias the very node object it names: a collection met a second
        # time is an expansion, and so is everything below it.
        if isinstance(node, MappingNode | SequenceNode):
            aliased = aliased or id(node) in self._collections
            self._collections.add(id(node))
        if aliased:
            self._expanded += 1
            if self._expanded > MAX_ALIAS_NODES:
                raise self.error(f"aliases expand to over {MAX_ALIAS_NODES} values", None)
        if len(path) > MAX_DEPTH:
            raise self.error("nested too deeply; is an alias recursive?", node.start_mark)
        self.values[path] = node.start_mark
        if node.tag not in _PLAIN_TAGS.get(type(node), (node.tag,)):
            raise self.error(_unsupported(node.tag), node.start_mark, path)
        if isinstance(node, MappingNode):
            return self._mapping(node, path, aliased)
        if isinstance(node, SequenceNode):
            return [self.build(item, (*path, i), aliased) for i, item in enumerate(node.value)]
        return self._scalar(node, path)

    def _scalar(self, node: Node, path: Path) -> Any:
        """The typed value of a scalar. Never quotes the value: it may be a secret."""
        if node.tag == _TIMESTAMP:
            message = "YAML reads this value as a date or time; quote it to write a string"
            raise self.error(message, node.start_mark, path)
        if node.tag not in _SCALAR_TAGS:  # !!binary, !!python/object, !foo: data only, never code
            raise self.error(_unsupported(node.tag), node.start_mark, path)
        try:
            return self._scalars.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError, KeyError, TypeError):  # `!!int x`, `!!bool x`, …
            short = node.tag.replace("tag:yaml.org,2002:", "!!")
            message = f"the value does not fit its tag {short}; remove the tag or fix the value"
            raise self.error(message, node.start_mark, path) from None

    def _mapping(self, node: MappingNode, path: Path, aliased: bool) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = self._key(key_node, path)
            child = (*path, key)
            if key in out:
                first = self.keys[child].line + 1
                raise self.error(
                    f"duplicate key (first given on line {first}); keep one of them",
                    key_node.start_mark,
                    child,
                )
            self.keys[child] = key_node.start_mark
            out[key] = self.build(value_node, child, aliased)
        return out

    def _key(self, node: Node, path: Path) -> str:
        if node.tag == "tag:yaml.org,2002:merge":
            raise self.error("merge keys (<<) are not supported", node.start_mark, path)
        key = self._scalar(node, path) if isinstance(node, ScalarNode) else None
        if not isinstance(key, str):
            raise self.error(
                f"keys must be strings, got {_a(_type_name(key))}; quote the key",
                node.start_mark,
                path,
            )
        return key


def _unsupported(tag: str) -> str:
    return f"unsupported YAML tag {shown(tag)}; write a plain value"


def _compose(text: str, located: _Located) -> Any:
    if len(text) > MAX_FILE_BYTES:  # characters: never fewer than bytes
        raise located.error(f"the file is over {MAX_FILE_BYTES // 2**20} MiB", None)
    try:
        root = yaml.compose(text, Loader=_LOADER)
    except yaml.MarkedYAMLError as err:
        what = " ".join(filter(None, [err.context, err.problem]))
        raise located.error(f"invalid YAML: {what}", err.problem_mark) from None
    except yaml.YAMLError as err:
        raise located.error(f"invalid YAML: {err}", None) from None
    if root is None:
        raise located.error("the file is empty; it needs at least `name:`", None)
    return located.build(root)


# --- pydantic errors -> one TopologyFileError -------------------------------------------------


def _type_name(value: Any) -> str:
    names = {
        dict: "mapping", list: "list", str: "string", bool: "boolean", type(None): "null",
        int: "integer", float: "number",
    }  # fmt: skip
    return names.get(type(value), type(value).__name__)


def _a(noun: str) -> str:
    return ("an " if noun[0] in "aeiou" else "a ") + noun


_EXPECTED = {
    "string_type": "a string",
    "bool_type": "true or false",
    "int_type": "an integer",
    "float_type": "a number",
    "list_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "finite_number": "a finite number (not .inf or .nan)",
}


def _resolve(loc: tuple[str | int, ...], located: _Located) -> Path:
    """The part of a pydantic location that names a place in the file (drops `[key]` etc.)."""
    path: Path = ()
    for part in loc:
        if (*path, part) in located.values or (*path, part) in located.keys:
            path = (*path, part)
    return path


def _suggest(key: str, path: Path) -> str:
    shape = tuple("#" if isinstance(p, int) else p for p in path)
    model = _MODEL_AT.get(shape)
    known = list(model.model_fields) if model else []
    close = difflib.get_close_matches(key, known, n=1)
    if close:
        return f" (did you mean {close[0]!r}?)"
    return f" (known keys: {', '.join(known)})" if known else ""


def _describe(err: ErrorDetails, path: Path, located: _Located) -> TopologyFileError:
    kind, value = err["type"], err.get("input")
    if kind == "extra_forbidden":
        suggestion = _suggest(str(path[-1]), path[:-1])
        return located.error("unknown key" + suggestion, located.keys[path], path)
    if kind == "missing":
        return located.error("required key is missing", located.values.get(path[:-1]), path)
    if kind in _EXPECTED:
        # Service config may hold secrets: name the type there, never the value. Elsewhere a
        # string is quoted (cut short); other values are named by type only.
        if isinstance(value, str) and "config" not in path:
            got = f"{shown(value)} (string)"
        else:
            got = _a(_type_name(value))
        message = f"expected {_EXPECTED[kind]}, got {got}"
    else:
        message = err["msg"].removeprefix("Value error, ")
    return located.error(message, located.values.get(path), path)


def _errors(err: ValidationError, located: _Located) -> Iterator[TopologyFileError]:
    seen: set[Path] = set()
    for detail in err.errors():
        path = _resolve(tuple(detail["loc"]), located)
        if detail["type"] in ("extra_forbidden", "missing"):
            path = (*_resolve(tuple(detail["loc"][:-1]), located), str(detail["loc"][-1]))
        if path not in seen:  # a union reports once per member; the first says enough
            seen.add(path)
            yield _describe(detail, path, located)


def _first_error(err: ValidationError, located: _Located) -> TopologyFileError:
    found = sorted(_errors(err, located), key=lambda e: (e.line or 0, e.column or 0))
    first = found[0]
    if len(found) > 1:
        more = len(found) - 1
        first.args = (f"{first.args[0]} (and {more} more problem{'s' if more > 1 else ''})",)
    return first


# --- file model -> Topology ------------------------------------------------------------------


def _lan(f: FileLan) -> Lan:
    canvas = f.canvas.model_dump() if f.canvas else {}
    return Lan(name=f.name, subnet=f.subnet, is_dmz=f.dmz, allow_public=f.allow_public, **canvas)


def _services(f: FileDecky, catalog: Catalog) -> list[str]:
    if f.services is not None:
        return list(f.services)
    archetype = catalog.archetypes.get(f.archetype or "")
    # an unknown archetype is kept as a label: the validator reports ARCHETYPE_UNKNOWN
    return list(archetype.services) if archetype else []


def _decky(f: FileDecky, catalog: Catalog) -> Decky:
    home = Membership(lan=f.home, ip=f.ip)
    others = [Membership(lan=a.lan, ip=a.ip) for a in f.attach]
    canvas = f.canvas.model_dump(include={"x", "y"}) if f.canvas else {}
    return Decky(
        name=f.name,
        home_lan=f.home,
        memberships=[home, *others],
        services=_services(f, catalog),
        service_config={s: dict(c) for s, c in f.config.items()},
        archetype=f.archetype,
        forwards_l3=f.forwards_l3,
        publish=list(f.publish),
        **canvas,
    )


def parse_topology_file(
    text: str, source: str = "topology file", *, catalog: Catalog | None = None
) -> Topology:
    """A pending, possibly unallocated topology from YAML text; `TopologyFileError` if malformed.

    `catalog` expands `archetype:` into services when `services:` is absent.
    """
    located = _Located(source)
    data = _compose(text, located)
    try:
        parsed = FileTopology.model_validate(data)
    except ValidationError as err:
        raise _first_error(err, located) from None
    catalog = catalog or load_catalog()
    return Topology(
        name=parsed.name,
        host=parsed.host,
        images=dict(parsed.images),
        lans=[_lan(lan) for lan in parsed.lans],
        deckies=[_decky(d, catalog) for d in parsed.deckies],
    )


# --- Topology -> YAML ------------------------------------------------------------------------

HEADER = "# decnet topology file: see docs/topology-file.md\n"
MASKED_NOTE = (
    f"# secret values are masked as {MASK!r}: set them, or export with --include-secrets\n"
)


def _canvas(obj: Lan | Decky, keys: tuple[str, ...]) -> dict[str, Any]:
    values = {k: getattr(obj, k) for k in keys if getattr(obj, k) is not None}
    return {"canvas": values} if values else {}


def _dump_lan(lan: Lan) -> dict[str, Any]:
    out: dict[str, Any] = {"name": lan.name}
    if lan.is_dmz:
        out["dmz"] = True
    if lan.subnet is not None:
        out["subnet"] = lan.subnet
    if lan.allow_public:
        out["allow_public"] = True
    return out | _canvas(lan, ("x", "y", "w", "h"))


def _dump_attach(m: Membership) -> str | dict[str, str]:
    return {"lan": m.lan, "ip": m.ip} if m.ip is not None else m.lan


def _dump_decky(d: Decky) -> dict[str, Any]:
    out: dict[str, Any] = {"name": d.name, "home": d.home_lan}
    if d.ip_on(d.home_lan) is not None:
        out["ip"] = d.ip_on(d.home_lan)
    if d.archetype is not None:
        out["archetype"] = d.archetype
    out["services"] = list(d.services)  # always explicit, so the archetype never re-expands
    optional = {
        "config": {s: dict(c) for s, c in d.service_config.items()},
        "publish": list(d.publish),
        "forwards_l3": d.forwards_l3,
        "attach": [_dump_attach(m) for m in d.memberships if m.lan != d.home_lan],
    }
    out |= {k: v for k, v in optional.items() if v}
    return out | _canvas(d, ("x", "y"))


def dump_topology_file(topology: Topology) -> str:
    """YAML that parses back to the same desired hash: subnets and IPs are written, so pinned.

    Generator parameters (`config`), status and version are not part of the file.
    """
    doc: dict[str, Any] = {"name": topology.name, "host": topology.host}
    if topology.images:
        doc["images"] = dict(topology.images)
    doc["lans"] = [_dump_lan(lan) for lan in topology.lans]
    doc["deckies"] = [_dump_decky(d) for d in topology.deckies]
    masked = any(MASK in c.values() for d in topology.deckies for c in d.service_config.values())
    body = yaml.dump(
        doc, Dumper=_DUMPER, sort_keys=False, default_flow_style=None, allow_unicode=True, width=100
    )
    return HEADER + (MASKED_NOTE if masked else "") + body


def mask_secrets(topology: Topology, catalog: Catalog) -> Topology:
    """A copy in which every secret service config value (`decnet.core.secrets.is_secret`)
    is MASK."""
    deckies = [
        d.model_copy(
            update={
                "service_config": {
                    s: mask_config(catalog, s, c) for s, c in d.service_config.items()
                }
            }
        )
        for d in topology.deckies
    ]
    return topology.model_copy(update={"deckies": deckies})
