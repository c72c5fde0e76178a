"""The lure image: its root filesystem, its errors, and (with Docker) the imported image."""

from __future__ import annotations

import io
import json
import subprocess
import tarfile
from pathlib import Path

import pytest

from decnet.engine import lure_image as images
from decnet.errors import EnvironmentProblem


def _members() -> dict[str, tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(images.rootfs_tar())) as tar:
        return {m.name: m for m in tar.getmembers()}


@pytest.mark.skipif(not images.BUSYBOX.is_file(), reason="busybox-static is not installed")
def test_rootfs_holds_busybox_applets_and_the_entrypoint() -> None:
    members = _members()
    assert members["bin/busybox"].mode == 0o755 and members["bin/busybox"].isfile()
    assert members["bin/lure"].mode == 0o755
    assert members["bin/lure-session"].mode == 0o755
    for applet in ("sh", "sleep", "nc", "httpd", "ip", "sysctl", "cat", "env", "wget"):
        assert members[f"bin/{applet}"].issym() and members[f"bin/{applet}"].linkname == "busybox"
    assert members["tmp"].mode == 0o1777
    assert all(m.uid == 0 and m.gid == 0 for m in members.values())


@pytest.mark.skipif(not images.BUSYBOX.is_file(), reason="busybox-static is not installed")
def test_rootfs_is_reproducible() -> None:
    assert images.rootfs_tar() == images.rootfs_tar()


@pytest.mark.skipif(not images.BUSYBOX.is_file(), reason="busybox-static is not installed")
def test_lure_script_is_valid_busybox_sh() -> None:
    proc = subprocess.run(
        [str(images.BUSYBOX), "sh", "-n", "-c", images.LURE_SCRIPT],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr


def test_missing_busybox_is_an_environment_problem(tmp_path: Path) -> None:
    with pytest.raises(EnvironmentProblem) as info:
        images.rootfs_tar(tmp_path / "busybox")
    assert "busybox-static" in info.value.hint


def test_missing_docker_is_an_environment_problem() -> None:
    with pytest.raises(EnvironmentProblem):
        images.lure_image_present(docker="no-such-docker-cli")
    with pytest.raises(EnvironmentProblem):
        images.build_lure_image(docker="no-such-docker-cli")


def _docker_works() -> bool:
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@pytest.mark.docker
def test_imported_image_has_entrypoint_and_label() -> None:
    if not _docker_works():
        pytest.skip("no usable Docker engine: `docker info` failed")
    if not images.BUSYBOX.is_file():
        pytest.skip("busybox-static is not installed")
    images.ensure_lure_image()
    assert images.lure_image_present()
    out = subprocess.run(
        ["docker", "image", "inspect", "--format", "{{json .Config}}", images.LURE_IMAGE],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    config = json.loads(out)
    assert config["Entrypoint"] == ["/bin/lure"]
    assert config["Labels"] == {"decnet.image": "lure"}
    assert not images.lure_image_present(tag="decnet-lure:no-such-tag")
