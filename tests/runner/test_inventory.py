"""Inventory loading through Ansible's own parser, and the cache of static files."""

from __future__ import annotations

from pathlib import Path

import pytest

from decnet.errors import DecnetError
from decnet.runner.inventory import _static_key, load_inventory

STATIC = (
    "all:\n  hosts:\n    alpha:\n    beta:\n  children:\n    edge:\n      hosts:\n        beta:\n"
)


def test_static_file_is_parsed_then_served_from_cache(tmp_path: Path) -> None:
    inv = tmp_path / "hosts.yml"
    inv.write_text(STATIC)
    cache = tmp_path / "cache"
    first = load_inventory(inv, cache)
    assert first.hosts == ("alpha", "beta")
    assert first.groups["edge"] == ("beta",)
    assert len(list(cache.glob("inventory-*.json"))) == 1
    assert load_inventory(inv, cache) == first


def test_changed_file_is_parsed_again(tmp_path: Path) -> None:
    inv = tmp_path / "hosts.yml"
    inv.write_text(STATIC)
    cache = tmp_path / "cache"
    load_inventory(inv, cache)
    inv.write_text(STATIC.replace("beta", "gamma"))
    assert load_inventory(inv, cache).hosts == ("alpha", "gamma")


def test_dynamic_sources_have_no_cache_key(tmp_path: Path) -> None:
    plugin = tmp_path / "aws.yml"
    plugin.write_text("plugin: amazon.aws.aws_ec2\n")
    script = tmp_path / "inventory.sh"
    script.write_text("#!/bin/sh\necho '{}'\n")
    script.chmod(0o755)
    static = tmp_path / "hosts.yml"
    static.write_text(STATIC)
    assert _static_key(plugin) is None
    assert _static_key(script) is None
    assert _static_key(tmp_path) is None
    assert _static_key(static) is not None


def test_unparsable_inventory_names_the_file(tmp_path: Path) -> None:
    inv = tmp_path / "bad.yml"
    inv.write_text("garbage: [\n")
    with pytest.raises(DecnetError, match=r"bad\.yml"):
        load_inventory(inv, tmp_path / "cache")
    assert not (tmp_path / "cache").exists()
