"""Read an Ansible inventory with Ansible's own parser, so decnet sees what the playbooks see."""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from pathlib import Path

from decnet.errors import DecnetError


@dataclass(frozen=True)
class Inventory:
    path: Path
    hosts: tuple[str, ...]
    groups: dict[str, tuple[str, ...]]

    def __contains__(self, host: object) -> bool:
        return host in self.hosts


def load_inventory(path: Path) -> Inventory:
    if not path.exists():
        raise DecnetError(
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
        raise DecnetError(f"inventory {path}: {exc}", hint="fix the inventory file") from exc
    hosts = tuple(sorted(h.name for h in manager.get_hosts()))
    if not hosts or "Unable to parse" in noise.getvalue():
        first = next((ln for ln in noise.getvalue().splitlines() if "Failed to parse" in ln), "")
        raise DecnetError(
            f"inventory {path} could not be parsed or has no hosts {first.strip()}".strip(),
            hint=f"check it with `ansible-inventory -i {path} --list`",
        )
    groups = {
        name: tuple(sorted(h.name for h in group.get_hosts()))
        for name, group in manager.groups.items()
    }
    return Inventory(path=path, hosts=hosts, groups=groups)
