"""What every use case needs: settings, the store, the catalogue. Built once per command."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from decnet.core.catalog import load_catalog
from decnet.engine.bundle import read_template
from decnet.files import private_dir
from decnet.models import Catalog
from decnet.settings import Settings
from decnet.store import Store


@dataclass(frozen=True)
class Context:
    settings: Settings
    store: Store
    catalog: Catalog

    @classmethod
    def open(cls, settings: Settings, *, create: bool = True) -> Context:
        """`create=False` (read-only commands): neither the database nor DECNET_HOME is made."""
        store = Store(settings.db_path, create=create)
        # DECNET_HOME holds run artifacts, bundles and caches: private from the start. A home
        # that cannot be made fails later, where a command needs it, with that command's error.
        if create:
            with contextlib.suppress(OSError):
                private_dir(settings.home)
        return cls(settings=settings, store=store, catalog=load_catalog())

    @cached_property
    def hash_key(self) -> bytes:
        """The database's key for secrets in the desired hash: read once, never printed."""
        return self.store.hash_key()

    def compose_template(self) -> str:
        """The compose template's text, read now (a render compiles it once per bundle)."""
        return read_template(self.settings.templates_dir)

    def inventory_path(self, override: Path | None = None) -> Path:
        return override or self.settings.inventory

    def runs_dir(self) -> Path:
        return self.settings.home / "runs"
