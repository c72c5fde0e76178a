# Copyright: decnet contributors
# Apache-2.0 (see the repository's license)
"""The files of decnet_compose_project on the host: the topology's records and the host lock.

Standard library only: this runs on the managed host."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from typing import TYPE_CHECKING

from ansible.module_utils.decnet_host import LOCK_FILE, Progress, make_dir

if TYPE_CHECKING:
    from collections.abc import Iterator

    from ansible.module_utils.decnet_host import Doc


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
