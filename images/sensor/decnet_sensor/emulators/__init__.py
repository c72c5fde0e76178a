"""decnet's own protocol emulators: one module per catalogue service neither Cowrie nor
OpenCanary covers. Each module has `SERVICE` and `build(ctx) -> list[Service]`; modules are
imported only when a decky runs their service (memory: one process serves a whole decky)."""

from __future__ import annotations

import importlib
from types import ModuleType

# service -> module name (under this package)
MODULES: dict[str, str] = {
    "smb": "smb",
    "postgres": "postgres",
    "smtp": "smtp",
    "imap": "imap",
    "pop3": "pop3",
    "ldap": "ldap",
    "mqtt": "mqtt",
    "dns": "dns",
    "elasticsearch": "elasticsearch",
}


def load(service: str) -> ModuleType:
    """The emulator module of `service` (KeyError if decnet has none)."""
    return importlib.import_module(f"{__name__}.{MODULES[service]}")
