"""Files and directories that may hold secrets: created private (0700 dirs, 0600 files).

The database holds service passwords, bundles hold compose files with them, run directories
hold Ansible's artifacts. The mode is set when a path is created, never widened afterwards by
the umask; directories that already exist (a `--db /tmp/x.db`'s /tmp) are left alone.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path) -> Path:
    """Create `path` and every missing parent with mode 0700 (existing ones are untouched)."""
    missing: list[Path] = []
    for candidate in (path, *path.parents):
        if candidate.is_dir():
            break
        missing.append(candidate)
    for directory in reversed(missing):
        with contextlib.suppress(FileExistsError):  # another process made it meanwhile
            directory.mkdir(mode=DIR_MODE)
            os.chmod(directory, DIR_MODE)  # mkdir's mode is filtered by the umask
    return path


def private_file(path: Path) -> bool:
    """Make sure `path` exists with mode 0600: created so if missing, tightened if wider.

    Returns True when it was created. A file of another owner cannot be tightened and is left
    as it is (its owner chose to share it)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        tighten(path)
        return False
    os.close(fd)
    os.chmod(path, FILE_MODE)
    return True


def tighten(path: Path) -> None:
    """Drop group and other permissions of an existing regular file we own."""
    with contextlib.suppress(FileNotFoundError, PermissionError):
        info = path.stat()
        if stat.S_ISREG(info.st_mode) and info.st_mode & 0o077:
            os.chmod(path, stat.S_IMODE(info.st_mode) & 0o700)


def write_private(path: Path, text: str) -> None:
    """Write `text` to `path`, leaving it 0600 whatever mode it had: a new file is created
    0600; an existing regular file is made 0600 before its old content is truncated. A pipe or
    terminal (`-o /dev/stdout`) is written to as it is: it has no content to protect."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, FILE_MODE)
    try:
        if stat.S_ISREG(os.fstat(fd).st_mode):
            os.fchmod(fd, FILE_MODE)  # O_CREAT's mode applies to new files only
            os.ftruncate(fd, 0)
        with os.fdopen(fd, "w", encoding="utf-8", closefd=False) as handle:
            handle.write(text)
    finally:
        os.close(fd)
