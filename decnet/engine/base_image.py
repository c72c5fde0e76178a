"""`decnet-base`: a Debian root filesystem from the machine's own archive, with mmdebstrap.

The recipe is data (images/base/recipe.yml). `build_base_image` streams `mmdebstrap … -` (a tar
on stdout) into `docker import`; the same recipe over the same archive state gives the same
layer digest (docs/images.md, "What is reproducible"). Downloaded packages are kept in a cache
under DECNET_HOME (mmdebstrap's sync-in/sync-out hooks), so a rebuild fetches only the package
lists; the cache never reaches the image (mmdebstrap empties the apt cache before packing).
"""

from __future__ import annotations

import hashlib
import os
import shlex
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import yaml

from decnet.errors import EnvironmentProblem
from decnet.settings import PROJECT_ROOT

RECIPE = PROJECT_ROOT / "images" / "base" / "recipe.yml"
SOURCES = Path("/etc/apt/sources.list.d/debian.sources")
LABEL = "decnet.image=base"
INPUTS_LABEL = "decnet.inputs"
_MIRROR_HINT = (
    "check that this host reaches its Debian archive ({mirror}): `apt-get update` must work"
)

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Archive:
    """The machine's own Debian archive: the main mirror and the security mirror (if any)."""

    mirror: str
    security: str | None


def _stanzas(text: str) -> Iterator[dict[str, str]]:
    for block in text.split("\n\n"):
        fields: dict[str, str] = {}
        for line in block.splitlines():
            if line.startswith("#") or ":" not in line or line[:1].isspace():
                continue
            key, _, value = line.partition(":")
            fields[key.strip()] = value.strip()
        if fields:
            yield fields


def machine_archive(sources: Path = SOURCES, *, security_suite: str = "") -> Archive:
    """The first `URIs:` of debian.sources, and the URIs of the stanza listing the security
    suite (`bookworm-security`)."""
    try:
        text = sources.read_text(encoding="utf-8")
    except OSError as err:
        raise EnvironmentProblem(
            f"cannot read {sources}: {err.strerror}",
            hint="decnet builds its base image from the archive this Debian host uses",
        ) from err
    mirror, security = None, None
    for fields in _stanzas(text):
        uris = fields.get("URIs", "").split()
        if not uris:
            continue
        if mirror is None:
            mirror = uris[0]
        if security_suite and security_suite in fields.get("Suites", "").split():
            security = uris[0]
    if mirror is None:
        raise EnvironmentProblem(
            f"{sources} names no archive (no `URIs:` line)",
            hint="this needs a Debian 12 host with a working apt configuration",
        )
    return Archive(mirror=mirror, security=security)


def load_recipe(path: Path = RECIPE) -> dict[str, Any]:
    recipe: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return recipe


def mmdebstrap_argv(
    recipe: dict[str, Any], archive: Archive, cache: Path | None, output: str = "-"
) -> list[str]:
    """The whole mmdebstrap command line for the recipe (pure)."""
    argv = [
        "mmdebstrap",
        f"--variant={recipe['variant']}",
        "--include=" + ",".join(recipe["include"]),
        "--format=tar",
    ]
    argv += [f"--hook-dir={hook}" for hook in recipe.get("hooks", [])]
    argv += [f"--dpkgopt=path-exclude={p}" for p in recipe.get("path_exclude", [])]
    argv += [f"--dpkgopt=path-include={p}" for p in recipe.get("path_include", [])]
    argv += [f"--customize-hook={step}" for step in recipe.get("customize", [])]
    if cache is not None:
        quoted = shlex.quote(str(cache))
        argv += [
            "--skip=essential/unlink",
            '--setup-hook=mkdir -p "$1"/var/cache/apt/archives/',
            f"--setup-hook=sync-in {quoted} /var/cache/apt/archives/",
            f"--customize-hook=sync-out /var/cache/apt/archives {quoted}",
        ]
    components = " ".join(recipe.get("components", ["main"]))
    sources = [f"deb {archive.mirror} {suite} {components}" for suite in recipe["suites"]]
    if archive.security and recipe.get("security_suite"):
        sources.append(f"deb {archive.security} {recipe['security_suite']} {components}")
    return [*argv, recipe["suite"], output, *sources]


def inputs_digest(recipe_text: str, archive: Archive) -> str:
    """What the base image is built from: the recipe and the archive's addresses."""
    h = hashlib.sha256()
    for part in (recipe_text, archive.mirror, archive.security or ""):
        h.update(part.encode() + b"\0")
    return h.hexdigest()[:32]


