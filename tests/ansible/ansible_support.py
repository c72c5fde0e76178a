"""Helpers for the Ansible content tests: real playbooks, real Docker engine, localhost.

Every topology gets a unique name (`at-XXXXXX`) and a random free 10.199.X.0/24 subnet; whatever
carries its `decnet.topology` label is removed after the test, pass or fail.
"""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
IMAGE = "decnet-ansible-test:busybox"
FACT_SCRIPT = REPO / "roles" / "decnet_host" / "files" / "decnet.fact"
RECAP = re.compile(r"^localhost\s*:\s*(.*)$", re.MULTILINE)


def docker(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=check)


def docker_ok() -> bool:
    try:
        engine = docker("version", "--format", "{{.Server.Version}}", check=False)
        compose = docker("compose", "version", "--short", check=False)
    except FileNotFoundError:
        return False
    return engine.returncode == 0 and compose.returncode == 0


def labelled(name: str) -> tuple[list[str], list[str]]:
    """Ids of the containers and networks carrying decnet.topology=name."""
    label = f"label=decnet.topology={name}"
    containers = docker("ps", "-aq", "--filter", label).stdout.split()
    networks = docker("network", "ls", "-q", "--filter", label).stdout.split()
    return containers, networks


def free_prefix() -> str:
    """A 10.199.X prefix whose /24 no Docker network uses."""
    ids = docker("network", "ls", "-q").stdout.split()
    # A network of a parallel test may go between the listing and the inspection.
    used = docker("network", "inspect", *ids, check=False).stdout if ids else "[]"
    for _ in range(200):
        prefix = f"10.199.{random.randint(10, 240)}"
        if f'"{prefix}.' not in used:
            return prefix
    raise RuntimeError("no free 10.199.X.0/24")


def _q(value: object) -> str:
    """A YAML-safe scalar (JSON), `$` doubled like the renderer does."""
    return json.dumps(value).replace("$", "$$") if isinstance(value, str) else json.dumps(value)


@dataclass
class Decky:
    name: str
    ip: int
    services: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    image: str = IMAGE
    ports: list[str] = field(default_factory=list)
    command: tuple[str, ...] = ("sleep", "1000000")
    service_command: tuple[str, ...] | None = None
    """The services' command (default: `command`); `$$` for a literal `$`, as compose wants."""


