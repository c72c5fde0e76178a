"""Site settings, read from the environment once, at the shell's edge (never at import).

Relative paths (in these variables and in the CLI's path options) are made absolute against
the working directory here and in `decnet.cli.common.absolute`, once: Ansible would take a
relative inventory path that reaches it from another directory as inventory text.

Variables:
  DECNET_DB         the SQLite file (default $DECNET_HOME/decnet.db)
  DECNET_HOME       run artifacts and bundles (default $XDG_DATA_HOME/decnet)
  DECNET_INVENTORY  the Ansible inventory (default <repo>/inventory/localhost.yml)
  DECNET_IMAGES     image overrides, e.g. `ssh=reg/x:1,*=decnet-lure:0.1` (default none)
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from decnet.errors import UsageError
from decnet.models import IMAGE_RE, NAME_RE

PROJECT_ROOT = Path(__file__).resolve().parent.parent
"""Where playbooks/, roles/, templates/ and inventory/ live (the source checkout)."""

_IMAGE_KEY = re.compile(rf"{NAME_RE.pattern[:-1]}$|^\*$")


def absolute(path: str | Path) -> Path:
    """`path` with `~` expanded, against the working directory; symlinks are kept (so
    `/dev/stdin` stays `/dev/stdin`)."""
    return Path(os.path.abspath(os.path.expanduser(path)))


def _data_home(env: Mapping[str, str]) -> Path:
    base = env.get("XDG_DATA_HOME") or str(Path(env.get("HOME", "/root")) / ".local" / "share")
    return absolute(base) / "decnet"


def parse_image_overrides(text: str, source: str = "DECNET_IMAGES") -> dict[str, str]:
    """`ssh=registry/cowrie:2,*=decnet-lure:0.1` -> {"ssh": ..., "*": ...}."""
    out: dict[str, str] = {}
    for item in filter(None, (p.strip() for p in text.split(","))):
        key, sep, image = item.partition("=")
        if not sep or not _IMAGE_KEY.match(key) or not IMAGE_RE.match(image):
            raise UsageError(
                f"{source}: bad entry {item!r}",
                hint="write SERVICE=IMAGE pairs separated by commas, e.g. "
                "ssh=reg/ssh:1,*=decnet-lure:0.1",
            )
        out[key] = image
    return out


@dataclass(frozen=True)
class Settings:
    db_path: Path
    home: Path
    inventory: Path
    site_images: dict[str, str] = field(default_factory=dict)
    templates_dir: Path = PROJECT_ROOT / "templates"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        home = absolute(env["DECNET_HOME"]) if env.get("DECNET_HOME") else _data_home(env)
        return cls(
            db_path=absolute(env.get("DECNET_DB") or home / "decnet.db"),
            home=home,
            inventory=absolute(
                env.get("DECNET_INVENTORY") or PROJECT_ROOT / "inventory" / "localhost.yml"
            ),
            site_images=parse_image_overrides(env.get("DECNET_IMAGES", "")),
        )
