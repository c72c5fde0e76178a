"""Site settings, read from the environment once, at the shell's edge (never at import).

Relative paths (in these variables and in the CLI's path options) are made absolute against
the working directory here and in `decnet.cli.common.absolute`, once: Ansible would take a
relative inventory path that reaches it from another directory as inventory text.

Variables:
  DECNET_DB         the SQLite file (default $DECNET_HOME/decnet.db)
  DECNET_HOME       run artifacts and bundles (default $XDG_DATA_HOME/decnet)
  DECNET_INVENTORY  the Ansible inventory (default <repo>/inventory/localhost.yml)
  DECNET_IMAGES     image overrides, e.g. `ssh=reg/x:1,*=decnet-lure:0.1` (default none)
  DECNET_EVENT_RETENTION   how long events are kept, e.g. `30d` (default 30d; `decnet serve`
                           prunes older ones hourly, `decnet events prune` on demand)
  DECNET_API_CORS_ORIGINS  origins allowed to call the HTTP API from a browser, comma-separated
                           (default none: CORS off)
  DECNET_API_HOSTS         more names the server answers to in the Host header, comma-separated
                           `NAME` (any port: behind a proxy) or `NAME:PORT` (default none: only
                           localhost, 127.0.0.1, [::1] and the address it is reached on, with its
                           port; anything else is 421, against DNS rebinding)
  DECNET_API_MAX_BODY      the cap on an HTTP request body, in bytes (default 4194304)
  DECNET_API_STREAMS_PER_TOKEN  open event streams one API token may hold (default 16)
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from decnet.errors import UsageError
from decnet.models import IMAGE_RE, NAME_RE

PROJECT_ROOT = Path(__file__).resolve().parent.parent
"""Where playbooks/, roles/, templates/ and inventory/ live (the source checkout)."""

_IMAGE_KEY = re.compile(rf"{NAME_RE.pattern[:-1]}$|^\*$")
_DURATION = re.compile(r"^(\d{1,6})([smhdw])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.-]{1,253}(:\d{1,5})?$")
_HOST = re.compile(
    r"^(?:\[(?P<v6>[0-9A-Fa-f:.]{2,45})\]|(?P<name>[A-Za-z0-9.-]{1,253}))(?::(?P<port>[0-9]{1,5}))?$"
)
DEFAULT_RETENTION = timedelta(days=30)
DEFAULT_MAX_BODY = 4 * 1024 * 1024
DEFAULT_STREAMS_PER_TOKEN = 16


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
        if not sep or not _IMAGE_KEY.fullmatch(key) or not IMAGE_RE.fullmatch(image):
            raise UsageError(
                f"{source}: bad entry {item!r}",
                hint="write SERVICE=IMAGE pairs separated by commas, e.g. "
                "ssh=reg/ssh:1,*=decnet-lure:0.1",
            )
        out[key] = image
    return out


def parse_duration(text: str, source: str = "duration") -> timedelta:
    """`90s`, `15m`, `12h`, `30d`, `2w` -> timedelta (a positive whole number and one unit)."""
    match = _DURATION.fullmatch(text.strip())
    if not match or int(match[1]) == 0:
        raise UsageError(
            f"{source}: {text!r} is not a duration",
            hint="write a positive number and a unit s, m, h, d or w, e.g. 30d or 12h",
        )
    return timedelta(seconds=int(match[1]) * _UNIT_SECONDS[match[2]])


def _positive_int(text: str, source: str) -> int:
    if not text.strip().isdigit() or int(text) <= 0:
        raise UsageError(f"{source}: {text!r} is not a positive integer", hint="e.g. 16")
    return int(text)


def parse_origins(text: str, source: str = "DECNET_API_CORS_ORIGINS") -> tuple[str, ...]:
    origins = tuple(filter(None, (p.strip() for p in text.split(","))))
    for origin in origins:
        if not _ORIGIN.fullmatch(origin):
            raise UsageError(
                f"{source}: {origin!r} is not an origin",
                hint="write scheme://host[:port] entries separated by commas, "
                "e.g. http://127.0.0.1:5173",
            )
    return origins


def split_host(text: str) -> tuple[str, int | None] | None:
    """An HTTP Host (`name`, `name:port`, `[v6]:port`) as (lowercase name, port or None);
    None when it is not one."""
    match = _HOST.fullmatch(text)
    if match is None or (match["port"] is not None and int(match["port"]) > 65535):
        return None
    name = (match["v6"] or match["name"]).lower().removesuffix(".")
    return name, int(match["port"]) if match["port"] is not None else None


def parse_hosts(text: str, source: str = "DECNET_API_HOSTS") -> frozenset[tuple[str, int | None]]:
    """`decnet.example, 10.0.0.5:8400` -> {(name, port or None)}."""
    hosts = set()
    for item in filter(None, (p.strip() for p in text.split(","))):
        host = split_host(item)
        if host is None:
            raise UsageError(
                f"{source}: {item!r} is not a host name",
                hint="write NAME or NAME:PORT entries separated by commas, "
                "e.g. decnet.example,10.0.0.5:8400",
            )
        hosts.add(host)
    return frozenset(hosts)


@dataclass(frozen=True)
class Settings:
    db_path: Path
    home: Path
    inventory: Path
    site_images: dict[str, str] = field(default_factory=dict)
    templates_dir: Path = PROJECT_ROOT / "templates"
    event_retention: timedelta = DEFAULT_RETENTION
    api_cors_origins: tuple[str, ...] = ()
    api_hosts: frozenset[tuple[str, int | None]] = frozenset()
    """Names the server answers to besides the loopback ones (see DECNET_API_HOSTS)."""
    api_max_body: int = DEFAULT_MAX_BODY
    api_streams_per_token: int = DEFAULT_STREAMS_PER_TOKEN

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
            event_retention=parse_duration(
                env.get("DECNET_EVENT_RETENTION") or "30d", "DECNET_EVENT_RETENTION"
            ),
            api_cors_origins=parse_origins(env.get("DECNET_API_CORS_ORIGINS", "")),
            api_hosts=parse_hosts(env.get("DECNET_API_HOSTS", "")),
            api_max_body=_positive_int(
                env.get("DECNET_API_MAX_BODY") or str(DEFAULT_MAX_BODY), "DECNET_API_MAX_BODY"
            ),
            api_streams_per_token=_positive_int(
                env.get("DECNET_API_STREAMS_PER_TOKEN") or str(DEFAULT_STREAMS_PER_TOKEN),
                "DECNET_API_STREAMS_PER_TOKEN",
            ),
        )
