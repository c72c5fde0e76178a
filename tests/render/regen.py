#!/usr/bin/env python3
"""Rewrite tests/render/golden/ from the current template and renderer.

    .venv/bin/python tests/render/regen.py

Review the diff (`git diff tests/render/golden`) before committing: the golden files are the
contract with the Ansible side that applies them.
"""

from __future__ import annotations

from render_sample import GOLDEN, render_golden


def main() -> None:
    GOLDEN.mkdir(exist_ok=True)
    for name, content in render_golden().items():
        (GOLDEN / name).write_text(content, encoding="utf-8")
        print(f"wrote {GOLDEN / name}")


if __name__ == "__main__":
    main()
