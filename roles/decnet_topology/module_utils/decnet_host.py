# Copyright: decnet contributors
# Apache-2.0 (see the repository's license)
"""What decnet's modules share on the host: the host contract's constants, files, progress.

The constants mirror roles/decnet_host/files/contract.json (tests/ansible/test_contract.py keeps
them equal). Standard library only: this runs on the managed host.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any, TypeAlias

    Doc: TypeAlias = dict[str, Any]
    """A decoded JSON object: a docker inspect entry, the compose config, a record on disk."""

FACT_FORMAT = 1
BASE_DIR = "/var/lib/decnet/topologies"
SENSOR_DIR = "/var/lib/decnet/sensors"
MIN_COMPOSE = (2, 18)
PROJECT_PREFIX = "decnet-"
BRIDGE_PREFIX = "dcn-"
"""Every decky LAN's bridge is named with it: the firewall rule names them all at once."""
COMPOSE_FILE = "compose.yml"
APPLIED_FILE = "applied.json"
PROGRESS_DIR = ".progress"
LOCK_FILE = ".lock"
TOPOLOGY_LABEL = "decnet.topology"
PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"
MASK = "********"
"""What a secret value is replaced with in every text that leaves the host."""


def atomic_write(
    path: str,
    data: str,
    mode: int = 0o600,
    durable: bool = True,
    owner: tuple[int, int] | None = None,
) -> None:
    """Write `path` through a temp file in the same directory and a rename (readers never see
    half a file); `durable` also fsyncs the file and the directory; `owner` is (uid, gid)."""
    directory = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".part")
    try:
        os.fchmod(fd, mode)
        if owner is not None:
            os.fchown(fd, *owner)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(data)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    if durable:
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def make_dir(path: str) -> None:
    os.makedirs(path, mode=0o700, exist_ok=True)
    os.chmod(path, 0o700)


def progress_path(base_dir: str, name: str) -> str:
    return os.path.join(base_dir, PROGRESS_DIR, f"{name}.json")


class Progress:
    """The progress file of one module run, read by decnet_topology_wait while it runs.

    `{"topology", "state", "phase", "done", "total", "updated"}`; written at most every
    `every` seconds (phase changes always), without fsync: it is only a view.
    """

    def __init__(self, base_dir: str, name: str, state: str, enabled: bool = True) -> None:
        self.path = progress_path(base_dir, name)
        self.doc: dict[str, str | int] = {
            "topology": name,
            "state": state,
            "phase": "queued",
            "done": 0,
            "total": 0,
        }
        self.enabled = enabled
        self.every = 0.5
        self.written = 0.0

    def update(
        self, phase: str | None = None, done: int | None = None, total: int | None = None
    ) -> None:
        changed_phase = phase is not None and phase != self.doc["phase"]
        if phase is not None:
            self.doc["phase"] = phase
        if done is not None:
            self.doc["done"] = done
        if total is not None:
            self.doc["total"] = total
        now = time.monotonic()
        if changed_phase or now - self.written >= self.every:
            self.flush(now)

    def bump(self, by: int = 1) -> None:
        self.update(done=int(self.doc["done"]) + by)

    def flush(self, now: float | None = None) -> None:
        if not self.enabled:
            return
        self.written = time.monotonic() if now is None else now
        doc = dict(self.doc, updated=time.time())
        with contextlib.suppress(OSError):
            make_dir(os.path.dirname(self.path))
            atomic_write(self.path, json.dumps(doc, sort_keys=True) + "\n", durable=False)


def read_progress(base_dir: str, name: str) -> Doc | None:
    try:
        with open(progress_path(base_dir, name), encoding="utf-8") as handle:
            doc = json.load(handle)
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


def drop_progress(base_dir: str, name: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(progress_path(base_dir, name))
