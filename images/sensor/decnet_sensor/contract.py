"""The sensor container's environment contract (docs/sensors.md, "Environment").

Pure: `parse_environment(env, hostname)` turns the container's environment into `Settings` or
raises `ContractError` naming the variable, the bad value and the fix. Service parameters
arrive under the catalogue's env names, which all follow `DECNET_<SERVICE>_<KEY>` (a test on
the controller side holds the catalogue to that), so a service's config is every variable
with its prefix, keyed by the lower-cased rest: `DECNET_SSH_PASSWORD` -> ssh `password`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

SERVICE_RE = re.compile(r"[a-z][a-z0-9-]{0,62}")
_SPEC_RE = re.compile(r"([0-9]{1,5})/(tcp|udp)")
DEFAULT_DIR = Path("/var/lib/decnet-sensor")
DEFAULT_MAX_BYTES = 10 * 1024 * 1024
DEFAULT_FILES = 5
DEFAULT_HEARTBEAT = 60
MIN_MAX_BYTES = 64 * 1024
MAX_FILES = 100
DOWNLOAD_MODES = ("fake", "capture")

SENSOR_VARIABLES = frozenset(
    {
        "DECNET_SERVICES",
        "DECNET_TOPOLOGY",
        "DECNET_DECKY",
        "DECNET_HOSTNAME",
        "DECNET_LOG_MAX_BYTES",
        "DECNET_LOG_FILES",
        "DECNET_HEARTBEAT",
        "DECNET_DOWNLOADS",
        "DECNET_SENSOR_DIR",
    }
)
"""Sensor-level variables: never part of a service's config."""


class ContractError(Exception):
    """The environment breaks the contract: `variable`, what is wrong, and the fix."""

    def __init__(self, variable: str, problem: str, hint: str) -> None:
        super().__init__(f"{variable}: {problem}")
        self.variable = variable
        self.problem = problem
        self.hint = hint


@dataclass(frozen=True)
class ServicePorts:
    name: str
    ports: tuple[tuple[int, str], ...]
    config: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Settings:
    services: tuple[ServicePorts, ...]
    hostname: str
    topology: str = ""
    decky: str = ""
    directory: Path = DEFAULT_DIR
    log_max_bytes: int = DEFAULT_MAX_BYTES
    log_files: int = DEFAULT_FILES
    heartbeat: int = DEFAULT_HEARTBEAT
    downloads: str = "fake"

    @property
    def state_dir(self) -> Path:
        return self.directory / "state"

    def service(self, name: str) -> ServicePorts | None:
        return next((s for s in self.services if s.name == name), None)

    def port_map(self) -> dict[tuple[int, str], str]:
        """(port, proto) -> the service listening there."""
        return {p: s.name for s in self.services for p in s.ports}


SECRET_KEY_RE = re.compile(r"password|passwd|requirepass|community|secret")
"""Config keys whose values are the decky's secrets (the catalogue marks them `secret`)."""
REDACTED = "[configured secret]"


def secret_values(settings: Settings) -> dict[str, frozenset[str]]:
    """service -> its configured secret values, which never appear in a line (an intruder
    who types one is recorded as having typed REDACTED: the outcome still says it worked)."""
    return {
        s.name: frozenset(v for k, v in s.config.items() if SECRET_KEY_RE.search(k) and v)
        for s in settings.services
    }


def env_prefix(service: str) -> str:
    return "DECNET_" + service.upper().replace("-", "_") + "_"


def service_config(env: Mapping[str, str], service: str) -> dict[str, str]:
    prefix = env_prefix(service)
    return {
        name[len(prefix) :].lower(): value
        for name, value in env.items()
        if name.startswith(prefix) and name not in SENSOR_VARIABLES and len(name) > len(prefix)
    }


def parse_services(text: str) -> list[tuple[str, tuple[tuple[int, str], ...]]]:
    """`ssh=22/tcp smb=445/tcp,139/tcp dns=53/udp` -> [(name, ((port, proto), ...)), ...]."""
    variable = "DECNET_SERVICES"
    hint = "write SERVICE=PORT/PROTO[,PORT/PROTO...] items separated by spaces, e.g. ssh=22/tcp"
    out: list[tuple[str, tuple[tuple[int, str], ...]]] = []
    seen_ports: dict[tuple[int, str], str] = {}
    for item in text.split():
        name, sep, specs = item.partition("=")
        if not sep or not SERVICE_RE.fullmatch(name):
            raise ContractError(variable, f"bad item {item!r}", hint)
        if any(name == n for n, _ in out):
            raise ContractError(variable, f"service {name!r} is listed twice", hint)
        ports: list[tuple[int, str]] = []
        for spec in specs.split(","):
            match = _SPEC_RE.fullmatch(spec)
            if not match or not 1 <= int(match[1]) <= 65535:
                raise ContractError(variable, f"bad port {spec!r} of {name!r}", hint)
            port = (int(match[1]), match[2])
            if port in seen_ports:
                raise ContractError(
                    variable,
                    f"{spec} is claimed by both {seen_ports[port]!r} and {name!r}",
                    "give each port to one service",
                )
            seen_ports[port] = name
            ports.append(port)
        out.append((name, tuple(ports)))
    if not out:
        raise ContractError(variable, "is empty: nothing to serve", hint)
    return out


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise ContractError(
            name, f"{raw!r} is not a whole number from {low} to {high}", f"e.g. {default}"
        )
    return int(raw)


def parse_environment(env: Mapping[str, str], hostname: str) -> Settings:
    services = tuple(
        ServicePorts(name, ports, service_config(env, name))
        for name, ports in parse_services(env.get("DECNET_SERVICES", ""))
    )
    downloads = env.get("DECNET_DOWNLOADS", "").strip() or "fake"
    if downloads not in DOWNLOAD_MODES:
        raise ContractError(
            "DECNET_DOWNLOADS",
            f"{downloads!r} is not a download mode",
            "write fake (the default: nothing is fetched) or capture",
        )
    directory = Path(env.get("DECNET_SENSOR_DIR", "").strip() or DEFAULT_DIR)
    if not directory.is_absolute():
        raise ContractError("DECNET_SENSOR_DIR", f"{directory} is not absolute", "e.g. /data")
    return Settings(
        services=services,
        hostname=env.get("DECNET_HOSTNAME", "").strip() or hostname,
        topology=env.get("DECNET_TOPOLOGY", ""),
        decky=env.get("DECNET_DECKY", ""),
        directory=directory,
        log_max_bytes=_int(env, "DECNET_LOG_MAX_BYTES", DEFAULT_MAX_BYTES, MIN_MAX_BYTES, 2**40),
        log_files=_int(env, "DECNET_LOG_FILES", DEFAULT_FILES, 1, MAX_FILES),
        heartbeat=_int(env, "DECNET_HEARTBEAT", DEFAULT_HEARTBEAT, 0, 86400),
        downloads=downloads,
    )
