#!/usr/bin/python3
# Copyright: decnet contributors
# Apache-2.0 (see the repository's license)
"""Apply or remove one decnet topology (one Docker Compose project) in one module call."""
# Ansible modules put DOCUMENTATION/EXAMPLES/RETURN before the imports.
# ruff: noqa: E402

from __future__ import annotations

DOCUMENTATION = r"""
---
module: decnet_compose_project
short_description: Apply or tear down one decnet topology as a Docker Compose project
description:
  - One round trip per topology. With O(state=present) it runs a pre-flight (engine answers,
    compose v2 >= 2.18, published host ports free, network subnets and docker names not taken by
    anything outside the project), writes the compose file atomically (mode 0600), runs
    C(docker compose up -d --remove-orphans), verifies every service is running and records
    C(applied.json) with the applied hash.
  - Re-applying an unchanged topology whose containers all run executes nothing but reads and
    reports C(changed=false).
  - If C(up) or the verification fails and the topology had never been applied, everything this
    attempt created is removed again; if it had been applied before, the previous record is kept.
  - With O(state=absent) it runs C(docker compose down) and removes every container and network
    labelled C(decnet.topology=NAME), then the topology's directory.
  - Uses only the Python standard library on the host and the docker CLI with its compose plugin.
version_added: "0.1.0"
options:
  name:
    description: Topology name; the compose project is C(decnet-NAME).
    type: str
    required: true
  state:
    description: Whether the topology should be applied or removed.
    type: str
    choices: [present, absent]
    default: present
  compose_content:
    description:
      - The full compose file (may hold secrets; never logged or echoed).
      - Required when O(state=present).
    type: str
  desired_hash:
    description:
      - The topology's desired hash (SPEC 5), recorded in C(applied.json) after a successful apply.
      - Defaults to the SHA-256 of O(compose_content).
    type: str
  base_dir:
    description: Directory holding one sub-directory per topology.
    type: path
    default: /var/lib/decnet/topologies
  timeout:
    description: Seconds allowed for each docker command.
    type: int
    default: 300
  pull:
    description: Compose pull policy for images missing on the host.
    type: str
    choices: [never, missing, always]
    default: never
  settle:
    description:
      - Seconds to wait after containers were (re)started before checking that they stay up
        (a crashing container is caught as restarting).
    type: float
    default: 1.0
author: decnet contributors
"""

EXAMPLES = r"""
- name: Apply one topology
  decnet_compose_project:
    name: demo
    compose_content: "{{ lookup('ansible.builtin.file', 'bundle/hosts/h1/demo/compose.yml') }}"
    desired_hash: "{{ meta.desired_hash }}"
  no_log: true

- name: Tear one topology down
  decnet_compose_project:
    name: demo
    state: absent
"""

RETURN = r"""
status:
  description:
    - What happened.
    - One of applied, unchanged, would_apply, removed, absent, would_remove, failed.
  returned: always
  type: str
containers:
  description: The project's containers after the run (name, id, service, state).
  returned: always
  type: list
  elements: dict
applied_hash:
  description: The hash recorded on the host after the run (null when nothing is recorded).
  returned: always
  type: str
msg:
  description: A one-line summary or the reason of a failure (compose's stderr, scrubbed).
  returned: always
  type: str
"""

import contextlib
import errno
import hashlib
import ipaddress
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time

from ansible.module_utils.basic import AnsibleModule

NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,62}$")
MIN_COMPOSE = (2, 18)
PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"
TOPOLOGY_LABEL = "decnet.topology"
MASK = "********"
INSTALL_HINT = (
    "install Docker Engine and the compose v2 plugin (docker-compose >= 2.18 in "
    "/usr/local/lib/docker/cli-plugins/), or run playbooks/prepare.yml to check the host"
)


class Failure(Exception):
    """A failure with a message that is safe to show (already scrubbed)."""


# --------------------------------------------------------------------------- secrets


def secret_candidates(content: str) -> set[str]:
    """Values of every `environment:` entry of a compose text (where secrets live)."""
    found: set[str] = set()
    env_indent = None
    for line in content.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        indent = len(line) - len(line.lstrip())
        if env_indent is not None and indent <= env_indent:
            env_indent = None
        if env_indent is None:
            if re.match(r"^[\"']?environment[\"']?\s*:\s*$", stripped):
                env_indent = indent
            continue
        value = _env_value(stripped)
        if value:
            found.add(value)
            found.add(value.replace("$$", "$"))
    return {v for v in found if len(v) >= 3}


