"""Helpers for end-to-end engine tests against the local Docker engine and real playbooks.

Every test gets its own DECNET_HOME and database, a unique topology name (`e2e-<hex6>`) and
a /20 subnet pool of its own (tests/subnet_pools.py), and whatever carries its
`decnet.topology` label is removed afterwards, pass or fail.
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from decnet.engine.context import Context
from decnet.engine.demo import docker_available
from decnet.settings import PROJECT_ROOT, Settings

DOCKER_TIMEOUT = 60


DOCKER_OK = docker_available()


DOCKER_SKIP = pytest.mark.skipif(not DOCKER_OK, reason="`docker info` fails: no Docker engine")


def docker(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["docker", *args], capture_output=True, text=True, timeout=DOCKER_TIMEOUT, check=check
    )


def labelled_containers(name: str) -> dict[str, str]:
    """container name -> id, for every container (running or not) of topology `name`."""
    out = docker(
        "ps", "-a", "--no-trunc", "--filter", f"label=decnet.topology={name}",
        "--format", "{{.Names}} {{.ID}}",
    ).stdout  # fmt: skip
    return dict(line.split() for line in out.splitlines() if line.strip())


def running_containers(name: str) -> list[str]:
    out = docker(
        "ps", "--filter", f"label=decnet.topology={name}", "--filter", "status=running",
        "--format", "{{.Names}}",
    ).stdout  # fmt: skip
    return [line for line in out.splitlines() if line.strip()]


def labelled_networks(name: str) -> list[str]:
    out = docker(
        "network", "ls", "--filter", f"label=decnet.topology={name}", "--format", "{{.Name}}"
    ).stdout
    return [line for line in out.splitlines() if line.strip()]


def inspect(*objects: str, network: bool = False) -> list[dict[str, Any]]:
    args = ["network", "inspect", *objects] if network else ["inspect", *objects]
    return json.loads(docker(*args).stdout)


def descendants(pid: int) -> list[int]:
    """Every live descendant of `pid` (from /proc), children before grandchildren."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    out, frontier = [], [pid]
    while frontier:
        kids = [p for p, pp in parents.items() if pp in frontier]
        out += kids
        frontier = kids
    return out


@dataclass
class E2E:
    ctx: Context
    settings: Settings
    home: Path
    db: Path
    names: list[str] = field(default_factory=list)

    def new_name(self) -> str:
        name = f"e2e-{uuid.uuid4().hex[:6]}"
        self.names.append(name)
        return name

    @property
    def env(self) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("DECNET_DB", "DECNET_HOME", "DECNET_IMAGES", "DECNET_INVENTORY")
        }
        env.update(
            DECNET_HOME=str(self.home),
            DECNET_DB=str(self.db),
            DECNET_INVENTORY=str(self.settings.inventory),
            DECNET_IMAGES=",".join(f"{k}={v}" for k, v in self.settings.site_images.items()),
            COLUMNS="200",
        )
        return env

    def cli(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        exe = PROJECT_ROOT / ".venv" / "bin" / "decnet"
        return subprocess.run(
            [str(exe), "--db", str(self.db), *args],
            capture_output=True,
            text=True,
            env=self.env,
            timeout=timeout,
            check=False,
        )
