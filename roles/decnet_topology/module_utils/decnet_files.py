# Copyright: decnet contributors
# Apache-2.0 (see the repository's license)
"""The files of decnet_compose_project on the host: the topology's records, the host lock, and
the host files (the host contract's `host_files`: the decnet fact and its configuration) that a
deploy keeps current.

Standard library only: this runs on the managed host."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import stat
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ansible.module_utils.decnet_failure import Failure
from ansible.module_utils.decnet_host import (
    LOCK_FILE,
    SENSOR_DIR,
    Progress,
    atomic_write,
    make_dir,
)

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence

    from ansible.module_utils.decnet_host import Doc

BASE_DIR_MODE = 0o700
"""The base dir and the parents created for it (as the decnet_host role makes them)."""
FILE_DIR_MODE = 0o755
"""A directory created for a host file (the facts dir is read by Ansible's setup)."""
MODE = re.compile(r"0?[0-7]{3}")
SENSOR_ROOT_MODE = 0o700
"""The sensors directory and the topology/decky levels under it: only root (and dockerd) go
there; a sensor sees its own directory, bind-mounted."""
SENSOR_MODE = 0o750
"""A sensor's own directory, owned by the user its container runs as (it writes its lines)."""
USER = re.compile(r"([0-9]+):([0-9]+)")


def read_text(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def read_applied(path: str) -> Doc | None:
    text = read_text(path)
    if text is None:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


@contextlib.contextmanager
def host_lock(base_dir: str, progress: Progress) -> Iterator[None]:
    """One apply or teardown at a time per host (async jobs of one play run side by side)."""
    make_dir(base_dir)
    progress.update("queued")
    fd = os.open(os.path.join(base_dir, LOCK_FILE), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


@contextlib.contextmanager
def no_lock() -> Iterator[None]:
    yield


@dataclass(frozen=True)
class HostFile:
    """A file the host side of decnet needs, as the role passes it (from the host contract)."""

    path: str
    mode: int
    content: str

    @classmethod
    def parse(cls, entry: Mapping[str, str]) -> HostFile:
        path, mode = entry["path"], entry["mode"]
        if not os.path.isabs(path) or os.path.normpath(path) != path:
            raise Failure(f"host file {path!r}: the path must be absolute and normalised")
        if not MODE.fullmatch(mode):
            raise Failure(f"host file {path}: mode {mode!r} is not an octal mode such as 0644")
        return cls(path, int(mode, 8), entry["content"])


def make_dirs(path: str, mode: int, check: bool) -> list[str]:
    """Create the missing directories down to `path`, each with `mode` (existing ones are left
    as they are); returns them, top first (in check mode: those that would be created)."""
    missing: list[str] = []
    while not os.path.isdir(path) and os.path.dirname(path) != path:
        missing.append(path)
        path = os.path.dirname(path)
    missing.reverse()
    if not check:
        for directory in missing:
            os.mkdir(directory, mode)
            os.chmod(directory, mode)  # mkdir's mode went through the umask
    return missing


def is_current(host_file: HostFile) -> bool:
    """Whether the host has the file as wanted: a regular file (not a link) with this content,
    mode and owner (the user the module runs as)."""
    try:
        info = os.lstat(host_file.path)
        if not stat.S_ISREG(info.st_mode):
            return False
        with open(host_file.path, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        return False
    return (
        stat.S_IMODE(info.st_mode) == host_file.mode
        and (info.st_uid, info.st_gid) == (os.geteuid(), os.getegid())
        and data == host_file.content.encode("utf-8")
    )


def install_host_files(files: Sequence[HostFile], base_dir: str, check: bool) -> list[str]:
    """Bring the host side up to date, cheaply: the base dir if it is missing, and each host
    file that differs, written atomically (the others are only read). Returns what was created
    or written (in check mode: what would be)."""
    path = base_dir
    try:
        changed = make_dirs(base_dir, BASE_DIR_MODE, check)
        for host_file in files:
            path = host_file.path
            created = make_dirs(os.path.dirname(path), FILE_DIR_MODE, check)
            changed += [d for d in created if d not in changed]  # check mode creates none
            if is_current(host_file):
                continue
            if not check:
                owner = (os.geteuid(), os.getegid())
                atomic_write(path, host_file.content, host_file.mode, owner=owner)
            changed.append(path)
    except OSError as exc:
        raise Failure(
            f"cannot install {path} on the host ({exc.strerror or exc}): a deploy installs the "
            f"host side of decnet there; run it as a user who may write there, or set "
            f"decnet_base_dir / decnet_facts_dir"
        ) from exc
    return changed


def sensor_mounts(config: Mapping[str, object]) -> list[tuple[str, int, int]]:
    """(host directory, uid, gid) of each sensor directory the compose document bind-mounts:
    a volume source under SENSOR_DIR of a service that runs as a numeric `uid:gid`."""
    out: list[tuple[str, int, int]] = []
    services = config.get("services") or {}
    for svc in services.values() if isinstance(services, dict) else []:
        user = USER.fullmatch(str(svc.get("user", "")))
        for volume in svc.get("volumes") or []:
            # `docker compose config --format json` (what the module reads) writes the long
            # syntax, {type: bind, source, target}; a compose file may hold the short one.
            if isinstance(volume, dict):
                source = str(volume.get("source", "")) if volume.get("type") == "bind" else ""
            else:
                source = str(volume).split(":", 1)[0]
            inside = os.path.normpath(source) == source and source.startswith(SENSOR_DIR + "/")
            if inside and user is not None:
                out.append((source, int(user.group(1)), int(user.group(2))))
    return out


def prepare_sensor_dirs(config: Mapping[str, object]) -> list[str]:
    """Create each sensor directory the topology mounts, owned by its container's user, before
    compose creates the containers (Docker would make a missing one root's, which the sensor
    cannot write). Existing ones are kept as they are: their lines may not be collected yet,
    and a teardown leaves them to the collector for the same reason. Returns those created."""
    created: list[str] = []
    for path, uid, gid in sensor_mounts(config):
        try:
            created += make_dirs(os.path.dirname(path), SENSOR_ROOT_MODE, False)
            if not os.path.isdir(path):
                os.mkdir(path, SENSOR_MODE)
                os.chown(path, uid, gid)
                os.chmod(path, SENSOR_MODE)
                created.append(path)
        except OSError as exc:
            raise Failure(
                f"cannot create the sensor directory {path} ({exc.strerror or exc}): the module "
                f"runs as a user who may write under {SENSOR_DIR}, or the host's disk is full"
            ) from exc
    return created
