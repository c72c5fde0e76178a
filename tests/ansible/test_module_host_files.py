"""The host files as the module installs them (module_utils/decnet_files.py), on real files in a
temporary directory: only what differs is written, atomically, with its mode; check mode writes
nothing; a bad entry is refused. A deploy installing them is tested in tests/engine and
tests/fleet (first deploy, then drift in sync)."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import pytest
from test_contract import module_utils

files = module_utils("decnet_files")
Failure = module_utils("decnet_failure").Failure
FACT = "#!/usr/bin/python3\nprint('{}')\n"
CONFIG = '{\n    "base_dir": "/srv/t",\n    "format": 1\n}\n'


def host_files(facts: Path) -> list[Any]:
    return [
        files.HostFile.parse({"path": str(facts / "decnet.fact"), "mode": "0755", "content": FACT}),
        files.HostFile.parse(
            {"path": str(facts / "decnet.json"), "mode": "0644", "content": CONFIG}
        ),
    ]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_missing_files_and_directories_are_created(tmp_path: Path) -> None:
    facts, base = tmp_path / "etc" / "facts.d", tmp_path / "lib" / "decnet" / "topologies"
    written = files.install_host_files(host_files(facts), str(base), check=False)
    assert written == [
        str(tmp_path / "lib"),
        str(tmp_path / "lib" / "decnet"),
        str(base),
        str(tmp_path / "etc"),
        str(facts),
        str(facts / "decnet.fact"),
        str(facts / "decnet.json"),
    ]
    assert (facts / "decnet.fact").read_text() == FACT and mode(facts / "decnet.fact") == 0o755
    assert (facts / "decnet.json").read_text() == CONFIG and mode(facts / "decnet.json") == 0o644
    assert mode(base) == mode(base.parent) == 0o700
    assert mode(facts) == 0o755
    assert sorted(p.name for p in facts.iterdir()) == ["decnet.fact", "decnet.json"]  # no temp


def test_current_files_are_only_read(tmp_path: Path) -> None:
    facts, base = tmp_path / "facts.d", tmp_path / "topologies"
    files.install_host_files(host_files(facts), str(base), check=False)
    before = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in facts.iterdir()}
    assert files.install_host_files(host_files(facts), str(base), check=False) == []
    assert {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in facts.iterdir()} == before


def test_a_file_that_differs_is_replaced_and_only_it(tmp_path: Path) -> None:
    facts, base = tmp_path / "facts.d", tmp_path / "topologies"
    files.install_host_files(host_files(facts), str(base), check=False)
    config_inode = (facts / "decnet.json").stat().st_ino
    (facts / "decnet.fact").write_text("#!/bin/sh\necho tampered\n")
    assert files.install_host_files(host_files(facts), str(base), check=False) == [
        str(facts / "decnet.fact")
    ]
    assert (facts / "decnet.fact").read_text() == FACT
    assert (facts / "decnet.json").stat().st_ino == config_inode
    (facts / "decnet.json").chmod(0o600)  # the content is right, the mode is not
    assert files.install_host_files(host_files(facts), str(base), check=False) == [
        str(facts / "decnet.json")
    ]
    assert mode(facts / "decnet.json") == 0o644


def test_a_link_in_place_of_a_file_is_replaced_by_the_file(tmp_path: Path) -> None:
    facts, base = tmp_path / "facts.d", tmp_path / "topologies"
    facts.mkdir()
    target = tmp_path / "elsewhere"
    target.write_text(FACT)
    (facts / "decnet.fact").symlink_to(target)
    written = files.install_host_files(host_files(facts)[:1], str(base), check=False)
    assert str(facts / "decnet.fact") in written
    assert not (facts / "decnet.fact").is_symlink() and (facts / "decnet.fact").read_text() == FACT
    assert target.read_text() == FACT


def test_check_mode_says_what_it_would_write_and_writes_nothing(tmp_path: Path) -> None:
    facts, base = tmp_path / "facts.d", tmp_path / "topologies"
    would = files.install_host_files(host_files(facts), str(base), check=True)
    assert would == [str(base), str(facts), str(facts / "decnet.fact"), str(facts / "decnet.json")]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("entry", "why"),
    [
        ({"path": "facts.d/decnet.fact", "mode": "0755"}, "must be absolute"),
        ({"path": "/etc/../tmp/decnet.fact", "mode": "0755"}, "must be absolute and normalised"),
        ({"path": "/etc/facts.d/decnet.fact", "mode": "rwxr-xr-x"}, "is not an octal mode"),
        ({"path": "/etc/facts.d/decnet.fact", "mode": "0755\n"}, "is not an octal mode"),
    ],
)
def test_a_bad_entry_is_refused_with_its_reason(entry: dict[str, str], why: str) -> None:
    with pytest.raises(Failure, match=why):
        files.HostFile.parse({**entry, "content": FACT})


def test_an_unwritable_place_fails_with_the_path_and_the_cause(tmp_path: Path) -> None:
    (tmp_path / "facts.d").write_text("a file where the directory should be")
    with pytest.raises(Failure, match=r"cannot install .*/facts\.d/decnet\.fact on the host \("):
        files.install_host_files(host_files(tmp_path / "facts.d"), str(tmp_path / "t"), False)


def test_sensor_directories_are_made_for_the_sensor_user_and_kept(tmp_path: Path) -> None:
    """Only bind sources under the sensor dir of a service with a numeric user; each is owned
    by that user; an existing one (lines not collected yet) is left as it is."""
    import shutil
    import uuid

    topology = f"t{uuid.uuid4().hex[:8]}"
    root = Path(files.SENSOR_DIR) / topology
    mounted = f"{root}/gw/sensor:/var/lib/decnet-sensor"
    config = {
        "services": {
            "gw": {"image": "lure"},
            "gw.sensor": {"user": "999:999", "volumes": [mounted]},
            "rogue": {"user": "999:999", "volumes": [f"{root}/../../etc:/x", "/etc:/y"]},
            "rootless": {"volumes": [f"{root}/other/sensor:/z"]},
            # as `docker compose config --format json` writes it (what the module reads)
            "db.sensor": {
                "user": "999:999",
                "volumes": [
                    {
                        "type": "bind",
                        "source": f"{root}/db/sensor",
                        "target": "/var/lib/decnet-sensor",
                    },
                    {"type": "volume", "source": f"{root}/db/named", "target": "/n"},
                ],
            },
        }
    }
    try:
        assert files.sensor_mounts(config) == [
            (f"{root}/gw/sensor", 999, 999),
            (f"{root}/db/sensor", 999, 999),
        ]
        created = files.prepare_sensor_dirs(config)
        assert f"{root}/gw/sensor" in created and f"{root}/db/sensor" in created
        assert f"{root}" in created
        leaf = root / "gw" / "sensor"
        assert (leaf.stat().st_uid, leaf.stat().st_gid, mode(leaf)) == (999, 999, 0o750)
        assert mode(root) == 0o700 and not (root / "other").exists()
        (leaf / "events.jsonl").write_text("kept\n")
        assert files.prepare_sensor_dirs(config) == []
        assert (leaf / "events.jsonl").read_text() == "kept\n"
    finally:
        shutil.rmtree(root, ignore_errors=True)
