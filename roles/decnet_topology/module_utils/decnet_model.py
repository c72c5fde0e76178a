# Copyright: decnet contributors
# Apache-2.0 (see the repository's license)
"""The topology model of decnet_compose_project: one topology's compose project on the host, and
what its containers say about it compared with its compose config.

Standard library only: this runs on the managed host."""

from __future__ import annotations

import calendar
import hashlib
import json
import os
import re
import tempfile
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ansible.module_utils.decnet_failure import Failure
from ansible.module_utils.decnet_host import (
    APPLIED_FILE,
    COMPOSE_FILE,
    PROJECT_LABEL,
    PROJECT_PREFIX,
    SERVICE_LABEL,
    TOPOLOGY_LABEL,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from ansible.module_utils.decnet_engine import Docker
    from ansible.module_utils.decnet_host import Doc, Progress
    from ansible.module_utils.decnet_pool import Pool


def _no_logs(container: Doc) -> str:
    return ""


@dataclass(frozen=True)
class Options:
    """How the containers are handled (the module's parameters of the same names)."""

    stop_timeout: int
    """Seconds a container gets to stop before it is killed."""
    pull: str
    """Compose's pull policy."""
    settle: float
    """Seconds to wait after (re)starts before checking that the containers stay up."""


class Topology:
    """One topology on this host: its compose project, its directory and files, and the means
    to act on it (the docker client, the bounded pool, the progress file)."""

    def __init__(
        self,
        name: str,
        project: str | None,
        base_dir: str,
        options: Options,
        docker: Docker,
        pool: Pool,
        progress: Progress,
    ) -> None:
        self.docker = docker
        self.pool = pool
        self.progress = progress
        self.options = options
        self.name = name
        self.project = project or f"{PROJECT_PREFIX}{name}"
        self.base_dir = base_dir
        self.dir = os.path.join(self.base_dir, self.name)
        self.compose_file = os.path.join(self.dir, COMPOSE_FILE)
        self.applied_file = os.path.join(self.dir, APPLIED_FILE)
        self._config: tuple[str, Doc] | None = None

    def compose_args(self) -> list[str]:
        return ["compose", "-p", self.project, "-f", self.compose_file]

    def project_state(self) -> tuple[list[Doc], list[Doc]]:
        label = f"{PROJECT_LABEL}={self.project}"
        return self.docker.containers(label), self.docker.networks(label)

    def all_objects(self) -> tuple[list[Doc], list[Doc]]:
        """Everything of the topology: its label or its compose project."""
        found: dict[str, list[Doc]] = {"c": [], "n": []}
        for label in (f"{TOPOLOGY_LABEL}={self.name}", f"{PROJECT_LABEL}={self.project}"):
            pairs = (("c", self.docker.containers(label)), ("n", self.docker.networks(label)))
            for key, objs in pairs:
                seen = {o["Id"] for o in found[key]}
                found[key] += [o for o in objs if o["Id"] not in seen]
        return found["c"], found["n"]

    def load_config(self, content: str) -> Doc:
        """`docker compose config` of `content` (once per content: an inline apply looks twice)."""
        if self._config is not None and self._config[0] == content:
            return self._config[1]
        with tempfile.TemporaryDirectory(prefix="decnet-config-") as empty:
            out = self.docker.must(
                ["compose", "-p", self.project, "-f", "-", "config", "--format", "json"],
                "docker compose config (the compose file is invalid)",
                stdin=content,
                cwd=empty,
            )
        config: Doc = json.loads(out)
        if not (config.get("services") or {}):
            raise Failure("the compose file defines no service")
        self._config = (content, config)
        return config


def summarize(containers: list[Doc]) -> list[dict[str, str | None]]:
    rows: list[dict[str, str | None]] = []
    for c in containers:
        rows.append(
            {
                "name": c.get("Name", "").lstrip("/"),
                "id": c.get("Id", ""),
                "service": (c.get("Config", {}).get("Labels") or {}).get(SERVICE_LABEL),
                "state": c.get("State", {}).get("Status"),
            }
        )
    return sorted(rows, key=lambda r: r["name"] or "")


def service_digests(config: Doc) -> dict[str, str]:
    """service -> SHA-256 of its normalised definition (applied.json keeps them, so the next
    look knows which services a new compose file changes without parsing the old one)."""
    services = config.get("services") or {}
    return {
        name: hashlib.sha256(json.dumps(spec, sort_keys=True).encode("utf-8")).hexdigest()
        for name, spec in services.items()
    }


def changed_services(config: Doc, applied: Doc | None) -> set[str] | None:
    """The services a new config adds, removes or defines differently than the applied one;
    None when the applied record does not say (applied by an older module)."""
    recorded = (applied or {}).get("services")
    if not isinstance(recorded, dict):
        return None
    new = service_digests(config)
    return {s for s in set(new) | set(recorded) if new.get(s) != recorded.get(s)}


def fingerprint(containers: list[Doc], networks: list[Doc]) -> set[tuple[object, ...]]:
    marks = {(c["Id"], c["State"].get("StartedAt"), c["State"].get("Running")) for c in containers}
    return marks | {("net", n["Id"]) for n in networks}


def runtime_problems(
    config: Doc,
    containers: list[Doc],
    started_now: set[str],
    logs: Callable[[Doc], str] = _no_logs,
) -> list[str]:
    """What is wrong with the running project compared with the config (empty = healthy);
    `logs(container)` adds what a failed container last printed."""
    services = config.get("services") or {}
    by_service: dict[str, list[Doc]] = {}
    for c in containers:
        svc = (c["Config"].get("Labels") or {}).get(SERVICE_LABEL, "")
        by_service.setdefault(svc, []).append(c)
    problems: list[str] = []
    for svc in sorted(services):
        found = by_service.get(svc, [])
        if len(found) != 1:
            problems.append(f"service {svc}: {len(found)} containers")
            continue
        state = found[0]["State"]
        name = found[0]["Name"].lstrip("/")
        if not state.get("Running") or state.get("Restarting"):
            status, code = state.get("Status"), state.get("ExitCode")
            problems.append(f"container {name} is {status} (exit code {code}){logs(found[0])}")
        elif found[0]["Id"] in started_now and found[0].get("RestartCount", 0) > 0:
            # running again between two crashes: docker has reset ExitCode to 0 by now
            count = found[0].get("RestartCount", 0)
            problems.append(f"container {name} keeps restarting ({count} restarts){logs(found[0])}")
    for svc in sorted(set(by_service) - set(services)):
        problems.append(f"unexpected container(s) of service {svc}")
    return problems


def settle_left(containers: list[Doc], started: set[str], settle: float, now: float) -> float:
    """Seconds still to wait until every container started now has been up `settle` seconds
    (counted from its own start, not from the end of the start step)."""
    stamps = [_epoch(c["State"].get("StartedAt", "")) for c in containers if c["Id"] in started]
    if not stamps or None in stamps:
        return settle
    latest = max(s for s in stamps if s is not None)
    return max(0.0, min(settle, latest + settle - now))


def _epoch(stamp: str) -> float | None:
    """Seconds since the epoch of an RFC 3339 UTC stamp as docker writes it (nanoseconds)."""
    match = re.match(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.([0-9]+))?Z$", stamp or "")
    if not match:
        return None
    whole = calendar.timegm(time.strptime(match.group(1), "%Y-%m-%dT%H:%M:%S"))
    return whole + float(f"0.{match.group(2) or '0'}")


def _instant(stamp: str) -> str:
    """An RFC 3339 UTC stamp with its fraction padded to 9 digits, so strings sort as times."""
    match = re.match(r"^([^.Z]+)(?:\.([0-9]+))?Z?$", stamp or "")
    if not match:
        return stamp or ""
    return f"{match.group(1)}.{(match.group(2) or '').ljust(9, '0')}"


def stale_services(config: Doc, containers: list[Doc]) -> list[str]:
    """Services started before their base: they hold a dead network namespace."""
    started: dict[str, str] = {}
    for c in containers:
        svc = (c["Config"].get("Labels") or {}).get(SERVICE_LABEL, "")
        started[svc] = _instant(c["State"].get("StartedAt", ""))
    stale: list[str] = []
    for svc, spec in (config.get("services") or {}).items():
        mode = spec.get("network_mode") or ""
        if mode.startswith("service:"):
            base = mode.split(":", 1)[1]
            if svc in started and base in started and started[svc] < started[base]:
                stale.append(svc)
    return sorted(stale)


def start_levels(config: Doc) -> list[list[str]]:
    """Services grouped so that each group only needs the groups before it (its network_mode
    base and its depends_on), in start order."""
    services: Doc = config.get("services") or {}
    needs: dict[str, set[str]] = {}
    for svc, spec in services.items():
        mode = spec.get("network_mode") or ""
        deps = set(spec.get("depends_on") or {})
        if mode.startswith("service:"):
            deps.add(mode.split(":", 1)[1])
        needs[svc] = {d for d in deps if d in services and d != svc}
    level: dict[str, int] = {}

    def depth(svc: str, path: frozenset[str]) -> int:
        if svc not in level:
            if svc in path:  # compose refuses cycles; never loop on one anyway
                return 0
            level[svc] = 1 + max((depth(d, path | {svc}) for d in needs[svc]), default=-1)
        return level[svc]

    for svc in sorted(services):
        depth(svc, frozenset())
    groups: list[list[str]] = [[] for _ in range(max(level.values(), default=-1) + 1)]
    for svc in sorted(services):
        groups[level[svc]].append(svc)
    return groups


def undeclared_networks(config: Doc, project: str, networks: list[Doc]) -> list[Doc]:
    """Networks of the project that the compose file no longer declares (a removed or renamed
    LAN): compose leaves them behind."""
    specs = (config.get("networks") or {}).items()
    declared = {spec.get("name") or f"{project}_{key}" for key, spec in specs}
    return [n for n in networks if n.get("Name") not in declared]


def labels_of(obj: Doc) -> dict[str, str]:
    labels: dict[str, str] = (obj.get("Config") or {}).get("Labels") or {}
    return labels


def name_of(obj: Doc) -> str:
    return str(obj.get("Name") or obj.get("Id", "")[:12]).lstrip("/")


def service_of(container: Doc) -> str:
    return labels_of(container).get(SERVICE_LABEL, "")
