#!/usr/bin/env python3
"""Rewrite tests/observe/golden/ from the recorded lines and the current normaliser.

    .venv/bin/python tests/observe/regen.py

Review the diff (`git diff tests/observe/golden`) before committing: the attack events are a
contract tools rely on (docs/observe.md).
"""

from __future__ import annotations

from observe_sample import GOLDEN, SENSORS, normalised_text


def main() -> None:
    GOLDEN.mkdir(exist_ok=True)
    for sensor in SENSORS:
        path = GOLDEN / f"{sensor}.txt"
        path.write_text(normalised_text(sensor), encoding="utf-8")
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
