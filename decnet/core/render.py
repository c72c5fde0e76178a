"""Rendering (SPEC §7): one Docker Compose project per topology, and the bundle of all of them.

Python computes every value into a plain *view model* (dicts, lists, scalars: exactly the compose
document that `docker compose` should see); the Jinja template only lays it out, passing every
scalar through the `y` filter, so no value can inject YAML. Each rendered file is parsed back and
compared with its model before the caller may write anything.

Pure, as all of decnet.core: the template comes in as text (`decnet.engine.bundle.read_template`
reads it), the files go out as a mapping of path to text (`write_bundle` writes them).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jinja2
import yaml

from decnet.core.catalog import container_image, runs_alone
from decnet.core.hashing import desired_hash
from decnet.errors import InternalError, InvalidTopology, UsageError
from decnet.models import (
    IMAGE_RE,
    NAME_RE,
    PUBLISH_RE,
    Catalog,
    ConfigValue,
    Decky,
    Issue,
    Lan,
    Topology,
    host_problem,
)

_SAFE_LOADER: type[yaml.SafeLoader] | type[yaml.CSafeLoader] = getattr(
    yaml, "CSafeLoader", yaml.SafeLoader
)

FORMAT = 1
"""Version of bundle.json and meta.json."""
WRITTEN_BY = "decnet"
"""bundle.json's `written_by`: marks a directory `decnet render --out` may replace."""

TEMPLATE = "compose.yml.j2"
BASE_IMAGE_KEY = "base"
"""Image-override key for the base containers (not a service: `*` does not apply to it)."""
DEFAULT_BASE_IMAGE = "decnet-lure:0.1"
"""The lure image (decnet.engine.images.LURE_IMAGE): with no DECNET_PORTS it only sleeps."""

SEP = "."
"""Joins the parts of a Docker name. No decnet name may contain it (NAME_RE), so
`decnet-T.DECKY.SERVICE` parses back one way only and two topologies never share a name."""

SENSOR_DIR = "/var/lib/decnet/sensors"
"""The host directory of sensor output (the host contract's `sensor_dir`): the sensor container
of decky D of topology T writes under SENSOR_DIR/T/D/FAMILY, which outlives the container."""
SENSOR_MOUNT = "/var/lib/decnet-sensor"
"""Where that directory appears in the sensor container (the image's contract)."""
SENSOR_USER = "999:999"
"""The sensor image's unprivileged user; the module creates the host directory for it."""
SENSOR_LOG = {"max_bytes": 10 * 1024 * 1024, "files": 5}
"""Rotation of each sensor's events.jsonl: a flood cannot fill a host's disk."""
DOCKER_LOG = {"driver": "json-file", "options": {"max-size": "1m", "max-file": "2"}}
"""Bounds of every container's own stdout/stderr (the engine's log), for the same reason."""

RESTART_POLICY = "unless-stopped"
"""Deckies come back after a host or engine restart; `docker compose down` still removes them."""

# YAML (PyYAML's reader and YAML 1.1) rejects these raw or folds them as line breaks, so they
# are written as escapes; everything else printable stays literal (readable unicode banners).
_YAML_UNSAFE = re.compile(
    "[^\x09\x0a\x0d\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]|[\x85\u2028\u2029]"
)

Scalar = str | int | bool | None


@dataclass(frozen=True)
class RenderedTopology:
    compose: str
    meta: dict[str, Any]


# --- the YAML-safe scalar filter and the Jinja environment ----------------------------------