def _env_value(entry: str) -> str:
    if entry.startswith("- "):
        entry = entry[2:].strip().strip("\"'")
        return entry.split("=", 1)[1] if "=" in entry else ""
    match = re.match(r"^(\"(?:[^\"\\]|\\.)*\"|'[^']*'|[^:]+):\s*(.*)$", entry)
    if not match:
        return ""
    value = match.group(2).strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        inner = value[1:-1]
        if value[0] == '"':
            with contextlib.suppress(ValueError):
                inner = json.loads(value)
        return inner
    return value


class Scrubber:
    """Removes secret values from any text before it leaves the module."""

    def __init__(self, content: str) -> None:
        self.values = sorted(secret_candidates(content), key=len, reverse=True)

    def add_config(self, config: dict) -> None:
        more = set(self.values)
        for svc in (config.get("services") or {}).values():
            env = svc.get("environment") or {}
            for value in env.values():
                if isinstance(value, str) and len(value) >= 3:
                    more.add(value)
                    more.add(value.replace("$$", "$"))
        self.values = sorted(more, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for value in self.values:
            text = text.replace(value, MASK)
        return text


# --------------------------------------------------------------------------- docker

PROGRESS = re.compile(
    r"^\s*(Network|Container|Volume|Image)\s+\S+\s+(Creating|Created|Starting|Started|Stopping|"
    r"Stopped|Removing|Removed|Recreate|Recreated|Running|Waiting|Healthy|Pulling|Pulled|"
    r"Skipped.*|Error)\s*$"
)


def essential(stderr: str) -> str:
    """compose's stderr without its progress lines (what is left is the error)."""
    lines = [line for line in stderr.strip().splitlines() if not PROGRESS.match(line)]
    return "\n".join(lines).strip() or stderr.strip()


class Docker:
    """The docker CLI, with a timeout per call and an environment free of COMPOSE_* overrides."""

    def __init__(self, module: AnsibleModule, timeout: int, scrub: Scrubber) -> None:
        self.module = module
        self.timeout = timeout
        self.scrub = scrub
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_")}
        self.env["LC_ALL"] = "C"
        self.docker = module.get_bin_path("docker")

    def run(self, args: list[str], stdin: str | None = None, cwd: str | None = None):
        if not self.docker:
            raise Failure(f"the docker CLI is not installed on this host: {INSTALL_HINT}")
        try:
            proc = subprocess.run(
                [self.docker, *args],
                input=stdin,
                capture_output=True,
                text=True,
                timeout=self.timeout,
                env=self.env,
                cwd=cwd,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise Failure(f"docker {args[0]} did not finish within {self.timeout}s") from exc
        return proc.returncode, proc.stdout, proc.stderr

    def must(self, args: list[str], what: str, **kw) -> str:
        rc, out, err = self.run(args, **kw)
        if rc != 0:
            raise Failure(f"{what} failed: {self.scrub(essential(err) or out.strip())}")
        return out

    def check_engine(self) -> str:
        rc, out, err = self.run(["version", "--format", "{{.Server.Version}}"])
        if rc != 0 or not out.strip():
            raise Failure(
                f"the Docker engine does not answer ({err.strip() or 'no server version'}); "
                f"start dockerd or {INSTALL_HINT}"
            )
        rc, out, err = self.run(["compose", "version", "--short"])
        match = re.match(r"v?([0-9]+)\.([0-9]+)", out.strip())
        if rc != 0 or not match:
            raise Failure(f"docker compose v2 is not available ({err.strip()}); {INSTALL_HINT}")
        version = (int(match.group(1)), int(match.group(2)))
        if version < MIN_COMPOSE:
            raise Failure(f"docker compose {out.strip()} is too old (need >= 2.18); {INSTALL_HINT}")
        return out.strip()

    def inspect(self, kind: list[str], ids: list[str]) -> list[dict]:
        if not ids:
            return []
        rc, out, _ = self.run([*kind, "inspect", *ids])
        if rc != 0:
            # an object vanished between the listing and the inspection: inspect one by one
            found = []
            for one in ids:
                rc, out1, _ = self.run([*kind, "inspect", one])
                if rc == 0:
                    found.extend(json.loads(out1))
            return found
        return json.loads(out)

    def containers(self, label: str | None = None, running_only: bool = False) -> list[dict]:
        args = ["ps", "-q", "--no-trunc"]
        if not running_only:
            args.append("-a")
        if label:
            args += ["--filter", f"label={label}"]
        ids = self.must(args, "docker ps").split()
        return self.inspect(["container"], ids)

    def networks(self, label: str | None = None) -> list[dict]:
        args = ["network", "ls", "-q", "--no-trunc"]
        if label:
            args += ["--filter", f"label={label}"]
        ids = self.must(args, "docker network ls").split()
        return self.inspect(["network"], ids)


# --------------------------------------------------------------------------- files


def atomic_write(path: str, data: str, mode: int = 0o600) -> None:
    directory = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".part")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def read_text(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def read_applied(path: str) -> dict | None:
    text = read_text(path)
    if text is None:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def make_dir(path: str) -> None:
    os.makedirs(path, mode=0o700, exist_ok=True)
    os.chmod(path, 0o700)


# --------------------------------------------------------------------------- state


def summarize(containers: list[dict]) -> list[dict]:
    rows = []
    for c in containers:
        rows.append(
            {
                "name": c.get("Name", "").lstrip("/"),
                "id": c.get("Id", ""),
                "service": (c.get("Config", {}).get("Labels") or {}).get(SERVICE_LABEL),
                "state": c.get("State", {}).get("Status"),
            }
        )
    return sorted(rows, key=lambda r: r["name"])


def fingerprint(containers: list[dict], networks: list[dict]) -> set:
    marks = {(c["Id"], c["State"].get("StartedAt"), c["State"].get("Running")) for c in containers}
    return marks | {("net", n["Id"]) for n in networks}


def runtime_problems(config: dict, containers: list[dict], started_now: set[str]) -> list[str]:
    """What is wrong with the running project compared with the config (empty = healthy)."""
    services = config.get("services") or {}
    by_service: dict[str, list[dict]] = {}
    for c in containers:
        svc = (c["Config"].get("Labels") or {}).get(SERVICE_LABEL, "")
        by_service.setdefault(svc, []).append(c)
    problems = []
    for svc in sorted(services):
        found = by_service.get(svc, [])
        if len(found) != 1:
            problems.append(f"service {svc}: {len(found)} containers")
            continue
        state = found[0]["State"]
        name = found[0]["Name"].lstrip("/")
        if not state.get("Running") or state.get("Restarting"):
            status, code = state.get("Status"), state.get("ExitCode")
            problems.append(f"container {name} is {status} (exit code {code})")
        elif found[0]["Id"] in started_now and found[0].get("RestartCount", 0) > 0:
            code = state.get("ExitCode")
            problems.append(f"container {name} keeps restarting (exit code {code})")
    for svc in sorted(set(by_service) - set(services)):
        problems.append(f"unexpected container(s) of service {svc}")
    return problems


def _instant(stamp: str) -> str:
    """An RFC 3339 UTC stamp with its fraction padded to 9 digits, so strings sort as times."""
    match = re.match(r"^([^.Z]+)(?:\.([0-9]+))?Z?$", stamp or "")
    if not match:
        return stamp or ""
    return f"{match.group(1)}.{(match.group(2) or '').ljust(9, '0')}"


def stale_services(config: dict, containers: list[dict]) -> list[str]:
    """Services started before their base: they hold a dead network namespace."""
    started = {}
    for c in containers:
        svc = (c["Config"].get("Labels") or {}).get(SERVICE_LABEL, "")
        started[svc] = _instant(c["State"].get("StartedAt", ""))
    stale = []
    for svc, spec in (config.get("services") or {}).items():
        mode = spec.get("network_mode") or ""
        if mode.startswith("service:"):
            base = mode.split(":", 1)[1]
            if svc in started and base in started and started[svc] < started[base]:
                stale.append(svc)
    return sorted(stale)


# --------------------------------------------------------------------------- pre-flight


def published_ports(config: dict) -> list[tuple[int, str, str, str]]:
    """(host port, protocol, host ip, service) for every published port of the config."""
    result = []
    for svc, spec in (config.get("services") or {}).items():
        for port in spec.get("ports") or []:
            published = str(port.get("published") or "")
            if not published:
                continue
            first, _, last = published.partition("-")
            for number in range(int(first), int(last or first) + 1):
                proto = port.get("protocol") or "tcp"
                result.append((number, proto, port.get("host_ip") or "", svc))
    return result


def bound_by(containers: list[dict]) -> dict[tuple[int, str], str]:
    found = {}
    for c in containers:
        for key, binds in ((c.get("NetworkSettings") or {}).get("Ports") or {}).items():
            _, _, proto = key.partition("/")
            for bind in binds or []:
                if bind.get("HostPort"):
                    found[(int(bind["HostPort"]), proto or "tcp")] = c["Name"].lstrip("/")
    return found


def port_free(port: int, proto: str, host_ip: str) -> bool:
    family = socket.AF_INET6 if ":" in host_ip else socket.AF_INET
    kind = socket.SOCK_DGRAM if proto == "udp" else socket.SOCK_STREAM
    with socket.socket(family, kind) as sock:
        if kind == socket.SOCK_STREAM:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host_ip or ("::" if family == socket.AF_INET6 else "0.0.0.0"), port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
    return True


def preflight(docker: Docker, config: dict, project: str) -> None:
    problems = []
    running = docker.containers(running_only=True)
    mine = bound_by([c for c in running if _labels(c).get(PROJECT_LABEL) == project])
    theirs = bound_by([c for c in running if _labels(c).get(PROJECT_LABEL) != project])
    for port, proto, host_ip, svc in published_ports(config):
        key = (port, proto)
        if key in theirs:
            problems.append(
                f"host port {port}/{proto} (service {svc}) is already published by container "
                f"{theirs[key]}, which is not part of {project}"
            )
        elif key not in mine and not port_free(port, proto, host_ip):
            problems.append(
                f"host port {port}/{proto} (service {svc}) is already in use on this host"
            )
    listing = docker.must(
        ["ps", "-a", "--format", '{{.Names}}\t{{.Label "' + PROJECT_LABEL + '"}}'], "docker ps"
    )
    taken = {
        name: owner
        for name, _, owner in (line.partition("\t") for line in listing.splitlines())
        if owner != project
    }
    for svc, spec in sorted((config.get("services") or {}).items()):
        cname = spec.get("container_name")
        if cname and cname in taken:
            problems.append(
                f"container name {cname} (service {svc}) is taken by a container outside {project}"
            )
    problems += subnet_problems(docker, config, project)
    if problems:
        raise Failure("pre-flight failed, nothing was changed: " + "; ".join(problems))


def subnet_problems(docker: Docker, config: dict, project: str) -> list[str]:
    problems = []
    other_nets = [
        n for n in docker.networks() if (n.get("Labels") or {}).get(PROJECT_LABEL) != project
    ]
    taken = []
    for net in other_nets:
        for pool in ((net.get("IPAM") or {}).get("Config")) or []:
            with contextlib.suppress(ValueError, KeyError, TypeError):
                taken.append((ipaddress.ip_network(pool["Subnet"], strict=False), net["Name"]))
    other_names = {n["Name"] for n in other_nets}
    for key, spec in sorted((config.get("networks") or {}).items()):
        if spec.get("external"):
            continue
        name = spec.get("name") or f"{project}_{key}"
        if name in other_names:
            problems.append(f"network name {name} is taken by a network outside {project}")
        for pool in ((spec.get("ipam") or {}).get("config")) or []:
            if not pool.get("subnet"):
                continue
            wanted = ipaddress.ip_network(pool["subnet"], strict=False)
            for subnet, owner in taken:
                if wanted.version == subnet.version and wanted.overlaps(subnet):
                    problems.append(
                        f"subnet {wanted} of network {name} overlaps {subnet} of Docker network "
                        f"{owner}"
                    )
    return problems


def _labels(obj: dict) -> dict:
    return (obj.get("Config") or {}).get("Labels") or {}


# --------------------------------------------------------------------------- present


class Topology:
    def __init__(self, module: AnsibleModule, docker: Docker) -> None:
        params = module.params
        self.module = module
        self.docker = docker
        self.name = params["name"]
        self.project = f"decnet-{self.name}"
        self.base_dir = params["base_dir"]
        self.dir = os.path.join(self.base_dir, self.name)
        self.compose_file = os.path.join(self.dir, "compose.yml")
        self.applied_file = os.path.join(self.dir, "applied.json")

    def compose(self, args: list[str], what: str) -> str:
        base = ["compose", "-p", self.project, "-f", self.compose_file]
        return self.docker.must([*base, *args], what, cwd=self.dir)

    def project_state(self) -> tuple[list[dict], list[dict]]:
        label = f"{PROJECT_LABEL}={self.project}"
        return self.docker.containers(label), self.docker.networks(label)

    def load_config(self, content: str) -> dict:
        with tempfile.TemporaryDirectory(prefix="decnet-config-") as empty:
            out = self.docker.must(
                ["compose", "-p", self.project, "-f", "-", "config", "--format", "json"],
                "docker compose config (the compose file is invalid)",
                stdin=content,
                cwd=empty,
            )
        config = json.loads(out)
        if not (config.get("services") or {}):
            raise Failure("the compose file defines no service")
        return config


def present(module: AnsibleModule, docker: Docker, scrub: Scrubber) -> dict:
    params = module.params
    content = params["compose_content"]
    if content is None:
        raise Failure("compose_content is required with state=present")
    topo = Topology(module, docker)
    desired_hash = params["desired_hash"] or _sha256(content)
    docker.check_engine()
    config = topo.load_config(content)
    scrub.add_config(config)
    _register_no_log(module, scrub)

    old_content = read_text(topo.compose_file)
    applied = read_applied(topo.applied_file)
    was_applied = bool(applied and applied.get("applied_hash"))
    old_hash = applied.get("applied_hash") if applied else None
    same_file = old_content == content
    same_hash = old_hash == desired_hash

    containers, networks = topo.project_state()
    problems = runtime_problems(config, containers, set()) + [
        f"service {s} started before its base" for s in stale_services(config, containers)
    ]
    problems += [
        f"network {n.get('Name')} is no longer declared"
        for n in undeclared_networks(config, topo.project, networks)
    ]
    if same_file and same_hash and not problems:
        return result("unchanged", False, containers, old_hash, "topology is applied and running")

    preflight(docker, config, topo.project)
    if module.check_mode:
        why = (
            "the compose file differs"
            if not same_file
            else "the applied hash differs"
            if not same_hash
            else "; ".join(problems)
        )
        return result("would_apply", True, containers, old_hash, f"would apply: {why}")

    before = fingerprint(containers, networks)
    make_dir(topo.base_dir)
    make_dir(topo.dir)
    try:
        if not same_file:
            atomic_write(topo.compose_file, content)
        apply(topo, config, params)
    except Failure as exc:
        existed = {c["Id"] for c in containers} | {n["Id"] for n in networks}
        rollback(topo, was_applied, old_content, existed)
        raise Failure(f"{exc}{_rollback_note(was_applied)}") from exc

    containers, networks = topo.project_state()
    record = {
        "topology": topo.name,
        "applied_hash": desired_hash,
        "applied_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    if not same_hash or applied is None or set(applied) != set(record):
        atomic_write(topo.applied_file, json.dumps(record, sort_keys=True) + "\n")
    changed = not same_file or not same_hash or fingerprint(containers, networks) != before
    msg = "topology applied" if changed else "topology is applied and running"
    return result("applied" if changed else "unchanged", changed, containers, desired_hash, msg)


def undeclared_networks(config: dict, project: str, networks: list[dict]) -> list[dict]:
    """Networks of the project that the compose file no longer declares (a removed or renamed
    LAN): compose leaves them behind."""
    specs = (config.get("networks") or {}).items()
    declared = {spec.get("name") or f"{project}_{key}" for key, spec in specs}
    return [n for n in networks if n.get("Name") not in declared]


def prune_networks(topo: Topology, config: dict) -> None:
    for net in undeclared_networks(config, topo.project, topo.project_state()[1]):
        topo.docker.must(["network", "rm", net["Id"]], f"removing network {net.get('Name')}")


def apply(topo: Topology, config: dict, params: dict) -> None:
    """`compose up`, then verify; restart services left in a dead namespace."""
    before = {c["Id"]: c["State"].get("StartedAt") for c in topo.project_state()[0]}
    topo.compose(
        ["up", "-d", "--remove-orphans", "--pull", params["pull"], "--quiet-pull"],
        "docker compose up",
    )
    prune_networks(topo, config)
    containers = topo.project_state()[0]
    stale = stale_services(config, containers)
    if stale:
        topo.compose(["restart", *stale], "docker compose restart")
        containers = topo.project_state()[0]
    started = {c["Id"] for c in containers if before.get(c["Id"]) != c["State"].get("StartedAt")}
    if started and params["settle"] > 0:
        time.sleep(params["settle"])
        containers = topo.project_state()[0]
    problems = runtime_problems(config, containers, started)
    if problems:
        raise Failure("verification after compose up failed: " + "; ".join(problems))


def rollback(topo: Topology, was_applied: bool, old_content: str | None, existed: set) -> None:
    """Undo a failed attempt.

    Applied before: keep its record, put the previous compose file back, touch no container.
    Never applied and nothing existed: remove everything of the project and the directory.
    Never applied but objects existed (e.g. a record lost): remove only what this attempt created.
    """
    if old_content is not None:
        with contextlib.suppress(OSError):
            atomic_write(topo.compose_file, old_content)
    if was_applied:
        return
    if not existed:
        remove_everything(topo, f"{PROJECT_LABEL}={topo.project}")
        return
    containers, networks = topo.project_state()
    new_containers = [c["Id"] for c in containers if c["Id"] not in existed]
    if new_containers:
        topo.docker.run(["rm", "-f", "-v", *new_containers])
    for net in networks:
        if net["Id"] not in existed:
            topo.docker.run(["network", "rm", net["Id"]])


def _rollback_note(was_applied: bool) -> str:
    if was_applied:
        return " (the previously applied state stays recorded; re-run to converge)"
    return " (rolled back: the containers and networks of this attempt were removed)"


# --------------------------------------------------------------------------- absent


def remove_everything(topo: Topology, label: str) -> list[str]:
    """compose down, then every container and network with `label`, then the directory."""
    docker = topo.docker
    leftovers = []
    args = ["compose", "-p", topo.project]
    if os.path.exists(topo.compose_file):
        args += ["-f", topo.compose_file]
    docker.run([*args, "down", "--remove-orphans", "-t", "10"], cwd=_existing(topo.dir))
    ids = [c["Id"] for c in docker.containers(label)]
    if ids:
        rc, _, err = docker.run(["rm", "-f", "-v", *ids])
        if rc != 0:
            leftovers.append(f"containers: {err.strip()}")
    nets = [n["Id"] for n in docker.networks(label)]
    for net in nets:
        rc, _, err = docker.run(["network", "rm", net])
        if rc != 0:
            leftovers.append(f"network {net[:12]}: {err.strip()}")
    shutil.rmtree(topo.dir, ignore_errors=True)
    return leftovers


def _existing(path: str) -> str | None:
    return path if os.path.isdir(path) else None


def absent(module: AnsibleModule, docker: Docker) -> dict:
    topo = Topology(module, docker)
    label = f"{TOPOLOGY_LABEL}={topo.name}"
    docker.check_engine()
    containers = docker.containers(label)
    networks = docker.networks(label)
    project_containers, project_networks = topo.project_state()
    exists = os.path.exists(topo.dir) or containers or networks or project_containers
    exists = exists or project_networks
    if not exists:
        return result("absent", False, [], None, "topology is not present")
    if module.check_mode:
        return result("would_remove", True, containers, None, "would remove the topology")
    leftovers = remove_everything(topo, label)
    remaining = docker.containers(label) + docker.networks(label)
    if remaining or leftovers:
        raise Failure("teardown left objects behind: " + "; ".join(leftovers or ["see docker"]))
    return result("removed", True, [], None, "topology removed")


# --------------------------------------------------------------------------- main


def result(status, changed, containers, applied_hash, msg) -> dict:
    return {
        "status": status,
        "changed": changed,
        "containers": summarize(containers),
        "applied_hash": applied_hash,
        "msg": msg,
    }


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _register_no_log(module: AnsibleModule, scrub: Scrubber) -> None:
    for value in scrub.values:
        if len(value) >= 6:
            module.no_log_values.add(value)


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "name": {"type": "str", "required": True},
            "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
            "compose_content": {"type": "str", "no_log": True},
            "desired_hash": {"type": "str"},
            "base_dir": {"type": "path", "default": "/var/lib/decnet/topologies"},
            "timeout": {"type": "int", "default": 300},
            "pull": {"type": "str", "default": "never", "choices": ["never", "missing", "always"]},
            "settle": {"type": "float", "default": 1.0},
        },
        required_if=[("state", "present", ["compose_content"])],
        supports_check_mode=True,
    )
    name = module.params["name"]
    if not NAME_RE.match(name):
        module.fail_json(
            msg=f"invalid topology name {name!r}: must match {NAME_RE.pattern}", status="failed"
        )
    scrub = Scrubber(module.params["compose_content"] or "")
    _register_no_log(module, scrub)
    docker = Docker(module, module.params["timeout"], scrub)
    try:
        if module.params["state"] == "absent":
            outcome = absent(module, docker)
        else:
            outcome = present(module, docker, scrub)
    except Failure as exc:
        applied = read_applied(os.path.join(module.params["base_dir"], name, "applied.json"))
        module.fail_json(
            msg=f"topology {name}: {scrub(str(exc))}",
            status="failed",
            containers=[],
            applied_hash=(applied or {}).get("applied_hash"),
        )
    module.exit_json(**outcome)


if __name__ == "__main__":
    main()
