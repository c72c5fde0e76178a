#!/usr/bin/env python3
"""Rewrite tests/mutations/golden/ from the current planner; review `git diff` before committing."""

from __future__ import annotations

from plan_cases import CASES, GOLDEN, render_case


def main() -> None:
    GOLDEN.mkdir(exist_ok=True)
    for name in CASES:
        (GOLDEN / f"{name}.txt").write_text(render_case(name), encoding="utf-8")
        print(f"wrote {GOLDEN / name}.txt")


if __name__ == "__main__":
    main()
