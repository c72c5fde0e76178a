"""images/sensor/requirements.lock: parsing, rendering, and the committed lock itself."""

from __future__ import annotations

from pathlib import Path

import pytest

from decnet.core.imagelock import (
    Locked,
    LockError,
    canonical,
    parse_lock,
    parse_requirements_in,
    render_lock,
    wheel_hash_ok,
    wheel_project,
)

SENSOR = Path(__file__).resolve().parents[2] / "images" / "sensor"
H1, H2 = "a" * 64, "b" * 64


def test_render_then_parse_round_trips_sorted() -> None:
    entries = [
        Locked("twisted", "26.4.0", (H1,)),
        Locked("ntlmlib", "0.72", (H1, H2), note="built here"),
    ]
    text = render_lock(entries, "header\nline two")
    assert text.startswith("# header\n# line two\n")
    assert "# built here\nntlmlib==0.72 \\\n    --hash=sha256:" in text
    assert parse_lock(text) == [
        Locked("ntlmlib", "0.72", (H1, H2)),
        Locked("twisted", "26.4.0", (H1,)),
    ]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("twisted \\\n    --hash=sha256:" + H1, "NAME==VERSION"),
        ("twisted==1", "no --hash"),
        ("twisted==1 --hash=md5:abc", "--hash=sha256:HEX"),
        ("twisted==1 \\", "never ends"),
        (f"a==1 --hash=sha256:{H1}\nA==2 --hash=sha256:{H1}", "locked twice"),
    ],
)
def test_malformed_locks_name_the_line(text: str, problem: str) -> None:
    with pytest.raises(LockError, match=problem):
        parse_lock(text)


def test_wheel_names_and_hash_checks() -> None:
    name = "zope_interface-8.7-cp311-cp311-manylinux_2_17_x86_64.whl"
    assert wheel_project(name) == ("zope-interface", "8.7")
    assert wheel_project("ntlmlib-0.72.tar.gz") is None
    entry = Locked(canonical("Zope.Interface"), "8.7", (H1,))
    assert wheel_hash_ok(entry, name, H1)
    assert not wheel_hash_ok(entry, name, H2)
    assert not wheel_hash_ok(entry, name.replace("8.7", "8.6"), H1)


def test_requirements_in_splits_the_no_deps_pins() -> None:
    deps, no_deps = parse_requirements_in("a==1\n# c\nb==2  # no-deps: conflicts\nc==3 # why\n")
    assert (deps, no_deps) == (["a==1", "c==3"], ["b==2"])
    with pytest.raises(LockError, match="NAME==VERSION"):
        parse_requirements_in("a>=1\n")


def test_the_committed_lock_pins_every_top_level_package_with_hashes() -> None:
    entries = {e.name: e for e in parse_lock((SENSOR / "requirements.lock").read_text())}
    deps, no_deps = parse_requirements_in((SENSOR / "requirements.in").read_text())
    for pin in deps + no_deps:
        name, version = pin.split("==")
        assert entries[canonical(name)].version == version
    assert {"twisted", "cryptography", "opencanary", "cowrie"} <= set(entries)
    assert all(len(h) == 64 for e in entries.values() for h in e.hashes)
