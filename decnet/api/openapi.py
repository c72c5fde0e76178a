"""The OpenAPI document's one adjustment: event streams answer `text/event-stream`.

FastAPI files a documented response model under `application/json`; a stream route declares its
frames model (decnet.engine.snapshot.*StreamFrames: the snapshot, reset, closed and event
payloads, the event union included) and is marked with `openapi_extra=STREAM`, so the document
names the right media type and the editor's generated types hold every frame's shape.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

_MARK = "x-decnet-stream"
STREAM: dict[str, Any] = {_MARK: True}


def _stream_media(spec: dict[str, Any]) -> dict[str, Any]:
    for path in spec.get("paths", {}).values():
        for operation in path.values():
            if isinstance(operation, dict) and operation.pop(_MARK, False):
                content = operation["responses"]["200"]["content"]
                content["text/event-stream"] = content.pop("application/json")
    return spec


def install(app: FastAPI) -> None:
    generate: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _stream_media(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
