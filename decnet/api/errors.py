"""One error body everywhere: `{"error": {code, message, field?, hint?, ...details}}`.

The status of every expected failure comes from its class in `decnet.errors` (`http_status`);
request validation is 422 with the field path; anything unexpected is a 500 that says nothing
about its cause to the client (the traceback goes to the server's log).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from decnet.core.ops import OP_TYPES
from decnet.errors import DecnetError, InvalidRequest, NotFound

log = logging.getLogger("decnet.api")

_FRAMEWORK_CODES = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}


def body(
    code: str,
    message: str,
    *,
    field: str | None = None,
    hint: str = "",
    details: dict[str, Any] | None = None,
) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if field is not None:
        error["field"] = field
    if hint:
        error["hint"] = hint
    error.update(details or {})
    return {"error": error}


def error_response(err: DecnetError, headers: dict[str, str] | None = None) -> JSONResponse:
    content = body(
        err.code,
        " ".join(str(err).split("\n")),
        field=err.field,
        hint=err.hint,
        details=err.details(),
    )
    if err.http_status == 401:
        headers = {"WWW-Authenticate": "Bearer", **(headers or {})}
    return JSONResponse(content, status_code=err.http_status, headers=headers)


def field_path(loc: Sequence[str | int]) -> str:
    """("body", "params", "depth") -> "body.params.depth"; list positions as [i]. A batch's
    op tag and pydantic's union-member markers are not fields the client wrote: ("body", "ops",
    2, "add_decky", "lan") -> "body.ops[2].lan"."""
    out = ""
    for part in loc:
        if isinstance(part, str) and (part in OP_TYPES or "[" in part):
            continue
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _validation(errors: Sequence[Any]) -> JSONResponse:
    """422 naming the first field at fault, with every problem listed in `errors`."""
    problems = [
        {
            "field": field_path(e.get("loc", ())),
            "message": str(e.get("msg", "")).removeprefix("Value error, "),
            "type": e.get("type"),
        }
        for e in errors
    ] or [{"field": "body", "message": "invalid request", "type": None}]
    first = problems[0]
    err = InvalidRequest(
        f"{first['field']}: {first['message']}",
        field=str(first["field"]),
        hint="see docs/api.md and GET /api/v1/openapi.json for the request shapes",
    )
    content = body(err.code, str(err), field=err.field, hint=err.hint, details={"errors": problems})
    return JSONResponse(content, status_code=err.http_status)


def install(app: FastAPI) -> None:
    @app.exception_handler(DecnetError)
    async def decnet_error(_request: Request, err: DecnetError) -> JSONResponse:
        return error_response(err)

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, err: RequestValidationError) -> JSONResponse:
        return _validation(err.errors())

    @app.exception_handler(StarletteHTTPException)
    async def framework(_request: Request, err: StarletteHTTPException) -> JSONResponse:
        if err.status_code == 404:
            return error_response(NotFound("no such route", hint="see docs/api.md"))
        if err.status_code == 400:  # FastAPI could not decode the body (e.g. not UTF-8)
            return error_response(
                InvalidRequest("the body is not valid JSON", field="body", hint="send UTF-8 JSON")
            )
        code = _FRAMEWORK_CODES.get(err.status_code, "error")
        return JSONResponse(
            body(code, str(err.detail)), status_code=err.status_code, headers=err.headers
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, err: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse(body("internal", "internal server error"), status_code=500)
