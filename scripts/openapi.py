"""Write the HTTP API's OpenAPI document to docs/openapi.json (checked in; a test fails when it
drifts from the app). Run after changing a route: `.venv/bin/python scripts/openapi.py`."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "docs" / "openapi.json"


def document() -> dict[str, Any]:
    from decnet.api.app import create_app
    from decnet.api.config import ApiConfig
    from decnet.settings import Settings

    with tempfile.TemporaryDirectory() as tmp:  # never opened: the app only describes itself
        settings = Settings(db_path=Path(tmp) / "x.db", home=Path(tmp), inventory=Path(tmp))
        spec: dict[str, Any] = create_app(ApiConfig(settings=settings)).openapi()
        return spec


def render() -> str:
    return json.dumps(document(), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    TARGET.write_text(render(), encoding="utf-8")
    print(f"wrote {TARGET.relative_to(ROOT)}")
