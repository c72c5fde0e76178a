"""Pydantic models shared by every layer.

The core works on names, never on database ids: a LAN is referenced by its name inside its
topology, a decky likewise. The store maps names to ids at its edge.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
    model_validator,
)

from decnet.text import shown

# Every pattern here is matched with `fullmatch` (or as a pydantic `pattern`, whose `$` is the
# end of the text): with `re.match`, `$` also matches before a trailing newline, so "corp\n"
# would pass as a name and reach a shell, a path or a YAML file.

NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,62}$")
"""Names that reach shells, file paths, YAML and Docker object names (SPEC §2)."""
HOST_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$")
"""Inventory host names a topology is pinned to: they name bundle directories (`hosts/HOST/`)
and reach Ansible's `--limit`, so no `/`, no leading `.`, `_` or `-`, and no `:` (an IPv6
address is an `ansible_host`, under a name)."""
HOST_HINT = (
    "name the host with letters, digits, '.', '_' and '-', starting with a letter or digit, "
    "as in the Ansible inventory (its address can go in ansible_host)"
)

SERVICE_KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
# [0-9], not \d: \d also matches Arabic-Indic and other digits, which int() then accepts.
PUBLISH_RE = re.compile(r"^(?P<host>[0-9]{1,5}):(?P<container>[0-9]{1,5})(?:/(?P<proto>tcp|udp))?$")
IMAGE_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9._/:@-]{0,254}$")
EXPONENT_RE = re.compile(r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)[eE][-+]?[0-9]+")
"""A number written with an exponent, as JSON writes small and large floats (`1e-05`)."""


def host_problem(value: str) -> str | None:
    """Why `value` cannot be an inventory host name of a topology, or None if it can."""
    if HOST_RE.fullmatch(value):
        return None
    return f"host {shown(value)} does not match {HOST_RE.pattern}"


def _host_name(value: str) -> str:
    problem = host_problem(value)
    if problem:
        raise ValueError(f"{problem}; {HOST_HINT}")
    return value


HostName = Annotated[
    str,
    AfterValidator(_host_name),
    WithJsonSchema({"type": "string", "pattern": HOST_RE.pattern}),
]
"""A host name checked against HOST_RE, with the fix in the error (topology files, API bodies);
the OpenAPI document publishes the pattern."""

ConfigValue = str | int | bool


def _exponent_float(value: object) -> object:
    """YAML 1.1 (PyYAML: topology files, JSON documents, batch files) reads `1e-05` and
    `1e+308`, JSON's own spelling of such floats, as strings; where a float is valid they are
    one (a non-finite one stays refused)."""
    if isinstance(value, str) and EXPONENT_RE.fullmatch(value):
        return float(value)
    return value


CANVAS_LIMIT = 1e7
"""How far from the origin a canvas position, and how large a size, may be (web editor): far
beyond any drawing, well inside what a browser can draw (a box at -1e308 blanks the canvas)."""
Coordinate = Annotated[
    float,
    Field(ge=-CANVAS_LIMIT, le=CANVAS_LIMIT, allow_inf_nan=False),
    BeforeValidator(_exponent_float),
]
"""A canvas position: every input of one (ops, layout, topology files) takes this bound."""
Size = Annotated[
    float, Field(ge=0, le=CANVAS_LIMIT, allow_inf_nan=False), BeforeValidator(_exponent_float)
]
"""A canvas width or height."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Status(StrEnum):
    PENDING = "pending"
    DEPLOYING = "deploying"
    ACTIVE = "active"
    DEGRADED = "degraded"
    FAILED = "failed"
    TEARING_DOWN = "tearing_down"
    TORN_DOWN = "torn_down"


TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.PENDING: frozenset({Status.DEPLOYING, Status.TORN_DOWN}),
    Status.DEPLOYING: frozenset(
        {Status.ACTIVE, Status.DEGRADED, Status.FAILED, Status.TEARING_DOWN}
    ),
    Status.ACTIVE: frozenset({Status.DEPLOYING, Status.DEGRADED, Status.TEARING_DOWN}),
    Status.DEGRADED: frozenset({Status.DEPLOYING, Status.ACTIVE, Status.TEARING_DOWN}),
    Status.FAILED: frozenset({Status.DEPLOYING, Status.TEARING_DOWN}),
    Status.TEARING_DOWN: frozenset({Status.TORN_DOWN, Status.FAILED}),
    Status.TORN_DOWN: frozenset(),
}
"""The lifecycle of SPEC §3: which status may follow which."""

LIVE = frozenset(set(Status) - {Status.TORN_DOWN})
"""Statuses whose subnets and published ports stay claimed on their host."""


# --- service catalogue (SPEC §6) -------------------------------------------------------------


class Port(_Model):
    port: int = Field(ge=1, le=65535)
    proto: Literal["tcp", "udp"] = "tcp"

    def __str__(self) -> str:
        return f"{self.port}/{self.proto}"


class ConfigParam(_Model):
    key: str = Field(pattern=SERVICE_KEY_RE.pattern)
    type: Literal["str", "int", "bool"]
    default: ConfigValue | None = None
    secret: bool = False
    env: str = Field(pattern=r"^[A-Z][A-Z0-9_]{0,62}$")
    """The container environment variable the value is passed in."""
    description: str = ""
    persona: Literal["hostname", "fqdn"] | None = None
    """Left unset, the value is the decky's own name (`hostname`) or its name in the
    topology's domain (`fqdn`, the domain picked from `variants`): decnet.core.persona."""
    variants: list[ConfigValue] = []
    """Left unset, each decky gets one of these, picked from its topology's seed, so two
    deckies do not show one fingerprint (decnet.core.persona)."""


