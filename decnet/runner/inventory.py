"""Read an Ansible inventory with Ansible's own parser, so decnet sees what the playbooks see."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from decnet.errors import EnvironmentProblem
from decnet.models import HOST_HINT, host_problem

# Ansible's plugin loader and the stream redirection are process-wide and not thread-safe: the
# API's deploy jobs and its collector parse inventories from threads of one process.
_ANSIBLE = threading.RLock()


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
        _cache(cached, {"hosts": inventory.hosts, "groups": inventory.groups})
    return inventory


def _cache(cached: Path, doc: object) -> None:
    """Write `doc` to `cached` in one step. The temporary file's name is unique: a server's
    threads (a job, the watcher, the collector) parse the same inventory at the same moment."""
    cached.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=cached.parent, prefix=f".{cached.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as out:
            out.write(json.dumps(doc))
        os.replace(tmp, cached)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


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
        with _ANSIBLE, contextlib.redirect_stderr(noise), contextlib.redirect_stdout(noise):
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


CONNECTION_VARS = (
    "ansible_connection", "ansible_host", "ansible_port", "ansible_user",
    "ansible_ssh_private_key_file", "ansible_private_key_file", "ansible_ssh_common_args",
    "ansible_ssh_extra_args", "ansible_ssh_args", "ansible_host_key_checking",
    "ansible_ssh_host_key_checking", "ansible_ssh_timeout", "ansible_timeout", "ansible_become",
    "ansible_become_method", "ansible_become_user", "ansible_python_interpreter",
    "decnet_sensor_dir", "decnet_collect_agent",
)  # fmt: skip
"""The variables that say how to reach a host and where decnet's host side is on it. Never a
password (`ansible_ssh_pass`, `ansible_become_password`): decnet's streams authenticate by key."""


def host_connections(path: Path, cache_dir: Path | None = None) -> dict[str, dict[str, Any]]:
    """host -> its CONNECTION_VARS that are set, templated as Ansible would (group and host
    vars included); cached like `load_inventory` for a static file."""
    key = _static_key(path) if cache_dir is not None and path.exists() else None
    cached = cache_dir / f"connections-{key}.json" if cache_dir is not None and key else None
    if cached is not None and cached.is_file():
        loaded: dict[str, dict[str, Any]] = json.loads(cached.read_text())
        return loaded
    found = _connections(path)
    if cached is not None:
        _cache(cached, found)
    return found


def _connections(path: Path) -> dict[str, dict[str, Any]]:
    with _ANSIBLE:
        return _templated_connections(path)


def _templated_connections(path: Path) -> dict[str, dict[str, Any]]:
    inventory = _parse(path)  # the checks and errors of load_inventory
    from ansible.errors import AnsibleError
    from ansible.inventory.manager import InventoryManager
    from ansible.parsing.dataloader import DataLoader
    from ansible.template import Templar
    from ansible.vars.manager import VariableManager

    loader = DataLoader()
    noise = io.StringIO()
    with contextlib.redirect_stderr(noise), contextlib.redirect_stdout(noise):
        manager = InventoryManager(loader=loader, sources=[str(path)], parse=True)
        variables = VariableManager(loader=loader, inventory=manager)
    out: dict[str, dict[str, Any]] = {}
    for name in inventory.hosts:
        hostvars = variables.get_vars(host=manager.get_host(name), include_hostvars=False)
        templar = Templar(loader=loader, variables=hostvars)
        wanted: dict[str, Any] = {}
        for var in CONNECTION_VARS:
            if var not in hostvars:
                continue
            try:
                value = templar.template(hostvars[var])
            except AnsibleError as exc:
                raise EnvironmentProblem(
                    f"inventory {path}: host {name}: {var} does not template: {exc}",
                    hint="fix the variable in the inventory",
                ) from exc
            wanted[var] = value if isinstance(value, str | int | bool | float) else str(value)
        out[name] = wanted
    return out
