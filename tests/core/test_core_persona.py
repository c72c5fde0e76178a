"""Personas: unset banners, versions and host names are picked per decky from the topology's
seed, stored, and never re-picked for a service that already had its values."""

from __future__ import annotations

from collections import Counter

from decnet.core.catalog import load_catalog
from decnet.core.edit import edit
from decnet.core.generate import generate
from decnet.core.ops import parse_ops
from decnet.core.persona import personalize
from decnet.models import Decky, GeneratorParams, HostContext, Lan, Membership, Topology

CATALOG = load_catalog()


def _many(seed: int = 11, count: int = 40) -> Topology:
    lan = Lan(name="dmz", subnet="10.201.0.0/24", is_dmz=True)
    deckies = [
        Decky(
            name=f"d{i}",
            home_lan="dmz",
            memberships=[Membership(lan="dmz", ip=f"10.201.0.{i + 2}")],
            services=["ssh", "http", "https"],
        )
        for i in range(count)
    ]
    return Topology(name="corp", config={"seed": seed}, lans=[lan], deckies=deckies)


def _fingerprint(d: Decky) -> tuple[object, ...]:
    return tuple(sorted((s, tuple(sorted(c.items()))) for s, c in d.service_config.items()))


def test_every_decky_gets_a_persona_and_no_two_look_alike() -> None:
    t = personalize(_many(), CATALOG)
    fingerprints = {_fingerprint(d) for d in t.deckies}
    assert len(fingerprints) == len(t.deckies)
    for d in t.deckies:
        assert d.service_config["ssh"]["hostname"] == d.name  # the shell prompt is its own
        assert str(d.service_config["https"]["cert_cn"]).startswith(f"{d.name}.")
        assert d.service_config["ssh"]["banner"] in CATALOG.services["ssh"].param("banner").variants  # type: ignore[union-attr]
    banners = Counter(d.service_config["ssh"]["banner"] for d in t.deckies)
    assert len(banners) > 3  # spread over the variants, not one banner for all
    domains = {str(d.service_config["https"]["cert_cn"]).split(".", 1)[1] for d in t.deckies}
    assert len(domains) == 1  # one domain per network, as a real one has


def test_same_seed_same_personas_other_seed_others() -> None:
    assert personalize(_many(), CATALOG) == personalize(_many(), CATALOG)
    a, b = personalize(_many(1), CATALOG), personalize(_many(2), CATALOG)
    assert [_fingerprint(d) for d in a.deckies] != [_fingerprint(d) for d in b.deckies]


def test_set_values_are_kept_and_secrets_never_invented() -> None:
    t = _many(count=1)
    t.deckies[0].service_config = {"ssh": {"banner": "SSH-2.0-mine", "password": "x"}}
    d = personalize(t, CATALOG).deckies[0]
    assert d.service_config["ssh"]["banner"] == "SSH-2.0-mine"
    assert d.service_config["ssh"]["password"] == "x"
    assert "password" not in personalize(_many(count=1), CATALOG).deckies[0].service_config["ssh"]


def test_the_generator_gives_personas() -> None:
    t = generate(GeneratorParams(name="g", depth=2, deckies_min=2, deckies_max=3, seed=4), CATALOG)
    assert all(d.service_config for d in t.deckies if d.services)


def test_a_live_edit_personalises_only_what_it_adds() -> None:
    before = personalize(_many(count=2), CATALOG)
    bare = before.model_copy(deep=True)
    bare.deckies[0].service_config = {}  # an older decky without personas stays as it was
    ops = parse_ops(
        [
            {"op": "update_decky", "name": "d0", "services": ["ssh", "http", "https", "ftp"]},
            {"op": "add_decky", "name": "new", "lan": "dmz", "services": ["ssh"]},
        ]
    )
    result = edit(bare, ops, CATALOG, HostContext(), live=True)
    assert result.topology is not None
    d0 = result.topology.decky("d0")
    new = result.topology.decky("new")
    assert d0 is not None and new is not None
    assert set(d0.service_config) == {"ftp"}  # only the added service got its persona
    assert new.service_config["ssh"]["hostname"] == "new"
    assert result.topology.decky("d1") == before.decky("d1")
