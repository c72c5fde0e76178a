"""`decnet image build|lock` as a user meets it: bad arguments, a missing tool, a second build
that finds everything current, and the base image's reproducibility."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from sensor_support import docker, docker_ok, ensure_sensor_image

from decnet.engine import base_image
from decnet.engine.images import BASE_IMAGE
from decnet.errors import EnvironmentProblem

DECNET = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "decnet"
DOCKER = pytest.mark.skipif(not docker_ok(), reason="`docker info` fails: no Docker engine")


def run(
    *args: str, path: str | None = None, home: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DECNET_")}
    if path is not None:
        env["PATH"] = path
    if home is not None:
        env["DECNET_HOME"] = str(home)
    return subprocess.run(
        [str(DECNET), "image", *args], capture_output=True, text=True, env=env, timeout=3600
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "error: no image named"),
        (("debian",), "error: unknown image 'debian'"),
        (("--all", "lure"), "error: name images or pass --all, not both"),
        (("lure", "base", "--tag", "x:1"), "--tag needs exactly one image name"),
    ],
)
def test_bad_arguments_are_usage_errors(args: tuple[str, ...], message: str) -> None:
    proc = run("build", *args)
    assert proc.returncode == 64, proc.stderr
    assert message in proc.stderr and "Traceback" not in proc.stderr


@DOCKER
def test_without_mmdebstrap_the_hint_says_how_to_get_it(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "docker").symlink_to(subprocess.check_output(["which", "docker"], text=True).strip())
    proc = run("build", "base", "--tag", "decnet-base:never", path=str(bin_dir), home=tmp_path)
    assert proc.returncode == 1
    assert "error: mmdebstrap is not installed" in proc.stderr
    assert "hint: apt-get install mmdebstrap" in proc.stderr
    assert docker("image", "inspect", "decnet-base:never", check=False).returncode != 0


@DOCKER
@pytest.mark.docker
@pytest.mark.slow
def test_a_second_build_finds_every_image_current() -> None:
    image_id = ensure_sensor_image()
    proc = run("build", "base", "sensor", "--if-missing", "--json")
    assert proc.returncode == 0, proc.stderr
    results = {r["name"]: r for r in json.loads(proc.stdout)}
    assert results["sensor"]["built"] is False and results["sensor"]["image_id"] == image_id
    assert results["base"]["built"] is False
    assert results["sensor"]["detail"] == "present, current"


@DOCKER
@pytest.mark.docker
@pytest.mark.slow
def test_the_base_root_file_system_is_reproducible() -> None:
    """The same recipe over the same archive gives the same layer: the base image's layer
    (built earlier, by `decnet image build` or this session) equals a fresh build's tar digest.
    (A Debian point release between the two builds changes the inputs: then rebuild the base.)"""
    ensure_sensor_image()  # the base is current: built from today's recipe
    layer = base_image.layer_digest(BASE_IMAGE)
    from decnet.settings import Settings

    again = base_image.rootfs_digest(cache=Settings.from_env().home / "cache" / "debs")
    assert again == layer


@DOCKER
@pytest.mark.docker
def test_an_unreachable_archive_is_named_and_nothing_is_left_under_the_tag(tmp_path: Path) -> None:
    """mmdebstrap against an archive nobody serves (a closed port on loopback) fails within
    seconds; the error names the archive and the fix, and no half-built image stays."""
    sources = tmp_path / "debian.sources"
    sources.write_text(
        "Types: deb\nURIs: http://127.0.0.1:9/debian\nSuites: bookworm bookworm-updates\n"
        "Components: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"
    )
    tag = f"decnet-base:unreachable-{os.getpid()}"
    with pytest.raises(EnvironmentProblem) as err:
        base_image.build_base_image(tag, cache=tmp_path / "debs", sources=sources)
    assert "mmdebstrap failed" in str(err.value)
    assert "http://127.0.0.1:9/debian" in (err.value.hint or "")
    assert "apt-get update" in (err.value.hint or "")
    assert docker("image", "inspect", tag, check=False).returncode != 0