Family = Literal["sensor", "lure"]
"""The container that serves a service on a decky: `sensor` (the decky's one decnet-sensor
container, for all its sensor services) or `lure` (the busybox fallback, one per service)."""
Sensor = Literal["cowrie", "opencanary", "decnet", "lure"]
"""The implementation that speaks a service's protocol (docs/sensors.md)."""
Capture = Literal["connect", "login", "command", "request", "download"]
"""What a sensor's lines record of an intruder's visit."""


class ServiceSpec(_Model):
    name: str = Field(pattern=NAME_RE.pattern)
    description: str = ""
    ports: list[Port]
    image: str = Field(pattern=IMAGE_RE.pattern)
    family: Family = "lure"
    sensor: Sensor = "lure"
    captures: list[Capture] = ["connect"]
    params: list[ConfigParam] = []
    cap_add: list[str] = []

    @model_validator(mode="after")
    def _sensor_fits_family(self) -> ServiceSpec:
        if (self.family == "lure") != (self.sensor == "lure"):
            raise ValueError(
                f"service {self.name}: sensor {self.sensor!r} does not run in family "
                f"{self.family!r} (the lure family has the lure sensor, and only it)"
            )
        if len(set(self.captures)) != len(self.captures):
            raise ValueError(f"service {self.name}: captures lists a kind twice")
        return self

    def param(self, key: str) -> ConfigParam | None:
        return next((p for p in self.params if p.key == key), None)


class FamilySpec(_Model):
    name: Family
    image: str = Field(pattern=IMAGE_RE.pattern)
    """The default image of the family's containers; a site overrides it with DECNET_IMAGES
    key = the family name (docs/images.md)."""
    description: str = ""


class Archetype(_Model):
    name: str = Field(pattern=NAME_RE.pattern)
    description: str = ""
    services: list[str]


class Catalog(_Model):
    services: dict[str, ServiceSpec]
    archetypes: dict[str, Archetype]
    families: dict[str, FamilySpec] = {}


# --- topology --------------------------------------------------------------------------------


class Lan(_Model):
    name: str
    subnet: str | None = None
    """IPv4 CIDR; None until the allocator assigns one."""
    is_dmz: bool = False
    allow_public: bool = False
    """Lets the LAN use a non-RFC-1918 subnet (researchers who mean it); special ranges such as
    loopback stay refused. Validation only: it never reaches the host, so not in the hash."""
    x: Coordinate | None = None
    y: Coordinate | None = None
    w: Size | None = None
    h: Size | None = None


class Membership(_Model):
    lan: str
    ip: str | None = None
    """None until the allocator assigns one; a set value is pinned."""


class Decky(_Model):
    name: str
    home_lan: str
    memberships: list[Membership]
    """Every LAN the decky is attached to, the home LAN included."""
    services: list[str] = []
    service_config: dict[str, dict[str, ConfigValue]] = {}
    archetype: str | None = None
    forwards_l3: bool = False
    publish: list[str] = []
    """Host port mappings, `host:container[/udp]`; gateways (DMZ-homed deckies) only."""
    x: Coordinate | None = None
    y: Coordinate | None = None

    def ip_on(self, lan: str) -> str | None:
        return next((m.ip for m in self.memberships if m.lan == lan), None)


class GeneratorParams(_Model):
    """Bounded parameters of the generator (SPEC §4); stored with the topology as `config`."""

    name: str
    depth: int = Field(default=2, ge=1, le=16)
    branching: int = Field(default=2, ge=1, le=8)
    deckies_min: int = Field(default=1, ge=0, le=64)
    deckies_max: int = Field(default=3, ge=0, le=64)
    forward_p: float = Field(default=0.5, ge=0.0, le=1.0)
    cross_p: float = Field(default=0.0, ge=0.0, le=1.0)
    services: list[str] | None = None
    """Explicit services for every decky; None picks archetypes from the catalogue."""
    publish: list[str] = []
    """Host port mappings for the DMZ gateway decky (`2222:22`); empty publishes nothing."""
    subnet_pool: str = "10.192.0.0/12"
    seed: int = Field(default=0, ge=0, le=2**63 - 1)


class Topology(_Model):
    """The whole aggregate: what the store loads and saves, what the core works on."""

    name: str
    status: Status = Status.PENDING
    version: int = 1
    host: HostName = "localhost"
    config: dict[str, Any] = {}
    """Generator parameters (with seed) when generated; empty for hand-written files."""
    images: dict[str, str] = {}
    """Per-service image overrides for this topology (service name or `*` -> image ref)."""
    needs_resync: bool = False
    lans: list[Lan] = []
    deckies: list[Decky] = []
    created_at: str | None = None
    status_changed_at: str | None = None

    def lan(self, name: str) -> Lan | None:
        return next((lan for lan in self.lans if lan.name == name), None)

    def decky(self, name: str) -> Decky | None:
        return next((d for d in self.deckies if d.name == name), None)

    def dmz(self) -> Lan | None:
        return next((lan for lan in self.lans if lan.is_dmz), None)


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


class Issue(_Model):
    """One problem found by validation: data, never printed by the core."""

    code: str
    severity: Severity = Severity.ERROR
    message: str
    path: str
    """Where: `lans[2].subnet`, `deckies[web-1].memberships[0].ip`, `host`, …"""


class HostContext(_Model):
    """What the validator needs to know beyond the topology itself (comes from store/inventory)."""

    claimed_subnets: dict[str, str] = {}
    """subnet CIDR -> name of the other live topology on the same host that claims it."""
    claimed_ports: dict[str, str] = {}
    """`port/proto` published on the host -> name of the other live topology that publishes it."""
    inventory_hosts: frozenset[str] | None = None
    """Hosts of the inventory; None when no inventory is consulted (HOST_UNKNOWN not checked)."""