def _check_tools(docker: str) -> str:
    if shutil.which("mmdebstrap") is None:
        raise EnvironmentProblem(
            "mmdebstrap is not installed: it builds decnet's base image from Debian's archive",
            hint="apt-get install mmdebstrap (scripts/setup-host.sh installs it)",
        )
    path = shutil.which(docker)
    if path is None:
        raise EnvironmentProblem(
            f"the docker CLI ({docker!r}) is not on PATH",
            hint="run scripts/setup-host.sh (installs docker.io) or put docker on PATH",
        )
    return path


def _pump(stream: IO[bytes], progress: Progress, tail: list[str]) -> None:
    for raw in stream:
        line = raw.decode("utf-8", errors="replace").rstrip()
        if not line:
            continue
        tail.append(line)
        del tail[:-30]
        if line.startswith(("I: ", "E: ", "W: ")):
            progress(line[3:])


def build_base_image(
    tag: str,
    *,
    docker: str = "docker",
    cache: Path | None = None,
    progress: Progress = lambda _: None,
    recipe_path: Path = RECIPE,
    sources: Path = SOURCES,
) -> str:
    """Build and import the base root filesystem as `tag`; returns the layer digest."""
    docker_path = _check_tools(docker)
    recipe_text = recipe_path.read_text(encoding="utf-8")
    recipe = yaml.safe_load(recipe_text)
    archive = machine_archive(sources, security_suite=recipe.get("security_suite", ""))
    if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)
    argv = mmdebstrap_argv(recipe, archive, cache)
    env = {**os.environ, "SOURCE_DATE_EPOCH": str(recipe["source_date_epoch"])}
    changes = [f"ENV {k}={v}" for k, v in recipe.get("env", {}).items()]
    changes += [f"LABEL {LABEL}", f"LABEL {INPUTS_LABEL}={inputs_digest(recipe_text, archive)}"]
    importer = [docker_path, "import"]
    for change in changes:
        importer += ["--change", change]
    importer += ["-", tag]
    progress(f"mmdebstrap {recipe['suite']} from {archive.mirror}")
    tail: list[str] = []
    with tempfile.TemporaryFile() as import_out:
        strap = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        assert strap.stdout is not None and strap.stderr is not None
        imp = subprocess.Popen(importer, stdin=strap.stdout, stdout=import_out, stderr=import_out)
        strap.stdout.close()  # the importer holds the pipe now
        _pump(strap.stderr, progress, tail)
        strap_rc, imp_rc = strap.wait(), imp.wait()
        import_out.seek(0)
        imported = import_out.read().decode("utf-8", errors="replace").strip()
    if strap_rc != 0:
        if imp_rc == 0:  # a partial root file system was imported: never leave it under the tag
            subprocess.run([docker_path, "image", "rm", tag], capture_output=True, check=False)
        raise EnvironmentProblem(
            f"mmdebstrap failed (exit {strap_rc}): " + " | ".join(tail[-4:]),
            hint=_MIRROR_HINT.format(mirror=archive.mirror),
        )
    if imp_rc != 0:
        raise EnvironmentProblem(
            f"docker import of {tag} failed: {imported[-500:]}",
            hint="check `docker info`; scripts/setup-host.sh starts the engine",
        )
    return layer_digest(tag, docker=docker_path)


def layer_digest(tag: str, *, docker: str = "docker") -> str:
    proc = subprocess.run(
        [docker, "image", "inspect", "--format", "{{index .RootFS.Layers 0}}", tag],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise EnvironmentProblem(
            f"cannot inspect {tag}: {proc.stderr.strip()}", hint="check `docker info`"
        )
    return proc.stdout.strip()


def rootfs_digest(
    *,
    cache: Path | None = None,
    recipe_path: Path = RECIPE,
    sources: Path = SOURCES,
) -> str:
    """sha256 of the recipe's root filesystem tar, without importing it: what `docker import`
    would record as the layer's diff id (the reproducibility check compares two of these)."""
    _check_tools("docker")
    recipe = load_recipe(recipe_path)
    archive = machine_archive(sources, security_suite=recipe.get("security_suite", ""))
    if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "SOURCE_DATE_EPOCH": str(recipe["source_date_epoch"])}
    h = hashlib.sha256()
    with tempfile.TemporaryFile() as errors:
        with subprocess.Popen(
            mmdebstrap_argv(recipe, archive, cache), stdout=subprocess.PIPE, stderr=errors, env=env
        ) as proc:
            assert proc.stdout is not None
            for chunk in iter(lambda: proc.stdout.read(1 << 20), b""):  # type: ignore[union-attr]
                h.update(chunk)
        errors.seek(0)
        tail = errors.read().decode("utf-8", "replace").strip().splitlines()[-4:]
    if proc.returncode != 0:
        raise EnvironmentProblem(
            f"mmdebstrap failed (exit {proc.returncode}): " + " | ".join(tail),
            hint=_MIRROR_HINT.format(mirror=archive.mirror),
        )
    return "sha256:" + h.hexdigest()
