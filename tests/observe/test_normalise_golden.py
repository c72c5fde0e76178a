"""Recorded lines of the real sensors -> attack events, field for field (golden files)."""

from __future__ import annotations

import difflib

import pytest
from observe_sample import GOLDEN, SENSORS, normalised_text


@pytest.mark.parametrize("sensor", SENSORS)
def test_matches_golden(sensor: str) -> None:
    expected = (GOLDEN / f"{sensor}.txt").read_text(encoding="utf-8")
    actual = normalised_text(sensor)
    if actual != expected:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(keepends=True),
                actual.splitlines(keepends=True),
                fromfile=f"golden/{sensor}.txt",
                tofile="normalised",
            )
        )
        pytest.fail(f"{sensor} differs from golden (regen: tests/observe/regen.py):\n{diff}")
