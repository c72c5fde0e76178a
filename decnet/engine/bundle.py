"""The file side of a bundle (docs/design.md): the template read in, the bundle written out,
all or nothing, over nothing but a bundle.

`decnet.core.render.render_bundle` computes the files from the template's text (`read_template`:
the core reads no file); this writes them into a fresh sibling
directory and swaps it into place, so a reader (a playbook run from CI) never sees half a bundle
or a mix of two renders. Compose files may hold secrets: every file is 0600, every dir 0700.

What is replaced: nothing (a new path), an empty directory, or a bundle decnet wrote — a
directory holding only `bundle.json` (with `"written_by": "decnet"`) and `hosts/`. Anything
else (a file, the user's directory, a database) is refused, never deleted. The staging and
set-aside trees are siblings named `.NAME.decnet-PID-…`; they are removed on every exit path,
and a sibling left by a killed process is removed by the next write.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

from decnet.core.render import TEMPLATE, WRITTEN_BY
from decnet.errors import EnvironmentProblem, InternalError, UsageError
from decnet.files import DIR_MODE, FILE_MODE, private_dir

BUNDLE_ENTRIES = frozenset({"bundle.json", "hosts"})
"""The only top-level entries of a bundle."""


def read_template(templates_dir: Path, name: str = TEMPLATE) -> str:
    """The text of a compose template (the checkout's templates/ directory)."""
    try:
        return (templates_dir / name).read_text(encoding="utf-8")
    except OSError as err:
        raise EnvironmentProblem(
            f"cannot read template {templates_dir / name}: {err.strerror or err}",
            hint="install decnet from its checkout (pip install -e .): templates/ is beside it",
        ) from err


def _relative(path: str) -> PurePosixPath:
    rel = PurePosixPath(path)
    # Compared with its own normal form, so `a//b` and `./a` are refused rather than rewritten.
    if rel.is_absolute() or str(rel) != path or ".." in rel.parts or path in ("", "."):
        # render_bundle builds paths from checked names only: another is its bug
        raise InternalError(f"bundle path {path!r} is not a plain relative path")
    return rel


def _write_file(root: Path, rel: PurePosixPath, content: str) -> None:
    target = root.joinpath(*rel.parts)
    private_dir(target.parent)  # every level 0700, not only the last (mkdir's parents=True)
    # O_EXCL on a fresh directory: the mode is set at creation, never widened by umask later.
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
        fh.write(content)
        fh.flush()
        os.fsync(fh.fileno())


def is_bundle(path: Path) -> bool:
    """Whether `path` is a directory decnet wrote as a bundle (and holds nothing else)."""
    try:
        entries = set(os.listdir(path))
        meta = json.loads((path / "bundle.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (
        entries <= BUNDLE_ENTRIES
        and isinstance(meta, dict)
        and meta.get("written_by") == WRITTEN_BY
        and isinstance(meta.get("format"), int)
    )


def check_replaceable(out_dir: Path) -> None:
    """Refuse an `out_dir` whose content is not ours to replace (see the module docstring)."""
    hint = "give a new or empty directory (or a bundle decnet wrote), e.g. --out ./bundle"
    if out_dir.is_symlink():
        raise UsageError(f"{out_dir} is a symbolic link; decnet does not replace links", hint)
    if not out_dir.exists():
        return
    if not out_dir.is_dir():
        raise UsageError(f"{out_dir} exists and is not a directory; it is left as it is", hint)
    try:
        empty = not any(out_dir.iterdir())
    except OSError as err:
        raise EnvironmentProblem(f"cannot read {out_dir}: {err.strerror or err}", hint) from err
    if not empty and not is_bundle(out_dir):
        raise UsageError(
            f"{out_dir} holds files that are not a bundle decnet wrote; they are left as they are",
            hint,
        )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _sweep(out_dir: Path) -> None:
    """Remove staging/set-aside siblings of `out_dir` left by a process that died mid-write."""
    prefix = f".{out_dir.name}.decnet-"
    for sibling in out_dir.parent.glob(prefix + "*"):
        pid = sibling.name[len(prefix) :].split("-", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            shutil.rmtree(sibling, ignore_errors=True)


def _swap_in(staging: Path, out_dir: Path) -> None:
    """Replace `out_dir` by `staging`; the old tree is removed only once the new one is there."""
    if not out_dir.exists() or not any(out_dir.iterdir()):
        staging.replace(out_dir)  # rename(2) replaces an empty directory in one step
        return
    aside = staging.with_name(staging.name + "-old")
    out_dir.rename(aside)
    try:
        staging.rename(out_dir)
    except OSError:
        aside.rename(out_dir)
        raise
    shutil.rmtree(aside, ignore_errors=True)


def write_bundle(files: Mapping[str, str], out_dir: Path) -> Path:
    """Write `files` (relative path -> content) as the directory `out_dir`, atomically.

    `out_dir` must be new, empty or a previous bundle (`check_replaceable`); a previous bundle
    is replaced as a whole. Returns `out_dir`, made absolute.
    """
    paths = {path: _relative(path) for path in files}
    out_dir = Path(os.path.abspath(out_dir))
    check_replaceable(out_dir)
    staging: Path | None = None
    try:
        private_dir(out_dir.parent)
        _sweep(out_dir)
        prefix = f".{out_dir.name}.decnet-{os.getpid()}-"
        staging = Path(tempfile.mkdtemp(prefix=prefix, dir=out_dir.parent))
        os.chmod(staging, DIR_MODE)
        for path, content in files.items():
            _write_file(staging, paths[path], content)
        _swap_in(staging, out_dir)
    except OSError as err:
        raise EnvironmentProblem(
            f"cannot write bundle {out_dir}: {err.strerror or err}",
            hint="check that the directory is writable and the disk is not full",
        ) from err
    finally:
        for leftover in (staging, staging and staging.with_name(staging.name + "-old")):
            if leftover is not None and leftover.exists():
                shutil.rmtree(leftover, ignore_errors=True)
    return out_dir
