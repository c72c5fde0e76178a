"""The desired hash: blind to bookkeeping and ordering, sensitive to everything on the host."""

from __future__ import annotations

import enum
import hashlib
import hmac
import json
import math
import secrets
from collections.abc import Callable
from pathlib import Path

import pytest

from decnet.core.catalog import load_catalog
from decnet.core.generate import generate
from decnet.core.hashing import SEALED_PREFIX, canonical_json, desired_hash, projection
from decnet.models import GeneratorParams, Membership, Status, Topology
from decnet.store import Store

CATALOG = load_catalog()
KEY = bytes(range(32))


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


BASE = desired_hash(_topology(), CATALOG, secret_key=KEY)

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
    assert desired_hash(t, CATALOG, secret_key=KEY) == BASE


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
    assert desired_hash(t, CATALOG, secret_key=KEY) != BASE


def test_site_images_change_the_hash_unless_the_topology_overrides_them() -> None:
    t = _topology()
    t.images = {"http": "reg.example/http:1"}
    plain = desired_hash(t, CATALOG, secret_key=KEY)
    assert desired_hash(t, CATALOG, {"ssh": "site/ssh:1"}, secret_key=KEY) != plain
    assert desired_hash(t, CATALOG, {"http": "site/http:1"}, secret_key=KEY) == plain
    assert desired_hash(t, CATALOG, {}, secret_key=KEY) == plain
    assert desired_hash(t, CATALOG, None, secret_key=KEY) == plain


def test_projection_holds_only_host_facing_data() -> None:
    p = projection(_topology(), CATALOG, secret_key=KEY)
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
        desired_hash(t, CATALOG, secret_key=KEY)


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


# --- secrets enter only as an HMAC under the database's key (issue 7 item 3) -----------------

PASSWORD = "Winter2024!"
GUESSES = ["123456", "password", "hunter2", "letmein", "admin", "root", "toor", "changeme",
           "Summer2024!", PASSWORD, "qwerty", "dragon"]  # fmt: skip
"""A short guess list that contains the real password, as an attacker's would."""


def _with_password(password: str) -> Topology:
    t = _topology()
    gw = t.decky("gw")
    assert gw is not None
    gw.service_config["ssh"]["password"] = password
    return t


def _without_secrets() -> Topology:
    """`_topology()` minus snmp, whose `community` is a secret with a default (`public`)."""
    t = _topology()
    for d in t.deckies:
        d.services = [s for s in d.services if s != "snmp"]
    defaults = [p for d in t.deckies for s in d.services for p in CATALOG.services[s].params]
    assert not [p for p in defaults if p.secret and p.default is not None]
    return t


def _unkeyed_hash(t: Topology, shape: dict[str, object]) -> str:
    """The hash as an unsalted SHA-256 over the plain secret would be (format 1's weakness):
    the sealed value in `shape` replaced by the plain guess."""
    text = canonical_json(shape).decode()
    sealed = _sealed_values(shape)
    for value in sealed:
        text = text.replace(json.dumps(value), json.dumps(_plain_password(t)))
    return hashlib.sha256(text.encode()).hexdigest()


def _plain_password(t: Topology) -> str:
    gw = t.decky("gw")
    assert gw is not None
    return str(gw.service_config["ssh"]["password"])


def _sealed_values(obj: object) -> list[str]:
    if isinstance(obj, dict):
        return [v for value in obj.values() for v in _sealed_values(value)]
    if isinstance(obj, list):
        return [v for value in obj for v in _sealed_values(value)]
    return [obj] if isinstance(obj, str) and obj.startswith(SEALED_PREFIX) else []


def _guess(shown: str, key: bytes) -> str | None:
    """The attack: hash the topology with each guess under `key`; a match gives it away."""
    for guess in GUESSES:
        if desired_hash(_with_password(guess), CATALOG, secret_key=key) == shown:
            return guess
    return None


