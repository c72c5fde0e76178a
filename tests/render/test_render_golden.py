"""The rendered compose file and metadata of a small hand-built topology, byte for byte."""

from __future__ import annotations

import difflib

import pytest
from render_sample import GOLDEN, HASH_KEY, SITE_IMAGES, TEMPLATE, render_golden, sample_topology

from decnet.core.catalog import load_catalog
from decnet.core.hashing import desired_hash
from decnet.core.render import render_topology


@pytest.mark.parametrize("name", ["compose.yml", "meta.json"])
def test_matches_golden(name: str) -> None:
    expected = (GOLDEN / name).read_text(encoding="utf-8")
    actual = render_golden()[name]
    if actual != expected:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(keepends=True),
                actual.splitlines(keepends=True),
                fromfile=f"golden/{name}",
                tofile="rendered",
            )
        )
        pytest.fail(f"{name} differs from golden (regen: tests/render/regen.py):\n{diff}")


def test_meta_carries_the_desired_hash() -> None:
    topology, catalog = sample_topology(), load_catalog()
    rendered = render_topology(
        topology, catalog, SITE_IMAGES, template=TEMPLATE, secret_key=HASH_KEY
    )
    assert rendered.meta["desired_hash"] == desired_hash(
        topology, catalog, SITE_IMAGES, secret_key=HASH_KEY
    )
