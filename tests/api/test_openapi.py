"""The checked-in OpenAPI document is the app's; regenerate with `scripts/openapi.py`."""

from __future__ import annotations

import difflib
import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_docs_openapi_json_matches_the_app() -> None:
    spec = importlib.util.spec_from_file_location("openapi_script", ROOT / "scripts/openapi.py")
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    want = script.render()
    have = (ROOT / "docs" / "openapi.json").read_text(encoding="utf-8")
    if have != want:
        diff = "".join(
            list(difflib.unified_diff(have.splitlines(True), want.splitlines(True), n=2))[:60]
        )
        raise AssertionError(
            "docs/openapi.json is out of date: run `.venv/bin/python scripts/openapi.py`\n" + diff
        )


def test_every_operation_documents_itself() -> None:
    import json

    spec = json.loads((ROOT / "docs" / "openapi.json").read_text())
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            assert op.get("description") or op.get("summary"), (method, path)
            assert op.get("tags"), (method, path)