def test_a_guess_list_recovers_nothing_without_the_key() -> None:
    key = secrets.token_bytes(32)
    shown = desired_hash(_with_password(PASSWORD), CATALOG, secret_key=key)
    # The attack itself works: with the key, the guess list finds the password ...
    assert _guess(shown, key) == PASSWORD
    # ... without it, not under any other key, nor as an unkeyed digest of the plain value.
    for other in (bytes(32), b"\xff" * 32, secrets.token_bytes(32), KEY):
        assert _guess(shown, other) is None
    for guess in GUESSES:
        t = _with_password(guess)
        assert _unkeyed_hash(t, projection(t, CATALOG, secret_key=key)) != shown


def test_the_projection_holds_no_secret_value() -> None:
    data = canonical_json(projection(_with_password(PASSWORD), CATALOG, secret_key=KEY))
    assert PASSWORD.encode() not in data
    assert hashlib.sha256(PASSWORD.encode()).hexdigest().encode() not in data
    gw = next(d for d in json.loads(data)["deckies"] if d["name"] == "gw")
    sealed = gw["services"][0]["config"]["password"]
    assert sealed == SEALED_PREFIX + hmac.new(KEY, b'"' + PASSWORD.encode() + b'"',
                                              hashlib.sha256).hexdigest()  # fmt: skip


def test_different_databases_give_different_hashes_for_the_same_secret(tmp_path: Path) -> None:
    with Store(tmp_path / "a.db") as a, Store(tmp_path / "b.db") as b:
        key_a, key_b = a.hash_key(), b.hash_key()
    assert key_a != key_b and len(key_a) == 32
    with_secret, without = _with_password(PASSWORD), _without_secrets()
    assert desired_hash(with_secret, CATALOG, secret_key=key_a) != desired_hash(
        with_secret, CATALOG, secret_key=key_b
    )
    # The key seals secrets only: a topology without secrets hashes alike in every database.
    assert desired_hash(without, CATALOG, secret_key=key_a) == desired_hash(
        without, CATALOG, secret_key=key_b
    )


def test_changing_a_secret_changes_the_hash_and_equal_secrets_hash_equal() -> None:
    first = desired_hash(_with_password(PASSWORD), CATALOG, secret_key=KEY)
    assert desired_hash(_with_password(PASSWORD), CATALOG, secret_key=KEY) == first
    assert desired_hash(_with_password(PASSWORD + "x"), CATALOG, secret_key=KEY) != first
    assert first != BASE  # adding a secret at all changes it too


def test_a_secret_default_from_the_catalogue_is_sealed_too() -> None:
    catalog = CATALOG.model_copy(deep=True)
    ssh = catalog.services["ssh"]
    password = ssh.param("password")
    assert password is not None
    password.default = PASSWORD
    data = canonical_json(projection(_topology(), catalog, secret_key=KEY))
    assert PASSWORD.encode() not in data and SEALED_PREFIX.encode() in data


def test_non_secret_values_stay_plain_in_the_projection() -> None:
    p = projection(_with_password(PASSWORD), CATALOG, secret_key=KEY)
    gw = next(d for d in p["deckies"] if d["name"] == "gw")
    ssh = gw["services"][0]["config"]
    assert (ssh["banner"], ssh["hostname"]) == ("b", "h")
    assert gw["services"][1]["config"]["title"] == "T"
    assert projection(_without_secrets(), CATALOG, secret_key=KEY) == projection(
        _without_secrets(), CATALOG, secret_key=secrets.token_bytes(32)
    )


@pytest.mark.parametrize(
    ("key", "error"), [(b"", ValueError), (b"short", ValueError), ("a" * 32, TypeError)]
)
def test_the_key_is_required_and_must_be_real(key: object, error: type[Exception]) -> None:
    with pytest.raises(error, match="secret_key"):
        desired_hash(_topology(), CATALOG, secret_key=key)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        desired_hash(_topology(), CATALOG)  # type: ignore[call-arg]
