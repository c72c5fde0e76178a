"""What the mutation tests share: a small live-shaped topology and helpers to edit it.

dmz (10.200.0.0/24): gw [ssh], d1 [ssh, http]
office (10.200.1.0/24): o1 [ssh], br (home office, also on dmz)
lab (10.200.2.0/24): l1 [http], lb (home lab, also on office: the visiting bridge)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from decnet.core.catalog import load_catalog
from decnet.core.edit import EditResult, edit
from decnet.core.ops import parse_ops
from decnet.models import Decky, HostContext, Lan, Membership, Topology

CATALOG = load_catalog()


def decky(name: str, home: str, ip: str, services: list[str], **more: Any) -> Decky:
    extra = more.pop("attach", [])
    return Decky(
        name=name,
        home_lan=home,
        memberships=[Membership(lan=home, ip=ip), *(Membership(lan=a, ip=i) for a, i in extra)],
        services=services,
        **more,
    )


def base(name: str = "maze") -> Topology:
    return Topology(
        name=name,
        lans=[
            Lan(name="dmz", subnet="10.200.0.0/24", is_dmz=True),
            Lan(name="office", subnet="10.200.1.0/24"),
            Lan(name="lab", subnet="10.200.2.0/24"),
        ],
        deckies=[
            decky("gw", "dmz", "10.200.0.2", ["ssh"]),
            decky("d1", "dmz", "10.200.0.3", ["ssh", "http"]),
            decky("o1", "office", "10.200.1.2", ["ssh"]),
            decky("br", "office", "10.200.1.3", ["ssh"], attach=[("dmz", "10.200.0.4")]),
            decky("l1", "lab", "10.200.2.2", ["http"]),
            decky("lb", "lab", "10.200.2.3", [], attach=[("office", "10.200.1.4")]),
        ],
    )


def run(
    ops: Sequence[dict[str, Any]],
    topology: Topology | None = None,
    *,
    live: bool = True,
    ctx: HostContext | None = None,
) -> EditResult:
    return edit(topology or base(), parse_ops(list(ops)), CATALOG, ctx or HostContext(), live=live)


def codes(result: EditResult) -> list[tuple[str, str]]:
    return [(i.code, i.path) for i in result.issues if i.severity == "error"]
