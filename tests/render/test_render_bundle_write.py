"""write_bundle: all-or-nothing replacement, private modes, only plain relative paths."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from decnet.engine.bundle import write_bundle
from decnet.errors import DecnetError


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_writes_files_with_private_modes(tmp_path: Path) -> None:
    out = tmp_path / "bundle"
    files = {
        "bundle.json": "{}\n",
        "hosts/h/t/compose.yml": "name: x\n",
        "hosts/h/t/meta.json": "{}",
    }
    assert write_bundle(files, out) == out
    for rel, content in files.items():
        assert (out / rel).read_text() == content
        assert _mode(out / rel) == 0o600
    assert _mode(out) == 0o700 and _mode(out / "hosts" / "h" / "t") == 0o700


def test_replaces_the_previous_bundle_as_a_whole(tmp_path: Path) -> None:
    out = tmp_path / "bundle"
    write_bundle({"hosts/h/old/compose.yml": "old"}, out)
    write_bundle({"hosts/h/new/compose.yml": "new"}, out)
    assert not (out / "hosts/h/old").exists()
    assert (out / "hosts/h/new/compose.yml").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bundle"]  # no staging left over


@pytest.mark.parametrize("bad", ["/etc/passwd", "../x", "a/../../x", "a//b", "./a", ""])
def test_refuses_paths_that_escape(tmp_path: Path, bad: str) -> None:
    out = tmp_path / "bundle"
    write_bundle({"keep": "1"}, out)
    with pytest.raises(DecnetError):
        write_bundle({bad: "x", "ok": "y"}, out)
    assert (out / "keep").read_text() == "1"  # the old bundle is untouched


def test_failure_leaves_old_bundle_and_no_staging(tmp_path: Path) -> None:
    out = tmp_path / "bundle"
    write_bundle({"keep": "1"}, out)
    with pytest.raises(DecnetError):
        write_bundle({"a": "x", "a/b": "y"}, out)  # `a` is a file, cannot be a directory
    assert (out / "keep").read_text() == "1"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bundle"]
