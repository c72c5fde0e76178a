"""The validator: one small hand-built fixture per issue code, proving it fires alone."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

import pytest

from decnet.core.catalog import load_catalog
from decnet.core.validate import ensure_valid, parse_publish, validate
from decnet.errors import ISSUE_CODES, OP_CODES, InvalidTopology
from decnet.models import (
    PUBLISH_RE,
    Catalog,
    ConfigParam,
    Decky,
    HostContext,
    Issue,
    Lan,
    Membership,
    Port,
    ServiceSpec,
    Severity,
    Topology,
)


def _catalog() -> Catalog:
    """The real catalogue plus a service with an int parameter (the real one has none)."""
    catalog = load_catalog().model_copy(deep=True)
    catalog.services["echo"] = ServiceSpec(
        name="echo",
        ports=[Port(port=7)],
        image="decnet-lure:0.1",
        params=[ConfigParam(key="delay", type="int", default=0, env="DECNET_ECHO_DELAY")],
    )
    return catalog


CATALOG = _catalog()


def _base() -> Topology:
    """Valid: a DMZ with a publishing gateway, one inner LAN behind a bridge, one plain decky."""
    return Topology(
        name="t",
        lans=[
            Lan(name="dmz", subnet="10.0.0.0/24", is_dmz=True),
            Lan(name="lan-1", subnet="10.0.1.0/24"),
        ],
        deckies=[
            Decky(
                name="gw",
                home_lan="dmz",
                memberships=[Membership(lan="dmz", ip="10.0.0.2")],
                services=["ssh"],
                publish=["2222:22"],
            ),
            Decky(
                name="br",
                home_lan="lan-1",
                memberships=[
                    Membership(lan="lan-1", ip="10.0.1.2"),
                    Membership(lan="dmz", ip="10.0.0.3"),
                ],
                services=["http"],
                forwards_l3=True,
            ),
            Decky(
                name="web",
                home_lan="lan-1",
                memberships=[Membership(lan="lan-1", ip="10.0.1.3")],
                services=["ssh", "http", "echo"],
                service_config={"ssh": {"banner": "SSH-2.0-x"}, "echo": {"delay": 3}},
                archetype="linux-server",
            ),
        ],
    )


Edit = Callable[[Topology], None]


def _web(t: Topology) -> Decky:
    decky = t.decky("web")
    assert decky is not None
    return decky


def _set_web_ip(ip: str | None) -> Edit:
    def edit(t: Topology) -> None:
        _web(t).memberships[0].ip = ip

    return edit


def _set(path: str, value: object) -> Edit:
    """`lans.1.subnet` / `deckies.2.services` style setter for one-line fixtures."""

    def edit(t: Topology) -> None:
        *parents, last = path.split(".")
        target: object = t
        for part in parents:
            target = target[int(part)] if part.isdigit() else getattr(target, part)  # type: ignore[index]
        setattr(target, last, value)

    return edit


def _add_decky(**fields: object) -> Edit:
    def edit(t: Topology) -> None:
        t.deckies.append(Decky.model_validate(fields))

    return edit


def _no_publish_dmz_missing(t: Topology) -> None:
    t.lans[0].is_dmz = False
    t.deckies[0].publish = []


def _isolated_lan(t: Topology) -> None:
    t.lans.append(Lan(name="lan-9", subnet="10.0.9.0/24"))
    t.deckies.append(
        Decky(name="iso", home_lan="lan-9", memberships=[Membership(lan="lan-9", ip="10.0.9.2")])
    )


def _move_lan_1(subnet: str, *, allow_public: bool = False) -> Edit:
    """Give lan-1 another subnet, its members the first host addresses in it (.2, .3)."""

    def edit(t: Topology) -> None:
        network = ipaddress.IPv4Network(subnet)
        t.lans[1].subnet, t.lans[1].allow_public = subnet, allow_public
        members = [m for d in t.deckies for m in d.memberships if m.lan == "lan-1"]
        for offset, m in enumerate(members, start=2):
            m.ip = str(network.network_address + offset)

    return edit


def _rename_lan(old: str, new: str) -> Edit:
    def edit(t: Topology) -> None:
        for lan in t.lans:
            lan.name = new if lan.name == old else lan.name
        for decky in t.deckies:
            decky.home_lan = new if decky.home_lan == old else decky.home_lan
            for m in decky.memberships:
                m.lan = new if m.lan == old else m.lan

    return edit


CASES: list[tuple[str, str, Edit, HostContext]] = [
    ("DMZ_MISSING", "lans", _no_publish_dmz_missing, HostContext()),
    ("DMZ_MULTIPLE", "lans[lan-1].is_dmz", _set("lans.1.is_dmz", True), HostContext()),
    ("LAN_UNREACHABLE", "lans[lan-9]", _isolated_lan, HostContext()),
    (
        "DECKY_NO_LAN",
        "deckies[web].home_lan",
        _set("deckies.2.memberships", [Membership(lan="dmz", ip="10.0.0.9")]),
        HostContext(),
    ),
    ("DECKY_NO_LAN", "deckies[br].home_lan", _set("deckies.1.home_lan", "lan-7"), HostContext()),
    ("NAME_INVALID", "deckies[Web_1].name", _set("deckies.2.name", "Web_1"), HostContext()),
    ("NAME_INVALID", "lans[-x].name", _rename_lan("lan-1", "-x"), HostContext()),
    ("NAME_INVALID", "name", _set("name", "t\n"), HostContext()),
    (
        "NAME_DUPLICATE",
        "deckies[web].name",
        _add_decky(name="web", home_lan="lan-1", memberships=[{"lan": "lan-1", "ip": "10.0.1.4"}]),
        HostContext(),
    ),
    (
        "MEMBERSHIP_UNKNOWN_LAN",
        "deckies[web].memberships[lan-5]",
        lambda t: _web(t).memberships.append(Membership(lan="lan-5", ip="10.0.5.2")),
        HostContext(),
    ),
    (
        "MEMBERSHIP_DUPLICATE",
        "deckies[web].memberships[lan-1]",
        lambda t: _web(t).memberships.append(Membership(lan="lan-1", ip="10.0.1.9")),
        HostContext(),
    ),
    ("IP_INVALID", "deckies[web].memberships[lan-1].ip", _set_web_ip("10.0.1.300"), HostContext()),
    ("IP_INVALID", "deckies[web].memberships[lan-1].ip", _set_web_ip("10.0.1.03"), HostContext()),
    (
        "IP_OUT_OF_SUBNET",
        "deckies[web].memberships[lan-1].ip",
        _set_web_ip("10.0.2.5"),
        HostContext(),
    ),
    ("IP_DUPLICATE", "deckies[web].memberships[lan-1].ip", _set_web_ip("10.0.1.2"), HostContext()),
    ("IP_RESERVED", "deckies[web].memberships[lan-1].ip", _set_web_ip("10.0.1.0"), HostContext()),
    ("IP_RESERVED", "deckies[web].memberships[lan-1].ip", _set_web_ip("10.0.1.1"), HostContext()),
    ("IP_RESERVED", "deckies[web].memberships[lan-1].ip", _set_web_ip("10.0.1.255"), HostContext()),
    ("IP_MISSING", "deckies[web].memberships[lan-1].ip", _set_web_ip(None), HostContext()),
    ("SUBNET_INVALID", "lans[lan-1].subnet", _set("lans.1.subnet", "10.0.1.0/30"), HostContext()),
    ("SUBNET_INVALID", "lans[lan-1].subnet", _set("lans.1.subnet", "10.0.0.0/8"), HostContext()),
    ("SUBNET_INVALID", "lans[lan-1].subnet", _set("lans.1.subnet", "10.0.1.7/24"), HostContext()),
    ("SUBNET_INVALID", "lans[lan-1].subnet", _set("lans.1.subnet", "fd00::/64"), HostContext()),
    ("SUBNET_INVALID", "lans[lan-1].subnet", _set("lans.1.subnet", None), HostContext()),
    ("SUBNET_OVERLAP", "lans[lan-1].subnet", _set("lans.1.subnet", "10.0.0.0/16"), HostContext()),
    (
        "SUBNET_OVERLAP",
        "lans[lan-1].subnet",
        lambda t: None,
        HostContext(claimed_subnets={"9.0.0.0/8": "a", "10.0.1.0/25": "b", "10.0.9.0/24": "c"}),
    ),
    ("SUBNET_NOT_PRIVATE", "lans[lan-1].subnet", _move_lan_1("8.8.8.0/24"), HostContext()),
    (
        "SERVICE_UNKNOWN",
        "deckies[web].services[3]",
        _set("deckies.2.services", ["ssh", "http", "echo", "gopher"]),
        HostContext(),
    ),
    ("SERVICE_UNKNOWN", "images[gopher]", _set("images", {"gopher": "x:1"}), HostContext()),
    (
        "SERVICE_DUPLICATE",
        "deckies[web].services[3]",
        _set("deckies.2.services", ["ssh", "http", "echo", "ssh"]),
        HostContext(),
    ),
    (
        "SERVICE_CONFIG_UNDECLARED",
        "deckies[web].service_config.ftp",
        lambda t: _web(t).service_config.update({"ftp": {"banner": "x"}}),
        HostContext(),
    ),
    (
        "SERVICE_CONFIG_UNDECLARED",
        "deckies[web].service_config.ssh.port",
        lambda t: _web(t).service_config.update({"ssh": {"port": 22}}),
        HostContext(),
    ),
    (
        "SERVICE_CONFIG_INVALID",
        "deckies[web].service_config.ssh.banner",
        lambda t: _web(t).service_config.update({"ssh": {"banner": 7}}),
        HostContext(),
    ),
    (
        "SERVICE_CONFIG_CHARACTER",
        "deckies[web].service_config.ssh.banner",
        lambda t: _web(t).service_config.update({"ssh": {"banner": "SSH-2.0\x00"}}),
        HostContext(),
    ),
    (
        "SERVICE_CONFIG_CHARACTER",
        "deckies[web].service_config.ssh.password",
        lambda t: _web(t).service_config.update({"ssh": {"password": "pw\ud800"}}),
        HostContext(),
    ),
    (
        "SERVICE_CONFIG_INVALID",
        "deckies[web].service_config.echo.delay",
        lambda t: _web(t).service_config.update({"echo": {"delay": True}}),
        HostContext(),
    ),
    (
        "PORT_COLLISION",
        "deckies[gw2].publish[0]",
        _add_decky(
            name="gw2",
            home_lan="dmz",
            memberships=[{"lan": "dmz", "ip": "10.0.0.4"}],
            services=["ssh"],
            publish=["2222:22"],
        ),
        HostContext(),
    ),
    (
        "PORT_COLLISION",
        "deckies[gw].publish[0]",
        lambda t: None,
        HostContext(claimed_ports={"2222/tcp": "other"}),
    ),
    ("PUBLISH_INVALID", "deckies[gw].publish[0]", _set("deckies.0.publish", ["22"]), HostContext()),
    (
        "PUBLISH_INVALID",
        "deckies[gw].publish[0]",
        _set("deckies.0.publish", ["70000:22"]),
        HostContext(),
    ),
    (
        "PUBLISH_INVALID",
        "deckies[gw].publish[0]",
        _set("deckies.0.publish", ["2222:22/sctp"]),
        HostContext(),
    ),
    (
        "PUBLISH_INVALID",
        "deckies[gw].publish[0]",
        _set("deckies.0.publish", ["2222:22\n"]),
        HostContext(),
    ),
    (
        "PUBLISH_NOT_DMZ",
        "deckies[web].publish",
        _set("deckies.2.publish", ["8022:22"]),
        HostContext(),
    ),
    ("HOST_UNKNOWN", "host", lambda t: None, HostContext(inventory_hosts=frozenset({"edge-1"}))),
    ("IMAGE_INVALID", "images[ssh]", _set("images", {"ssh": "bad image!"}), HostContext()),
    ("IMAGE_INVALID", "images[*]", _set("images", {"*": ""}), HostContext()),
    (
        "ARCHETYPE_UNKNOWN",
        "deckies[web].archetype",
        _set("deckies.2.archetype", "mainframe"),
        HostContext(),
    ),
]


def test_the_base_fixture_is_valid() -> None:
    assert validate(_base(), CATALOG) == []


@pytest.mark.parametrize(
    ("code", "path", "edit", "ctx"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)]
)
def test_each_code_fires_alone(code: str, path: str, edit: Edit, ctx: HostContext) -> None:
    topology = _base()
    edit(topology)
    issues = validate(topology, CATALOG, ctx)
    assert [(i.code, i.path) for i in issues] == [(code, path)], issues
    assert issues[0].severity is Severity.ERROR
    assert issues[0].message and ";" in issues[0].message  # cause; fix


def test_every_issue_code_has_a_fixture() -> None:
    assert {c[0] for c in CASES} == set(ISSUE_CODES) - OP_CODES


def test_publishing_a_port_no_service_listens_on_is_a_warning() -> None:
    topology = _base()
    topology.deckies[0].publish = ["8080:80"]
    issues = validate(topology, CATALOG)
    assert [(i.code, i.severity) for i in issues] == [("PUBLISH_INVALID", Severity.WARNING)]
    assert ensure_valid(topology, CATALOG) == issues


def test_all_problems_are_reported_at_once() -> None:
    topology = _base()
    topology.name = "Bad"
    _web(topology).memberships[0].ip = "10.0.1.1"
    _web(topology).services.append("gopher")
    topology.lans.append(Lan(name="lan-2", subnet="10.0.1.0/24"))
    codes = [i.code for i in validate(topology, CATALOG, HostContext(inventory_hosts=frozenset()))]
    assert codes == [
        "NAME_INVALID",
        "LAN_UNREACHABLE",
        "SUBNET_OVERLAP",
        "IP_RESERVED",
        "SERVICE_UNKNOWN",
        "HOST_UNKNOWN",
    ]


def test_ensure_valid_raises_with_every_issue() -> None:
    topology = _base()
    topology.lans[1].subnet = "nonsense"
    _web(topology).archetype = "mainframe"
    with pytest.raises(InvalidTopology) as err:
        ensure_valid(topology, CATALOG)
    assert [i.code for i in err.value.issues] == ["SUBNET_INVALID", "ARCHETYPE_UNKNOWN"]
    assert "SUBNET_INVALID at lans[lan-1].subnet" in str(err.value)


def test_a_claimed_supernet_overlaps_every_lan_inside_it() -> None:
    ctx = HostContext(claimed_subnets={"10.0.0.0/8": "big", "10.0.5.0/24": "small"})
    issues = validate(_base(), CATALOG, ctx)
    assert [(i.code, i.path) for i in issues] == [
        ("SUBNET_OVERLAP", "lans[dmz].subnet"),
        ("SUBNET_OVERLAP", "lans[lan-1].subnet"),
    ]
    assert all("'big'" in i.message for i in issues)


def test_host_overlap_names_the_other_topology() -> None:
    ctx = HostContext(claimed_subnets={"10.0.1.128/25": "maze-2"})
    [issue] = validate(_base(), CATALOG, ctx)
    assert "10.0.1.128/25" in issue.message and "'maze-2'" in issue.message


def test_secret_values_never_appear_in_messages() -> None:
    topology = _base()
    _web(topology).service_config["ssh"] = {"password": 123456}
    [issue] = validate(topology, CATALOG)
    assert issue.code == "SERVICE_CONFIG_INVALID"
    assert "123456" not in issue.message


def test_known_hosts_pass_and_no_inventory_means_no_check() -> None:
    assert validate(_base(), CATALOG, HostContext(inventory_hosts=frozenset({"localhost"}))) == []
    assert validate(_base(), CATALOG, HostContext(inventory_hosts=None)) == []


def test_issues_are_plain_data() -> None:
    topology = _base()
    topology.lans[1].subnet = None
    [issue] = validate(topology, CATALOG)
    assert Issue.model_validate(issue.model_dump()) == issue


def test_decky_and_service_names_joined_by_dash_no_longer_clash() -> None:
    """`.` joins decky and service in Docker names, and no name can contain it, so decky
    `web-ssh` and service `ssh` of decky `web` (once both `decnet-t-web-ssh`) are distinct."""
    catalog = CATALOG.model_copy(deep=True)
    catalog.services["b-ssh"] = catalog.services["ssh"].model_copy(update={"name": "b-ssh"})
    topology = _base()
    topology.deckies += [
        Decky(
            name=name,
            home_lan="dmz",
            memberships=[Membership(lan="dmz", ip=ip)],
            services=services,
        )
        for name, ip, services in (
            ("web-ssh", "10.0.0.6", []),
            ("a", "10.0.0.7", ["b-ssh"]),
            ("a-b", "10.0.0.8", ["ssh"]),
        )
    ]
    assert validate(topology, catalog) == []


# --- ASCII digits only (issue 7 item 16) ----------------------------------------------------

UNICODE_DIGITS = [
    "\u0662\u0662\u0662\u0663:\u0662\u0662",  # Arabic-Indic 2223:22
    "\uff12\uff12\uff12\uff12:\uff12\uff12",  # fullwidth
    "\u00b2\u00b2\u00b2\u00b2:\u00b2\u00b2",  # superscripts: str.isdigit() says yes
    "2222:\u0662\u0662",
    "\u09e8\u09e8\u09e8\u09e8:22/udp",  # Bengali
]


@pytest.mark.parametrize("entry", UNICODE_DIGITS)
def test_publish_takes_ascii_digits_only(entry: str) -> None:
    assert parse_publish(entry) is None
    assert PUBLISH_RE.fullmatch(entry) is None
    topology = _base()
    topology.deckies[0].publish = [entry]
    issues = validate(topology, CATALOG)
    assert [(i.code, i.severity) for i in issues] == [("PUBLISH_INVALID", Severity.ERROR)]


def test_a_unicode_digit_port_cannot_dodge_the_host_port_check() -> None:
    """Stored before this fix, `\u0662\u0662\u0662\u0662:22` claimed nothing on the host."""
    topology = _base()
    topology.deckies[0].publish = ["\u0662\u0662\u0662\u0662:22"]
    ctx = HostContext(claimed_ports={"2222/tcp": "other"})
    codes = {i.code for i in validate(topology, CATALOG, ctx)}
    assert "PUBLISH_INVALID" in codes


@pytest.mark.parametrize(
    "text", ["10.0.\u0661.0/24", "10.0.1.0/\u0662\u0664", "10.0.1.0/\u00b2\u2074"]
)
def test_subnets_take_ascii_digits_only(text: str) -> None:
    topology = _base()
    topology.lans[1].subnet = text
    assert "SUBNET_INVALID" in {i.code for i in validate(topology, CATALOG)}


@pytest.mark.parametrize("ip", ["10.0.1.\u0663", "10.0.1.\u00b3", "\uff11\uff10.0.1.3"])
def test_ips_take_ascii_digits_only(ip: str) -> None:
    topology = _base()
    _web(topology).memberships[0].ip = ip
    assert [i.code for i in validate(topology, CATALOG)] == ["IP_INVALID"]


# --- private subnets only (issue 7 item 17) -------------------------------------------------

SPECIAL = ["127.0.0.0/24", "224.0.0.0/24", "0.0.0.0/24", "169.254.0.0/24", "172.17.0.0/16",
           "240.0.0.0/24", "255.255.255.0/29", "172.17.5.0/24"]  # fmt: skip


@pytest.mark.parametrize("subnet", SPECIAL)
@pytest.mark.parametrize("allow_public", [False, True])
def test_special_ranges_are_refused_even_with_allow_public(subnet: str, allow_public: bool) -> None:
    topology = _base()
    _move_lan_1(subnet, allow_public=allow_public)(topology)
    [issue] = validate(topology, CATALOG)
    assert (issue.code, issue.path) == ("SUBNET_NOT_PRIVATE", "lans[lan-1].subnet")
    assert subnet in issue.message and "not even with allow_public" in issue.message


@pytest.mark.parametrize("subnet", ["8.8.8.0/24", "100.64.0.0/24", "192.0.2.0/24", "172.32.0.0/16"])
def test_public_ranges_need_allow_public(subnet: str) -> None:
    topology = _base()
    _move_lan_1(subnet)(topology)
    [issue] = validate(topology, CATALOG)
    assert issue.code == "SUBNET_NOT_PRIVATE" and "allow_public: true" in issue.message
    _move_lan_1(subnet, allow_public=True)(topology)
    assert validate(topology, CATALOG) == []


RFC1918 = ["10.255.0.0/24", "172.16.0.0/16", "172.31.255.0/24", "172.18.0.0/16", "192.168.7.0/24"]


@pytest.mark.parametrize("subnet", RFC1918)
def test_rfc1918_ranges_are_fine(subnet: str) -> None:
    topology = _base()
    _move_lan_1(subnet)(topology)
    assert validate(topology, CATALOG) == []
