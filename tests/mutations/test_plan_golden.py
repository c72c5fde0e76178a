"""`--plan` output for each op kind, against golden files (pure: no store, no engine)."""

from __future__ import annotations

import difflib

import pytest
from plan_cases import CASES, GOLDEN, render_case


@pytest.mark.parametrize("name", sorted(CASES))
def test_plan_matches_golden(name: str) -> None:
    want = (GOLDEN / f"{name}.txt").read_text(encoding="utf-8")
    got = render_case(name)
    diff = "".join(
        difflib.unified_diff(want.splitlines(True), got.splitlines(True), "golden", "now")
    )
    assert got == want, f"plan of {name} changed (regen: tests/mutations/regen_plans.py):\n{diff}"
