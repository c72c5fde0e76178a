"""The hand-built topology of the golden files, and how its golden files are produced.

Shared by the golden test and `regen.py`, so both render exactly the same thing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from decnet.core.catalog import load_catalog
from decnet.core.render import meta_json, render_topology
from decnet.engine.bundle import read_template
from decnet.models import Decky, Lan, Membership, Topology

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = read_template(ROOT / "templates")
"""The compose template's text: the core renders text and reads no file."""
GOLDEN = Path(__file__).resolve().parent / "golden"
HASH_PLACEHOLDER = "<desired_hash>"
"""The golden meta.json does not pin the hash: core/hashing.py owns it and tests it itself."""

SITE_IMAGES = {"ftp": "site.example/ftp:1"}
HASH_KEY = b"decnet-tests-hash-key-0123456789"
"""Stands in for a database's hash key (Store.hash_key) where tests render without a store."""
NASTY = "SSH-2.0-x $HOME ${PATH} {{ x }} # not: a comment\n- item\n\"q\" 's' & * ! é ✓"


def sample_topology() -> Topology:
    return Topology(
        name="golden",
        host="edge-1",
        images={"http": "registry.example/http:2"},
        lans=[
            Lan(name="dmz", subnet="10.200.0.0/24", is_dmz=True),
            Lan(name="core", subnet="10.200.1.0/24"),
        ],
        deckies=[
            Decky(
                name="gw",
                home_lan="dmz",
                memberships=[Membership(lan="dmz", ip="10.200.0.2")],
                services=["ssh", "http"],
                service_config={"ssh": {"banner": NASTY, "password": "s3cr$t"}},
                publish=["2222:22", "8053:53/udp"],
            ),
            Decky(
                name="br",
                home_lan="core",
                memberships=[
                    Membership(lan="core", ip="10.200.1.2"),
                    Membership(lan="dmz", ip="10.200.0.3"),
                ],
                services=["smb"],
                forwards_l3=True,
            ),
            Decky(
                name="ws",
                home_lan="core",
                memberships=[Membership(lan="core", ip="10.200.1.3")],
                services=["dns", "ftp"],
                service_config={"ftp": {"anonymous": True}},
            ),
        ],
    )


def golden_meta(meta: dict[str, Any]) -> str:
    return meta_json({**meta, "desired_hash": HASH_PLACEHOLDER})


def render_golden() -> dict[str, str]:
    """File name in golden/ -> the content the current code renders."""
    rendered = render_topology(
        sample_topology(), load_catalog(), SITE_IMAGES, template=TEMPLATE, secret_key=HASH_KEY
    )
    return {"compose.yml": rendered.compose, "meta.json": golden_meta(rendered.meta)}


def parse_meta(text: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(text)
    return data
