"""Read an Ansible inventory with Ansible's own parser, so decnet sees what the playbooks see."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from decnet.errors import EnvironmentProblem
from decnet.models import HOST_HINT, host_problem


@dataclass(frozen=True)
class Inventory:
    path: Path
    hosts: tuple[str, ...]
    groups: dict[str, tuple[str, ...]]

    def __contains__(self, host: object) -> bool:
        return host in self.hosts


def _static_key(path: Path) -> str | None:
    """A cache key for a static inventory file (its bytes); None for anything dynamic.

    A directory, a script or an inventory plugin config can list different hosts on every call,
    so only a plain INI/YAML file is cached.
    """
    if not path.is_file() or os.access(path, os.X_OK):
        return None
    data = path.read_bytes()
    if re.search(rb"^plugin\s*:", data, re.MULTILINE):
        return None
    return hashlib.sha256(str(path.resolve()).encode() + b"\0" + data).hexdigest()


def load_inventory(path: Path, cache_dir: Path | None = None) -> Inventory:
    """The inventory's hosts and groups; a static file's parse is cached under `cache_dir`
    (Ansible's parser costs ~0.25 s per call, a quarter of a no-op deploy)."""
    key = _static_key(path) if cache_dir is not None and path.exists() else None
    cached = cache_dir / f"inventory-{key}.json" if cache_dir is not None and key else None
    if cached is not None and cached.is_file():
        raw = json.loads(cached.read_text())
        groups = {g: tuple(h) for g, h in raw["groups"].items()}
        return _checked(Inventory(path, tuple(raw["hosts"]), groups))
    inventory = _checked(_parse(path))
    if cached is not None:
        cached.parent.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_suffix(".tmp")
        tmp.write_text(json.dumps({"hosts": inventory.hosts, "groups": inventory.groups}))
        tmp.replace(cached)
    return inventory


def _checked(inventory: Inventory) -> Inventory:
    """Refuse a host name a topology could not be pinned to: decnet would list it (terminals,
    the editor) but could never deploy to it, and a mistyped alias is better found here."""
    for host in inventory.hosts:
        problem = host_problem(host)
        if problem:
            raise EnvironmentProblem(f"inventory {inventory.path}: {problem}", hint=HOST_HINT)
    return inventory


def _parse(path: Path) -> Inventory:
    if not path.exists():
        raise EnvironmentProblem(
            f"inventory {path} does not exist",
            hint="pass --inventory PATH or set DECNET_INVENTORY",
        )
    # Ansible's parser, in-process: `ansible-inventory --list` would cost a second per call.
    from ansible.errors import AnsibleError
    from ansible.inventory.manager import InventoryManager
    from ansible.parsing.dataloader import DataLoader

    noise = io.StringIO()
    try:
        # Ansible prints parser warnings; keep them for the error instead of the terminal.
        with contextlib.redirect_stderr(noise), contextlib.redirect_stdout(noise):
            manager = InventoryManager(loader=DataLoader(), sources=[str(path)], parse=True)
    except AnsibleError as exc:
        raise EnvironmentProblem(f"inventory {path}: {exc}", hint="fix the inventory file") from exc
    hosts = tuple(sorted(h.name for h in manager.get_hosts()))
    if not hosts or "Unable to parse" in noise.getvalue():
        first = next((ln for ln in noise.getvalue().splitlines() if "Failed to parse" in ln), "")
        raise EnvironmentProblem(
            f"inventory {path} could not be parsed or has no hosts {first.strip()}".strip(),
            hint=f"check it with `ansible-inventory -i {path} --list`",
        )
    groups = {
        name: tuple(sorted(h.name for h in group.get_hosts()))
        for name, group in manager.groups.items()
    }
    return Inventory(path=path, hosts=hosts, groups=groups)
