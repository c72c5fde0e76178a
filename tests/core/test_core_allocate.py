"""The allocator: next free /24s and host IPs, pinned values kept, clear exhaustion errors."""

from __future__ import annotations

import pytest

from decnet.core.allocate import DEFAULT_POOL, allocate, int_to_ip, ip_to_int, parse_subnet
from decnet.errors import AllocationError, UsageError
from decnet.models import Decky, Lan, Membership, Topology


def _topology(lans: list[Lan], deckies: list[Decky] | None = None) -> Topology:
    return Topology(name="t", lans=lans, deckies=deckies or [])


def _decky(name: str, *memberships: tuple[str, str | None]) -> Decky:
    return Decky(
        name=name,
        home_lan=memberships[0][0],
        memberships=[Membership(lan=lan, ip=ip) for lan, ip in memberships],
    )


def _ips(t: Topology) -> list[list[str | None]]:
    return [[m.ip for m in d.memberships] for d in t.deckies]


def test_subnets_are_consecutive_24s_from_the_pool_start() -> None:
    t = allocate(_topology([Lan(name="dmz", is_dmz=True), Lan(name="a"), Lan(name="b")]))
    assert [lan.subnet for lan in t.lans] == ["10.192.0.0/24", "10.192.1.0/24", "10.192.2.0/24"]
    assert DEFAULT_POOL == "10.192.0.0/12"


def test_pinned_subnets_are_kept_and_skipped() -> None:
    lans = [Lan(name="a"), Lan(name="b", subnet="10.192.0.0/24"), Lan(name="c")]
    t = allocate(_topology(lans))
    assert [lan.subnet for lan in t.lans] == ["10.192.1.0/24", "10.192.0.0/24", "10.192.2.0/24"]


def test_a_pinned_larger_subnet_blocks_every_24_it_covers() -> None:
    lans = [Lan(name="a", subnet="10.192.0.0/22"), Lan(name="b")]
    assert allocate(_topology(lans)).lans[1].subnet == "10.192.4.0/24"


def test_reserved_subnets_are_skipped_including_larger_and_misaligned_ones() -> None:
    reserved = ["10.192.0.0/23", "10.192.2.128/25", "192.168.0.0/16"]
    t = allocate(_topology([Lan(name="a"), Lan(name="b")]), reserved_subnets=reserved)
    assert [lan.subnet for lan in t.lans] == ["10.192.3.0/24", "10.192.4.0/24"]


def test_a_reserved_range_covering_the_whole_pool_exhausts_it() -> None:
    with pytest.raises(AllocationError, match=r"10\.192\.0\.0/16"):
        allocate(_topology([Lan(name="a")]), pool="10.192.0.0/16", reserved_subnets=["10.0.0.0/8"])


def test_pool_exhaustion_names_the_pool_and_gives_a_hint() -> None:
    lans = [Lan(name=f"l{i}") for i in range(3)]
    with pytest.raises(AllocationError, match=r"pool 10\.50\.0\.0/23 .* LAN 'l2'") as err:
        allocate(_topology(lans), pool="10.50.0.0/23")
    assert err.value.hint


def test_an_invalid_pool_is_a_usage_error() -> None:
    for pool in ("nonsense", "10.192.0.0/25", "10.192.0.1/12"):
        with pytest.raises(UsageError, match="pool"):
            allocate(_topology([Lan(name="a")]), pool=pool)


def test_host_ips_start_at_2_and_skip_pinned_ones() -> None:
    deckies = [
        _decky("a", ("x", None)),
        _decky("b", ("x", "10.192.0.2")),
        _decky("c", ("x", None)),
        _decky("d", ("x", "10.192.0.4"), ("y", None)),
        _decky("e", ("x", None), ("y", None)),
    ]
    t = allocate(_topology([Lan(name="x"), Lan(name="y")], deckies))
    assert _ips(t) == [
        ["10.192.0.3"],
        ["10.192.0.2"],
        ["10.192.0.5"],
        ["10.192.0.4", "10.192.1.2"],
        ["10.192.0.6", "10.192.1.3"],
    ]


def test_lan_exhaustion_names_the_lan() -> None:
    deckies = [_decky(f"d{i}", ("x", None)) for i in range(6)]  # a /29 holds .2 .. .6
    with pytest.raises(AllocationError, match=r"LAN 'x' \(10\.0\.0\.0/29\)"):
        allocate(_topology([Lan(name="x", subnet="10.0.0.0/29")], deckies))
    assert allocate(_topology([Lan(name="x", subnet="10.0.0.0/29")], deckies[:5]))


def test_larger_pinned_subnets_get_hosts_from_network_plus_2() -> None:
    t = allocate(_topology([Lan(name="x", subnet="10.7.0.0/16")], [_decky("a", ("x", None))]))
    assert _ips(t) == [["10.7.0.2"]]


def test_unknown_lans_and_invalid_subnets_are_left_for_the_validator() -> None:
    deckies = [_decky("a", ("ghost", None)), _decky("b", ("bad", None))]
    t = allocate(_topology([Lan(name="bad", subnet="10.0.0.0/33")], deckies))
    assert _ips(t) == [[None], [None]]
    assert t.lans[0].subnet == "10.0.0.0/33"


def test_the_input_is_not_modified_and_the_copy_is_independent() -> None:
    original = _topology([Lan(name="x")], [_decky("a", ("x", None))])
    original.deckies[0].services = ["ssh"]
    before = original.model_dump()
    copy = allocate(original)
    assert original.model_dump() == before
    copy.deckies[0].services.append("http")
    copy.deckies[0].memberships[0].ip = "10.1.1.1"
    assert original.model_dump() == before


def test_allocation_is_deterministic() -> None:
    t = _topology([Lan(name=f"l{i}") for i in range(5)], [_decky("a", ("l3", None))])
    assert allocate(t).model_dump() == allocate(t).model_dump()


@pytest.mark.parametrize(
    ("text", "value"),
    [("0.0.0.0", 0), ("10.192.0.2", 0x0AC00002), ("255.255.255.255", 2**32 - 1)],
)
def test_ip_round_trip(text: str, value: int) -> None:
    assert ip_to_int(text) == value
    assert int_to_ip(value) == text


@pytest.mark.parametrize(
    "text",
    ["", "1.2.3", "1.2.3.4.5", "01.2.3.4", "1.2.3.256", "a.b.c.d", "1.2.3.-4", "\u0661.2.3.4"],
)
def test_non_canonical_ips_are_rejected(text: str) -> None:
    assert ip_to_int(text) is None


def test_parse_subnet_requires_canonical_cidr() -> None:
    assert parse_subnet("10.0.0.0/24") == (0x0A000000, 0x0A000100)
    for bad in ("10.0.0.1/24", "10.0.0.0/255.255.255.0", "10.0.0.0", "::/64", "x"):
        assert parse_subnet(bad) is None