@dataclass
class Topo:
    """One test topology: its bundle on disk, its base dir, its playbook runs."""

    name: str
    prefix: str
    root: Path
    deckies: list[Decky]
    desired_hash: str = "0" * 64
    shared_bundle: Path | None = None
    legacy_meta: bool = False
    """meta.json without `secret_env` (a bundle from before the field): the module masks every
    environment value then."""

    @property
    def bundle(self) -> Path:
        return self.shared_bundle or self.root / "bundle"

    @property
    def base_dir(self) -> Path:
        return self.root / "topologies"

    @property
    def topo_dir(self) -> Path:
        return self.base_dir / self.name

    def compose(self) -> str:
        t = self.name
        lines = [
            f"name: {_q('decnet-' + t)}",
            "networks:",
            '  "dmz":',
            f"    name: {_q(f'decnet-{t}-dmz')}",
            '    driver: "bridge"',
            "    internal: false",
            "    ipam:",
            "      config:",
            f"        - subnet: {_q(self.prefix + '.0/24')}",
            "    labels:",
            f'      "decnet.topology": {_q(t)}',
            '      "decnet.lan": "dmz"',
            "services:",
        ]
        for d in self.deckies:
            lines += self._service(d.name, d, None)
            for svc in d.services:
                lines += self._service(f"{d.name}-{svc}", d, svc)
        return "\n".join(lines) + "\n"

    def _service(self, key: str, d: Decky, svc: str | None) -> list[str]:
        command = d.service_command if svc and d.service_command else d.command
        out = [
            f"  {_q(key)}:",
            f"    container_name: {_q(f'decnet-{self.name}-{key}')}",
            f"    image: {_q(d.image)}",
            "    init: true",
            '    restart: "unless-stopped"',
            f"    command: {json.dumps(list(command))}",
            "    environment:",
        ]
        env = {"DECNET_PORTS": ""} if svc is None else {"DECNET_SERVICE": svc, **d.env}
        out += [f"      {_q(k)}: {_q(v)}" for k, v in env.items()]
        if svc is None:
            out += ["    networks:", '      "dmz":']
            out += [f"        ipv4_address: {_q(f'{self.prefix}.{d.ip}')}"]
            if d.ports:
                out += ["    ports:"] + [f"      - {_q(p)}" for p in d.ports]
        else:
            out += [f"    network_mode: {_q('service:' + d.name)}", "    depends_on:"]
            out += [f"      {_q(d.name)}:", '        condition: "service_started"']
            out += ["        restart: true"]
        role = "base" if svc is None else "service"
        out += ["    labels:", f'      "decnet.topology": {_q(self.name)}']
        out += [f'      "decnet.decky": {_q(d.name)}', f'      "decnet.role": {_q(role)}']
        if svc:
            out += [f'      "decnet.service": {_q(svc)}']
        return out

    def container_names(self) -> list[str]:
        names = []
        for d in self.deckies:
            names.append(f"decnet-{self.name}-{d.name}")
            names += [f"decnet-{self.name}-{d.name}-{svc}" for svc in d.services]
        return sorted(names)

    def secret_env(self) -> dict[str, list[str]]:
        """Like the renderer: per compose service, the env names that hold secrets (here: every
        `*_PASSWORD`)."""
        found = {}
        for d in self.deckies:
            for svc in d.services:
                names = sorted(k for k in d.env if k.endswith("_PASSWORD"))
                if names:
                    found[f"{d.name}-{svc}"] = names
        return found

    @property
    def facts_dir(self) -> Path:
        return self.root / "facts.d"

    def prepare(self) -> Run:
        """prepare.yml with this topology's base dir and a private facts dir."""
        return run_ansible(
            [
                str(VENV_BIN / "ansible-playbook"),
                "-i",
                str(REPO / "inventory" / "localhost.yml"),
                str(REPO / "playbooks" / "prepare.yml"),
                "-e",
                f"decnet_base_dir={self.base_dir}",
                "-e",
                f"decnet_facts_dir={self.facts_dir}",
            ]
        )

    def write_bundle(self, hosts: dict[str, list[str]] | None = None) -> None:
        """Write bundle.json and hosts/localhost/NAME/{compose.yml,meta.json} (mode 0600)."""
        topo = self.bundle / "hosts" / "localhost" / self.name
        topo.mkdir(parents=True, exist_ok=True)
        hosts = {"localhost": [self.name]} if hosts is None else hosts
        (self.bundle / "bundle.json").write_text(json.dumps({"format": 1, "hosts": hosts}))
        (topo / "compose.yml").write_text(self.compose())
        meta = {
            "format": 1,
            "topology": self.name,
            "host": "localhost",
            "project": f"decnet-{self.name}",
            "desired_hash": self.desired_hash,
            "containers": self.container_names(),
            "networks": [f"decnet-{self.name}-dmz"],
        }
        if not self.legacy_meta:
            meta["secret_env"] = self.secret_env()
        (topo / "meta.json").write_text(json.dumps(meta))
        for path in (topo / "compose.yml", topo / "meta.json"):
            path.chmod(0o600)

    def playbook(self, name: str, *args: str, check: bool = False) -> Run:
        """deploy/teardown/check.yml on this topology's bundle, base dir and facts dir."""
        cmd = [
            str(VENV_BIN / "ansible-playbook"),
            "-i",
            str(REPO / "inventory" / "localhost.yml"),
            str(REPO / "playbooks" / f"{name}.yml"),
            "-e",
            f"decnet_bundle_dir={self.bundle}",
            "-e",
            f"decnet_topology_base_dir={self.base_dir}",
            "-e",
            f"decnet_facts_dir={self.facts_dir}",
            "-e",
            "decnet_topology_settle=0.5",
            "-e",
            "decnet_topology_poll_interval=0.5",
            *args,
        ]
        if check:
            cmd.append("--check")
        return run_ansible(cmd)

    def deploy(self, *args: str, check: bool = False) -> Run:
        return self.playbook("deploy", *args, check=check)

    def teardown(self, *args: str) -> Run:
        return self.playbook("teardown", *args)

    def containers(self) -> dict[str, dict]:
        """name -> docker inspect of every container carrying the topology's label."""
        ids, _ = labelled(self.name)
        if not ids:
            return {}
        data = json.loads(docker("inspect", *ids).stdout)
        return {c["Name"].lstrip("/"): c for c in data}

    def container_ids(self) -> dict[str, str]:
        """name -> id of every container carrying the topology's label (what a change recreated
        shows as a new id)."""
        return {name: c["Id"] for name, c in self.containers().items()}

    def applied(self) -> dict:
        return json.loads((self.topo_dir / "applied.json").read_text())


@dataclass
class Run:
    rc: int
    out: str

    @property
    def recap(self) -> dict[str, int]:
        match = RECAP.findall(self.out)
        assert match, self.out
        return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", match[-1])}


def run_ansible(cmd: list[str], env: dict[str, str] | None = None) -> Run:
    full_env = {
        **os.environ,
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
        **(env or {}),
    }
    proc = subprocess.run(
        cmd, capture_output=True, text=True, cwd=REPO, env=full_env, timeout=600, check=False
    )
    return Run(proc.returncode, proc.stdout + proc.stderr)
