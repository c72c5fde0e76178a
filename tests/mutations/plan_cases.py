"""The plan golden cases: one live batch per op kind on the shared topology.

Regenerate with `.venv/bin/python tests/mutations/regen_plans.py` and review the diff.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mutation_support import CATALOG, base, run

from decnet.core.plan import plan_change, plan_text
from decnet.core.render import compose_model

GOLDEN = Path(__file__).parent / "golden"

CASES: dict[str, list[dict[str, Any]]] = {
    "add_lan": [{"op": "add_lan", "name": "vault", "subnet": "10.200.7.0/24"},
                {"op": "attach_decky", "decky": "o1", "lan": "vault"}],
    "remove_lan": [{"op": "remove_decky", "name": "l1"}, {"op": "remove_decky", "name": "lb"},
                   {"op": "attach_decky", "decky": "br", "lan": "lab"},
                   {"op": "remove_lan", "name": "lab"}],
    "update_lan": [{"op": "update_lan", "name": "lab", "rename": "research"}],
    "add_decky": [{"op": "add_decky", "name": "web", "lan": "dmz", "archetype": "web-server"}],
    "remove_decky": [{"op": "remove_decky", "name": "d1"}],
    "update_decky_services": [{"op": "update_decky", "name": "d1", "services": ["ssh", "smb"]}],
    "update_decky_config": [{"op": "update_decky", "name": "d1",
                             "config": {"http": {"title": "Payroll"}}}],
    "update_decky_forwarding": [{"op": "update_decky", "name": "br", "forwards_l3": True,
                                 "force": True}],
    "update_decky_canvas": [{"op": "update_decky", "name": "br", "canvas": {"x": 10, "y": 20}}],
    "attach_decky": [{"op": "attach_decky", "decky": "o1", "lan": "lab"}],
    "detach_decky": [{"op": "detach_decky", "decky": "br", "lan": "dmz"},
                     {"op": "attach_decky", "decky": "o1", "lan": "dmz"}],
}  # fmt: skip


def render_case(name: str) -> str:
    before = base()
    result = run(CASES[name], before)
    assert result.topology is not None, result.issues
    plan = plan_change(
        before.name, 7, compose_model(before, CATALOG), compose_model(result.topology, CATALOG),
        result.notes,
    )  # fmt: skip
    return plan_text(plan) + "\n" + plan.model_dump_json(indent=2) + "\n"
