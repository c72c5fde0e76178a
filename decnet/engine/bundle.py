"""Writing a rendered bundle (docs/design.md) to disk, all or nothing.

`decnet.core.render.render_bundle` computes the files; this writes them into a fresh sibling
directory and swaps it into place, so a reader (a playbook run from CI) never sees half a bundle
or a mix of two renders. Compose files may hold secrets: every file is 0600, every dir 0700.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

from decnet.errors import DecnetError

FILE_MODE = 0o600
DIR_MODE = 0o700


def _relative(path: str) -> PurePosixPath:
    rel = PurePosixPath(path)
    # Compared with its own normal form, so `a//b` and `./a` are refused rather than rewritten.
    if rel.is_absolute() or str(rel) != path or ".." in rel.parts or path in ("", "."):
        raise DecnetError(f"bundle path {path!r} is not a plain relative path")
    return rel


def _write_file(root: Path, rel: PurePosixPath, content: str) -> None:
    target = root.joinpath(*rel.parts)
    target.parent.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    # O_EXCL on a fresh directory: the mode is set at creation, never widened by umask later.
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
        fh.write(content)
        fh.flush()
        os.fsync(fh.fileno())


def _swap_in(staging: Path, out_dir: Path) -> None:
    """Replace `out_dir` by `staging`; the old tree is removed only once the new one is there."""
    if not out_dir.exists():
        staging.rename(out_dir)
        return
    trash = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old-", dir=out_dir.parent))
    old = trash / "bundle"
    out_dir.rename(old)
    try:
        staging.rename(out_dir)
    except OSError:
        old.rename(out_dir)
        raise
    finally:
        shutil.rmtree(trash, ignore_errors=True)


def write_bundle(files: Mapping[str, str], out_dir: Path) -> Path:
    """Write `files` (relative path -> content) as the directory `out_dir`, atomically.

    Whatever `out_dir` held before is replaced as a whole. Returns `out_dir`.
    """
    paths = {path: _relative(path) for path in files}
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.new-", dir=out_dir.parent))
    try:
        os.chmod(staging, DIR_MODE)
        for path, content in files.items():
            _write_file(staging, paths[path], content)
        _swap_in(staging, out_dir)
    except OSError as err:
        raise DecnetError(
            f"cannot write bundle {out_dir}: {err.strerror or err}",
            hint="check that the directory is writable and the disk is not full",
        ) from err
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return out_dir