def _escape_char(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def yaml_scalar(value: object) -> str:
    """One scalar as a JSON literal (valid YAML); `$` doubled for compose interpolation."""
    if isinstance(value, jinja2.Undefined):
        str(value)  # StrictUndefined raises its own error, naming the missing variable
        raise TypeError("the y filter got an undefined value")
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        text = json.dumps(value.replace("$", "$$"), ensure_ascii=False)
        return _YAML_UNSAFE.sub(_escape_char, text)
    # Lists, dicts, floats, undefined: the template must lay those out, never stringify them.
    raise TypeError(f"the y filter takes str, int, bool or None, not {type(value).__name__}")


def build_environment(loader: jinja2.BaseLoader | None = None) -> jinja2.Environment:
    """The one Jinja environment of decnet's templates."""
    env = jinja2.Environment(
        loader=loader,
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["y"] = yaml_scalar
    return env


def compile_template(text: str) -> jinja2.Template:
    return build_environment().from_string(text)


# --- the view model -------------------------------------------------------------------------


def project_name(topology: str) -> str:
    """Compose project names allow no `.`; topology names are unique, so `-` is enough."""
    return f"decnet-{topology}"


def compose_key(decky: str, service: str | None = None) -> str:
    """The compose service key of a decky's base (`DECKY`) or of one service (`DECKY.SERVICE`)."""
    return decky if service is None else f"{decky}{SEP}{service}"


def container_name(topology: str, decky: str, service: str | None = None) -> str:
    """`decnet-T.DECKY` (base) or `decnet-T.DECKY.SERVICE`."""
    return f"{project_name(topology)}{SEP}{compose_key(decky, service)}"


def network_name(topology: str, lan: str) -> str:
    """`decnet-T.LAN`."""
    return f"{project_name(topology)}{SEP}{lan}"


BRIDGE_PREFIX = "dcn-"
"""Every decky LAN's bridge on the host is named with it (roles/decnet_host/files/contract.json,
`bridge_prefix`): the host's firewall drops what any of them sends to the host itself."""
BRIDGE_OPTION = "com.docker.network.bridge.name"


def bridge_name(topology: str, lan: str) -> str:
    """`dcn-` and 11 hex digits of the network's name: an interface name holds 15 bytes."""
    digest = hashlib.sha256(network_name(topology, lan).encode()).hexdigest()
    return f"{BRIDGE_PREFIX}{digest[:11]}"


def _fail(topology: Topology, code: str, path: str, message: str) -> InvalidTopology:
    """What validation refuses, met while rendering a topology that skipped it."""
    issue = Issue(code=code, path=path, message=message)
    return InvalidTopology([issue], subject=f"topology {topology.name!r}")


def _checked_image(topology: Topology, image: str, what: str) -> str:
    if not IMAGE_RE.fullmatch(image):
        message = f"image {image!r} for {what} is not a valid image reference"
        raise _fail(topology, "IMAGE_INVALID", "images", message)
    return image


def resolve_base_image(topology_images: Mapping[str, str], site_images: Mapping[str, str]) -> str:
    """The base containers' image: topology `base` > site `base` > the lure image."""
    return (
        topology_images.get(BASE_IMAGE_KEY)
        or site_images.get(BASE_IMAGE_KEY)
        or (DEFAULT_BASE_IMAGE)
    )


def _env_value(value: ConfigValue) -> str:
    # Compose wants strings; booleans as shell scripts test them.
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _network(topology: Topology, lan: Lan) -> dict[str, Any]:
    if lan.subnet is None:
        message = f"LAN {lan.name!r} has no subnet (the allocator did not run)"
        raise _fail(topology, "SUBNET_INVALID", f"lans[{lan.name}].subnet", message)
    return {
        "name": network_name(topology.name, lan.name),
        "driver": "bridge",
        "internal": not lan.is_dmz,
        "driver_opts": {BRIDGE_OPTION: bridge_name(topology.name, lan.name)},
        "ipam": {"config": [{"subnet": lan.subnet}]},
        "labels": {"decnet.topology": topology.name, "decnet.lan": lan.name},
    }


def _memberships(topology: Topology, decky: Decky) -> dict[str, Any]:
    networks: dict[str, Any] = {}
    for i, m in enumerate(decky.memberships):
        if topology.lan(m.lan) is None or m.ip is None:
            code = "IP_MISSING" if topology.lan(m.lan) else "MEMBERSHIP_UNKNOWN_LAN"
            message = f"decky {decky.name!r} has no IP on a known LAN {m.lan!r}"
            raise _fail(topology, code, f"deckies[{decky.name}].memberships[{i}]", message)
        networks[m.lan] = {"ipv4_address": m.ip}
    if not networks:
        # Without networks compose would attach the default one: a decky on no LAN at all.
        message = f"decky {decky.name!r} has no membership"
        raise _fail(topology, "DECKY_NO_LAN", f"deckies[{decky.name}].memberships", message)
    return networks


def _base(topology: Topology, decky: Decky, image: str) -> dict[str, Any]:
    svc: dict[str, Any] = {
        "container_name": container_name(topology.name, decky.name),
        "image": image,
        "hostname": decky.name,
        "init": True,
        "restart": RESTART_POLICY,
        # No ports: the lure only sleeps, holding the namespace for the service containers.
        "environment": {"DECNET_PORTS": ""},
        "networks": _memberships(topology, decky),
    }
    # Explicit both ways: measured on Docker 20.10, a container's namespace had forwarding on.
    svc["sysctls"] = {"net.ipv4.ip_forward": "1" if decky.forwards_l3 else "0"}
    if decky.publish:
        for entry in decky.publish:
            if not PUBLISH_RE.fullmatch(entry):
                message = f"decky {decky.name!r} publishes {entry!r}"
                raise _fail(topology, "PUBLISH_INVALID", f"deckies[{decky.name}].publish", message)
        # Services share the base's network namespace, so the base holds the host ports.
        svc["ports"] = list(decky.publish)
    svc["labels"] = {
        "decnet.topology": topology.name,
        "decnet.decky": decky.name,
        "decnet.role": "base",
    }
    return svc


def _params_env(topology: Topology, decky: Decky, service: str, catalog: Catalog) -> dict[str, str]:
    """The service's config as its catalogue env names: set values, else defaults."""
    spec = catalog.services[service]
    config = decky.service_config.get(service, {})
    undeclared = sorted(set(config) - {p.key for p in spec.params})
    if undeclared:
        message = f"decky {decky.name!r}: {service} has no key {undeclared[0]!r}"
        path = f"deckies[{decky.name}].service_config.{service}"
        raise _fail(topology, "SERVICE_CONFIG_UNDECLARED", path, message)
    env = {}
    for param in spec.params:
        value = config.get(param.key, param.default)
        if value is not None:  # a param with neither default nor config is simply unset
            env[param.env] = _env_value(value)
    return env


def _service_env(
    topology: Topology, decky: Decky, service: str, catalog: Catalog
) -> dict[str, str]:
    """A one-service container's environment (the lure, or a site's own image)."""
    ports = " ".join(str(p) for p in catalog.services[service].ports)
    env = {"DECNET_SERVICE": service, "DECNET_PORTS": ports}
    return env | _params_env(topology, decky, service, catalog)


def _sensor_env(
    topology: Topology, decky: Decky, services: Sequence[str], catalog: Catalog
) -> dict[str, str]:
    """The sensor container's environment (its contract: docs/sensors.md)."""
    listed = " ".join(
        f"{s}=" + ",".join(str(p) for p in catalog.services[s].ports) for s in services
    )
    env = {
        "DECNET_SERVICES": listed,
        "DECNET_TOPOLOGY": topology.name,
        "DECNET_DECKY": decky.name,
        # network_mode: service: shares the base's network, not its UTS namespace
        "DECNET_HOSTNAME": decky.name,
        "DECNET_LOG_MAX_BYTES": str(SENSOR_LOG["max_bytes"]),
        "DECNET_LOG_FILES": str(SENSOR_LOG["files"]),
        "DECNET_DOWNLOADS": "fake",
    }
    for service in services:
        env |= _params_env(topology, decky, service, catalog)
    return env


def _service(
    topology: Topology, decky: Decky, service: str, catalog: Catalog, image: str
) -> dict[str, Any]:
    svc: dict[str, Any] = {
        "container_name": container_name(topology.name, decky.name, service),
        "image": image,
        "init": True,
        "restart": RESTART_POLICY,
        "network_mode": f"service:{decky.name}",
        # restart: a recreated base gets a new network namespace; its services must follow.
        "depends_on": {decky.name: {"condition": "service_started", "restart": True}},
        "environment": _service_env(topology, decky, service, catalog),
    }
    cap_add = catalog.services[service].cap_add
    if cap_add:
        svc["cap_add"] = list(cap_add)
    svc["labels"] = {
        "decnet.topology": topology.name,
        "decnet.decky": decky.name,
        "decnet.role": "service",
        "decnet.service": service,
    }
    return svc


def sensor_source(topology: str, decky: str, family: str) -> str:
    """The sensor directory of one family container, relative to SENSOR_DIR (`T/D/FAMILY`):
    the collector's source name."""
    return f"{topology}/{decky}/{family}"


def _sensor(
    topology: Topology, decky: Decky, family: str, services: Sequence[str], catalog: Catalog,
    image: str,
) -> dict[str, Any]:  # fmt: skip
    """One container serving all `services` of the decky that `family` runs, hardened: an
    unprivileged user, a read-only root, no capabilities, no privilege gain, bounded logs; its
    only writable place is its own host directory."""
    source = sensor_source(topology.name, decky.name, family)
    svc: dict[str, Any] = {
        "container_name": container_name(topology.name, decky.name, family),
        "image": image,
        "init": False,  # the image runs tini as its entrypoint
        "restart": RESTART_POLICY,
        "network_mode": f"service:{decky.name}",
        "depends_on": {decky.name: {"condition": "service_started", "restart": True}},
        "environment": _sensor_env(topology, decky, services, catalog),
        "user": SENSOR_USER,
        "read_only": True,
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges:true"],
        "tmpfs": ["/tmp"],
        "volumes": [f"{SENSOR_DIR}/{source}:{SENSOR_MOUNT}"],
        "logging": DOCKER_LOG,
    }
    svc["labels"] = {
        "decnet.topology": topology.name,
        "decnet.decky": decky.name,
        "decnet.role": "service",
        "decnet.family": family,
        "decnet.services": ",".join(services),
    }
    return svc


def _containers_of(
    topology: Topology, decky: Decky, catalog: Catalog, site_images: Mapping[str, str]
) -> list[tuple[str, str, list[str]]]:
    """(family or service, image, services) per container of the decky, in service order:
    a family's services share one container; a service the site or topology gives an image of
    its own, and every lure service, runs alone."""
    groups: dict[str, tuple[str, list[str]]] = {}
    if len(set(decky.services)) != len(decky.services):
        twice = next(s for s in decky.services if decky.services.count(s) > 1)
        message = f"decky {decky.name!r} lists service {twice!r} twice"
        raise _fail(topology, "SERVICE_DUPLICATE", f"deckies[{decky.name}].services", message)
    for service in decky.services:
        spec = catalog.services.get(service)
        if spec is None:
            message = f"decky {decky.name!r} runs unknown service {service!r}"
            raise _fail(topology, "SERVICE_UNKNOWN", f"deckies[{decky.name}].services", message)
        image = container_image(service, catalog, site_images, topology.images)
        if runs_alone(service, catalog, site_images, topology.images):
            groups[service] = (_checked_image(topology, image, service), [service])
        else:
            image = _checked_image(topology, image, spec.family)
            groups.setdefault(spec.family, (image, []))[1].append(service)
    return [(key, image, services) for key, (image, services) in groups.items()]


def _decky_entries(
    topology: Topology, decky: Decky, catalog: Catalog, site_images: Mapping[str, str]
) -> Iterable[tuple[str, dict[str, Any]]]:
    base_image = resolve_base_image(topology.images, site_images)
    yield decky.name, _base(topology, decky, _checked_image(topology, base_image, "base"))
    for key, image, services in _containers_of(topology, decky, catalog, site_images):
        if key in catalog.families:
            entry = _sensor(topology, decky, key, services, catalog, image)
        else:
            entry = _service(topology, decky, key, catalog, image)
        yield compose_key(decky.name, key), entry


def teardown_view(topology: Topology, catalog: Catalog) -> Topology:
    """`topology` without the services the catalogue no longer has, for a teardown bundle:
    removal goes by the topology's labels and project, never by its compose file, so a
    service dropped from the catalogue must not make a live topology impossible to remove."""
    if all(s in catalog.services for d in topology.deckies for s in d.services):
        return topology
    deckies = [
        d.model_copy(
            update={
                "services": [s for s in d.services if s in catalog.services],
                "service_config": {
                    s: c for s, c in d.service_config.items() if s in catalog.services
                },
            }
        )
        for d in topology.deckies
    ]
    return topology.model_copy(update={"deckies": deckies})


def _check_names(topology: Topology) -> None:
    names = [("topology", "name", topology.name)]
    names += [("LAN", f"lans[{lan.name}].name", lan.name) for lan in topology.lans]
    names += [("decky", f"deckies[{d.name}].name", d.name) for d in topology.deckies]
    for kind, path, name in names:
        if not NAME_RE.fullmatch(name):
            message = f"{kind} name {name!r} is not a valid name"
            raise _fail(topology, "NAME_INVALID", path, message)


def compose_model(
    topology: Topology, catalog: Catalog, site_images: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The compose document of one topology, as plain data."""
    _check_names(topology)
    site = site_images or {}
    networks = {lan.name: _network(topology, lan) for lan in topology.lans}
    services: dict[str, Any] = {}
    for decky in topology.deckies:
        for key, entry in _decky_entries(topology, decky, catalog, site):
            # No name contains SEP (checked above), so only a decky named twice or a service
            # listed twice gets here (NAME_DUPLICATE, SERVICE_DUPLICATE): never drop one.
            if key in services:
                code = "SERVICE_DUPLICATE" if SEP in key else "NAME_DUPLICATE"
                message = f"two containers would be named {entry['container_name']}"
                raise _fail(topology, code, f"deckies[{decky.name}]", message)
            services[key] = entry
    return {"name": project_name(topology.name), "networks": networks, "services": services}


# --- parse back and compare -----------------------------------------------------------------


def _unescape(text: str) -> str:
    """What compose makes of a string: `$$` -> `$`; a lone `$` would be interpolated."""
    parts = text.split("$$")
    if any("$" in part for part in parts):
        raise ValueError(f"unescaped $ in {text!r}")
    return "$".join(parts)


def _interpolated(value: object) -> object:
    if isinstance(value, str):
        return _unescape(value)
    if isinstance(value, dict):
        return {k: _interpolated(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_interpolated(v) for v in value]
    return value


def _first_difference(got: object, want: object, path: str = "") -> str | None:
    """Path of the first difference; types are compared too (True is not 1)."""
    if type(got) is not type(want):
        return path or "."
    if isinstance(want, dict):
        assert isinstance(got, dict)
        if list(got) != list(want):
            return f"{path} keys" if path else "top-level keys"
        for key in want:
            found = _first_difference(got[key], want[key], f"{path}.{key}")
            if found:
                return found
        return None
    if isinstance(want, list):
        assert isinstance(got, list)
        if len(got) != len(want):
            return f"{path} length"
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            found = _first_difference(g, w, f"{path}[{i}]")
            if found:
                return found
        return None
    return None if got == want else (path or ".")


def verify_rendered(topology_name: str, text: str, model: Mapping[str, Any]) -> None:
    """Raise unless `text`, parsed and interpolated as compose would, equals `model`."""
    try:
        # libyaml's loader: the parse-back check of a 10k-decky file is 10x faster with it
        got = _interpolated(yaml.load(text, Loader=_SAFE_LOADER))
    except (yaml.YAMLError, ValueError) as err:
        problem: str | None = f"it does not parse back: {err}"
    else:
        where = _first_difference(got, dict(model))
        problem = f"it differs from its model at {where}" if where else None
    if problem:
        raise InternalError(
            f"rendered compose file of topology {topology_name!r} is wrong: {problem}",
            hint="this is a bug in templates/compose.yml.j2 or decnet/core/render.py",
        )


# --- one topology, and the bundle -----------------------------------------------------------


def secret_env(model: Mapping[str, Any], catalog: Catalog) -> dict[str, list[str]]:
    """Per compose service, the environment variables holding a secret (catalogue params with
    `secret: true`): the module masks exactly their values in what it reports."""
    found: dict[str, list[str]] = {}
    for key, svc in model["services"].items():
        specs = [catalog.services[s] for s in served(svc) if s in catalog.services]
        names = sorted(
            p.env for spec in specs for p in spec.params
            if p.secret and p.env in svc["environment"]
        )  # fmt: skip
        if names:
            found[key] = names
    return dict(sorted(found.items()))


def served(svc: Mapping[str, Any]) -> list[str]:
    """The catalogue services a rendered container serves (none for a base)."""
    labels = svc.get("labels") or {}
    if "decnet.services" in labels:
        return str(labels["decnet.services"]).split(",")
    return [str(labels["decnet.service"])] if "decnet.service" in labels else []


def sensor_dirs(model: Mapping[str, Any]) -> list[str]:
    """The sensor directories (relative to SENSOR_DIR) the project's containers mount: the
    module creates each, owned by the sensor user, before the containers start."""
    prefix = SENSOR_DIR + "/"
    found = {
        volume.split(":", 1)[0].removeprefix(prefix)
        for svc in model["services"].values()
        for volume in svc.get("volumes", ())
        if volume.startswith(prefix)
    }
    return sorted(found)


def _meta(
    topology: Topology, model: Mapping[str, Any], digest: str, catalog: Catalog
) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "topology": topology.name,
        "host": topology.host,
        "project": model["name"],
        "desired_hash": digest,
        "containers": sorted(s["container_name"] for s in model["services"].values()),
        "networks": sorted(n["name"] for n in model["networks"].values()),
        "secret_env": secret_env(model, catalog),
        "sensor_dirs": sensor_dirs(model),
        "images": sorted({s["image"] for s in model["services"].values()}),
    }


def _render_with(
    template: jinja2.Template,
    topology: Topology,
    catalog: Catalog,
    site_images: Mapping[str, str],
    secret_key: bytes,
) -> RenderedTopology:
    model = compose_model(topology, catalog, site_images)
    text = template.render(model=model)
    verify_rendered(topology.name, text, model)
    digest = desired_hash(topology, catalog, dict(site_images), secret_key=secret_key)
    return RenderedTopology(compose=text, meta=_meta(topology, model, digest, catalog))


def render_topology(
    topology: Topology,
    catalog: Catalog,
    site_images: Mapping[str, str] | None = None,
    *,
    template: str,
    secret_key: bytes,
) -> RenderedTopology:
    """The compose file (checked against its model) and metadata of one topology, rendered
    with `template` (its text); `secret_key` seals secrets in its desired hash."""
    compiled = compile_template(template)
    return _render_with(compiled, topology, catalog, site_images or {}, secret_key)


def meta_json(meta: Mapping[str, Any]) -> str:
    return json.dumps(meta, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _bundle_hosts(topologies: Sequence[Topology]) -> dict[str, list[str]]:
    hosts: dict[str, list[str]] = {}
    seen: set[str] = set()
    for t in topologies:
        problem = host_problem(t.host)
        if problem:  # Topology.host is checked when a topology is made: one built around that
            raise InternalError(f"topology {t.name!r}: {problem}; it cannot name a directory")
        if t.name in seen:
            raise UsageError(
                f"topology {t.name!r} appears twice in one bundle", hint="name each topology once"
            )
        seen.add(t.name)
        hosts.setdefault(t.host, []).append(t.name)
    return {host: sorted(names) for host, names in sorted(hosts.items())}


def render_bundle(
    topologies: Sequence[Topology],
    catalog: Catalog,
    site_images: Mapping[str, str] | None,
    template: str,
    *,
    secret_key: bytes,
) -> dict[str, str]:
    """Every bundle file (relative path -> content), all rendered with `template` (the compose
    template's text, compiled once here) and checked before returning.

    Layout (docs/design.md): bundle.json, hosts/HOST/TOPOLOGY/{compose.yml,meta.json}.
    """
    hosts = _bundle_hosts(topologies)
    compiled = compile_template(template)
    bundle = {"format": FORMAT, "written_by": WRITTEN_BY, "hosts": hosts}
    files: dict[str, str] = {"bundle.json": meta_json(bundle)}
    for t in topologies:
        rendered = _render_with(compiled, t, catalog, site_images or {}, secret_key)
        files[f"hosts/{t.host}/{t.name}/compose.yml"] = rendered.compose
        files[f"hosts/{t.host}/{t.name}/meta.json"] = meta_json(rendered.meta)
    return files
