"""Fixtures for the Ansible content tests (helpers live in ansible_support.py)."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from ansible_support import IMAGE, Decky, Topo, docker, docker_ok, free_prefix
from local_engine import remove_labelled


@pytest.fixture(scope="session")
def engine() -> None:
    if not docker_ok():
        pytest.skip("needs a Docker engine with compose v2")


@pytest.fixture(scope="session")
def image(engine: None) -> str:
    """A tiny local image (the host's static busybox), built once if missing."""
    if docker("image", "inspect", IMAGE, check=False).returncode == 0:
        return IMAGE
    busybox = shutil.which("busybox") or "/bin/busybox"
    if not os.path.exists(busybox):
        pytest.skip("needs busybox to build the test image")
    with tempfile.TemporaryDirectory() as root:
        os.makedirs(f"{root}/bin")
        shutil.copy(busybox, f"{root}/bin/busybox")
        for applet in ("sh", "sleep", "cat", "ls", "echo", "false", "true", "nc"):
            os.symlink("busybox", f"{root}/bin/{applet}")
        tar = subprocess.Popen(["tar", "-C", root, "-c", "."], stdout=subprocess.PIPE)
        subprocess.run(
            ["docker", "import", "--change", "ENV PATH=/bin", "-", IMAGE],
            stdin=tar.stdout,
            check=True,
            capture_output=True,
        )
        tar.wait()
    return IMAGE


@pytest.fixture
def make_topo(image: str, tmp_path: Path) -> Iterator:
    created: list[Topo] = []

    def make(deckies: list[Decky] | None = None) -> Topo:
        name = f"at-{secrets.token_hex(3)}"
        topo = Topo(
            name=name,
            prefix=free_prefix(),
            root=tmp_path / name,
            deckies=deckies or [Decky("gw", 2, ["ssh"]), Decky("ws", 3, ["http"])],
        )
        topo.root.mkdir()
        created.append(topo)
        return topo

    yield make
    for topo in created:
        subprocess.run(
            ["docker", "compose", "-p", f"decnet-{topo.name}", "down", "-t", "1"],
            capture_output=True,
            check=False,
        )
        remove_labelled(topo.name)
