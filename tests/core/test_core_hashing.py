"""The desired hash: blind to bookkeeping and ordering, sensitive to everything on the host."""

from __future__ import annotations

import enum
import math
from collections.abc import Callable

import pytest

from decnet.core.catalog import load_catalog
from decnet.core.generate import generate
from decnet.core.hashing import canonical_json, desired_hash, projection
from decnet.models import GeneratorParams, Membership, Status, Topology

CATALOG = load_catalog()


def _topology() -> Topology:
    params = GeneratorParams(name="h", depth=3, branching=2, deckies_max=3, cross_p=0.5, seed=5)
    t = generate(params, CATALOG)
    gw = t.decky("gw")
    assert gw is not None
    gw.services = ["ssh", "http"]
    gw.service_config = {"ssh": {"banner": "b", "hostname": "h"}, "http": {"title": "T"}}
    gw.publish = ["2222:22", "8080:80"]
    gw.archetype = None
    t.images = {"http": "reg.example/http:1", "*": "reg.example/lure:2"}
    return t


BASE = desired_hash(_topology(), CATALOG)

Edit = Callable[[Topology], None]


def _reverse_everything(t: Topology) -> None:
    t.lans.reverse()
    t.deckies.reverse()
    for d in t.deckies:
        d.memberships.reverse()
        d.publish.reverse()
        d.service_config = {
            k: dict(reversed(v.items())) for k, v in reversed(d.service_config.items())
        }
    t.images = dict(reversed(t.images.items()))


def _bookkeeping(t: Topology) -> None:
    t.status, t.version, t.needs_resync = Status.ACTIVE, 42, True
    t.created_at, t.status_changed_at = "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z"
    t.config = {"seed": 1}
    for lan in t.lans:
        lan.x, lan.y, lan.w, lan.h = 1.0, 2.0, 3.0, 4.0
    for d in t.deckies:
        d.x, d.y, d.archetype = 5.0, 6.0, "made-up"


def _explicit_defaults(t: Topology) -> None:
    gw = t.decky("gw")
    assert gw is not None
    gw.service_config["http"]["server_header"] = "Apache/2.4.57 (Debian)"  # the default


@pytest.mark.parametrize("edit", [_reverse_everything, _bookkeeping, _explicit_defaults])
def test_hash_ignores_order_and_bookkeeping(edit: Edit) -> None:
    t = _topology()
    edit(t)
    assert desired_hash(t, CATALOG) == BASE


def _edit_gw(**updates: object) -> Edit:
    def edit(t: Topology) -> None:
        gw = t.decky("gw")
        assert gw is not None
        for key, value in updates.items():
            setattr(gw, key, value)

    return edit


def _move_ip(t: Topology) -> None:
    t.deckies[-1].memberships[0].ip = "10.192.9.250"


def _change_subnet(t: Topology) -> None:
    t.lans[-1].subnet = "10.200.0.0/24"


def _attach(t: Topology) -> None:
    t.deckies[-1].memberships.append(Membership(lan="dmz", ip="10.192.0.200"))


def _rename(t: Topology) -> None:
    t.name = "h2"


def _config(t: Topology) -> None:
    gw = t.decky("gw")
    assert gw is not None
    gw.service_config["ssh"]["banner"] = "other"


def _topology_image(t: Topology) -> None:
    t.images["ssh"] = "reg.example/ssh:9"


def _dmz_flag(t: Topology) -> None:
    t.lans[0].is_dmz = not t.lans[0].is_dmz


@pytest.mark.parametrize(
    "edit",
    [
        _change_subnet,
        _move_ip,
        _attach,
        _rename,
        _config,
        _topology_image,
        _dmz_flag,
        _edit_gw(services=["ssh", "http", "ftp"]),
        _edit_gw(services=["http", "ssh"]),
        _edit_gw(forwards_l3=True),
        _edit_gw(publish=["2222:22"]),
        _edit_gw(publish=["2223:22", "8080:80"]),
        _edit_gw(home_lan="lan-1"),
    ],
)
def test_hash_changes_with_everything_that_reaches_the_host(edit: Edit) -> None:
    t = _topology()
    edit(t)
    assert desired_hash(t, CATALOG) != BASE


def test_site_images_change_the_hash_unless_the_topology_overrides_them() -> None:
    t = _topology()
    t.images = {"http": "reg.example/http:1"}
    plain = desired_hash(t, CATALOG)
    assert desired_hash(t, CATALOG, {"ssh": "site/ssh:1"}) != plain
    assert desired_hash(t, CATALOG, {"http": "site/http:1"}) == plain
    assert desired_hash(t, CATALOG, {}) == desired_hash(t, CATALOG, None) == plain


def test_projection_holds_only_host_facing_data() -> None:
    p = projection(_topology(), CATALOG)
    assert set(p) == {"format", "topology", "lans", "deckies"}
    assert set(p["lans"][0]) == {"name", "subnet", "is_dmz"}
    gw = next(d for d in p["deckies"] if d["name"] == "gw")
    assert set(gw) == {"name", "home_lan", "memberships", "services", "forwards_l3", "publish"}
    assert [s["name"] for s in gw["services"]] == ["ssh", "http"]
    ssh = gw["services"][0]
    assert ssh["image"] == "reg.example/lure:2"
    assert ssh["config"] == {"banner": "b", "hostname": "h"}  # password has no default
    assert gw["services"][1]["config"]["server_header"] == "Apache/2.4.57 (Debian)"
    assert [lan["name"] for lan in p["lans"]] == sorted(lan["name"] for lan in p["lans"])


def test_hashing_an_unknown_service_fails_loudly() -> None:
    t = _topology()
    t.deckies[0].services = ["gopher"]
    with pytest.raises(ValueError, match="gopher"):
        desired_hash(t, CATALOG)


def test_canonical_json_is_sorted_compact_utf8() -> None:
    assert canonical_json({"b": [1, 2.5, None], "a": {"é": True}}) == (
        '{"a":{"é":true},"b":[1,2.5,null]}'.encode()
    )


class _Colour(enum.StrEnum):
    RED = "red"


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ({"x": math.nan}, ValueError),
        ({"x": [math.inf]}, ValueError),
        ({"x": (1, 2)}, TypeError),
        ({"x": {1, 2}}, TypeError),
        ({"x": _Colour.RED}, TypeError),
        ({1: "int key"}, TypeError),
        ({"x": b"bytes"}, TypeError),
        ([object()], TypeError),
    ],
)
def test_canonical_json_rejects_what_json_would_coerce(value: object, error: type) -> None:
    with pytest.raises(error, match="canonical_json at"):
        canonical_json(value)


def test_desired_hash_is_hex_sha256() -> None:
    assert len(BASE) == 64 and int(BASE, 16) >= 0
