"""Inventory loading through Ansible's own parser, and the cache of static files."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from decnet.errors import DecnetError
from decnet.runner.inventory import _cache, _static_key, load_inventory

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


def test_threads_writing_one_cache_entry_at_once_all_succeed(tmp_path: Path) -> None:
    """A server's job, watcher and collector threads parse the same inventory at the same
    moment (a deploy failed on this in CI: one thread's rename took the other's temporary)."""
    cached = tmp_path / "cache" / "inventory-k.json"
    start, errors = threading.Barrier(8), []

    def write(n: int) -> None:
        start.wait()
        try:
            for i in range(50):
                _cache(cached, {"writer": n, "round": i})
        except OSError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert json.loads(cached.read_text())["round"] == 49
    assert [p.name for p in cached.parent.iterdir()] == [cached.name]  # no temporary left


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


# A fresh interpreter: Ansible's plugin loader races only while it first loads its plugins.
_THREADS = """
import sys, threading
import json
import subprocess
import sys
import threading
from pathlib import Path
from decnet.runner.inventory import host_connections, load_inventory
path, errors = Path(sys.argv[1]), []
def parse(i):
    try:
        (load_inventory if i % 2 else host_connections)(path)
    except Exception as err:
        errors.append(repr(err))
threads = [threading.Thread(target=parse, args=(i,)) for i in range(8)]
[t.start() for t in threads]
[t.join() for t in threads]
print(errors)
"""


def test_threads_of_one_process_parse_inventories_at_once(tmp_path: Path) -> None:
    inv = tmp_path / "hosts.yml"
    inv.write_text(STATIC)
    done = subprocess.run(
        [sys.executable, "-c", _THREADS, str(inv)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
