"""Every image decnet builds locally, without a registry (docs/images.md).

    lure    decnet-lure:0.1    busybox listeners: the fallback service image and the deckies'
                               base containers (decnet.engine.lure_image)
    base    decnet-base:0.1    Debian from the machine's own archive (mmdebstrap; reproducible)
                               (decnet.engine.base_image)
    sensor  decnet-sensor:0.1  Cowrie + OpenCanary + decnet_sensor FROM base
                               (decnet.engine.sensor_image)

`build_images(names, if_missing=…)` builds them in that order (a sensor needs its base: a
missing or stale base is built first). With `if_missing` an image is skipped when its tag is
present and — for base and sensor — its `decnet.inputs` label matches what it would be built
from now (recipe, lock, Dockerfile, decnet_sensor's files, the base image), so an updated
checkout rebuilds exactly what changed. Wheels and Debian packages are cached under
DECNET_HOME/cache, so a rebuild needs no network.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from decnet.engine import base_image, sensor_image
from decnet.engine.lure_image import (
    LURE_IMAGE,
    build_lure_image,
    ensure_lure_image,
    lure_image_present,
)
from decnet.errors import EnvironmentProblem, UsageError

__all__ = [
    "BASE_IMAGE",
    "IMAGE_NAMES",
    "LURE_IMAGE",
    "SENSOR_IMAGE",
    "ImageResult",
    "build_images",
    "ensure_lure_image",
    "lure_image_present",
]

BASE_IMAGE = "decnet-base:0.1"
SENSOR_IMAGE = "decnet-sensor:0.1"
IMAGE_NAMES = ("lure", "base", "sensor")
DEFAULT_TAGS = {"lure": LURE_IMAGE, "base": BASE_IMAGE, "sensor": SENSOR_IMAGE}

Progress = Callable[[str, str], None]
"""progress(image name, message)."""


@dataclass(frozen=True)
class ImageResult:
    name: str
    tag: str
    built: bool
    image_id: str
    seconds: float
    detail: str = ""


def _docker(docker: str) -> str:
    path = shutil.which(docker)
    if path is None:
        raise EnvironmentProblem(
            f"the docker CLI ({docker!r}) is not on PATH",
            hint="run scripts/setup-host.sh (installs docker.io) or put docker on PATH",
        )
    return path


def inspect(tag: str, docker: str) -> tuple[str, dict[str, str]] | None:
    """(image id, labels) of `tag`, None when the engine has no such image."""
    proc = subprocess.run(
        [docker, "image", "inspect", "--format", "{{.Id}}|{{json .Config.Labels}}", tag],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        if "no such image" in proc.stderr.lower():
            return None
        raise EnvironmentProblem(
            f"cannot ask the Docker engine about {tag}: {proc.stderr.strip() or proc.returncode}",
            hint="start dockerd (scripts/setup-host.sh) and check `docker info`",
        )
    image_id, _, labels = proc.stdout.strip().partition("|")
    parsed = json.loads(labels) if labels and labels != "null" else {}
    return image_id, {str(k): str(v) for k, v in parsed.items()}


def order(names: Sequence[str], *, all_images: bool) -> list[str]:
    """The images to build, in build order; unknown names are a usage error."""
    if all_images:
        if names:
            raise UsageError("name images or pass --all, not both", hint="decnet image build --all")
        return list(IMAGE_NAMES)
    if not names:
        raise UsageError(
            "no image named",
            hint=f"name one or more of {', '.join(IMAGE_NAMES)}, or pass --all",
        )
    for name in names:
        if name not in IMAGE_NAMES:
            raise UsageError(f"unknown image {name!r}", hint=f"images: {', '.join(IMAGE_NAMES)}")
    return [n for n in IMAGE_NAMES if n in names]


def build_images(
    names: Sequence[str],
    *,
    home: Path,
    all_images: bool = False,
    if_missing: bool = False,
    tags: dict[str, str] | None = None,
    docker: str = "docker",
    progress: Progress = lambda _name, _msg: None,
) -> list[ImageResult]:
    """Build the named images (see the module doc); one result per image, in build order."""
    wanted = order(names, all_images=all_images)
    tags = {**DEFAULT_TAGS, **(tags or {})}
    docker_path = _docker(docker)
    cache = home / "cache"
    results: list[ImageResult] = []
    superseded: list[str] = []
    try:
        _build(wanted, tags, docker_path, cache, if_missing, progress, results, superseded)
    finally:
        _remove_superseded(superseded, docker_path)
    return results


def _build(
    wanted: list[str],
    tags: dict[str, str],
    docker_path: str,
    cache: Path,
    if_missing: bool,
    progress: Progress,
    results: list[ImageResult],
    superseded: list[str],
) -> None:
    if "sensor" in wanted and "base" not in wanted:
        base = _base(tags["base"], docker_path, cache, True, progress, superseded)
        if base.built:
            results.append(base)
    for name in wanted:
        if name == "lure":
            results.append(_lure(tags["lure"], docker_path, if_missing, progress))
        elif name == "base":
            results.append(
                _base(tags["base"], docker_path, cache, if_missing, progress, superseded)
            )
        else:
            results.append(
                _sensor(
                    tags["sensor"],
                    tags["base"],
                    docker_path,
                    cache,
                    if_missing,
                    progress,
                    superseded,
                )
            )


def _superseded(
    name: str, old: tuple[str, dict[str, str]] | None, tag: str, docker: str
) -> list[str]:
    """The image `tag` named before a rebuild, if it is ours (its `decnet.image` label)."""
    if old is None or old[1].get("decnet.image") != name:
        return []
    now = inspect(tag, docker)
    return [old[0]] if now is not None and now[0] != old[0] else []


def _remove_superseded(ids: list[str], docker: str) -> None:
    """A rebuild leaves the replaced images dangling: remove them, newest first (an old sensor
    before the old base it was built FROM). Docker refuses one a container still uses: fine."""
    for image_id in reversed(ids):
        subprocess.run([docker, "image", "rm", image_id], capture_output=True, check=False)


def _lure(tag: str, docker: str, if_missing: bool, progress: Progress) -> ImageResult:
    start = time.monotonic()
    if if_missing and lure_image_present(docker, tag):
        found = inspect(tag, docker)
        return ImageResult("lure", tag, False, found[0] if found else "", 0.0, "present")
    progress("lure", "assembling busybox root file system")
    build_lure_image(tag, docker=docker)
    found = inspect(tag, docker)
    return ImageResult("lure", tag, True, found[0] if found else "", time.monotonic() - start)


def _base(
    tag: str,
    docker: str,
    cache: Path,
    if_missing: bool,
    progress: Progress,
    superseded: list[str],
) -> ImageResult:
    start = time.monotonic()
    recipe_text = base_image.RECIPE.read_text(encoding="utf-8")
    recipe = base_image.load_recipe()
    archive = base_image.machine_archive(security_suite=recipe.get("security_suite", ""))
    wanted = base_image.inputs_digest(recipe_text, archive)
    found = inspect(tag, docker)
    if if_missing and found and found[1].get(base_image.INPUTS_LABEL) == wanted:
        return ImageResult("base", tag, False, found[0], 0.0, "present, current")
    digest = base_image.build_base_image(
        tag, docker=docker, cache=cache / "debs", progress=lambda m: progress("base", m)
    )
    superseded.extend(_superseded("base", found, tag, docker))
    found = inspect(tag, docker)
    return ImageResult(
        "base", tag, True, found[0] if found else "", time.monotonic() - start, f"layer {digest}"
    )


def _sensor(
    tag: str,
    base_tag: str,
    docker: str,
    cache: Path,
    if_missing: bool,
    progress: Progress,
    superseded: list[str],
) -> ImageResult:
    start = time.monotonic()
    base = inspect(base_tag, docker)
    if base is None:
        raise EnvironmentProblem(
            f"the sensor image is built FROM {base_tag}, which this engine does not have",
            hint="decnet image build base sensor",
        )
    wanted = sensor_image.inputs_digest(base[0])
    found = inspect(tag, docker)
    if if_missing and found and found[1].get(sensor_image.INPUTS_LABEL) == wanted:
        return ImageResult("sensor", tag, False, found[0], 0.0, "present, current")
    sensor_image.build_sensor_image(
        tag,
        base_tag,
        base[0],
        docker=docker,
        cache=cache / "wheels",
        progress=lambda m: progress("sensor", m),
    )
    superseded.extend(_superseded("sensor", found, tag, docker))
    found = inspect(tag, docker)
    return ImageResult("sensor", tag, True, found[0] if found else "", time.monotonic() - start)


def lock_sensor(home: Path, progress: Callable[[str], None] = lambda _: None) -> int:
    """`decnet image lock`: re-resolve images/sensor/requirements.in; the number of packages."""
    return len(sensor_image.lock(cache=home / "cache" / "wheels", progress=progress))
