"""Every kind of name is matched whole (`fullmatch`): `re.match` with a `$`-anchored pattern also
accepts the name followed by a newline, which would then reach a shell, a path, a YAML file or
a terminal. For each kind, where it enters decnet, `NAME\\n` is refused and `NAME` is not."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from decnet.api.schemas import GenerateSpec
from decnet.cli.events import line
from decnet.core.catalog import load_catalog
from decnet.core.edit import edit
from decnet.core.ops import parse_ops
from decnet.core.topofile import parse_topology_file
from decnet.core.validate import validate
from decnet.engine.tokens import Role, create_token
from decnet.engine.topologies import check_host, check_name
from decnet.errors import DecnetError, InvalidRequest, TopologyFileError, UsageError
from decnet.models import (
    ConfigParam,
    Decky,
    HostContext,
    Lan,
    Membership,
    ServiceSpec,
    Topology,
)
from decnet.runner.inventory import load_inventory
from decnet.settings import parse_image_overrides
from decnet.store import Store
from decnet.store.rows import EventRow

CATALOG = load_catalog()
NL = "\n"


def topology(name: str = "corp", lan: str = "dmz", decky: str = "gw", **extra: Any) -> Topology:
    return Topology(
        name=name,
        lans=[Lan(name=lan, subnet="10.200.0.0/24", is_dmz=True)],
        deckies=[
            Decky(
                name=decky,
                home_lan=lan,
                memberships=[Membership(lan=lan, ip="10.200.0.2")],
                services=["ssh"],
                **extra,
            )
        ],
    )


def codes(t: Topology) -> set[tuple[str, str]]:
    return {(i.code, i.path) for i in validate(t, CATALOG, HostContext())}


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "decnet.db")


class Refused(Exception):
    """A check's way to say the value was refused as data (an issue, a pydantic error)."""


Check = Callable[[str], object]
"""Returns for a value decnet takes; raises `Refused` or a DecnetError for one it refuses. A
kind of name with several ways in lists a check for each."""


def _refused_by_validation(
    code: str, path: Callable[[str], str], make: Callable[[str], Topology]
) -> Check:
    def check(value: str) -> object:
        found = codes(make(value))
        if (code, path(value)) in found:
            raise Refused(f"{code} at {path(value)}")
        return found

    return check


def _model(build: Callable[[str], object]) -> Check:
    def check(value: str) -> object:
        try:
            return build(value)
        except ValidationError as err:
            raise Refused(str(err)) from err

    return check


def _parse_host(value: str) -> Topology:
    return parse_topology_file(f"name: corp\nhost: {json.dumps(value)}\n")


def _op_name(value: str) -> object:
    ops = parse_ops([{"op": "add_lan", "name": value}])
    result = edit(topology(), ops, CATALOG, HostContext(), live=False)
    if ("NAME_INVALID", f"lans[{value}].name") in {(i.code, i.path) for i in result.issues}:
        raise Refused("NAME_INVALID")
    return result


KINDS: dict[str, tuple[str, list[Check]]] = {
    "topology": (
        "corp",
        [
            _refused_by_validation("NAME_INVALID", lambda _v: "name", lambda v: topology(name=v)),
            check_name,
            _model(lambda v: GenerateSpec(name=v)),
        ],
    ),
    "LAN": (
        "office",
        [
            _refused_by_validation(
                "NAME_INVALID", lambda v: f"lans[{v}].name", lambda v: topology(lan=v)
            ),
            _op_name,
        ],
    ),
    "decky": (
        "gw",
        [
            _refused_by_validation(
                "NAME_INVALID", lambda v: f"deckies[{v}].name", lambda v: topology(decky=v)
            )
        ],
    ),
    "service key": (
        "banner",
        [
            _model(lambda v: ConfigParam(key=v, type="str", env="BANNER")),
            _refused_by_validation(
                "SERVICE_CONFIG_UNDECLARED",
                lambda v: f"deckies[gw].service_config.ssh.{v}",
                lambda v: topology(service_config={"ssh": {v: "x"}}),
            ),
        ],
    ),
    "catalogue service": (
        "ssh",
        [_model(lambda v: ServiceSpec(name=v, ports=[], image="decnet-lure:0.1"))],
    ),
    "host": (
        "edge-1",
        [
            check_host,
            _model(lambda v: Topology(name="corp", host=v)),
            _model(lambda v: GenerateSpec(name="corp", host=v)),
            _parse_host,
        ],
    ),
    "image override key": ("ssh", [lambda v: parse_image_overrides(f"{v}=reg.example/ssh:1")]),
    "image": (
        "reg.example/ssh:1",
        [
            _refused_by_validation(
                "IMAGE_INVALID", lambda _v: "images[ssh]", lambda v: _with_image(v)
            )
        ],
    ),
    "publish entry": (
        "2222:22",
        [
            _refused_by_validation(
                "PUBLISH_INVALID",
                lambda _v: "deckies[gw].publish[0]",
                lambda v: topology(publish=[v]),
            )
        ],
    ),
}


def _with_image(image: str) -> Topology:
    return topology().model_copy(update={"images": {"ssh": image}})


CASES = [(kind, good, check) for kind, (good, checks) in KINDS.items() for check in checks]


@pytest.mark.parametrize(("kind", "good", "check"), CASES, ids=[c[0] for c in CASES])
def test_a_trailing_newline_is_refused(kind: str, good: str, check: Check) -> None:
    check(good)  # the name itself passes
    with pytest.raises((DecnetError, Refused)):
        check(good + NL)


def test_token_names(store: Store) -> None:
    create_token(store, "ci", Role.VIEWER)
    with pytest.raises(InvalidRequest, match="NAME_INVALID: token name 'ci2\\\\n'"):
        create_token(store, "ci2\n", Role.VIEWER)
    assert [t.name for t in store.list_tokens()] == ["ci"]


def test_inventory_host_names(tmp_path: Path) -> None:
    good, bad = tmp_path / "good.yml", tmp_path / "bad.yml"
    good.write_text("all:\n  hosts:\n    edge-1:\n")
    bad.write_text('all:\n  hosts:\n    "edge-1\\n":\n')
    assert load_inventory(good).hosts == ("edge-1",)
    with pytest.raises(DecnetError, match="does not match"):
        load_inventory(bad)


def test_a_bad_host_in_a_topology_file_names_its_line() -> None:
    with pytest.raises(TopologyFileError) as err:
        _parse_host("edge\n")
    assert err.value.line == 2 and err.value.field == "host"
    assert "ansible_host" in str(err.value)


def test_image_override_keys_name_the_setting() -> None:
    with pytest.raises(UsageError, match="DECNET_IMAGES: bad entry"):
        parse_image_overrides("ssh\n=reg.example/ssh:1")


def test_event_values_with_a_newline_are_quoted_on_output() -> None:
    """`decnet events` prints plain values bare; one ending in a newline would end the line
    early and let a host message forge the next one."""

    def shown(value: str) -> str:
        row = EventRow(
            id=1,
            at="2026-01-01T00:00:00Z",
            topic="run",
            type="task.failed",
            topology=None,
            payload={"msg": value, "host": "h1"},
        )
        return line(row)

    assert shown("ok").endswith("msg=ok host=h1")
    assert shown("ok\n").endswith('msg="ok\\n" host=h1') and "\n" not in shown("ok\n")
