"""write_bundle: all-or-nothing replacement, private modes, only plain relative paths."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from decnet.engine.bundle import write_bundle
from decnet.errors import DecnetError

MARK = {"bundle.json": '{"format": 1, "written_by": "decnet", "hosts": {}}\n'}
"""What makes a directory a bundle decnet may replace."""


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_writes_files_with_private_modes(tmp_path: Path) -> None:
    out = tmp_path / "bundle"
    files = {
        **MARK,
        "hosts/h/t/compose.yml": "name: x\n",
        "hosts/h/t/meta.json": "{}",
    }
    assert write_bundle(files, out) == out
    for rel, content in files.items():
        assert (out / rel).read_text() == content
        assert _mode(out / rel) == 0o600
    for directory in (out, out / "hosts", out / "hosts" / "h", out / "hosts" / "h" / "t"):
        assert _mode(directory) == 0o700, directory


def test_replaces_the_previous_bundle_as_a_whole(tmp_path: Path) -> None:
    out = tmp_path / "bundle"
    write_bundle({**MARK, "hosts/h/old/compose.yml": "old"}, out)
    write_bundle({**MARK, "hosts/h/new/compose.yml": "new"}, out)
    assert not (out / "hosts/h/old").exists()
    assert (out / "hosts/h/new/compose.yml").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bundle"]  # no staging left over


@pytest.mark.parametrize("bad", ["/etc/passwd", "../x", "a/../../x", "a//b", "./a", ""])
def test_refuses_paths_that_escape(tmp_path: Path, bad: str) -> None:
    out = tmp_path / "bundle"
    write_bundle({**MARK, "hosts/keep": "1"}, out)
    with pytest.raises(DecnetError):
        write_bundle({bad: "x", "ok": "y"}, out)
    assert (out / "hosts/keep").read_text() == "1"  # the old bundle is untouched


def test_failure_leaves_old_bundle_and_no_staging(tmp_path: Path) -> None:
    out = tmp_path / "bundle"
    write_bundle({**MARK, "hosts/keep": "1"}, out)
    with pytest.raises(DecnetError):
        write_bundle({"a": "x", "a/b": "y"}, out)  # `a` is a file, cannot be a directory
    assert (out / "hosts/keep").read_text() == "1"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bundle"]


@pytest.mark.parametrize(
    "content",
    [
        {"notes.txt": "mine"},  # a user's directory
        {"bundle.json": "{}", "hosts/x": "1"},  # a bundle.json decnet did not write
        {**MARK, "hosts/x": "1", "extra.txt": "mine"},  # a bundle with a stranger inside
    ],
)
def test_refuses_to_replace_what_is_not_a_bundle(tmp_path: Path, content: dict[str, str]) -> None:
    out = tmp_path / "target"
    for rel, text in content.items():
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_text(text)
    with pytest.raises(DecnetError, match="not a bundle decnet wrote"):
        write_bundle({**MARK}, out)
    assert {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()} == set(content)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["target"]


def test_refuses_a_file_and_a_link(tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_text("precious")
    with pytest.raises(DecnetError, match="not a directory"):
        write_bundle({**MARK}, target)
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "elsewhere")
    with pytest.raises(DecnetError, match="symbolic link"):
        write_bundle({**MARK}, link)
    assert target.read_text() == "precious" and link.is_symlink()


def test_replaces_an_empty_directory_and_sweeps_what_a_killed_writer_left(
    tmp_path: Path,
) -> None:
    out = tmp_path / "bundle"
    out.mkdir()
    dead = tmp_path / ".bundle.decnet-999999999-abc"  # no such process
    (dead / "hosts").mkdir(parents=True)
    write_bundle({**MARK, "hosts/h/t/compose.yml": "x"}, out)
    assert (out / "hosts/h/t/compose.yml").read_text() == "x"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bundle"]
